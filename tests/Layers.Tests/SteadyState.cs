using System.Diagnostics;

namespace Nn.Simd.Layers.Tests;

/// <summary>The zero-allocation check of a steady training pass.</summary>
public static class SteadyState
{
    /// <summary>Runs <paramref name="pass"/> until one-time work is over, then asserts that one more pass allocates
    /// nothing on this thread.</summary>
    /// <remarks>Workspaces, views and worker threads are made in the first passes. After that, the JIT can still
    /// allocate on whichever thread first reaches a call count or a loop patchpoint (tier-up, on-stack replacement,
    /// class initialisation), which is why a check after only two or three passes failed now and then in full parallel
    /// suite runs. So the warm-up also runs for a quarter of a second, past the runtime's 100 ms tiering delay.</remarks>
    public static void AssertAllocatesNothing(Action pass, int minimumPasses = 3)
    {
        var warm = Stopwatch.StartNew();
        for (int i = 0; i < minimumPasses || (warm.ElapsedMilliseconds < 250 && i < 10_000); i++) pass();
        long before = GC.GetAllocatedBytesForCurrentThread();
        pass();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated == 0, $"A steady pass allocated {allocated} B.");
    }
}
