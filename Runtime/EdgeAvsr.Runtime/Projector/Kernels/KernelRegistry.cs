using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace EdgeAvsr.Runtime.Projector.Kernels;

/// <summary>
/// Every kernel variant, registered in one place. The best native variant is chosen at start;
/// <c>EDGEAVSR_KERNEL</c> forces one by name (<c>scalar</c> forces the portable path everywhere).
/// Variants this CPU cannot execute are still listed (as managed emulations) so tests cover them.
/// </summary>
public static class KernelRegistry
{
    public const string ForceVariable = "EDGEAVSR_KERNEL";

    /// <summary>All int8 variants in order of preference: native ones first where they run.</summary>
    public static IReadOnlyList<Int8GemmKernel> Int8Variants { get; } =
    [
        NativeSdot.IsNative ? new AdvSimdDotInt8Kernel<NativeSdot>() : new AdvSimdDotInt8Kernel<EmulatedSdot>(),
        NativeAvxVnni.IsNative ? new AvxVnniInt8Kernel<NativeAvxVnni>() : new AvxVnniInt8Kernel<EmulatedAvxVnni>(),
        new Avx512VlInt8Kernel(),
        new Avx2Int8Kernel(),
        new ScalarInt8Kernel(),
    ];

    /// <summary>All fp32 variants in order of preference.</summary>
    public static IReadOnlyList<Fp32GemmKernel> Fp32Variants { get; } =
    [
        new Avx2FmaFp32Kernel(),
        new Vector128Fp32Kernel(),
        new ScalarFp32Kernel(),
    ];

    public static Int8GemmKernel SelectInt8(string? forced = null) =>
        Select(Int8Variants, forced ?? Environment.GetEnvironmentVariable(ForceVariable), k => k.Name, k => k.IsNative, "int8");

    public static Fp32GemmKernel SelectFp32(string? forced = null)
    {
        forced ??= Environment.GetEnvironmentVariable(ForceVariable);
        // An int8 variant name forces the matching fp32 family; "scalar" forces both to scalar.
        string? fp32Name = forced switch
        {
            null or "" => null,
            "scalar" => "scalar",
            "avx512vl" or "avx2" or "avx-vnni" => "avx2-fma",
            "advsimd-dot" => "vector128",
            _ => forced,
        };
        return Select(Fp32Variants, fp32Name, k => k.Name, k => k.IsNative, "fp32");
    }

    private static T Select<T>(IReadOnlyList<T> variants, string? forced, Func<T, string> name, Func<T, bool> native, string family)
    {
        if (!string.IsNullOrEmpty(forced))
        {
            var match = variants.FirstOrDefault(v => name(v) == forced);
            if (match is null)
            {
                throw new EdgeAvsrException($"{ForceVariable}={forced}: no {family} kernel of that name (known: {string.Join(", ", variants.Select(name))})");
            }
            if (!native(match))
            {
                throw new EdgeAvsrException($"{ForceVariable}={forced}: this CPU cannot execute the {forced} {family} kernel");
            }
            return match;
        }
        return variants.First(native);
    }

    /// <summary>The CPU features that decide the kernel choice, for <c>doctor</c>.</summary>
    public static string DescribeCpu()
    {
        var features = new List<string>();
        if (RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86)
        {
            if (Avx2.IsSupported) features.Add("AVX2");
            if (Fma.IsSupported) features.Add("FMA");
            if (AvxVnni.IsSupported) features.Add("AVX-VNNI");
            if (Avx512F.IsSupported) features.Add("AVX-512F");
            if (Avx512BW.IsSupported) features.Add("AVX-512BW");
            if (Avx512F.VL.IsSupported) features.Add("AVX-512VL");
        }
        if (RuntimeInformation.ProcessArchitecture == Architecture.Arm64)
        {
            if (AdvSimd.IsSupported) features.Add("AdvSimd");
            if (Dp.IsSupported) features.Add("DotProd");
        }
        return $"{RuntimeInformation.ProcessArchitecture}, {Environment.ProcessorCount} logical cores, {string.Join(" ", features)}";
    }
}
