using EdgeAvsr.Runtime.Interop;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using LLama.Native;

namespace EdgeAvsr.Runtime.Decoding;

/// <summary>One generated token as it arrives: its id and the text it completes (UTF-8 safe, may be empty).</summary>
public readonly record struct DecodedToken(int Id, string Text);
