using System.Runtime.CompilerServices;
using System.Text.Json;
using EdgeAvsr.Runtime.Pipeline;
using EdgeAvsr.Runtime.Tests.Pack;
using EdgeAvsr.Runtime.Video;
using EdgeAvsr.Tests.Shared;

namespace EdgeAvsr.Runtime.Tests.Pipeline;

/// <summary>
/// The tiny pack (Pack/PackParts) and a real clip from Models/media/make_clip.py: three espeak-ng sentences 2 s apart with
/// a mouth video following the speech, decoded once into 16 kHz samples and 96x96 frames. Tests cut it into chunk streams
/// of their own (0.1 s of audio, one frame per video chunk, in stream order) with stream-state changes wherever they need them.
/// </summary>
public sealed class LiveFixture : IDisposable
{
    private readonly TempDir _dir = new();

    public LiveFixture()
    {
        Parts = PackParts.Shared;
        Pack = Parts.Build(_dir);
        string clip = _dir.File("live.mp4");
        string report = Python.Script("Models/media/make_clip.py", "--text", "hello edge device", "--text", "captions on a kiosk", "--text",
            "the quick brown fox jumps over the lazy dog", "--gap", "2.0", "--out", clip);
        using var json = JsonDocument.Parse(report);
        Speech = [.. json.RootElement.GetProperty("speech").EnumerateArray().Select(s => (s[0].GetDouble(), s[1].GetDouble()))];
        var audio = new List<float>();
        var pixels = new List<byte>();
        var source = new MediaFileSource(new MediaClipRequest { InputPath = clip }, wantAudio: true, wantVideo: true);
        foreach (var chunk in source.ReadAsync(TimeSpan.FromSeconds(0.5)).ToBlockingEnumerable())
        {
            if (chunk is AudioChunk a)
            {
                audio.AddRange(a.Samples);
            }
            else if (chunk is VideoChunk v)
            {
                pixels.AddRange(v.Crops.Pixels);
            }
        }
        Audio = [.. audio];
        Frames = [.. pixels];
    }

    public PackParts Parts { get; }

    public string Pack { get; }

    public (double Start, double End)[] Speech { get; }

    public float[] Audio { get; }

    public byte[] Frames { get; }

    public int FrameCount => Frames.Length / FrameBytes;

    public const int FrameBytes = MouthRoi.CropSize * MouthRoi.CropSize;

    /// <summary>Samples covering the whole clip, rounded up to whole chunks.</summary>
    public long End => (Math.Max(Audio.Length, (long)FrameCount * StreamClock.SamplesPerFrame) + Step - 1) / Step * Step;

    public const int Step = 1600;

    /// <summary>A stream time (seconds) rounded to a multiple of 0.2 s, where audio chunks and frames both begin.</summary>
    public static long Boundary(double seconds) => (long)Math.Round(seconds * 5) * 3200;

    public static TimeSpan At(long sample) => TimeSpan.FromTicks(sample * 625);

    /// <summary>The clip's media in [<paramref name="from"/>, <paramref name="to"/>) samples, stamped minus <paramref name="restamp"/>.</summary>
    public List<MediaChunk> Chunks(long from, long to, bool audio, bool video, long restamp = 0)
    {
        var chunks = new List<MediaChunk>();
        for (long s = from; s < to; s += Step)
        {
            long end = Math.Min(s + Step, to);
            if (audio && s < Audio.Length)
            {
                chunks.Add(new AudioChunk(At(s - restamp), Audio[(int)s..(int)Math.Min(end, Audio.Length)]));
            }
            for (long frame = StreamClock.FrameAtOrAfter(s); video && frame * StreamClock.SamplesPerFrame < end && frame < FrameCount; frame++)
            {
                var pixels = Frames[(int)(frame * FrameBytes)..(int)((frame + 1) * FrameBytes)];
                chunks.Add(new VideoChunk(At(frame * StreamClock.SamplesPerFrame - restamp), new GrayFrames(pixels, 1, MouthRoi.CropSize,
                    MouthRoi.CropSize)));
            }
        }
        return chunks;
    }

    public static async IAsyncEnumerable<MediaChunk> Play(IEnumerable<MediaChunk> chunks, Func<MediaChunk, Task>? before = null,
        [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        foreach (var chunk in chunks)
        {
            cancellation.ThrowIfCancellationRequested();
            if (before is not null)
            {
                await before(chunk);
            }
            yield return chunk;
            await Task.Yield();
        }
    }

    public static async Task<List<Caption>> Collect(IAsyncEnumerable<Caption> captions)
    {
        var list = new List<Caption>();
        await foreach (var c in captions)
        {
            list.Add(c);
        }
        return list;
    }

    public void Dispose() => _dir.Dispose();
}
