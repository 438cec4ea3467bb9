using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeAvsr.Runtime.Projector.Kernels;

/// <summary>
/// Weights for the <c>vpmaddwd</c> kernel: int8 widened to int16 and packed in panels of 16 output
/// channels, <c>[panel][k/2][16][2]</c>, so one step of a panel is 64 contiguous bytes (two ymm or one zmm).
/// k is zero-padded to even, channels to a multiple of 16.
/// </summary>
internal sealed class Int16PairPacked : PackedInt8Matrix
{
    public const int Panel = 16;

    public Int16PairPacked(ReadOnlySpan<sbyte> weights, int rows, int columns) : base(rows, columns)
    {
        PairCount = (columns + 1) / 2;
        PanelCount = (rows + Panel - 1) / Panel;
        Data = new short[(long)PanelCount * PairCount * Panel * 2];
        for (int row = 0; row < rows; row++)
        {
            int p = row / Panel, c = row % Panel;
            var w = weights.Slice(row * columns, columns);
            for (int col = 0; col < columns; col++)
            {
                Data[(((long)p * PairCount + (col >> 1)) * Panel + c) * 2 + (col & 1)] = w[col];
            }
        }
    }

    public short[] Data { get; }

    public int PairCount { get; }

    public int PanelCount { get; }
}

/// <summary>
/// Activations for the <c>vpmaddwd</c> kernel: int16, each row padded to an even length (read as int32
/// pairs and broadcast), rows padded with zeros to a multiple of the kernel's tile height so the
/// micro-kernel never needs a short tile.
/// </summary>
internal sealed class Int16PairActivations(int rowMultiple) : PackedInt8Activations
{
    private short[] _data = [];

    /// <summary>The kernel's tile height: rows are padded to a multiple of it.</summary>
    public int RowMultiple => rowMultiple;

    public int PairCount { get; private set; }

    public int PaddedRows { get; private set; }

    public short[] Data => _data;

    protected override void OnResize(int rows, int columns)
    {
        PairCount = (columns + 1) / 2;
        PaddedRows = (rows + rowMultiple - 1) / rowMultiple * rowMultiple;
        long need = (long)PaddedRows * PairCount * 2;
        if (_data.Length < need)
        {
            _data = new short[need];
        }
        _data.AsSpan(rows * PairCount * 2, (PaddedRows - rows) * PairCount * 2).Clear();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override unsafe void OnSetRow(int row, ReadOnlySpan<sbyte> values)
    {
        int k = values.Length;
        var dst = _data.AsSpan(row * PairCount * 2, PairCount * 2);
        int t = 0;
        if (Avx2.IsSupported)
        {
            fixed (sbyte* ps = values)
            fixed (short* pd = dst)
            {
                for (; t + 16 <= k; t += 16)
                {
                    Avx.Store(pd + t, Avx2.ConvertToVector256Int16(Sse2.LoadVector128(ps + t)));
                }
            }
        }
        for (; t < k; t++)
        {
            dst[t] = values[t];
        }
        if ((k & 1) != 0)
        {
            dst[k] = 0;
        }
    }
}

/// <summary>
/// The cache-blocked driver of the <c>vpmaddwd</c> kernel (GotoBLAS order): the reduction is cut
/// into blocks of <see cref="PairBlock"/> pairs; for each block, each 16-channel weight sub-panel (16 KiB,
/// L1-resident) meets every row tile of the activations (whose block slice stays in L2), and partial sums
/// live in an int32 scratch laid out <c>[panel][row][16]</c> that the micro-kernel reloads.
/// </summary>
internal static unsafe class Int16PairDriver
{
    public const int PairBlock = 256;

    /// <summary>
    /// Runs the micro-kernels over a block of output channels. <paramref name="tile"/> covers the activations' <see cref="Int16PairActivations.RowMultiple"/> rows x 16 channels over
    /// <c>k2</c> k-pairs: <c>a</c> points at the first row's first pair (rows are <c>stride</c> int32 apart), <c>w</c> at
    /// the sub-panel, <c>tile</c> at <c>[rows][16]</c> int32 which it overwrites (<c>accumulate</c> false) or adds to.
    /// <paramref name="pairTile"/>, when given, covers two adjacent panels at once (its second sub-panel and partial
    /// sums are <c>panelStride</c> shorts and <c>tileStride</c> ints further on); a last odd panel uses <paramref name="tile"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(
        PackedInt8Activations activations, PackedInt8Matrix weights, int columnStart, int columnCount, Span<int> acc,
        delegate*<int*, int, int, short*, int*, bool, void> tile,
        delegate*<int*, int, int, short*, long, int*, int, bool, void> pairTile = null)
    {
        var a = (Int16PairActivations)activations;
        var w = (Int16PairPacked)weights;
        int m = a.Rows, mp = a.PaddedRows, k2 = w.PairCount, tileRows = a.RowMultiple;
        if (m == 0 || columnCount == 0)
        {
            return;
        }
        const int panel = Int16PairPacked.Panel;
        int firstPanel = columnStart / panel;
        int lastPanel = (columnStart + columnCount - 1) / panel;
        int panels = lastPanel - firstPanel + 1;
        int[] scratch = ArrayPool<int>.Shared.Rent(panels * mp * panel);
        try
        {
            fixed (short* pa = a.Data)
            fixed (short* pw = w.Data)
            fixed (int* ps = scratch)
            {
                for (int kb = 0; kb < k2; kb += PairBlock)
                {
                    int kLen = Math.Min(PairBlock, k2 - kb);
                    bool accumulate = kb > 0;
                    long panelStride = (long)k2 * panel * 2;
                    int tileStride = mp * panel;
                    for (int p = 0; p < panels;)
                    {
                        short* wp = pw + (firstPanel + p) * panelStride + (long)kb * panel * 2;
                        int* sp = ps + (long)p * tileStride;
                        if (pairTile != null && p + 1 < panels)
                        {
                            for (int i = 0; i < mp; i += tileRows)
                            {
                                pairTile((int*)(pa + (long)i * k2 * 2) + kb, k2, kLen, wp, panelStride, sp + i * panel, tileStride, accumulate);
                            }
                            p += 2;
                            continue;
                        }
                        for (int i = 0; i < mp; i += tileRows)
                        {
                            tile((int*)(pa + (long)i * k2 * 2) + kb, k2, kLen, wp, sp + i * panel, accumulate);
                        }
                        p++;
                    }
                }
                if (k2 == 0)
                {
                    new Span<int>(ps, panels * mp * panel).Clear();
                }
                // Copy the requested channels out of the panel-major scratch.
                for (int p = 0; p < panels; p++)
                {
                    int panelStart = (firstPanel + p) * panel;
                    int from = Math.Max(columnStart, panelStart);
                    int to = Math.Min(columnStart + columnCount, panelStart + panel);
                    int len = to - from;
                    int* sp = ps + (long)p * mp * panel + (from - panelStart);
                    for (int i = 0; i < m; i++)
                    {
                        new ReadOnlySpan<int>(sp + i * panel, len).CopyTo(acc.Slice(i * columnCount + (from - columnStart), len));
                    }
                }
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(scratch);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Load256(int* tile, bool accumulate) => accumulate ? Avx.LoadVector256(tile) : Vector256<int>.Zero;
}
