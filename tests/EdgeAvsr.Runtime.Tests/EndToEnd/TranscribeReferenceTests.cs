using System.Globalization;
using System.Text.Json;
using Xunit.Abstractions;

namespace EdgeAvsr.Runtime.Tests.EndToEnd;

/// <summary>
/// Issue 5, section 4: <c>edgeavsr transcribe</c> on a real clip (espeak-ng speech, mouth video, H.264 + AAC) against
/// the PyTorch reference run from the checkpoint's float weights on the segment transcribe cut. fp32 projector + F32
/// GGUF in exact-numerics mode: the same tokens and first-step logits within relative 1e-2. INT8 + Q8_0: first-step
/// logits within relative 1.5e-1 of the fp32 run, token agreement reported.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class TranscribeReferenceTests(ReferencePackFixture f, ITestOutputHelper output)
{
    [Theory]
    [InlineData("avsr")]
    [InlineData("asr")]
    [InlineData("vsr")]
    public void Transcribe_Fp32Pack_ExactNumerics_GivesTheReferencesTokensAndFirstLogits(string task)
    {
        var ours = f.Transcribe(f.PackFor(task), task);
        var reference = f.SegmentReference(task);
        var segment = ours.FirstSegment;
        Assert.Single(ours.Json.GetProperty("segments").EnumerateArray());
        Assert.Equal(task, reference.Result.GetProperty("task").GetString());
        double rel = Compare.RelativeL2(Compare.Npy(ours.FirstLogits), Compare.Npy(reference.FirstLogits));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{task}: segment audio {Range(segment, "audio_samples")} video {Range(segment, "video_frames")}; text " +
                $"'{segment.GetProperty("text").GetString()}'"));
        output.WriteLine($"reference tokens {string.Join(' ', reference.Tokens)}; EdgeAvsr {string.Join(' ', ours.Tokens)}");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"first-step logits: relative L2 {rel:E2}"));
        Assert.Equal(reference.Tokens, ours.Tokens);
        Assert.True(rel <= 1e-2, $"{task}: first-step logits relative L2 {rel:E3} > 1e-2");
    }

    [Fact]
    public void Transcribe_Int8Q8Pack_FirstLogitsStayNearTheFp32Run_TokenAgreementReported()
    {
        var fp32 = f.Transcribe(f.Fp32Pack, "avsr");
        var int8 = f.Transcribe(f.Int8Pack, "avsr");
        // Both packs cut the same segment (same audio, same VAD): the comparison is of the models, not of the cut.
        Assert.Equal(Range(fp32.FirstSegment, "audio_samples"), Range(int8.FirstSegment, "audio_samples"));
        Assert.Equal(Range(fp32.FirstSegment, "video_frames"), Range(int8.FirstSegment, "video_frames"));
        double rel = Compare.RelativeL2(Compare.Npy(int8.FirstLogits), Compare.Npy(fp32.FirstLogits));
        var (same, of) = Compare.Agreement(int8.Tokens, fp32.Tokens);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"INT8 projector + Q8_0 GGUF vs fp32 + F32: first-step logits relative L2 {rel:E2}; tokens agree at {same} of {of} positions"));
        output.WriteLine($"fp32 {string.Join(' ', fp32.Tokens)}; int8 {string.Join(' ', int8.Tokens)}");
        // Token agreement is reported, not bounded: a tiny random model's near-ties flip under quantization.
        Assert.True(rel <= 0.15, $"INT8 + Q8_0 first-step logits relative L2 {rel:E3} > 1.5e-1 of the fp32 run");
    }

    private static string Range(JsonElement segment, string key) =>
        segment.TryGetProperty(key, out var r) && r.ValueKind == JsonValueKind.Array
            ? $"[{string.Join(", ", r.EnumerateArray().Select(e => e.GetInt64()))}]" : "(none)";
}
