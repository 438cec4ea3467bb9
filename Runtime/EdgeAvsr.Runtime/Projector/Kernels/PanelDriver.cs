using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EdgeAvsr.Runtime.Projector.Kernels;

/// <summary>
/// Weights packed in panels of 16 output channels in which one reduction step of a panel is 64 contiguous bytes:
/// an int16 pair per channel (<c>vpmaddwd</c>) or an int8 quad per channel (VPDPBUSD, SDOT). Laid out
/// <c>[panel][step][16][bytes per channel]</c>; the channels are padded to a multiple of 16 and k to whole steps.
/// </summary>
internal abstract class StepPanelMatrix(int rows, int columns, int stepCount) : PackedInt8Matrix(rows, columns)
{
    public const int Panel = 16;

    public const int StepBytes = 64;

    /// <summary>Reduction steps: k/2 pairs or k/4 quads, rounded up.</summary>
    public int StepCount { get; } = stepCount;

    public int PanelCount => (Rows + Panel - 1) / Panel;

    public abstract Span<byte> Bytes { get; }

    /// <summary>Subtracted from each output channel's sum (VPDPBUSD's activation offset); null when none.</summary>
    public virtual int[]? ChannelCorrection => null;
}

/// <summary>
/// Activations for the <see cref="StepPanelMatrix"/> kernels: each row is <see cref="StepCount"/> 4-byte steps (the value
/// the micro-kernel broadcasts), rows padded with the layout's zero to a multiple of the kernel's tile height so the
/// micro-kernel never needs a short tile.
/// </summary>
internal abstract class StepActivations(int rowMultiple) : PackedInt8Activations
{
    /// <summary>The kernel's tile height: rows are padded to a multiple of it.</summary>
    public int RowMultiple => rowMultiple;

    public int StepCount { get; protected set; }

    public int PaddedRows { get; protected set; }

    /// <summary>Row <c>i</c> starts at byte <c>i * StepCount * 4</c>.</summary>
    public abstract Span<byte> Bytes { get; }
}

/// <summary>
/// The cache-blocked driver of the panel kernels (GotoBLAS order): the reduction is cut into blocks of
/// <see cref="StepBlock"/> steps; for each block, each 16-channel weight sub-panel (16 KiB, L1-resident) meets every
/// row tile of the activations (whose block slice stays in L2), and partial sums live in an int32 scratch laid out
/// <c>[panel][row][16]</c> that the micro-kernel reloads.
/// </summary>
internal static unsafe class PanelDriver
{
    public const int StepBlock = 256;

    /// <summary>
    /// Runs the micro-kernels over a block of output channels. <paramref name="tile"/> covers the activations'
    /// <see cref="StepActivations.RowMultiple"/> rows x 16 channels over <c>steps</c> steps: <c>a</c> points at the first
    /// row's first step (rows are <c>stride</c> steps apart), <c>w</c> at the sub-panel, <c>tile</c> at <c>[rows][16]</c>
    /// int32 which it overwrites (<c>accumulate</c> false) or adds to. <paramref name="pairTile"/>, when given, covers two
    /// adjacent panels at once (its second sub-panel and partial sums are <c>panelStride</c> bytes and <c>tileStride</c>
    /// ints further on); a last odd panel uses <paramref name="tile"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(
        PackedInt8Activations activations, PackedInt8Matrix weights, int columnStart, int columnCount, Span<int> acc,
        delegate*<int*, int, int, byte*, int*, bool, void> tile,
        delegate*<int*, int, int, byte*, long, int*, int, bool, void> pairTile = null)
    {
        var a = (StepActivations)activations;
        var w = (StepPanelMatrix)weights;
        int m = a.Rows, mp = a.PaddedRows, steps = w.StepCount, tileRows = a.RowMultiple;
        if (m == 0 || columnCount == 0)
        {
            return;
        }
        const int panel = StepPanelMatrix.Panel;
        int firstPanel = columnStart / panel;
        int lastPanel = (columnStart + columnCount - 1) / panel;
        int panels = lastPanel - firstPanel + 1;
        int[] scratch = ArrayPool<int>.Shared.Rent(panels * mp * panel);
        try
        {
            fixed (byte* pa = a.Bytes)
            fixed (byte* pw = w.Bytes)
            fixed (int* ps = scratch)
            {
                long panelStride = (long)steps * StepPanelMatrix.StepBytes;
                int tileStride = mp * panel;
                long rowBytes = (long)steps * 4;
                for (int kb = 0; kb < steps; kb += StepBlock)
                {
                    int kLen = Math.Min(StepBlock, steps - kb);
                    bool accumulate = kb > 0;
                    for (int p = 0; p < panels;)
                    {
                        byte* wp = pw + (firstPanel + p) * panelStride + (long)kb * StepPanelMatrix.StepBytes;
                        int* sp = ps + (long)p * tileStride;
                        if (pairTile != null && p + 1 < panels)
                        {
                            for (int i = 0; i < mp; i += tileRows)
                            {
                                pairTile((int*)(pa + i * rowBytes) + kb, steps, kLen, wp, panelStride, sp + i * panel, tileStride, accumulate);
                            }
                            p += 2;
                            continue;
                        }
                        for (int i = 0; i < mp; i += tileRows)
                        {
                            tile((int*)(pa + i * rowBytes) + kb, steps, kLen, wp, sp + i * panel, accumulate);
                        }
                        p++;
                    }
                }
                if (steps == 0)
                {
                    new Span<int>(ps, panels * mp * panel).Clear();
                }
                CopyOut(ps, m, mp, firstPanel, panels, columnStart, columnCount, w.ChannelCorrection, acc);
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(scratch);
        }
    }

    /// <summary>Copies the requested channels out of the panel-major scratch, less each channel's correction.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CopyOut(int* ps, int m, int mp, int firstPanel, int panels, int columnStart, int columnCount, int[]? correction, Span<int> acc)
    {
        const int panel = StepPanelMatrix.Panel;
        for (int p = 0; p < panels; p++)
        {
            int panelStart = (firstPanel + p) * panel;
            int from = Math.Max(columnStart, panelStart);
            int to = Math.Min(columnStart + columnCount, panelStart + panel);
            int len = to - from;
            int* sp = ps + (long)p * mp * panel + (from - panelStart);
            for (int i = 0; i < m; i++)
            {
                var src = new ReadOnlySpan<int>(sp + i * panel, len);
                var dst = acc.Slice(i * columnCount + (from - columnStart), len);
                if (correction is null)
                {
                    src.CopyTo(dst);
                    continue;
                }
                var corr = correction.AsSpan(from, len);
                int j = 0;
                if (Vector.IsHardwareAccelerated)
                {
                    for (; j + Vector<int>.Count <= len; j += Vector<int>.Count)
                    {
                        (new Vector<int>(src.Slice(j)) - new Vector<int>(corr.Slice(j))).CopyTo(dst.Slice(j));
                    }
                }
                for (; j < len; j++)
                {
                    dst[j] = src[j] - corr[j];
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Load256(int* tile, bool accumulate) => accumulate ? Vector256.Load(tile) : Vector256<int>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Load128(int* tile, bool accumulate) => accumulate ? Vector128.Load(tile) : Vector128<int>.Zero;
}
