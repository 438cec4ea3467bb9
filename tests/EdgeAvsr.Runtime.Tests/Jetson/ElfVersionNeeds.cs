using System.Buffers.Binary;
using System.Text;

namespace EdgeAvsr.Runtime.Tests.Jetson;

/// <summary>One undefined dynamic symbol and the version of a shared library it is bound to.</summary>
/// <param name="Symbol">The symbol's name; empty for a version the file needs without a symbol naming it.</param>
/// <param name="Version">The version name, e.g. <c>GLIBC_2.34</c>.</param>
/// <param name="Library">The library that must provide it (<c>vn_file</c>), e.g. <c>libc.so.6</c>.</param>
internal sealed record VersionedSymbol(string Symbol, string Version, string Library);

/// <summary>
/// Reads the symbol versions an ELF64 little-endian file (x86-64 or aarch64) needs from its shared libraries:
/// the <c>.gnu.version_r</c> section (SHT_GNU_verneed: per library, the versions and their indices) joined with
/// <c>.dynsym</c> and <c>.gnu.version</c> (SHT_GNU_versym: the version index of each dynamic symbol). Every offset
/// is checked against the file, so a truncated or malformed file is an error naming it, never a wrong answer.
/// </summary>
internal static class ElfVersionNeeds
{
    public const ushort MachineX64 = 62;
    public const ushort MachineAarch64 = 183;

    private const uint ShtDynsym = 11;
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const uint ShtGnuVersym = 0x6fffffff;

    /// <summary>True when the file starts with the ELF magic.</summary>
    public static bool IsElf(string path)
    {
        using var f = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[4];
        return f.Read(magic) == 4 && magic.SequenceEqual("\u007fELF"u8);
    }

    /// <summary>The ELF header's e_machine (62 x86-64, 183 aarch64).</summary>
    public static ushort Machine(string path) => new Reader(path, File.ReadAllBytes(path)).Machine;

    /// <summary>Every (symbol, version, library) the file needs; a file without version needs gives none.</summary>
    public static IReadOnlyList<VersionedSymbol> Read(string path)
    {
        var r = new Reader(path, File.ReadAllBytes(path));
        var sections = r.Sections();
        var verneed = sections.Where(s => s.Type == ShtGnuVerneed).ToList();
        if (verneed.Count == 0)
        {
            return [];
        }
        if (verneed.Count > 1)
        {
            throw r.Error("more than one SHT_GNU_verneed section");
        }
        // Version index -> (version name, library), from the vernaux entries' vna_other.
        var byIndex = new Dictionary<int, (string Version, string Library)>();
        var need = verneed[0];
        var needStrings = r.Section(sections, need.Link, "verneed's string table");
        long entry = need.Offset;
        for (uint i = 0; i < need.Info; i++)
        {
            r.Check(entry, 16, need.Offset + need.Size, "Elf64_Verneed");
            ushort count = r.U16(entry + 2);
            string library = r.CString(needStrings, r.U32(entry + 4));
            long aux = entry + r.U32(entry + 8);
            for (int j = 0; j < count; j++)
            {
                r.Check(aux, 16, need.Offset + need.Size, "Elf64_Vernaux");
                ushort index = (ushort)(r.U16(aux + 6) & 0x7fff);
                byIndex[index] = (r.CString(needStrings, r.U32(aux + 8)), library);
                uint nextAux = r.U32(aux + 12);
                if (nextAux == 0 && j + 1 < count)
                {
                    throw r.Error("Elf64_Vernaux chain ends before vn_cnt entries");
                }
                aux += nextAux;
            }
            uint next = r.U32(entry + 12);
            if (next == 0 && i + 1 < need.Info)
            {
                throw r.Error("Elf64_Verneed chain ends before sh_info entries");
            }
            entry += next;
        }

        var result = new List<VersionedSymbol>();
        var used = new HashSet<int>();
        var versym = sections.SingleOrDefault(s => s.Type == ShtGnuVersym);
        if (versym is not null)
        {
            var dynsym = r.Section(sections, versym.Link, "versym's symbol table");
            if (dynsym.Type != ShtDynsym || dynsym.EntrySize != 24)
            {
                throw r.Error("SHT_GNU_versym does not link to an Elf64_Sym SHT_DYNSYM section");
            }
            var symbolStrings = r.Section(sections, dynsym.Link, "dynsym's string table");
            long symbols = dynsym.Size / 24;
            if (versym.Size < symbols * 2)
            {
                throw r.Error($"SHT_GNU_versym holds {versym.Size / 2} entries for {symbols} dynamic symbols");
            }
            for (long s = 1; s < symbols; s++)
            {
                long sym = dynsym.Offset + (s * 24);
                r.Check(sym, 24, dynsym.Offset + dynsym.Size, "Elf64_Sym");
                int index = r.U16(versym.Offset + (s * 2)) & 0x7fff;
                // 0 local, 1 global without a version; defined symbols carry the file's own (verdef) versions.
                if (index < 2 || r.U16(sym + 6) != 0 || !byIndex.TryGetValue(index, out var v))
                {
                    continue;
                }
                used.Add(index);
                result.Add(new VersionedSymbol(r.CString(symbolStrings, r.U32(sym)), v.Version, v.Library));
            }
        }
        foreach (var (index, v) in byIndex.Where(p => !used.Contains(p.Key)).OrderBy(p => p.Key))
        {
            result.Add(new VersionedSymbol("", v.Version, v.Library));
        }
        return result;
    }

    /// <summary>
    /// The needs on glibc (<c>GLIBC_x.y[.z]</c>) newer than <paramref name="floor"/>, and any <c>GLIBC_PRIVATE</c>
    /// (no glibc promises it), each as "symbol@version (library)".
    /// </summary>
    public static IReadOnlyList<string> GlibcNeedsAbove(IEnumerable<VersionedSymbol> needs, Version floor) =>
        [.. needs.Where(n => n.Version.StartsWith("GLIBC_", StringComparison.Ordinal)
                             && (!Version.TryParse(n.Version["GLIBC_".Length..], out var v) || v > floor))
            .Select(n => $"{(n.Symbol.Length > 0 ? n.Symbol : "(no symbol)")}@{n.Version} ({n.Library})")
            .Distinct()
            .Order(StringComparer.Ordinal)];

    /// <summary>The highest numbered GLIBC_ version among the needs, or null when there is none.</summary>
    public static Version? HighestGlibc(IEnumerable<VersionedSymbol> needs) =>
        needs.Select(n => n.Version.StartsWith("GLIBC_", StringComparison.Ordinal) && Version.TryParse(n.Version["GLIBC_".Length..], out var v) ? v : null)
            .Where(v => v is not null)
            .Max();

    private sealed record Section(uint Type, long Offset, long Size, uint Link, uint Info, long EntrySize);

    private sealed class Reader
    {
        private readonly string _path;
        private readonly byte[] _bytes;

        public Reader(string path, byte[] bytes)
        {
            _path = path;
            _bytes = bytes;
            if (bytes.Length < 64 || !bytes.AsSpan(0, 4).SequenceEqual("\u007fELF"u8))
            {
                throw Error("not an ELF file (no ELF magic or shorter than the 64-byte header)");
            }
            if (bytes[4] != 2 || bytes[5] != 1)
            {
                throw Error($"ELF class {bytes[4]} data {bytes[5]}: only ELF64 little-endian is read");
            }
            Machine = U16(18);
        }

        public ushort Machine { get; }

        public List<Section> Sections()
        {
            long shoff = checked((long)U64(0x28));
            ushort entrySize = U16(0x3A);
            long count = U16(0x3C);
            if (shoff == 0)
            {
                throw Error("no section headers (e_shoff 0)");
            }
            if (entrySize != 64)
            {
                throw Error($"e_shentsize {entrySize}, expected 64");
            }
            Check(shoff, 64, _bytes.Length, "section header 0");
            if (count == 0)
            {
                // More than 0xff00 sections: the count is in section 0's sh_size.
                count = checked((long)U64(shoff + 32));
            }
            Check(shoff, count * 64, _bytes.Length, "section header table");
            var sections = new List<Section>((int)count);
            for (long i = 0; i < count; i++)
            {
                long h = shoff + (i * 64);
                uint type = U32(h + 4);
                long offset = checked((long)U64(h + 24));
                long size = checked((long)U64(h + 32));
                // SHT_NOBITS (8) occupies no bytes in the file (e.g. in a split .dbg file every section may be NOBITS).
                if (type != 8 && type != 0)
                {
                    Check(offset, size, _bytes.Length, $"section {i}");
                }
                sections.Add(new Section(type, offset, size, U32(h + 40), U32(h + 44), checked((long)U64(h + 56))));
            }
            return sections;
        }

        public Section Section(List<Section> sections, uint index, string what) =>
            index < sections.Count && sections[(int)index].Type != 8 ? sections[(int)index] : throw Error($"{what}: section index {index} is not in the file");

        public string CString(Section table, uint offset)
        {
            if (offset >= table.Size)
            {
                throw Error($"string offset {offset} outside its {table.Size}-byte string table");
            }
            var span = _bytes.AsSpan((int)(table.Offset + offset), (int)(table.Size - offset));
            int end = span.IndexOf((byte)0);
            return end < 0 ? throw Error($"string at {offset} has no terminating NUL") : Encoding.UTF8.GetString(span[..end]);
        }

        public void Check(long offset, long length, long limit, string what)
        {
            if (offset < 0 || length < 0 || offset > limit - length)
            {
                throw Error($"{what} at {offset} (+{length}) runs past {limit}");
            }
        }

        public ushort U16(long at)
        {
            Check(at, 2, _bytes.Length, "u16");
            return BinaryPrimitives.ReadUInt16LittleEndian(_bytes.AsSpan((int)at));
        }

        public uint U32(long at)
        {
            Check(at, 4, _bytes.Length, "u32");
            return BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan((int)at));
        }

        public ulong U64(long at)
        {
            Check(at, 8, _bytes.Length, "u64");
            return BinaryPrimitives.ReadUInt64LittleEndian(_bytes.AsSpan((int)at));
        }

        public InvalidDataException Error(string message) => new($"{_path}: {message}");
    }
}
