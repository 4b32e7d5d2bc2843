// Marks one ELF version requirement (a Vernaux entry of .gnu.version_r) weak, so that the dynamic loader
// tolerates its absence instead of refusing to load the library.
//
// Used by build/TorchSharp.Debian12.targets as the source of a RoslynCodeTaskFactory inline task, and compiled
// directly (with ELF_PATCHER_STANDALONE defined, which drops the MSBuild task class) into tests/Parity.Tests.
// It must compile against netstandard2.0, which is what RoslynCodeTaskFactory references, and needs nothing
// beyond the .NET SDK.
//
// Why: TorchSharp 0.107.0's libLibTorchSharp.so requires GLIBCXX_3.4.32 (GCC 13's libstdc++), but Debian 12
// ships libstdc++ up to GLIBCXX_3.4.30. The only symbol bound to that version is the marker
// _ZSt21ios_base_library_initv, which no relocation uses, so a weak requirement loads and runs unchanged.
// See docs/torchsharp-debian12.md.

using System;
using System.IO;
using System.Text;
#if !ELF_PATCHER_STANDALONE
using System.Runtime.InteropServices;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
#endif

namespace NnSimd.Build
{
    /// <summary>What <see cref="ElfVersionNeedPatcher"/> did to a file or image.</summary>
    public enum ElfPatchOutcome
    {
        /// <summary>The requirement was found and its VER_FLG_WEAK bit has been set.</summary>
        Patched,
        /// <summary>The requirement was found and was already weak; nothing was written.</summary>
        AlreadyWeak,
        /// <summary>The file has no .gnu.version_r entry with that name; nothing was written.</summary>
        NotFound,
        /// <summary>The file is not a little-endian ELF64 image; nothing was written.</summary>
        NotElf64,
    }

    /// <summary>Finds a Vernaux entry by version name in .gnu.version_r and sets VER_FLG_WEAK in its vna_flags.</summary>
    public static class ElfVersionNeedPatcher
    {
        /// <summary>sh_type of the GNU version-needs section (.gnu.version_r).</summary>
        public const uint ShtGnuVerneed = 0x6ffffffe;
        /// <summary>sh_type of a string table.</summary>
        public const uint ShtStrtab = 3;
        /// <summary>vna_flags bit: a missing version is a warning for the loader, not an error.</summary>
        public const ushort VerFlgWeak = 0x2;

        const int EhdrSize = 64, ShdrSize = 64, VerneedSize = 16, VernauxSize = 16;

        /// <summary>
        /// Locates the vna_flags field of the Vernaux entry named <paramref name="versionName"/>: parses the section
        /// headers, takes the section of type SHT_GNU_verneed, walks its Verneed and Vernaux chains and resolves
        /// each vna_name in the string table the section links to. Returns <see cref="ElfPatchOutcome.NotElf64"/>,
        /// <see cref="ElfPatchOutcome.NotFound"/>, <see cref="ElfPatchOutcome.AlreadyWeak"/>, or
        /// <see cref="ElfPatchOutcome.Patched"/> meaning "found and not yet weak"; <paramref name="flagsOffset"/>
        /// is the file offset of vna_flags when the entry exists, else -1. Changes nothing.
        /// </summary>
        /// <exception cref="InvalidDataException">The image claims to be ELF64 but its headers point outside it.</exception>
        public static ElfPatchOutcome Locate(byte[] image, string versionName, out long flagsOffset)
        {
            if (image == null) throw new ArgumentNullException(nameof(image));
            if (string.IsNullOrEmpty(versionName)) throw new ArgumentException("A version name is required.", nameof(versionName));
            flagsOffset = -1;

            // e_ident: magic, EI_CLASS = ELFCLASS64 (2), EI_DATA = ELFDATA2LSB (1).
            if (image.Length < EhdrSize || image[0] != 0x7f || image[1] != (byte)'E' || image[2] != (byte)'L' || image[3] != (byte)'F'
                || image[4] != 2 || image[5] != 1)
                return ElfPatchOutcome.NotElf64;

            ulong shoff = U64(image, 0x28);
            int shentsize = U16(image, 0x3A);
            long shnum = U16(image, 0x3C);
            if (shoff == 0) return ElfPatchOutcome.NotFound; // no section headers at all
            if (shentsize < ShdrSize) throw Bad($"e_shentsize is {shentsize}, expected at least {ShdrSize}");
            Check(image, shoff, (ulong)shentsize, "section header 0");
            if (shnum == 0) shnum = (long)U64(image, (long)shoff + 32); // extended numbering: count in section 0's sh_size
            Check(image, shoff, (ulong)shnum * (ulong)shentsize, "section header table");

            for (long s = 0; s < shnum; s++)
            {
                long sh = (long)shoff + s * shentsize;
                if (U32(image, sh + 4) != ShtGnuVerneed) continue;
                ulong secOff = U64(image, sh + 24), secSize = U64(image, sh + 32);
                uint link = U32(image, sh + 40), count = U32(image, sh + 44); // sh_link: its .dynstr; sh_info: Verneed count
                Check(image, secOff, secSize, ".gnu.version_r");
                if (link >= shnum) throw Bad($".gnu.version_r links to section {link} of {shnum}");
                long str = (long)shoff + link * (long)shentsize;
                if (U32(image, str + 4) != ShtStrtab) throw Bad($".gnu.version_r links to section {link}, which is not a string table");
                ulong strOff = U64(image, str + 24), strSize = U64(image, str + 32);
                Check(image, strOff, strSize, ".dynstr");

                long vn = (long)secOff;
                for (uint i = 0; i < count; i++)
                {
                    CheckIn(vn, VerneedSize, secOff, secSize, "Verneed");
                    ushort cnt = U16(image, vn + 2);
                    long vna = vn + U32(image, vn + 8);
                    for (int j = 0; j < cnt; j++)
                    {
                        CheckIn(vna, VernauxSize, secOff, secSize, "Vernaux");
                        string name = CString(image, strOff, strSize, U32(image, vna + 8));
                        if (string.Equals(name, versionName, StringComparison.Ordinal))
                        {
                            flagsOffset = vna + 4;
                            return (U16(image, vna + 4) & VerFlgWeak) != 0 ? ElfPatchOutcome.AlreadyWeak : ElfPatchOutcome.Patched;
                        }
                        uint next = U32(image, vna + 12);
                        if (next == 0) break;
                        vna += next;
                    }
                    uint vnNext = U32(image, vn + 12);
                    if (vnNext == 0) break;
                    vn += vnNext;
                }
            }
            return ElfPatchOutcome.NotFound;
        }

        /// <summary>
        /// Sets VER_FLG_WEAK on the requirement named <paramref name="versionName"/> in an in-memory image.
        /// Returns <see cref="ElfPatchOutcome.Patched"/> only when a byte changed.
        /// </summary>
        public static ElfPatchOutcome MarkWeak(byte[] image, string versionName)
        {
            var outcome = Locate(image, versionName, out long at);
            if (outcome == ElfPatchOutcome.Patched)
            {
                ushort flags = (ushort)(U16(image, at) | VerFlgWeak);
                image[at] = (byte)flags;
                image[at + 1] = (byte)(flags >> 8);
            }
            return outcome;
        }

        /// <summary>
        /// Sets VER_FLG_WEAK on the requirement named <paramref name="versionName"/> in the file at <paramref name="path"/>.
        /// Writes only when the flag is not yet set, and then atomically: the patched copy goes to a temporary file
        /// in the same directory, which is renamed over the original. The rename also breaks any hard link, so a
        /// file that shares its inode with the NuGet cache never changes the cache. The original's permissions
        /// and last-write time are kept, so MSBuild's incremental copy (same size and time) sees it as up to date.
        /// </summary>
        public static ElfPatchOutcome MarkWeakInFile(string path, string versionName)
        {
            byte[] image = File.ReadAllBytes(path);
            var outcome = MarkWeak(image, versionName);
            if (outcome != ElfPatchOutcome.Patched) return outcome;

            DateTime mtime = File.GetLastWriteTimeUtc(path);
            string dir = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
            string tmp = Path.Combine(dir, "." + Path.GetFileName(path) + "." + Guid.NewGuid().ToString("N") + ".tmp");
            try
            {
                File.Copy(path, tmp); // copies the permission bits, which WriteAllBytes would not
                using (var fs = new FileStream(tmp, FileMode.Open, FileAccess.Write, FileShare.None))
                {
                    fs.Write(image, 0, image.Length);
                    fs.Flush(true);
                }
                File.SetLastWriteTimeUtc(tmp, mtime);
                File.Replace(tmp, path, null); // rename(2) on Unix: readers see the old file or the new one, never half
            }
            finally
            {
                if (File.Exists(tmp)) File.Delete(tmp);
            }
            return outcome;
        }

        static string CString(byte[] image, ulong strOff, ulong strSize, uint index)
        {
            if (index >= strSize) throw Bad($"string index {index} is outside .dynstr ({strSize} bytes)");
            long start = (long)strOff + index, end = start, limit = (long)(strOff + strSize);
            while (end < limit && image[end] != 0) end++;
            if (end == limit) throw Bad($"string at .dynstr+{index} is not terminated");
            return Encoding.ASCII.GetString(image, (int)start, (int)(end - start));
        }

        static void Check(byte[] image, ulong offset, ulong size, string what)
        {
            if (offset > (ulong)image.Length || size > (ulong)image.Length - offset)
                throw Bad($"{what} (offset {offset}, {size} bytes) lies outside the {image.Length}-byte file");
        }

        static void CheckIn(long at, int size, ulong secOff, ulong secSize, string what)
        {
            if (at < (long)secOff || (ulong)(at - (long)secOff) + (ulong)size > secSize)
                throw Bad($"{what} entry at offset {at} lies outside .gnu.version_r");
        }

        static InvalidDataException Bad(string message) => new InvalidDataException("Malformed ELF64: " + message + ".");

        static ushort U16(byte[] b, long o) => (ushort)(b[o] | b[o + 1] << 8);
        static uint U32(byte[] b, long o) => (uint)(b[o] | b[o + 1] << 8 | b[o + 2] << 16 | b[o + 3] << 24);
        static ulong U64(byte[] b, long o) => U32(b, o) | (ulong)U32(b, o + 4) << 32;
    }

#if !ELF_PATCHER_STANDALONE
    /// <summary>MSBuild task: marks <see cref="VersionName"/> weak in every ELF file of <see cref="Files"/>.</summary>
    public sealed class MarkElfVersionNeedWeak : Task
    {
        /// <summary>The ELF files to patch in place (copies in a build or publish output, never the NuGet cache).</summary>
        [Required] public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();

        /// <summary>The version requirement to mark weak, e.g. GLIBCXX_3.4.32.</summary>
        [Required] public string VersionName { get; set; } = "";

        /// <inheritdoc />
        public override bool Execute()
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
            {
                Log.LogMessage(MessageImportance.Low, "Not on Linux: {0} left as it is in {1} file(s).", VersionName, Files.Length);
                return true;
            }
            foreach (var item in Files)
            {
                string path = item.ItemSpec;
                if (!File.Exists(path))
                {
                    Log.LogMessage(MessageImportance.Low, "{0} is not in the output; nothing to patch.", path);
                    continue;
                }
                try
                {
                    var outcome = ElfVersionNeedPatcher.MarkWeakInFile(path, VersionName);
                    if (outcome == ElfPatchOutcome.Patched)
                        Log.LogMessage(MessageImportance.Normal, "Marked the {0} requirement weak in {1} (Debian 12 libstdc++ lacks it).", VersionName, path);
                    else
                        Log.LogMessage(MessageImportance.Low, "{0}: {1} ({2}); nothing written.", path, outcome, VersionName);
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is InvalidDataException)
                {
                    Log.LogWarning("Could not mark {0} weak in {1}: {2}", VersionName, path, e.Message);
                }
            }
            return !Log.HasLoggedErrors;
        }
    }
#endif
}
