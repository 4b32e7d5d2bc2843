using Nn.Simd.Tensors;

namespace Nn.Simd.Layers.Initializers;

/// <summary><c>U(minval, maxval)</c>, Keras' <c>RandomUniform(minval = −0.05, maxval = 0.05)</c> (<c>random_uniform</c>,
/// <c>uniform</c>), the default for Embedding.</summary>
/// <remarks>With u uniform in [0, 1), a range symmetric about 0 (the default) is drawn as <c>(2u − 1)·maxval</c>, as this
/// initializer always drew its default, so seeded draws are unchanged; any other range as Keras writes it,
/// <c>minval + (maxval − minval)·u</c>. The two forms are the same function of u and differ at most in the last bit.
/// Its name is <c>uniform</c> for the defaults (as saved before the arguments existed) and
/// <c>random_uniform:minval,maxval</c> otherwise.</remarks>
public sealed class RandomUniform : Initializer
{
    /// <summary>Creates the initializer.</summary>
    /// <param name="minval">The lower bound (inclusive); finite.</param>
    /// <param name="maxval">The upper bound (exclusive); finite and at least <paramref name="minval"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A bound is not finite, or <paramref name="maxval"/> &lt; <paramref name="minval"/>.</exception>
    public RandomUniform(double minval = -0.05, double maxval = 0.05)
    {
        if (!double.IsFinite(minval)) throw new ArgumentOutOfRangeException(nameof(minval), $"minval must be finite; got {minval}.");
        if (!double.IsFinite(maxval)) throw new ArgumentOutOfRangeException(nameof(maxval), $"maxval must be finite; got {maxval}.");
        if (maxval < minval)
            throw new ArgumentOutOfRangeException(nameof(maxval), $"maxval must be at least minval; got minval = {minval}, maxval = {maxval}.");
        Minval = minval;
        Maxval = maxval;
    }

    /// <summary>The lower bound.</summary>
    public double Minval { get; }

    /// <summary>The upper bound.</summary>
    public double Maxval { get; }

    /// <inheritdoc/>
    public override string Name => Minval == -0.05 && Maxval == 0.05 ? "uniform" : $"random_uniform:{Arg(Minval)},{Arg(Maxval)}";

    /// <inheritdoc/>
    public override void Initialize<T>(Tensor<T> tensor, Random rng)
    {
        if (Minval == -Maxval)
        {
            Uniform(tensor, rng, Maxval);
            return;
        }
        var s = tensor.Span;
        double width = Maxval - Minval;
        for (int i = 0; i < s.Length; i++) s[i] = T.CreateChecked(Minval + width * rng.NextDouble());
    }
}

/// <summary><c>mean + stddev·z</c> with z from N(0, 1), Keras' <c>RandomNormal(mean = 0, stddev = 0.05)</c>
/// (<c>random_normal</c>, <c>normal</c>).</summary>
public sealed class RandomNormal : Initializer
{
    /// <summary>Creates the initializer.</summary>
    /// <param name="mean">The mean; finite.</param>
    /// <param name="stddev">The standard deviation; non-negative and finite.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public RandomNormal(double mean = 0.0, double stddev = 0.05) => (Mean, Stddev) = CheckNormal(mean, stddev);

    /// <summary>The mean.</summary>
    public double Mean { get; }

    /// <summary>The standard deviation.</summary>
    public double Stddev { get; }

    /// <inheritdoc/>
    public override string Name => Mean == 0 && Stddev == 0.05 ? "random_normal" : $"random_normal:{Arg(Mean)},{Arg(Stddev)}";

    /// <inheritdoc/>
    public override void Initialize<T>(Tensor<T> tensor, Random rng) => Normal(tensor, rng, Mean, Stddev, truncated: false);

    internal static (double, double) CheckNormal(double mean, double stddev)
    {
        if (!double.IsFinite(mean)) throw new ArgumentOutOfRangeException(nameof(mean), $"mean must be finite; got {mean}.");
        if (!(stddev >= 0) || !double.IsFinite(stddev))
            throw new ArgumentOutOfRangeException(nameof(stddev), $"stddev must be non-negative and finite; got {stddev}.");
        return (mean, stddev);
    }
}

/// <summary><c>mean + stddev·z</c> with z from N(0, 1) truncated to ±2 (values more than two standard deviations from
/// the mean are redrawn), Keras' <c>TruncatedNormal(mean = 0, stddev = 0.05)</c> (<c>truncated_normal</c>). As in
/// Keras, <c>stddev</c> is that of the normal before truncation (the result's is about 0.88·stddev).</summary>
public sealed class TruncatedNormal : Initializer
{
    /// <summary>Creates the initializer.</summary>
    /// <param name="mean">The mean; finite.</param>
    /// <param name="stddev">The standard deviation before truncation; non-negative and finite.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public TruncatedNormal(double mean = 0.0, double stddev = 0.05) => (Mean, Stddev) = RandomNormal.CheckNormal(mean, stddev);

    /// <summary>The mean.</summary>
    public double Mean { get; }

    /// <summary>The standard deviation of the normal before truncation.</summary>
    public double Stddev { get; }

    /// <inheritdoc/>
    public override string Name => Mean == 0 && Stddev == 0.05 ? "truncated_normal" : $"truncated_normal:{Arg(Mean)},{Arg(Stddev)}";

    /// <inheritdoc/>
    public override void Initialize<T>(Tensor<T> tensor, Random rng) => Normal(tensor, rng, Mean, Stddev, truncated: true);
}

/// <summary>
/// A (semi-)orthogonal matrix scaled by <see cref="Gain"/> (Saxe et al., 2014), Keras' default recurrent
/// initializer. As in Keras, the tensor is viewed as <c>[rows, cols]</c>; a normal matrix of shape
/// <c>[max, min]</c> is QR-factorised with the signs of R's diagonal folded into Q, and Q is transposed when
/// rows &lt; cols, so the rows (or columns) are orthonormal.
/// </summary>
public sealed class Orthogonal(double gain = 1.0) : Initializer
{
    /// <summary>The scale applied to the orthogonal matrix.</summary>
    public double Gain { get; } = double.IsFinite(gain) ? gain
        : throw new ArgumentOutOfRangeException(nameof(gain), $"gain must be finite; got {gain}.");

    /// <inheritdoc/>
    public override string Name => Gain == 1 ? "orthogonal" : "orthogonal:" + Arg(Gain);

    /// <inheritdoc/>
    public override void Initialize<T>(Tensor<T> tensor, Random rng)
    {
        int rows = tensor.Shape.Rank == 1 ? 1 : tensor.Shape.Rows, cols = tensor.Shape.Columns;
        int n = Math.Max(rows, cols), m = Math.Min(rows, cols);
        // q holds m columns of length n, column-major: q[j * n + i].
        var q = new double[n * m];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++)
                q[j * n + i] = rng.NextGaussian();
        // Modified Gram–Schmidt, applied twice for stability. Its R has a positive diagonal, which is the
        // sign convention Keras obtains by multiplying Q by sign(diag(R)).
        for (int j = 0; j < m; j++)
        {
            for (int pass = 0; pass < 2; pass++)
                for (int p = 0; p < j; p++)
                {
                    double dot = 0;
                    for (int i = 0; i < n; i++) dot += q[p * n + i] * q[j * n + i];
                    for (int i = 0; i < n; i++) q[j * n + i] -= dot * q[p * n + i];
                }
            double norm = 0;
            for (int i = 0; i < n; i++) norm += q[j * n + i] * q[j * n + i];
            norm = Math.Sqrt(norm);
            for (int i = 0; i < n; i++) q[j * n + i] /= norm;
        }
        var s = tensor.Span;
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                // rows ≥ cols: element (r, c) is Q[r, c]; rows < cols: it is Qᵀ[r, c] = Q[c, r].
                s[r * cols + c] = T.CreateChecked(Gain * (rows >= cols ? q[c * n + r] : q[r * n + c]));
    }
}
