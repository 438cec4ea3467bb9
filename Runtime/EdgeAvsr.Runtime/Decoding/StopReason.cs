using EdgeAvsr.Runtime.Interop;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using LLama.Native;

namespace EdgeAvsr.Runtime.Decoding;

public enum StopReason
{
    EndOfGeneration,
    MaxTokens,
}
