using System.Runtime.InteropServices;
using EdgeAvsr.Runtime.Projector.Kernels;
using Xunit.Abstractions;

namespace EdgeAvsr.Runtime.Tests.Projector;

public class KernelTests(ITestOutputHelper output)
{
    public static TheoryData<string> Int8Names => new(KernelRegistry.Int8Variants.Select(k => k.Name));

    public static TheoryData<string> Fp32Names => new(KernelRegistry.Fp32Variants.Select(k => k.Name));

    private static sbyte[] RandomInt8(Random rng, int count)
    {
        var v = new sbyte[count];
        rng.NextBytes(MemoryMarshal.AsBytes(v.AsSpan()));
        // Force the extremes into every buffer.
        if (count > 0) v[0] = -128;
        if (count > 1) v[^1] = 127;
        if (count > 2) v[count / 2] = -128;
        return v;
    }

    /// <summary>
    /// A variant this CPU neither executes nor emulates (e.g. avx512vl without AVX-512) must refuse to run with
    /// <see cref="PlatformNotSupportedException"/>, never compute something else; the test says so in its output.
    /// </summary>
    private bool CannotRunHere(Int8GemmKernel kernel)
    {
        if (kernel.CanRun)
        {
            return false;
        }
        var act = kernel.CreateActivations();
        act.Resize(1, 4);
        var w = kernel.Pack(new sbyte[16 * 4], 16, 4);
        Assert.Throws<PlatformNotSupportedException>(() => kernel.MultiplyColumns(act, w, 0, 16, new int[16]));
        output.WriteLine($"{kernel.Name}: compiled, cannot run on this CPU (refuses with PlatformNotSupportedException)");
        return true;
    }

    private static int[] Reference(sbyte[] a, sbyte[] w, int m, int n, int k)
    {
        var acc = new int[m * n];
        var s = new ScalarInt8Kernel();
        s.Multiply(a, m, s.Pack(w, n, k), acc);
        return acc;
    }

    /// <summary>Every variant, native or emulated, gives int32 accumulators bit-equal to scalar at every tail length.</summary>
    [Theory]
    [MemberData(nameof(Int8Names))]
    public void Int8Variant_BitEqualToScalar_EveryTail(string name)
    {
        var kernel = KernelRegistry.Int8Variants.Single(k => k.Name == name);
        if (CannotRunHere(kernel))
        {
            return;
        }
        output.WriteLine(kernel.IsNative ? $"{name}: executed natively" : $"{name}: compiled, not executed here; tested through its managed lane emulation");
        var rng = new Random(1234);
        // Emulated lanes are slow; the shapes still cover every tail of k (mod 2 and 4), n (mod 16) and m (mod 4).
        int[] ks = kernel.IsNative ? [.. Enumerable.Range(1, 40), 63, 64, 65, 127, 128, 129, 1024] : [.. Enumerable.Range(1, 12), 31, 33, 64];
        int[] ns = kernel.IsNative ? [.. Enumerable.Range(1, 35), 64, 100] : [1, 3, 8, 15, 16, 17, 31, 33];
        int[] ms = [1, 2, 3, 4, 5, 7, 8, 9];
        foreach (int k in ks)
        {
            foreach (int n in ns)
            {
                int m = ms[(k + n) % ms.Length];
                var a = RandomInt8(rng, m * k);
                var w = RandomInt8(rng, n * k);
                var expected = Reference(a, w, m, n, k);
                var acc = new int[m * n];
                kernel.Multiply(a, m, kernel.Pack(w, n, k), acc);
                Assert.True(expected.AsSpan().SequenceEqual(acc), $"{name}: m={m} n={n} k={k} differs from scalar");
            }
        }
    }

    /// <summary>
    /// Column blocks (aligned and not) of one activation buffer, reused at shrinking and growing sizes,
    /// give the scalar kernel's accumulators; k crosses the cache-blocking boundary (partial sums reloaded).
    /// </summary>
    [Theory]
    [MemberData(nameof(Int8Names))]
    public void Int8Variant_ColumnBlocks_ReusedActivations_BitEqualToScalar(string name)
    {
        var kernel = KernelRegistry.Int8Variants.Single(k => k.Name == name);
        if (CannotRunHere(kernel))
        {
            return;
        }
        var rng = new Random(4321);
        var act = kernel.CreateActivations();
        (int M, int N, int K)[] shapes = kernel.IsNative
            ? [(13, 70, 1100), (5, 70, 1100), (9, 33, 513), (1, 48, 2), (20, 17, 0)]
            : [(6, 37, 9), (3, 37, 9), (5, 20, 13), (2, 33, 1030)];
        foreach (var (m, n, k) in shapes)
        {
            var a = RandomInt8(rng, m * k);
            var w = RandomInt8(rng, n * k);
            var expected = Reference(a, w, m, n, k);
            var packed = kernel.Pack(w, n, k);
            act.Resize(m, k);
            for (int i = 0; i < m; i++)
            {
                act.SetRow(i, a.AsSpan(i * k, k));
            }
            foreach (var (c0, count) in new[] { (0, n), (16, Math.Min(32, n - 16)), (5, Math.Min(20, n - 5)), (n - 3, 3), (n / 2, 0) })
            {
                var acc = new int[m * count];
                kernel.MultiplyColumns(act, packed, c0, count, acc);
                for (int i = 0; i < m; i++)
                {
                    for (int j = 0; j < count; j++)
                    {
                        Assert.True(expected[i * n + c0 + j] == acc[i * count + j], $"{name}: m={m} n={n} k={k} columns {c0}+{count}: [{i},{j}] " +
                            "differs from scalar");
                    }
                }
            }
        }
    }

    [Fact]
    public void MultiplyColumns_RejectsMismatchedShapes()
    {
        var kernel = new ScalarInt8Kernel();
        var act = kernel.CreateActivations();
        act.Resize(2, 8);
        Assert.Throws<ArgumentException>(() => act.SetRow(2, new sbyte[8]));
        Assert.Throws<ArgumentException>(() => act.SetRow(0, new sbyte[7]));
        var w = kernel.Pack(new sbyte[16 * 9], 16, 9);
        Assert.Throws<ArgumentException>(() => kernel.MultiplyColumns(act, w, 0, 16, new int[32]));
        var w8 = kernel.Pack(new sbyte[16 * 8], 16, 8);
        Assert.Throws<ArgumentException>(() => kernel.MultiplyColumns(act, w8, 8, 9, new int[32]));
        Assert.Throws<ArgumentException>(() => kernel.MultiplyColumns(act, w8, 0, 16, new int[31]));
    }

    /// <summary>
    /// A reduction long enough that VPDPBUSD's offset sums (a + 128) x w pass int32 (255 x -128 x 70000 = -2.28e9)
    /// while the true sums fit: the wrapped intermediates must still give the exact result, like scalar.
    /// </summary>
    [Theory]
    [MemberData(nameof(Int8Names))]
    public void Int8Variant_LongReduction_ExactWhereOnlyIntermediatesWrap(string name)
    {
        var kernel = KernelRegistry.Int8Variants.Single(k => k.Name == name);
        if (CannotRunHere(kernel))
        {
            return;
        }
        const int m = 2, n = 17, k = 70_000;
        var a = new sbyte[m * k];
        var w = new sbyte[n * k];
        Array.Fill(a, (sbyte)127, 0, k);
        Array.Fill(a, (sbyte)-128, k, k);
        Array.Fill(w, (sbyte)-128);
        Array.Fill(w, (sbyte)127, k, k);
        var acc = new int[m * n];
        kernel.Multiply(a, m, kernel.Pack(w, n, k), acc);
        for (int j = 0; j < n; j++)
        {
            int wv = j == 1 ? 127 : -128;
            Assert.Equal(127 * wv * k, acc[j]);
            Assert.Equal(-128 * wv * k, acc[n + j]);
        }
    }

    /// <summary>
    /// The managed VPDPBUSD model (what tests the avx-vnni kernel on CPUs without AVX-VNNI) against the instruction
    /// itself, lane for lane, on random bytes with the extremes; where this CPU lacks AVX-VNNI the test says so.
    /// </summary>
    [Fact]
    public void EmulatedVpdpbusd_MatchesTheInstruction_LaneForLane()
    {
        if (!NativeAvxVnni.IsNative)
        {
            output.WriteLine("AVX-VNNI not on this CPU: the emulation cannot be compared with the instruction here");
            return;
        }
        var rng = new Random(77);
        var bytes = new byte[32];
        var signed = new sbyte[32];
        var acc = new int[8];
        for (int trial = 0; trial < 2000; trial++)
        {
            rng.NextBytes(bytes);
            rng.NextBytes(MemoryMarshal.AsBytes(signed.AsSpan()));
            if (trial % 7 == 0)
            {
                bytes.AsSpan().Fill(255);
                signed.AsSpan().Fill(trial % 2 == 0 ? (sbyte)-128 : (sbyte)127);
            }
            for (int i = 0; i < acc.Length; i++)
            {
                acc[i] = rng.Next(int.MinValue, int.MaxValue);
            }
            var a = System.Runtime.Intrinsics.Vector256.Create(acc);
            var u = System.Runtime.Intrinsics.Vector256.Create(bytes);
            var w = System.Runtime.Intrinsics.Vector256.Create(signed);
            Assert.Equal(NativeAvxVnni.Dot(a, u, w), EmulatedAvxVnni.Dot(a, u, w));
        }
    }

    /// <summary>
    /// Where the CPU has AVX-VNNI the registry holds only the native avx-vnni kernel; the emulated one (what other
    /// CPUs test) is run here too, over both tiles and across a k-block, bit-equal to scalar.
    /// </summary>
    [Fact]
    public void EmulatedAvxVnniKernel_BitEqualToScalar_BothTiles_AcrossAKBlock()
    {
        var kernel = new AvxVnniInt8Kernel<EmulatedAvxVnni>();
        var rng = new Random(99);
        foreach (var (m, n, k) in new[] { (7, 33, 1030), (6, 16, 9), (1, 17, 5) })
        {
            var a = RandomInt8(rng, m * k);
            var w = RandomInt8(rng, n * k);
            var acc = new int[m * n];
            kernel.Multiply(a, m, kernel.Pack(w, n, k), acc);
            Assert.Equal(Reference(a, w, m, n, k), acc);
        }
    }

    [Theory]
    [MemberData(nameof(Int8Names))]
    public void Int8Variant_AllExtremes_NoSaturation(string name)
    {
        var kernel = KernelRegistry.Int8Variants.Single(k => k.Name == name);
        if (CannotRunHere(kernel))
        {
            return;
        }
        foreach (var (av, wv) in new (sbyte, sbyte)[] { (-128, -128), (-128, 127), (127, 127), (127, -128) })
        {
            int m = 5, n = 17, k = 259;
            var a = Enumerable.Repeat(av, m * k).ToArray();
            var w = Enumerable.Repeat(wv, n * k).ToArray();
            var acc = new int[m * n];
            kernel.Multiply(a, m, kernel.Pack(w, n, k), acc);
            Assert.All(acc, v => Assert.Equal(av * wv * k, v));
        }
    }

    [Theory]
    [MemberData(nameof(Fp32Names))]
    public void Fp32Variant_MatchesFp64Reference(string name)
    {
        var kernel = KernelRegistry.Fp32Variants.Single(k => k.Name == name);
        Assert.True(kernel.IsNative, $"{name} cannot run here");
        var rng = new Random(99);
        foreach (var (m, n, k) in new[] { (1, 1, 1), (3, 17, 5), (4, 16, 64), (7, 33, 129), (9, 100, 257) })
        {
            var a = Enumerable.Range(0, m * k).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            var w = Enumerable.Range(0, n * k).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            var y = new float[m * n];
            kernel.Multiply(a, m, kernel.Pack(w, n, k), y);
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    double s = 0, mag = 0;
                    for (int t = 0; t < k; t++)
                    {
                        s += (double)a[i * k + t] * w[j * k + t];
                        mag += Math.Abs((double)a[i * k + t] * w[j * k + t]);
                    }
                    Assert.True(Math.Abs(y[i * n + j] - s) <= 1e-6 * mag + 1e-7, $"{name} m={m} n={n} k={k} [{i},{j}]: {y[i * n + j]} vs {s}");
                }
            }
        }
    }

    [Fact]
    public void Selection_HonoursForcedName_AndRejectsUnknownOrForeign()
    {
        Assert.Equal("scalar", KernelRegistry.SelectInt8("scalar").Name);
        Assert.Equal("scalar", KernelRegistry.SelectFp32("scalar").Name);
        Assert.Contains("no int8 kernel", Assert.Throws<EdgeAvsrException>(() => KernelRegistry.SelectInt8("avx9")).Message, StringComparison.Ordinal);
        foreach (var k in KernelRegistry.Int8Variants.Where(k => !k.IsNative))
        {
            Assert.Contains("cannot execute", Assert.Throws<EdgeAvsrException>(() => KernelRegistry.SelectInt8(k.Name)).Message, StringComparison.Ordinal);
        }
        Assert.True(KernelRegistry.SelectInt8(null).IsNative);
    }
}

public class QuantizationTests
{
    [Fact]
    public void QuantizeRow_VectorPathEqualsScalarDefinition_EveryLength()
    {
        var rng = new Random(17);
        for (int n = 0; n <= 200; n++)
        {
            var x = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 6 - 3)).ToArray();
            if (n > 3)
            {
                x[1] = 0.5f * (x.Max(MathF.Abs) / 127f); // an exact rounding tie
            }
            var q = new sbyte[n];
            float scale = EdgeAvsr.Runtime.Projector.Int8Quantization.QuantizeRow(x, q);
            float max = n == 0 ? 0 : x.Max(MathF.Abs);
            Assert.Equal(max / 127f, scale);
            for (int i = 0; i < n; i++)
            {
                sbyte expected = max == 0 ? (sbyte)0 : (sbyte)Math.Clamp(MathF.Round(x[i] * (127f / max)), -127f, 127f);
                Assert.True(expected == q[i], $"n={n} i={i}: {q[i]} vs {expected}");
            }
        }
    }
}
