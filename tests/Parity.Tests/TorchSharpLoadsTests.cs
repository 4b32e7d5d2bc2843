using NnSimd.Build;
using TorchSharp;

namespace Nn.Simd.Parity.Tests;

/// <summary>
/// TorchSharp is the parity reference; on Debian 12 it loads only because the build marks the GLIBCXX_3.4.32
/// requirement of libLibTorchSharp.so weak (build/TorchSharp.Debian12.targets). These tests fail if that breaks.
/// </summary>
public class TorchSharpLoadsTests
{
    [Fact]
    public void MatMul_RunsAndMatchesHandComputedValues()
    {
        using var a = torch.tensor(new float[] { 1, 2, 3, 4, 5, 6 }, new long[] { 2, 3 });
        using var b = torch.tensor(new float[] { 7, 8, 9, 10, 11, 12 }, new long[] { 3, 2 });
        using var c = torch.mm(a, b);
        Assert.Equal(new long[] { 2, 2 }, c.shape);
        float[] got = c.data<float>().ToArray();
        // [1 2 3; 4 5 6] · [7 8; 9 10; 11 12] = [58 64; 139 154]
        Assert.Equal(new float[] { 58, 64, 139, 154 }, got);
    }

    [Fact]
    public void OutputCopy_HasTheGlibcxx3432RequirementMarkedWeak()
    {
        if (!OperatingSystem.IsLinux()) return; // the build step only patches on Linux
        string[] copies = BuiltCopies();
        Assert.NotEmpty(copies);
        foreach (string path in copies)
        {
            var outcome = ElfVersionNeedPatcher.Locate(File.ReadAllBytes(path), "GLIBCXX_3.4.32", out _);
            // TorchSharp 0.107.0 has the entry; a later TorchSharp built against an older libstdc++ may not.
            Assert.True(outcome is ElfPatchOutcome.AlreadyWeak or ElfPatchOutcome.NotFound, $"{path}: {outcome}");
        }
    }

    /// <summary>
    /// The copies the build put where the host looks (next to the assemblies, or under runtimes/&lt;rid&gt;/native/).
    /// Not TorchSharp's own fallback folder (cpu/), which it fills from the NuGet cache after a failed load.
    /// </summary>
    internal static string[] BuiltCopies()
    {
        string root = AppContext.BaseDirectory;
        var found = new List<string>();
        if (File.Exists(Path.Combine(root, "libLibTorchSharp.so"))) found.Add(Path.Combine(root, "libLibTorchSharp.so"));
        string runtimes = Path.Combine(root, "runtimes");
        if (Directory.Exists(runtimes))
            foreach (string rid in Directory.GetDirectories(runtimes))
            {
                string path = Path.Combine(rid, "native", "libLibTorchSharp.so");
                if (File.Exists(path)) found.Add(path);
            }
        return found.ToArray();
    }
}
