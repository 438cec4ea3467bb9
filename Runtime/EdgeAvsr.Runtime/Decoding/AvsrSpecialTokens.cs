using EdgeAvsr.Runtime.Interop;
using System.Text;
using EdgeAvsr.Runtime.Formats.Gguf;
using LLama.Exceptions;
using LLama.Native;

namespace EdgeAvsr.Runtime.Decoding;

/// <summary>Ids of the tokens Llama-AVSR adds to the Llama vocabulary (in this order, after the base vocabulary).</summary>
/// <param name="Pad"><c>&lt;pad&gt;</c></param>
/// <param name="AudioStart"><c>&lt;audio&gt;</c></param>
/// <param name="AudioEnd"><c>&lt;/audio&gt;</c></param>
/// <param name="VideoStart"><c>&lt;video&gt;</c></param>
/// <param name="VideoEnd"><c>&lt;/video&gt;</c></param>
public sealed record AvsrSpecialTokens(int Pad, int AudioStart, int AudioEnd, int VideoStart, int VideoEnd)
{
    /// <summary>
    /// Each token's text, short name and the GGUF metadata key edgeavsr-quantize records its id under, in
    /// vocabulary order (the order of the constructor's parameters and of <see cref="Ids"/>).
    /// </summary>
    public static readonly (string Text, string Name, string Key)[] Table =
    [
        ("<pad>", "pad", "edgeavsr.pad_token_id"),
        ("<audio>", "audio_start", "edgeavsr.audio_start_token_id"),
        ("</audio>", "audio_end", "edgeavsr.audio_end_token_id"),
        ("<video>", "video_start", "edgeavsr.video_start_token_id"),
        ("</video>", "video_end", "edgeavsr.video_end_token_id"),
    ];

    public static readonly string[] Texts = [.. Table.Select(t => t.Text)];

    /// <summary>The ids in <see cref="Table"/> order.</summary>
    public int[] Ids => [Pad, AudioStart, AudioEnd, VideoStart, VideoEnd];

    /// <summary>The tokens from ids in <see cref="Table"/> order.</summary>
    public static AvsrSpecialTokens FromIds(IReadOnlyList<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Count != Table.Length)
        {
            throw new ArgumentException($"expected {Table.Length} ids, got {ids.Count}", nameof(ids));
        }
        return new AvsrSpecialTokens(ids[0], ids[1], ids[2], ids[3], ids[4]);
    }
}
