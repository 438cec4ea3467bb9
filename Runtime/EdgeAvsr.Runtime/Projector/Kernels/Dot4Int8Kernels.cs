using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace EdgeAvsr.Runtime.Projector.Kernels;

/// <summary>
/// Weights packed for the 4-way dot-product instructions (ARM SDOT, x86 VPDPBUSD):
/// panels of 16 output channels, <c>[panel][k/4][16][4]</c> int8, k zero-padded to a multiple of 4.
/// </summary>
internal sealed class Dot4Packed : StepPanelMatrix
{
    private readonly int[]? _correction;

    // offsetActivations: VPDPBUSD's activations carry a +128 offset, so each channel's sum exceeds the true one by
    // 128 x the channel's weight sum, which the driver subtracts exactly.
    public Dot4Packed(ReadOnlySpan<sbyte> weights, int rows, int columns, bool offsetActivations) : base(rows, columns, (columns + 3) / 4)
    {
        Data = new sbyte[(long)PanelCount * StepCount * Panel * 4];
        _correction = offsetActivations ? new int[rows] : null;
        for (int row = 0; row < rows; row++)
        {
            int p = row / Panel, c = row % Panel;
            var w = weights.Slice(row * columns, columns);
            int sum = 0;
            for (int col = 0; col < columns; col++)
            {
                Data[(((long)p * StepCount + (col >> 2)) * Panel + c) * 4 + (col & 3)] = w[col];
                sum += w[col];
            }
            if (_correction is not null)
            {
                _correction[row] = 128 * sum;
            }
        }
    }

    private sbyte[] Data { get; }

    public override Span<byte> Bytes => MemoryMarshal.AsBytes(Data.AsSpan());

    public override int[]? ChannelCorrection => _correction;
}

/// <summary>
/// Activations for the 4-way dot-product kernels: each row padded to a multiple of 4 values, rows padded to a
/// multiple of the tile height. With <c>offset</c> (VPDPBUSD) every value is stored as <c>a + 128</c> (a XOR 0x80,
/// unsigned) and padding holds the offset zero (128), which meets zero weights.
/// </summary>
internal sealed class Dot4Activations(bool offset, int rowMultiple) : StepActivations(rowMultiple)
{
    private byte[] _data = [];

    public override Span<byte> Bytes => _data;

    protected override void OnResize(int rows, int columns)
    {
        StepCount = (columns + 3) / 4;
        PaddedRows = (rows + RowMultiple - 1) / RowMultiple * RowMultiple;
        long need = (long)PaddedRows * StepCount * 4;
        if (_data.Length < need)
        {
            _data = new byte[need];
        }
        _data.AsSpan(rows * StepCount * 4, (PaddedRows - rows) * StepCount * 4).Fill(offset ? (byte)0x80 : (byte)0);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void OnSetRow(int row, ReadOnlySpan<sbyte> values)
    {
        var dst = _data.AsSpan(row * StepCount * 4, StepCount * 4);
        var src = MemoryMarshal.AsBytes(values);
        if (offset)
        {
            int t = 0;
            var bias = Vector128.Create((byte)0x80);
            for (; t + 16 <= src.Length; t += 16)
            {
                (Vector128.Create(src.Slice(t, 16)) ^ bias).CopyTo(dst.Slice(t, 16));
            }
            for (; t < src.Length; t++)
            {
                dst[t] = (byte)(src[t] ^ 0x80);
            }
            dst[src.Length..].Fill(0x80);
        }
        else
        {
            src.CopyTo(dst);
            dst[src.Length..].Clear();
        }
    }
}
