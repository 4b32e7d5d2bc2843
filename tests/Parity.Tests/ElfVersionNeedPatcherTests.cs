using System.Buffers.Binary;
using System.Text;
using NnSimd.Build;

namespace Nn.Simd.Parity.Tests;

/// <summary>
/// The ELF logic of the Debian 12 build step (build/ElfVersionNeedPatcher.cs), on synthetic images built here and
/// on a copy of the real libLibTorchSharp.so.
/// </summary>
public class ElfVersionNeedPatcherTests
{
    const string Target = "GLIBCXX_3.4.32";

    /// <summary>
    /// A minimal ELF64 image: header, a decoy string table (section 1), .dynstr (section 2) and .gnu.version_r
    /// (section 3, linked to section 2) needing libc.so.6 {GLIBC_2.2.5} and libstdc++.so.6 {GLIBCXX_3.4.30, <paramref name="second"/>}.
    /// Returns the image and the file offset of each Vernaux's vna_flags, in order.
    /// </summary>
    static (byte[] Image, int[] FlagOffsets) Synthetic(string second = Target, ushort secondFlags = 0, uint linkOverride = 2)
    {
        // .dynstr: offsets of each name.
        var str = new List<byte> { 0 };
        int Add(string s) { int at = str.Count; str.AddRange(Encoding.ASCII.GetBytes(s)); str.Add(0); return at; }
        int libc = Add("libc.so.6"), glibc = Add("GLIBC_2.2.5"), libstdcxx = Add("libstdc++.so.6"), v30 = Add("GLIBCXX_3.4.30"), v32 = Add(second);
        byte[] decoy = Encoding.ASCII.GetBytes("\0GLIBCXX_3.4.30\0" + Target + "\0");

        const int decoyOff = 64;
        int dynstrOff = decoyOff + decoy.Length;
        int verOff = (dynstrOff + str.Count + 7) & ~7;
        const int verSize = 80;
        int shOff = verOff + verSize;
        var b = new byte[shOff + 4 * 64];

        // ELF header.
        b[0] = 0x7f; b[1] = (byte)'E'; b[2] = (byte)'L'; b[3] = (byte)'F'; b[4] = 2; b[5] = 1; b[6] = 1;
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(0x28), (ulong)shOff);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(0x3A), 64);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(0x3C), 4);
        decoy.CopyTo(b, decoyOff);
        str.ToArray().CopyTo(b, dynstrOff);

        // Verneed libc (1 aux) at +0, its Vernaux at +16; Verneed libstdc++ (2 aux) at +32, Vernaux at +48 and +64.
        void Verneed(int at, ushort cnt, int file, uint next)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(at), 1);
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(at + 2), cnt);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at + 4), (uint)file);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at + 8), 16);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at + 12), next);
        }
        void Vernaux(int at, ushort flags, ushort other, int name, uint next)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at), 0x12345678);
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(at + 4), flags);
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(at + 6), other);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at + 8), (uint)name);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at + 12), next);
        }
        Verneed(verOff, 1, libc, 32);
        Vernaux(verOff + 16, 0, 2, glibc, 0);
        Verneed(verOff + 32, 2, libstdcxx, 0);
        Vernaux(verOff + 48, 0, 3, v30, 16);
        Vernaux(verOff + 64, secondFlags, 4, v32, 0);

        void Section(int index, uint type, int offset, int size, uint link, uint info)
        {
            var s = b.AsSpan(shOff + index * 64);
            BinaryPrimitives.WriteUInt32LittleEndian(s[4..], type);
            BinaryPrimitives.WriteUInt64LittleEndian(s[24..], (ulong)offset);
            BinaryPrimitives.WriteUInt64LittleEndian(s[32..], (ulong)size);
            BinaryPrimitives.WriteUInt32LittleEndian(s[40..], link);
            BinaryPrimitives.WriteUInt32LittleEndian(s[44..], info);
        }
        Section(1, ElfVersionNeedPatcher.ShtStrtab, decoyOff, decoy.Length, 0, 0);
        Section(2, ElfVersionNeedPatcher.ShtStrtab, dynstrOff, str.Count, 0, 0);
        Section(3, ElfVersionNeedPatcher.ShtGnuVerneed, verOff, verSize, linkOverride, 2);
        return (b, new[] { verOff + 16 + 4, verOff + 48 + 4, verOff + 64 + 4 });
    }

    static int[] DiffOffsets(byte[] x, byte[] y) => Enumerable.Range(0, x.Length).Where(i => x[i] != y[i]).ToArray();

    [Fact]
    public void MarkWeak_SetsTheFlagOnOnlyTheNamedEntry()
    {
        var (image, flags) = Synthetic();
        byte[] before = (byte[])image.Clone();
        Assert.Equal(ElfPatchOutcome.Patched, ElfVersionNeedPatcher.MarkWeak(image, Target));
        Assert.Equal(new[] { flags[2] }, DiffOffsets(before, image));
        Assert.Equal(ElfVersionNeedPatcher.VerFlgWeak, BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(flags[2])));
    }

    [Fact]
    public void MarkWeak_IsIdempotent()
    {
        var (image, _) = Synthetic();
        ElfVersionNeedPatcher.MarkWeak(image, Target);
        byte[] once = (byte[])image.Clone();
        Assert.Equal(ElfPatchOutcome.AlreadyWeak, ElfVersionNeedPatcher.MarkWeak(image, Target));
        Assert.Equal(once, image);
    }

    [Fact]
    public void MarkWeak_KeepsOtherFlagBits()
    {
        var (image, flags) = Synthetic(secondFlags: 0x1); // VER_FLG_BASE
        Assert.Equal(ElfPatchOutcome.Patched, ElfVersionNeedPatcher.MarkWeak(image, Target));
        Assert.Equal(0x3, BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(flags[2])));
    }

    [Fact]
    public void MarkWeak_FindsAnEntryAtTheStartOfAChain()
    {
        var (image, flags) = Synthetic();
        Assert.Equal(ElfPatchOutcome.Patched, ElfVersionNeedPatcher.MarkWeak(image, "GLIBC_2.2.5"));
        Assert.Equal(ElfVersionNeedPatcher.VerFlgWeak, BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(flags[0])));
    }

    [Fact]
    public void MarkWeak_ResolvesNamesOnlyThroughTheLinkedStringTable()
    {
        var (image, _) = Synthetic(second: "GLIBCXX_3.4.29");
        byte[] before = (byte[])image.Clone();
        // The decoy string table holds the name, but .gnu.version_r links to .dynstr, which does not.
        Assert.Equal(ElfPatchOutcome.NotFound, ElfVersionNeedPatcher.MarkWeak(image, Target));
        Assert.Equal(before, image);
    }

    [Fact]
    public void MarkWeak_RejectsNonElf64Input()
    {
        var (image, _) = Synthetic();
        image[4] = 1; // ELFCLASS32
        Assert.Equal(ElfPatchOutcome.NotElf64, ElfVersionNeedPatcher.MarkWeak(image, Target));
        Assert.Equal(ElfPatchOutcome.NotElf64, ElfVersionNeedPatcher.MarkWeak(Encoding.ASCII.GetBytes("#!/bin/sh\necho not an ELF file at all, just text\n"), Target));
    }

    [Fact]
    public void MarkWeak_ThrowsOnHeadersPointingOutsideTheFile()
    {
        var (image, _) = Synthetic(linkOverride: 9);
        Assert.Throws<InvalidDataException>(() => ElfVersionNeedPatcher.MarkWeak(image, Target));
        var (truncated, _) = Synthetic();
        Assert.Throws<InvalidDataException>(() => ElfVersionNeedPatcher.MarkWeak(truncated[..^64], Target));
    }

    [Fact]
    public void MarkWeakInFile_PatchesACopyOfTheRealLibraryOnceAndKeepsItsMetadata()
    {
        string? built = TorchSharpLoadsTests.BuiltCopies().FirstOrDefault();
        Assert.NotNull(built);
        byte[] image = File.ReadAllBytes(built);
        if (ElfVersionNeedPatcher.Locate(image, Target, out long at) == ElfPatchOutcome.NotFound) return; // a TorchSharp without it
        image[at] &= unchecked((byte)~ElfVersionNeedPatcher.VerFlgWeak); // undo the build step: the library as shipped

        string dir = Directory.CreateTempSubdirectory("elfpatch").FullName;
        try
        {
            string path = Path.Combine(dir, "libLibTorchSharp.so");
            File.WriteAllBytes(path, image);
            var mtime = new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc);
            File.SetLastWriteTimeUtc(path, mtime);
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead);
            UnixFileMode mode = OperatingSystem.IsWindows() ? default : File.GetUnixFileMode(path);

            Assert.Equal(ElfPatchOutcome.Patched, ElfVersionNeedPatcher.MarkWeakInFile(path, Target));
            byte[] patched = File.ReadAllBytes(path);
            Assert.Equal(new[] { (int)at }, DiffOffsets(image, patched));
            Assert.Equal(mtime, File.GetLastWriteTimeUtc(path));
            if (!OperatingSystem.IsWindows()) Assert.Equal(mode, File.GetUnixFileMode(path));
            Assert.Equal(new[] { path }, Directory.GetFiles(dir)); // no temporary file left behind

            Assert.Equal(ElfPatchOutcome.AlreadyWeak, ElfVersionNeedPatcher.MarkWeakInFile(path, Target));
            Assert.Equal(patched, File.ReadAllBytes(path));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
