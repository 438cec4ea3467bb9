using System.Runtime.InteropServices;

namespace EdgeAvsr.Runtime.Interop;

/// <summary>
/// The C ABI of native/smop-cuda/smop_cuda.h (libsmop_cuda.so, cudart linked statically: without a GPU or driver it loads
/// and says so). Source-generated P/Invoke, so NativeAOT needs no runtime marshalling; the structs are blittable.
/// </summary>
internal static unsafe partial class SmopCudaNative
{
    public const string LibraryName = "smop_cuda";
    public const int AbiVersion = 1;
    public const int Ok = 0;
    public const int NoDevice = -1;

    [StructLayout(LayoutKind.Sequential)]
    public struct MixtureDesc
    {
        public int Experts;
        public int InputDim;
        public int HiddenDim;
        public int OutputDim;
        public float* Router;
        public sbyte* UpWeight;
        public float* UpScale;
        public float* UpBias;
        public sbyte* DownWeight;
        public float* DownScale;
        public float* DownBias;
        public float* NormWeight;
        public float* NormBias;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct RunArgs
    {
        public float* Tokens;
        public int TokenCount;
        public int TopK;
        public int RoutingGiven;
        public int* SlotExperts;
        public float* SlotWeights;
        public float* Result;
        public long* RowsComputed;
        public int* UpAccumulators;
        public int* DownAccumulators;
    }

    [LibraryImport(LibraryName, EntryPoint = "smop_cuda_abi_version")]
    public static partial int AbiVersionOfLibrary();

    [LibraryImport(LibraryName, EntryPoint = "smop_cuda_probe")]
    public static partial int Probe(byte* text, int capacity);

    [LibraryImport(LibraryName, EntryPoint = "smop_cuda_last_error")]
    public static partial byte* LastError();

    [LibraryImport(LibraryName, EntryPoint = "smop_cuda_mixture_create")]
    public static partial int MixtureCreate(MixtureDesc* desc, nint* mixture);

    [LibraryImport(LibraryName, EntryPoint = "smop_cuda_mixture_run")]
    public static partial int MixtureRun(nint mixture, RunArgs* args);

    [LibraryImport(LibraryName, EntryPoint = "smop_cuda_mixture_destroy")]
    public static partial void MixtureDestroy(nint mixture);
}
