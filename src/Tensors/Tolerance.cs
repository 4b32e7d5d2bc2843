using System.Numerics;

namespace Nn.Simd.Tensors;

/// <summary>
/// Compares numbers within a combined tolerance: a value passes when it is within <c>atol</c> absolutely
/// <em>or</em> within <c>rtol</c> relative to the expected value (the rule of the .NET runtime's tests).
/// </summary>
public static class Tolerance
{
    /// <summary>The outcome of a comparison: whether it passed, and where the worst difference was.</summary>
    /// <param name="Passed">Every element was within tolerance.</param>
    /// <param name="WorstIndex">The flat index of the element furthest outside (or nearest to) the tolerance; -1 when empty.</param>
    /// <param name="Expected">The expected value at <paramref name="WorstIndex"/>.</param>
    /// <param name="Actual">The actual value at <paramref name="WorstIndex"/>.</param>
    /// <param name="MaxAbsDiff">The largest absolute difference over all elements.</param>
    public readonly record struct Result(bool Passed, int WorstIndex, double Expected, double Actual, double MaxAbsDiff)
    {
        /// <summary>A one-line description for a failure message.</summary>
        public override string ToString() =>
            $"{(Passed ? "within" : "OUTSIDE")} tolerance; worst at index {WorstIndex}: expected {Expected:G9}, actual {Actual:G9}; max |diff| {MaxAbsDiff:G4}";
    }

    /// <summary>Compares two spans element by element.</summary>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public static Result Compare<T>(ReadOnlySpan<T> expected, ReadOnlySpan<T> actual, double rtol, double atol)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (expected.Length != actual.Length)
            throw new ArgumentException($"actual has {actual.Length} elements but expected has {expected.Length}.", nameof(actual));
        bool ok = true;
        int worst = expected.Length == 0 ? -1 : 0;
        double worstScore = double.NegativeInfinity, maxAbs = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double e = double.CreateChecked(expected[i]), a = double.CreateChecked(actual[i]);
            double diff = Math.Abs(e - a);
            bool same = e.Equals(a) || (double.IsNaN(e) && double.IsNaN(a));
            double bound = Math.Max(atol, rtol * Math.Abs(e));
            double score = same ? 0 : (double.IsNaN(diff) ? double.PositiveInfinity : diff / (bound == 0 ? double.Epsilon : bound));
            if (!same && !(diff <= bound)) ok = false;
            if (!same) maxAbs = Math.Max(maxAbs, double.IsNaN(diff) ? double.PositiveInfinity : diff);
            if (score > worstScore) { worstScore = score; worst = i; }
        }
        return worst < 0
            ? new Result(true, -1, 0, 0, 0)
            : new Result(ok, worst, double.CreateChecked(expected[worst]), double.CreateChecked(actual[worst]), maxAbs);
    }

    /// <summary>Compares two tensors, which must have the same shape.</summary>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public static Result Compare<T>(Tensor<T> expected, Tensor<T> actual, double rtol, double atol)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        TensorChecks.SameShape(expected, actual, nameof(actual));
        return Compare(expected.ReadOnlySpan, actual.ReadOnlySpan, rtol, atol);
    }
}
