// MSBuild inline task (RoslynCodeTaskFactory): marks one GNU symbol-version requirement weak in an ELF64
// shared library, so that the dynamic loader warns instead of failing when the system library lacks it.
// Why: TorchSharp 0.107.0's libLibTorchSharp.so needs GLIBCXX_3.4.32 for a single symbol that is never
// bound by a relocation (shared/PLATFORM.md). Debian 12 ships up to GLIBCXX_3.4.30.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class WeakenGlibcxxRequirement : Task
{
    [Required] public ITaskItem[] Libraries { get; set; } = Array.Empty<ITaskItem>();
    [Required] public string SystemLibStdCxx { get; set; } = "";
    [Required] public string Version { get; set; } = "";

    private const uint ShtRela = 4, ShtRel = 9, ShtVerdef = 0x6ffffffd, ShtVerneed = 0x6ffffffe, ShtVersym = 0x6fffffff;
    private const ushort VerFlgWeak = 0x2;

    public override bool Execute()
    {
        if (!File.Exists(SystemLibStdCxx)) return true;
        byte[] system = File.ReadAllBytes(SystemLibStdCxx);
        if (DefinedVersions(system).Contains(Version))
        {
            Log.LogMessage(MessageImportance.Low, $"{SystemLibStdCxx} defines {Version}; no patch needed.");
            return true;
        }
        foreach (var item in Libraries)
        {
            string path = item.ItemSpec;
            byte[] lib = File.ReadAllBytes(path);
            string outcome = Patch(lib, Version);
            if (outcome == "patched")
            {
                File.WriteAllBytes(path, lib);
                Log.LogMessage(MessageImportance.High, $"{path}: marked the {Version} requirement weak (system libstdc++ lacks it).");
            }
            else if (outcome.StartsWith("error:", StringComparison.Ordinal))
            {
                Log.LogWarning($"{path}: not patched: {outcome.Substring(6)}");
            }
            else
            {
                Log.LogMessage(MessageImportance.Low, $"{path}: {outcome}");
            }
        }
        return !Log.HasLoggedErrors;
    }

    private sealed class Section { public uint Type; public ulong Offset; public ulong Size; public uint Link; public ulong EntSize; }

    private static List<Section> Sections(byte[] b)
    {
        if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (b[4] != 2 || b[5] != 1) throw new InvalidDataException("only little-endian ELF64 is supported");
        ulong shoff = BitConverter.ToUInt64(b, 0x28);
        ushort shentsize = BitConverter.ToUInt16(b, 0x3A);
        ushort shnum = BitConverter.ToUInt16(b, 0x3C);
        var list = new List<Section>(shnum);
        for (int i = 0; i < shnum; i++)
        {
            int o = checked((int)(shoff + (ulong)(i * shentsize)));
            list.Add(new Section
            {
                Type = BitConverter.ToUInt32(b, o + 4),
                Offset = BitConverter.ToUInt64(b, o + 0x18),
                Size = BitConverter.ToUInt64(b, o + 0x20),
                Link = BitConverter.ToUInt32(b, o + 0x28),
                EntSize = BitConverter.ToUInt64(b, o + 0x38),
            });
        }
        return list;
    }

    private static string CString(byte[] b, ulong strtab, uint index)
    {
        int start = checked((int)(strtab + index));
        int end = start;
        while (end < b.Length && b[end] != 0) end++;
        return Encoding.ASCII.GetString(b, start, end - start);
    }

    /// <summary>Version names a library defines (its .gnu.version_d section).</summary>
    public static HashSet<string> DefinedVersions(byte[] b)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var sections = Sections(b);
        foreach (var s in sections)
        {
            if (s.Type != ShtVerdef) continue;
            ulong strtab = sections[(int)s.Link].Offset;
            ulong off = s.Offset;
            while (true)
            {
                int o = checked((int)off);
                uint aux = BitConverter.ToUInt32(b, o + 12), next = BitConverter.ToUInt32(b, o + 16);
                uint nameIndex = BitConverter.ToUInt32(b, checked((int)(off + aux)));
                names.Add(CString(b, strtab, nameIndex));
                if (next == 0) break;
                off += next;
            }
        }
        return names;
    }

    /// <summary>Sets VER_FLG_WEAK on the Vernaux entry named <paramref name="version"/>, unless a relocation
    /// references a symbol of that version. Returns "patched", "already weak", "not required" or "error:...".</summary>
    public static string Patch(byte[] b, string version)
    {
        var sections = Sections(b);
        Section? verneed = sections.Find(s => s.Type == ShtVerneed);
        Section? versym = sections.Find(s => s.Type == ShtVersym);
        if (verneed == null) return "not required";
        ulong strtab = sections[(int)verneed.Link].Offset;
        int flagsOffset = -1; ushort other = 0; ushort flags = 0;
        ulong need = verneed.Offset;
        while (flagsOffset < 0)
        {
            int n = checked((int)need);
            ushort count = BitConverter.ToUInt16(b, n + 2);
            uint aux = BitConverter.ToUInt32(b, n + 8), next = BitConverter.ToUInt32(b, n + 12);
            ulong a = need + aux;
            for (int i = 0; i < count; i++)
            {
                int ao = checked((int)a);
                if (CString(b, strtab, BitConverter.ToUInt32(b, ao + 8)) == version)
                {
                    flags = BitConverter.ToUInt16(b, ao + 4);
                    other = BitConverter.ToUInt16(b, ao + 6);
                    flagsOffset = ao + 4;
                    break;
                }
                uint anext = BitConverter.ToUInt32(b, ao + 12);
                if (anext == 0) break;
                a += anext;
            }
            if (next == 0) break;
            need += next;
        }
        if (flagsOffset < 0) return "not required";
        if ((flags & VerFlgWeak) != 0) return "already weak";
        if (versym != null)
        {
            foreach (var rel in sections)
            {
                if (rel.Type != ShtRela && rel.Type != ShtRel) continue;
                ulong entSize = rel.EntSize != 0 ? rel.EntSize : (rel.Type == ShtRela ? 24UL : 16UL);
                for (ulong r = 0; r + entSize <= rel.Size; r += entSize)
                {
                    ulong info = BitConverter.ToUInt64(b, checked((int)(rel.Offset + r + 8)));
                    ulong sym = info >> 32;
                    if (sym == 0) continue;
                    ulong vs = versym.Offset + sym * 2;
                    if (vs + 2 > versym.Offset + versym.Size) continue;
                    ushort symVersion = (ushort)(BitConverter.ToUInt16(b, checked((int)vs)) & 0x7fff);
                    if (symVersion == other)
                        return $"error:relocation against symbol #{sym} uses {version}; marking it weak would leave it unbound";
                }
            }
        }
        BitConverter.GetBytes((ushort)(flags | VerFlgWeak)).CopyTo(b, flagsOffset);
        return "patched";
    }
}
