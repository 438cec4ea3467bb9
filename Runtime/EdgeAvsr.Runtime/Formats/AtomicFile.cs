namespace EdgeAvsr.Runtime.Formats;

/// <summary>
/// Writes a file so that readers see either the old file or the complete new one:
/// the bytes go to a temporary file in the same folder, which is renamed over the target
/// only after a successful flush. A failed or interrupted write leaves no half-written output.
/// </summary>
public static class AtomicFile
{
    /// <remarks>
    /// A folder that cannot be created, a read-only target or a full disk is the user's to fix: it becomes an
    /// <see cref="EdgeAvsrException"/> naming the target, not a stack trace.
    /// </remarks>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        try
        {
            WriteThenRename(full, write);
        }
        catch (IOException e) when (e.HResult is NoSpaceOnDevice or DiskQuotaExceeded)
        {
            throw new EdgeAvsrException($"{full}: cannot write: the disk is full ({e.Message.TrimEnd('.')}); nothing was written and the file " +
                "as it was before is unchanged", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EdgeAvsrException($"{full}: cannot write: {e.Message}", e);
        }
    }

    // .NET on Unix gives an I/O error's errno as its HResult: ENOSPC and EDQUOT (Linux).
    private const int NoSpaceOnDevice = 28;
    private const int DiskQuotaExceeded = 122;

    private static void WriteThenRename(string full, Action<Stream> write)
    {
        string dir = Path.GetDirectoryName(full) ?? ".";
        Directory.CreateDirectory(dir);
        string temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        byte[] copy = bytes.ToArray();
        Write(path, s => s.Write(copy));
    }

    public static void WriteAllText(string path, string text) =>
        WriteAllBytes(path, System.Text.Encoding.UTF8.GetBytes(text));

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
