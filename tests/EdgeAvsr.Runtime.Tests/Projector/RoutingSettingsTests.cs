using System.Text;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Pack;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Runtime.Tests.Projector;

public class RoutingSettingsTests
{
    private static string Refusal(Func<RoutingSettings> create) => Assert.Throws<EdgeAvsrException>(() => create()).Message;

    [Fact]
    public void Create_KeepsTheValues_AndEqualValuesAreEqual()
    {
        var r = RoutingSettings.Create(2, 4, 2, 4, RoutingOrigin.Parameters);
        Assert.Equal((2, 4, 2), (r.TopK, r.AudioPool, r.VideoPool));
        Assert.Equal((4, 2), (r.Pool(Modality.Audio), r.Pool(Modality.Video)));
        Assert.Equal(r, RoutingSettings.Create(2, 4, 2));
        Assert.NotEqual(r, RoutingSettings.Create(2, 4, 1));
        Assert.Equal(4, RoutingSettings.Create(4, 1, 1, 4, RoutingOrigin.Parameters).TopK);
    }

    [Theory]
    [InlineData(0, 4, 2, null, "top-k 0 must be >= 1")]
    [InlineData(-3, 4, 2, null, "top-k -3 must be >= 1")]
    [InlineData(0, 4, 2, 4, "top-k 0 must be between 1 and experts 4")]
    [InlineData(5, 4, 2, 4, "top-k 5 must be between 1 and experts 4")]
    [InlineData(2, 0, 2, 4, "audio pool 0 must be >= 1")]
    [InlineData(2, 4, -1, null, "video pool -1 must be >= 1")]
    public void Create_RefusesEachBadValue_NamingIt(int topK, int audioPool, int videoPool, int? experts, string expected)
    {
        string message = Refusal(() => RoutingSettings.Create(topK, audioPool, videoPool, experts, RoutingOrigin.Parameters));
        Assert.StartsWith(expected, message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_NamesWhereTheValueCameFrom()
    {
        Assert.Equal("m.json: projector.top_k 5 must be between 1 and projector.experts 4",
            Refusal(() => RoutingSettings.Create(5, 4, 2, 4, RoutingOrigin.Manifest("m.json"))));
        Assert.StartsWith("w.safetensors: __metadata__ video_pool 0 must be >= 1",
            Refusal(() => RoutingSettings.Create(2, 4, 0, null, RoutingOrigin.Int8Metadata("w.safetensors"))), StringComparison.Ordinal);
    }

    [Fact]
    public void CheckFits_RefusesAMixtureWithFewerExpertsThanTopK()
    {
        var r = RoutingSettings.Create(3, 4, 2);
        r.CheckFits(3, "audio_proj");
        var e = Assert.Throws<EdgeAvsrException>(() => r.CheckFits(2, "video_proj"));
        Assert.Equal("top-k 3 must be between 1 and the 2 experts of video_proj", e.Message);
    }

    [Theory]
    [InlineData("\"top_k\": 2,", "\"top_k\": 5,", "projector.top_k 5 must be between 1 and projector.experts 4")]
    [InlineData("\"top_k\": 2,", "\"top_k\": 0,", "projector.top_k 0 must be between 1 and projector.experts 4")]
    [InlineData("\"audio_pool\": 4,", "\"audio_pool\": 0,", "projector.audio_pool 0 must be >= 1")]
    [InlineData("\"video_pool\": 2,", "\"video_pool\": -2,", "projector.video_pool -2 must be >= 1")]
    public void Manifest_RefusesBadRouting_NamingTheKeyAndTheFile(string from, string to, string expected)
    {
        var manifest = Pack.PackParts.Shared.Draft() with { Files = [new PackFile("x", 1, new string('0', 64))] };
        string text = Encoding.UTF8.GetString(PackManifestJson.ToUtf8(manifest));
        Assert.Contains(from, text, StringComparison.Ordinal);
        byte[] edited = Encoding.UTF8.GetBytes(text.Replace(from, to, StringComparison.Ordinal));
        var e = Assert.Throws<EdgeAvsrException>(() => PackManifestJson.Parse(edited, "pack/manifest.json"));
        Assert.StartsWith("pack/manifest.json: " + expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Int8File_WithABadRecordedTopK_IsRefusedWhenLoaded_NamingTheMetadata()
    {
        using var dir = new TempDir();
        string fp32 = dir.File("w.safetensors"), int8 = dir.File("w8.safetensors");
        var spec = new SyntheticProjectorSpec { Layout = SmopLayout.Dedr, Experts = 3, AudioDim = 8, VideoDim = 8, HiddenDim = 8, OutputDim = 8 };
        SyntheticProjector.Write(fp32, spec);
        Int8ProjectorFile.Write(int8, SmopWeights.Load(fp32, SmopLayout.Dedr), RoutingSettings.Create(2, 4, 2));
        Assert.Equal(RoutingSettings.Create(2, 4, 2), SmopWeights.Load(int8, null).Routing);
        // The metadata value "2" becomes "0" in place: the header keeps its length.
        byte[] bytes = File.ReadAllBytes(int8);
        byte[] key = Encoding.ASCII.GetBytes("\"top_k\":\"2\"");
        int at = bytes.AsSpan().IndexOf(key);
        Assert.True(at > 0);
        bytes[at + key.Length - 2] = (byte)'0';
        File.WriteAllBytes(int8, bytes);
        var e = Assert.Throws<EdgeAvsrException>(() => SmopWeights.Load(int8, null));
        Assert.Equal($"{int8}: __metadata__ top_k 0 must be >= 1", e.Message);
    }
}
