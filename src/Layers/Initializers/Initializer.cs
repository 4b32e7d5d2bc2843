using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers.Initializers;

/// <summary>
/// Fills a weight tensor from a seeded random source. Fans follow Keras: a matrix <c>[in, out]</c> has
/// <c>fanIn = in</c> and <c>fanOut = out</c>; a convolution kernel <c>[kh, kw, in, out]</c> multiplies both by the
/// receptive field kh·kw; a rank-1 tensor has fanIn = fanOut = its length.
/// </summary>
public abstract class Initializer
{
    /// <summary>The Keras name, e.g. <c>glorot_uniform</c>.</summary>
    public abstract string Name { get; }

    /// <summary>Fills <paramref name="tensor"/>; draws come only from <paramref name="rng"/>, so a seed fixes the values.</summary>
    public abstract void Initialize<T>(Tensor<T> tensor, Random rng) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>Keras' fans for a shape.</summary>
    public static (int FanIn, int FanOut) Fans(TensorShape shape)
    {
        if (shape.Rank == 1) return (shape[0], shape[0]);
        if (shape.Rank == 2) return (shape[0], shape[1]);
        // A convolution kernel [..., in, out]: both fans count the receptive field (Keras' compute_fans).
        int receptive = 1;
        for (int i = 0; i < shape.Rank - 2; i++) receptive *= shape[i];
        return (shape[-2] * receptive, shape[-1] * receptive);
    }

    /// <summary>Creates an initializer from its Keras name (<c>glorot_uniform</c>, <c>glorot_normal</c>,
    /// <c>he_uniform</c>, <c>he_normal</c>, <c>orthogonal</c>, <c>zeros</c>, <c>ones</c>).</summary>
    /// <exception cref="ArgumentException">The name is unknown.</exception>
    public static Initializer Get(string name) => name.ToLowerInvariant() switch
    {
        "glorot_uniform" => new GlorotUniform(),
        "glorot_normal" => new GlorotNormal(),
        "he_uniform" => new HeUniform(),
        "he_normal" => new HeNormal(),
        "orthogonal" => new Orthogonal(),
        "zeros" => new Constant(0),
        "ones" => new Constant(1),
        "uniform" or "random_uniform" => new RandomUniform(),
        _ when name.StartsWith("constant:", StringComparison.OrdinalIgnoreCase) =>
            new Constant(double.Parse(name.AsSpan(9), System.Globalization.CultureInfo.InvariantCulture)),
        _ => throw new ArgumentException($"Unknown initializer '{name}'. Known: glorot_uniform, glorot_normal, he_uniform, he_normal, orthogonal, zeros, ones, uniform, constant:<value>.", nameof(name)),
    };

    /// <summary>A draw from N(0, 1) truncated to ±2 (Keras' <c>truncated_normal</c>), by rejection.</summary>
    protected static double TruncatedNormal(Random rng)
    {
        while (true)
        {
            double z = rng.NextGaussian();
            if (Math.Abs(z) <= 2) return z;
        }
    }

    /// <summary>The standard deviation of N(0,1) truncated to ±2; Keras divides by it so the variance is as requested.</summary>
    protected const double TruncatedStddev = 0.87962566103423978;

    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary><c>U(−0.05, 0.05)</c>, Keras' <c>RandomUniform()</c> (<c>"uniform"</c>), the default for Embedding.</summary>
public sealed class RandomUniform : Initializer
{
    /// <inheritdoc/>
    public override string Name => "uniform";

    /// <inheritdoc/>
    public override void Initialize<T>(Tensor<T> tensor, Random rng) => GlorotUniform.Uniform(tensor, rng, 0.05);
}

/// <summary><c>U(−l, l)</c> with <c>l = √(6 / (fanIn + fanOut))</c> (Glorot &amp; Bengio, 2010). Keras' default kernel initializer.</summary>
public sealed class GlorotUniform : Initializer
{
    /// <inheritdoc/>
    public override string Name => "glorot_uniform";

    /// <inheritdoc/>
    public override void Initialize<T>(Tensor<T> tensor, Random rng)
    {
        var (fi, fo) = Fans(tensor.Shape);
        Uniform(tensor, rng, Math.Sqrt(6.0 / Math.Max(1, fi + fo)));
    }

    internal static void Uniform<T>(Tensor<T> tensor, Random rng, double limit) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var s = tensor.Span;
        for (int i = 0; i < s.Length; i++) s[i] = T.CreateChecked((2 * rng.NextDouble() - 1) * limit);
    }
}

/// <summary>Truncated normal with <c>σ = √(2 / (fanIn + fanOut))</c>, as Keras' <c>glorot_normal</c>.</summary>
public sealed class GlorotNormal : Initializer
{
    /// <inheritdoc/>
    public override string Name => "glorot_normal";

    /// <inheritdoc/>
    public override void Initialize<T>(Tensor<T> tensor, Random rng)
    {
        var (fi, fo) = Fans(tensor.Shape);
        double sd = Math.Sqrt(2.0 / Math.Max(1, fi + fo)) / TruncatedStddev;
        var s = tensor.Span;
        for (int i = 0; i < s.Length; i++) s[i] = T.CreateChecked(sd * TruncatedNormal(rng));
    }
}

/// <summary><c>U(−l, l)</c> with <c>l = √(6 / fanIn)</c> (He et al., 2015).</summary>
public sealed class HeUniform : Initializer
{
    /// <inheritdoc/>
    public override string Name => "he_uniform";

    /// <inheritdoc/>
    public override void Initialize<T>(Tensor<T> tensor, Random rng)
    {
        var (fi, _) = Fans(tensor.Shape);
        GlorotUniform.Uniform(tensor, rng, Math.Sqrt(6.0 / Math.Max(1, fi)));
    }
}

/// <summary>Truncated normal with <c>σ = √(2 / fanIn)</c> (He et al., 2015), as Keras' <c>he_normal</c>.</summary>
public sealed class HeNormal : Initializer
{
    /// <inheritdoc/>
    public override string Name => "he_normal";

    /// <inheritdoc/>
    public override void Initialize<T>(Tensor<T> tensor, Random rng)
    {
        var (fi, _) = Fans(tensor.Shape);
        double sd = Math.Sqrt(2.0 / Math.Max(1, fi)) / TruncatedStddev;
        var s = tensor.Span;
        for (int i = 0; i < s.Length; i++) s[i] = T.CreateChecked(sd * TruncatedNormal(rng));
    }
}

/// <summary>Every element equals <see cref="Value"/> (<c>zeros</c>, <c>ones</c>, <c>constant</c>).</summary>
public sealed class Constant(double value) : Initializer
{
    /// <summary>The fill value.</summary>
    public double Value { get; } = value;

    /// <inheritdoc/>
    public override string Name => Value == 0 ? "zeros" : Value == 1 ? "ones" : "constant:" + Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    public override void Initialize<T>(Tensor<T> tensor, Random rng) => tensor.Fill(T.CreateChecked(Value));
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
    public double Gain { get; } = gain;

    /// <inheritdoc/>
    public override string Name => "orthogonal";

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
