using EdgeAvsr.Quantize.Gguf;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Formats.Gguf;
using EdgeAvsr.Runtime.Pipeline;

namespace EdgeAvsr.Runtime.Tests.Formats;

/// <summary>
/// A full disk for real: a 256 KiB tmpfs is mounted, filled, and the product's atomic writers (.npy features, an SRT
/// transcript, safetensors, GGUF) write into it. Each must fail with one line naming the file and saying the disk is full,
/// leave no temporary file behind, and leave the file already at the path as it was. <see cref="AtomicFileTests"/> injects
/// the same failure at the stream; this checks what the kernel's ENOSPC really looks like by the time it reaches us.
/// </summary>
public class TmpfsFullDiskTests
{
    /// <summary>Runs where this process may mount a tmpfs (root or CAP_SYS_ADMIN); reports itself skipped with the reason elsewhere.</summary>
    public sealed class TmpfsFactAttribute : FactAttribute
    {
        private static readonly Lazy<string?> s_cannotMount = new(Probe);

        public TmpfsFactAttribute()
        {
            if (s_cannotMount.Value is { } reason)
            {
                Skip = reason;
            }
        }

        private static string? Probe()
        {
            if (!OperatingSystem.IsLinux())
            {
                return "needs Linux to mount a tmpfs";
            }
            using var dir = new TempDir();
            try
            {
                using var mount = new Tmpfs(dir.Path, "4k");
                return null;
            }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                return $"cannot mount a tmpfs on this machine (needs root or CAP_SYS_ADMIN): {e.Message}";
            }
        }
    }

    /// <summary>A tmpfs of <c>size</c> mounted on <c>dir</c> until disposed.</summary>
    private sealed class Tmpfs : IDisposable
    {
        public Tmpfs(string dir, string size)
        {
            Dir = dir;
            var (code, _, err) = Tools.Exec("mount", "-t", "tmpfs", "-o", $"size={size},mode=0755", "tmpfs", dir);
            if (code != 0)
            {
                string said = string.Join(' ', err.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
                throw new InvalidOperationException($"mount -t tmpfs exited {code}: {said}");
            }
        }

        public string Dir { get; }

        public void Dispose() => Tools.Run("umount", Dir);
    }

    private static string[] Listing(string dir) => [.. Directory.GetFileSystemEntries(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];

    /// <summary>Writes until the file system refuses; what the kernel says then is what every later write meets.</summary>
    private static void Fill(string path)
    {
        var chunk = new byte[4096];
        using var filler = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0);
        try
        {
            while (true)
            {
                filler.Write(chunk);
            }
        }
        catch (IOException e) when (e.HResult == 28)
        {
        }
    }

    private static Transcript TranscriptOf(string text) => new()
    {
        Model = "m", Task = AvsrTask.Asr, TaskReason = "r", Media = "x.wav", DurationSeconds = 2, MediaDecode = TimeSpan.Zero, Load = TimeSpan.Zero,
        Stages = StageTimings.Zero, Processing = TimeSpan.Zero, PeakMemoryBytes = 0,
        Segments = [new Caption
        {
            Utterance = 0, IsFinal = true, Task = AvsrTask.Asr, Start = 0, End = 1.5, DecidedAt = 2, Text = text, Tokens = [], AverageLogProbability = 0,
            Stop = StopReason.EndOfGeneration, AudioSamples = (0, 0), VideoFrames = (0, 0), Timings = StageTimings.Zero,
        }],
    };

    /// <summary>The writers under test: .npy features, an SRT transcript, safetensors and GGUF, all through <see cref="AtomicFile"/>.</summary>
    private static readonly string[] s_writers = ["npy", "srt", "safetensors", "gguf"];

    private static void WriteWith(string writer, string path, int bytes)
    {
        switch (writer)
        {
            case "npy":
                NpyFile.Write(path, new float[bytes / 4], bytes / 4);
                break;
            case "srt":
                AtomicFile.WriteAllText(path, TranscriptWriter.Write(TranscriptOf(new string('a', bytes)), TranscriptFormat.Srt));
                break;
            case "safetensors":
                var st = new SafetensorsWriter();
                st.Add("w", TensorDType.U8, [bytes], new byte[bytes]);
                st.Write(path);
                break;
            default:
                var gguf = new GgufWriter();
                gguf.AddTensor("w", GgmlType.I8, [bytes]);
                gguf.Write(path, d => d.WriteTensor(new byte[bytes]));
                break;
        }
    }

    private static void AssertRefusedCleanly(string dir, string target, string[] before, byte[] old, Action write)
    {
        var e = Assert.Throws<EdgeAvsrException>(write);
        Assert.Single(e.Message.Split('\n'));
        Assert.StartsWith($"{target}: cannot write: the disk is full (", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("nothing was written and the file as it was before is unchanged", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, Listing(dir));
        Assert.Equal(old, File.ReadAllBytes(target));
    }

    [TmpfsFact]
    public void FilledTmpfs_EveryAtomicWriter_FailsInOneLine_LeavesNoTemp_KeepsTheOldFile()
    {
        using var dir = new TempDir();
        using var disk = new Tmpfs(dir.Path, "256k");
        var old = new Dictionary<string, byte[]>();
        foreach (string writer in s_writers)
        {
            string target = Path.Combine(disk.Dir, $"out.{writer}");
            WriteWith(writer, target, 64);
            old[writer] = File.ReadAllBytes(target);
        }
        Fill(Path.Combine(disk.Dir, "filler"));
        string[] before = Listing(disk.Dir);
        foreach (string writer in s_writers)
        {
            string target = Path.Combine(disk.Dir, $"out.{writer}");
            AssertRefusedCleanly(disk.Dir, target, before, old[writer], () => WriteWith(writer, target, 100_000));
        }
    }

    /// <summary>An empty disk that the write itself fills part way (300 KB into 256 KiB): the temporary file that took the space goes.</summary>
    [TmpfsFact]
    public void WriteLargerThanTheTmpfs_FailsPartWay_AndFreesWhatItTook()
    {
        using var dir = new TempDir();
        using var disk = new Tmpfs(dir.Path, "256k");
        foreach (string writer in s_writers)
        {
            string target = Path.Combine(disk.Dir, $"out.{writer}");
            WriteWith(writer, target, 64);
            byte[] old = File.ReadAllBytes(target);
            string[] before = Listing(disk.Dir);
            AssertRefusedCleanly(disk.Dir, target, before, old, () => WriteWith(writer, target, 300_000));
            // The space is free again: a write that fits succeeds.
            WriteWith(writer, target, 32);
        }
    }
}
