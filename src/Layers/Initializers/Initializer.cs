using System.Globalization;
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
    /// <summary>The Keras name, with the arguments that differ from Keras' defaults after a colon, e.g.
    /// <c>glorot_uniform</c>, <c>constant:0.5</c> or <c>variance_scaling:2,fan_out,uniform</c>; <see cref="Get"/>
    /// turns it back into an equal initializer.</summary>
    public abstract string Name { get; }

    /// <summary>Fills <paramref name="tensor"/>; draws come only from <paramref name="rng"/>, so a seed fixes the values.</summary>
    public abstract void Initialize<T>(Tensor<T> tensor, Random rng) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>Keras' fans for a shape (<c>compute_fans</c>): a vector <c>[n]</c> has (n, n), a matrix <c>[in, out]</c>
    /// (in, out), and a kernel <c>[..., in, out]</c> (in·r, out·r) with r the product of the leading (receptive-field) sizes.</summary>
    public static (int FanIn, int FanOut) Fans(TensorShape shape)
    {
        if (shape.Rank == 1) return (shape[0], shape[0]);
        if (shape.Rank == 2) return (shape[0], shape[1]);
        // A convolution kernel [..., in, out]: both fans count the receptive field (Keras' compute_fans).
        int receptive = 1;
        for (int i = 0; i < shape.Rank - 2; i++) receptive *= shape[i];
        return (shape[-2] * receptive, shape[-1] * receptive);
    }

    private const string KnownNames = "glorot_uniform, glorot_normal, he_uniform, he_normal, lecun_uniform, lecun_normal, "
        + "variance_scaling[:scale,mode,distribution], random_uniform[:minval,maxval] (uniform), random_normal[:mean,stddev] (normal), "
        + "truncated_normal[:mean,stddev], orthogonal[:gain], identity[:gain], zeros, ones, constant[:value]";

    /// <summary>Creates an initializer from its Keras name (snake case or class name, e.g. <c>he_normal</c> or
    /// <c>HeNormal</c>), optionally followed by its arguments as <see cref="Name"/> writes them:
    /// <c>glorot_uniform</c>, <c>glorot_normal</c>, <c>he_uniform</c>, <c>he_normal</c>, <c>lecun_uniform</c>,
    /// <c>lecun_normal</c>, <c>variance_scaling[:scale,mode,distribution]</c>, <c>random_uniform[:minval,maxval]</c> (<c>uniform</c>),
    /// <c>random_normal[:mean,stddev]</c> (<c>normal</c>), <c>truncated_normal[:mean,stddev]</c>,
    /// <c>orthogonal[:gain]</c>, <c>identity[:gain]</c>, <c>zeros</c> (<c>zero</c>), <c>ones</c> (<c>one</c>),
    /// <c>constant[:value]</c>. Missing trailing arguments take Keras' defaults.</summary>
    /// <exception cref="ArgumentException">The name is unknown, or an argument is missing, extra or invalid.</exception>
    public static Initializer Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string n = name.Trim();
        int colon = n.IndexOf(':');
        string kind = (colon < 0 ? n : n[..colon]).Replace("_", "", StringComparison.Ordinal).ToLowerInvariant();
        string[] args = colon < 0 ? [] : n[(colon + 1)..].Split(',', StringSplitOptions.TrimEntries);
        int maxArgs = kind switch
        {
            "constant" or "orthogonal" or "orthogonalinitializer" or "identity" => 1,
            "randomnormal" or "normal" or "truncatednormal" or "randomuniform" or "uniform" => 2,
            "variancescaling" => 3,
            _ => 0,
        };
        if (args.Length > maxArgs)
            throw new ArgumentException($"Initializer '{name}' takes at most {maxArgs} argument(s); got {args.Length}.", nameof(name));
        double Num(int i, double fallback) => i >= args.Length ? fallback
            : double.TryParse(args[i], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v
            : throw new ArgumentException($"Initializer '{name}': '{args[i]}' is not a number.", nameof(name));
        string Text(int i, string fallback) => i >= args.Length ? fallback : args[i];
        try
        {
            return kind switch
            {
                "glorotuniform" => new GlorotUniform(),
                "glorotnormal" => new GlorotNormal(),
                "heuniform" => new HeUniform(),
                "henormal" => new HeNormal(),
                "lecununiform" => new LecunUniform(),
                "lecunnormal" => new LecunNormal(),
                "variancescaling" => new VarianceScaling(Num(0, 1.0), Text(1, "fan_in"), Text(2, "truncated_normal")),
                "orthogonal" or "orthogonalinitializer" => new Orthogonal(Num(0, 1.0)),
                "identity" => new Identity(Num(0, 1.0)),
                "zeros" or "zero" => new Constant(0),
                "ones" or "one" => new Constant(1),
                "constant" => new Constant(Num(0, 0.0)),
                "uniform" or "randomuniform" => new RandomUniform(Num(0, -0.05), Num(1, 0.05)),
                "normal" or "randomnormal" => new RandomNormal(Num(0, 0.0), Num(1, 0.05)),
                "truncatednormal" => new TruncatedNormal(Num(0, 0.0), Num(1, 0.05)),
                _ => throw new ArgumentException($"Unknown initializer '{name}'. Known: {KnownNames}.", nameof(name)),
            };
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new ArgumentException($"Initializer '{name}': {e.Message}", nameof(name), e);
        }
    }

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

    /// <summary>Formats an argument for <see cref="Name"/> (round-trip, invariant culture).</summary>
    protected static string Arg(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Fills <paramref name="tensor"/> with <c>(2u − 1)·limit</c>, u uniform in [0, 1): U(−limit, limit).</summary>
    internal static void Uniform<T>(Tensor<T> tensor, Random rng, double limit) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var s = tensor.Span;
        for (int i = 0; i < s.Length; i++) s[i] = T.CreateChecked((2 * rng.NextDouble() - 1) * limit);
    }

    /// <summary>Fills <paramref name="tensor"/> with <c>mean + stddev·z</c>, z from N(0, 1), or with
    /// <paramref name="truncated"/> from N(0, 1) truncated to ±2 by redrawing.</summary>
    internal static void Normal<T>(Tensor<T> tensor, Random rng, double mean, double stddev, bool truncated)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var s = tensor.Span;
        for (int i = 0; i < s.Length; i++)
        {
            double v = stddev * (truncated ? TruncatedNormal(rng) : rng.NextGaussian());
            // Without a mean, exactly the product (the Glorot/He normal draws were always formed so).
            s[i] = T.CreateChecked(mean == 0 ? v : mean + v);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => Name;
}
