using System.Device.I2c;

namespace EdgeAvsr.Device.Tests.Gpio;

/// <summary>
/// A PCF8574 backpack with an HD44780 behind it, as bytes on I2C: each byte written sets the expander's eight outputs
/// (P0 RS, P1 RW, P2 E, P3 backlight, P4-P7 D4-D7). On each falling edge of E the controller latches D4-D7: one nibble is a
/// whole instruction while it is in 8-bit mode (power-on), two nibbles (high first) make a byte in 4-bit mode. Instructions
/// decoded: clear, home, entry mode, display on/off, function set (8/4-bit), CGRAM and DDRAM address; data bytes go to DDRAM
/// (row 0 at 0x00, row 1 at 0x40) and appear in <see cref="Rows"/>.
/// </summary>
internal sealed class FakeLcdI2cDevice(int columns = 16, int rows = 2) : I2cDevice
{
    private const int Rs = 1 << 0, Rw = 1 << 1, E = 1 << 2, Backlight = 1 << 3;
    private readonly char[,] _ddram = Blank(rows, 0x40);
    private byte _outputs;
    private bool _eightBit = true;
    private int? _highNibble;
    private int _address;
    private bool _cgram;
    private bool _increment = true;

    public override I2cConnectionSettings ConnectionSettings { get; } = new(1, 0x27);

    public List<byte> Written { get; } = [];

    public bool DisplayOn { get; private set; }

    public bool BacklightOn => (_outputs & Backlight) != 0;

    public bool FourBitMode => !_eightBit;

    public int Clears { get; private set; }

    /// <summary>What the display shows: the visible columns of each row.</summary>
    public string[] Rows => [.. Enumerable.Range(0, rows).Select(r => new string(Enumerable.Range(0, columns).Select(c => _ddram[r, c]).ToArray()))];

    /// <summary>Once set, every write throws, as a backpack pulled off the bus does.</summary>
    public bool Unplugged { get; set; }

    public override byte ReadByte() => _outputs;

    public override void Read(Span<byte> buffer) => buffer.Fill(_outputs);

    public override void WriteByte(byte value)
    {
        if (Unplugged)
        {
            throw new IOException("the backpack stopped answering");
        }
        Written.Add(value);
        bool falling = (_outputs & E) != 0 && (value & E) == 0;
        if (falling && (value & Rw) == 0)
        {
            Latch((value & Rs) != 0, _outputs >> 4);
        }
        _outputs = value;
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        foreach (byte b in buffer)
        {
            WriteByte(b);
        }
    }

    public override void WriteRead(ReadOnlySpan<byte> writeBuffer, Span<byte> readBuffer)
    {
        Write(writeBuffer);
        Read(readBuffer);
    }

    private void Latch(bool data, int nibble)
    {
        if (_eightBit)
        {
            // D0-D3 are not wired: they read as 0.
            Execute(data, nibble << 4);
            return;
        }
        if (_highNibble is not { } high)
        {
            _highNibble = nibble;
            return;
        }
        _highNibble = null;
        Execute(data, high << 4 | nibble);
    }

    private void Execute(bool data, int value)
    {
        if (data)
        {
            if (!_cgram)
            {
                _ddram[_address >= 0x40 ? 1 % rows : 0, _address & 0x3F] = (char)value;
            }
            _address = _increment ? _address + 1 : _address - 1;
            return;
        }
        if ((value & 0x80) != 0)
        {
            _address = value & 0x7F;
            _cgram = false;
        }
        else if ((value & 0x40) != 0)
        {
            _cgram = true;
        }
        else if ((value & 0x20) != 0)
        {
            _eightBit = (value & 0x10) != 0;
            _highNibble = null;
        }
        else if ((value & 0x10) != 0)
        {
            // Cursor or display shift: not used by the caption display.
        }
        else if ((value & 0x08) != 0)
        {
            DisplayOn = (value & 0x04) != 0;
        }
        else if ((value & 0x04) != 0)
        {
            _increment = (value & 0x02) != 0;
        }
        else if ((value & 0x02) != 0)
        {
            _address = 0;
        }
        else if (value == 0x01)
        {
            Clears++;
            var blank = Blank(rows, 0x40);
            Array.Copy(blank, _ddram, blank.Length);
            _address = 0;
            _increment = true;
        }
    }

    private static char[,] Blank(int rows, int width)
    {
        var a = new char[Math.Max(rows, 2), width];
        for (int r = 0; r < a.GetLength(0); r++)
        {
            for (int c = 0; c < width; c++)
            {
                a[r, c] = ' ';
            }
        }
        return a;
    }
}
