using Nn.Simd.Tensors;

namespace Nn.Simd.Layers.Initializers;

/// <summary>
/// Keras' <c>VarianceScaling(scale, mode, distribution)</c>: draws with variance <c>scale / n</c>, where n is
/// <c>max(1, fanIn)</c> (<c>fan_in</c>), <c>max(1, fanOut)</c> (<c>fan_out</c>) or <c>max(1, (fanIn + fanOut)/2)</c>
/// (<c>fan_avg</c>), fans as <see cref="Initializer.Fans"/>. <c>truncated_normal</c> draws N(0, 1) truncated to ±2 times
/// <c>σ = √(scale/n) / 0.87962566103423978</c> (the truncated distribution's standard deviation, so the variance is
/// as requested); <c>untruncated_normal</c> draws N(0, σ²) with <c>σ = √(scale/n)</c>; <c>uniform</c> draws
/// U(−l, l) with <c>l = √(3·scale/n)</c>. Glorot, He and LeCun initializers are its special cases.
/// </summary>
/// <remarks>Keras divides <c>scale</c> by n first and then multiplies by 3; here <c>3·scale</c> is divided by n, which
/// for the built-in special cases (3·scale exact) rounds once and gives the same limits the Glorot and He initializers
/// always had here, so their seeded draws are unchanged. Keras' <c>distribution="normal"</c> is accepted and means
/// <c>truncated_normal</c>, as in Keras.</remarks>
public class VarianceScaling : Initializer
{
    /// <summary>Creates the initializer (Keras' defaults: scale 1, <c>fan_in</c>, <c>truncated_normal</c>).</summary>
    /// <param name="scale">The scaling factor; positive and finite.</param>
    /// <param name="mode"><c>fan_in</c>, <c>fan_out</c> or <c>fan_avg</c>.</param>
    /// <param name="distribution"><c>truncated_normal</c> (or <c>normal</c>), <c>untruncated_normal</c> or <c>uniform</c>; case-insensitive.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="scale"/> is not positive and finite.</exception>
    /// <exception cref="ArgumentException"><paramref name="mode"/> or <paramref name="distribution"/> is unknown.</exception>
    public VarianceScaling(double scale = 1.0, string mode = "fan_in", string distribution = "truncated_normal")
    {
        if (!(scale > 0) || !double.IsFinite(scale))
            throw new ArgumentOutOfRangeException(nameof(scale), $"scale must be a positive number; got {scale}.");
        ArgumentNullException.ThrowIfNull(mode);
        ArgumentNullException.ThrowIfNull(distribution);
        Mode = mode is "fan_in" or "fan_out" or "fan_avg" ? mode
            : throw new ArgumentException($"mode must be one of fan_in, fan_out, fan_avg; got '{mode}'.", nameof(mode));
        string d = distribution.ToLowerInvariant();
        if (d == "normal") d = "truncated_normal";
        Distribution = d is "truncated_normal" or "untruncated_normal" or "uniform" ? d
            : throw new ArgumentException($"distribution must be one of truncated_normal, untruncated_normal, uniform; got '{distribution}'.", nameof(distribution));
        Scale = scale;
    }

    /// <summary>The scaling factor.</summary>
    public double Scale { get; }

    /// <summary><c>fan_in</c>, <c>fan_out</c> or <c>fan_avg</c>.</summary>
    public string Mode { get; }

    /// <summary><c>truncated_normal</c>, <c>untruncated_normal</c> or <c>uniform</c>.</summary>
    public string Distribution { get; }

    /// <inheritdoc/>
    public override string Name => Scale == 1 && Mode == "fan_in" && Distribution == "truncated_normal"
        ? "variance_scaling" : $"variance_scaling:{Arg(Scale)},{Mode},{Distribution}";

    /// <summary>n, the fan the variance is divided by, for a tensor of shape <paramref name="shape"/>.</summary>
    public double FanFor(TensorShape shape)
    {
        var (fi, fo) = Fans(shape);
        return Mode switch
        {
            "fan_in" => Math.Max(1.0, fi),
            "fan_out" => Math.Max(1.0, fo),
            _ => Math.Max(1.0, (fi + fo) / 2.0),
        };
    }

    /// <inheritdoc/>
    public override void Initialize<T>(Tensor<T> tensor, Random rng)
    {
        double n = FanFor(tensor.Shape);
        switch (Distribution)
        {
            case "uniform":
                Uniform(tensor, rng, Math.Sqrt(3 * Scale / n));
                break;
            case "truncated_normal":
                Normal(tensor, rng, 0, Math.Sqrt(Scale / n) / TruncatedStddev, truncated: true);
                break;
            default:
                Normal(tensor, rng, 0, Math.Sqrt(Scale / n), truncated: false);
                break;
        }
    }
}

/// <summary><c>U(−l, l)</c> with <c>l = √(6 / (fanIn + fanOut))</c> (Glorot &amp; Bengio, 2010): Keras'
/// <c>VarianceScaling(1, fan_avg, uniform)</c> and its default kernel initializer.</summary>
public sealed class GlorotUniform() : VarianceScaling(1.0, "fan_avg", "uniform")
{
    /// <inheritdoc/>
    public override string Name => "glorot_uniform";
}

/// <summary>Truncated normal with <c>σ = √(2 / (fanIn + fanOut))</c>, Keras' <c>glorot_normal</c>
/// (<c>VarianceScaling(1, fan_avg, truncated_normal)</c>).</summary>
public sealed class GlorotNormal() : VarianceScaling(1.0, "fan_avg", "truncated_normal")
{
    /// <inheritdoc/>
    public override string Name => "glorot_normal";
}

/// <summary><c>U(−l, l)</c> with <c>l = √(6 / fanIn)</c> (He et al., 2015), Keras' <c>he_uniform</c>
/// (<c>VarianceScaling(2, fan_in, uniform)</c>).</summary>
public sealed class HeUniform() : VarianceScaling(2.0, "fan_in", "uniform")
{
    /// <inheritdoc/>
    public override string Name => "he_uniform";
}

/// <summary>Truncated normal with <c>σ = √(2 / fanIn)</c> (He et al., 2015), Keras' <c>he_normal</c>
/// (<c>VarianceScaling(2, fan_in, truncated_normal)</c>).</summary>
public sealed class HeNormal() : VarianceScaling(2.0, "fan_in", "truncated_normal")
{
    /// <inheritdoc/>
    public override string Name => "he_normal";
}

/// <summary><c>U(−l, l)</c> with <c>l = √(3 / fanIn)</c>, Keras' <c>lecun_uniform</c>
/// (<c>VarianceScaling(1, fan_in, uniform)</c>; LeCun et al., 1998).</summary>
public sealed class LecunUniform() : VarianceScaling(1.0, "fan_in", "uniform")
{
    /// <inheritdoc/>
    public override string Name => "lecun_uniform";
}

/// <summary>Truncated normal with <c>σ = √(1 / fanIn)</c>, Keras' <c>lecun_normal</c>
/// (<c>VarianceScaling(1, fan_in, truncated_normal)</c>): with the <c>selu</c> activation it gives self-normalising
/// networks (Klambauer et al., 2017).</summary>
public sealed class LecunNormal() : VarianceScaling(1.0, "fan_in", "truncated_normal")
{
    /// <inheritdoc/>
    public override string Name => "lecun_normal";
}
