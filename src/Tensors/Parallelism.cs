namespace Nn.Simd.Tensors;

/// <summary>
/// The process-wide degree of parallelism used by the kernels (GEMM and the recurrent layers' batch splits).
/// </summary>
/// <remarks>
/// Results never depend on this setting: work is split so that every output element is computed by the
/// same sequence of operations at any thread count, so results are bitwise identical at 1 or 2 threads.
/// </remarks>
public static class Parallelism
{
    private static int s_maxDegree = Environment.ProcessorCount;

    /// <summary>The most threads a kernel may use; defaults to <see cref="Environment.ProcessorCount"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public static int MaxDegree
    {
        get => s_maxDegree;
        set
        {
            if (value < 1)
                throw new ArgumentOutOfRangeException(nameof(value), $"MaxDegree must be at least 1; got {value}.");
            s_maxDegree = value;
        }
    }
}
