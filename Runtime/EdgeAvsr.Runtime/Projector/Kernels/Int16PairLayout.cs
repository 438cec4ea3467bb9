using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeAvsr.Runtime.Projector.Kernels;

/// <summary>
/// Weights for the <c>vpmaddwd</c> kernel: int8 widened to int16 and packed in panels of 16 output
/// channels, <c>[panel][k/2][16][2]</c>, so one step of a panel is 64 contiguous bytes (two ymm or one zmm).
/// k is zero-padded to even, channels to a multiple of 16.
/// </summary>
internal sealed class Int16PairPacked : StepPanelMatrix
{
    public Int16PairPacked(ReadOnlySpan<sbyte> weights, int rows, int columns) : base(rows, columns, (columns + 1) / 2)
    {
        Data = new short[(long)PanelCount * StepCount * Panel * 2];
        for (int row = 0; row < rows; row++)
        {
            int p = row / Panel, c = row % Panel;
            var w = weights.Slice(row * columns, columns);
            for (int col = 0; col < columns; col++)
            {
                Data[(((long)p * StepCount + (col >> 1)) * Panel + c) * 2 + (col & 1)] = w[col];
            }
        }
    }

    private short[] Data { get; }

    public override Span<byte> Bytes => MemoryMarshal.AsBytes(Data.AsSpan());
}

/// <summary>
/// Activations for the <c>vpmaddwd</c> kernel: int16, each row padded to an even length (read as int32
/// pairs and broadcast), rows padded with zeros to a multiple of the kernel's tile height so the
/// micro-kernel never needs a short tile.
/// </summary>
internal sealed class Int16PairActivations(int rowMultiple) : StepActivations(rowMultiple)
{
    private short[] _data = [];

    public override Span<byte> Bytes => MemoryMarshal.AsBytes(_data.AsSpan());

    protected override void OnResize(int rows, int columns)
    {
        StepCount = (columns + 1) / 2;
        PaddedRows = (rows + RowMultiple - 1) / RowMultiple * RowMultiple;
        long need = (long)PaddedRows * StepCount * 2;
        if (_data.Length < need)
        {
            _data = new short[need];
        }
        _data.AsSpan(rows * StepCount * 2, (PaddedRows - rows) * StepCount * 2).Clear();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override unsafe void OnSetRow(int row, ReadOnlySpan<sbyte> values)
    {
        int k = values.Length;
        var dst = _data.AsSpan(row * StepCount * 2, StepCount * 2);
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
