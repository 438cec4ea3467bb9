using EdgeAvsr.Runtime.Formats.Gguf;

namespace EdgeAvsr.Runtime.Decoding;

/// <summary>
/// What is checked before llama.cpp opens a model: the file exists and the managed GGUF validator accepts
/// its header, metadata types and hyperparameters (llama.cpp v0.5.0 aborts the process on some bad files).
/// </summary>
internal static class GgufPrecheck
{
    public static void Check(string path)
    {
        if (!File.Exists(path))
        {
            throw new EdgeAvsrException($"{path}: model file not found");
        }
        LlamaGgufValidator.Validate(path);
    }
}
