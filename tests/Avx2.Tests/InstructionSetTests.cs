using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Nn.Simd.Avx2.Tests;

/// <summary>Proves that this assembly's tests run on the 256-bit paths: if avx2.runsettings stopped reaching the
/// test host, every other test here would silently repeat the 512-bit runs.</summary>
public class InstructionSetTests
{
    [Fact]
    public void TestHost_HasNo512BitVectors()
    {
        Assert.Equal("0", Environment.GetEnvironmentVariable("DOTNET_EnableAVX512"));
        Assert.False(Vector512.IsHardwareAccelerated, "Vector512 is accelerated: the AVX-512 paths would run, not the 256-bit ones.");
        Assert.False(Avx512F.IsSupported, "Avx512F.IsSupported: kernels that test it directly would take their AVX-512 branch.");
    }
}
