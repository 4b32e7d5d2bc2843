namespace Nn.Simd.Training.Tests;

/// <summary>Checks that training steps allocate nothing: the bytes one <c>Fit</c> epoch of 4 steps allocates against
/// one of 40 (64 and 640 samples, batch 16, after a warm-up <c>Fit</c> on the same model), so that what a call sets up
/// once cancels and what each step allocates is left, 36 times over.</summary>
internal static class SteadyStateFit
{
    /// <summary>Asserts that a step allocates less than 16 bytes (the smallest object is 24).</summary>
    /// <param name="allocatedByFit">The bytes the measured <c>Fit</c> of a fresh, warmed-up model of n samples
    /// allocated on the calling thread.</param>
    /// <param name="bytesPerSample">What a call allocates per sample by design (a per-call weight array: 4 for
    /// float32), subtracted. The shuffle's permutation is not among them: the model keeps it between calls.</param>
    public static void AssertNoPerStepAllocation(Func<int, long> allocatedByFit, double bytesPerSample = 0)
    {
        // The per-thread counter can read high when a collection, started by tests running beside this one, lands in
        // the measured window (dotnet/coreclr#10207); an allocation per step shows in every try, so the best of three
        // decides.
        string seen = "";
        double perStep = double.MaxValue;
        for (int attempt = 0; attempt < 3 && perStep >= 16; attempt++)
        {
            long few = allocatedByFit(64), many = allocatedByFit(640);
            perStep = Math.Min(perStep, (many - few - bytesPerSample * (640 - 64)) / 36);
            seen += $" {few} B for 4 steps, {many} B for 40;";
        }
        Assert.True(perStep < 16, $"about {perStep:F0} bytes allocated per step ({seen.Trim()})");
    }
}
