using System.Globalization;
using System.Numerics;

namespace Nn.Simd.Layers.Regularizers;

/// <summary>
/// A weight penalty added to the training loss, Keras' <c>L1</c>, <c>L2</c> and <c>L1L2</c> regularizers (and the
/// nnfs book's <c>weight_regularizer_l1/l2</c>): <c>l1·Σ|w| + l2·Σw²</c>, whose gradient <c>l1·sign(w) + 2·l2·w</c>
/// is added to the weight's gradient each step. Attach one to a layer's weights with its <c>KernelRegularizer</c>,
/// <c>RecurrentRegularizer</c> or <c>BiasRegularizer</c>, or to any parameter with
/// <see cref="Parameter{T}.Regularizer"/>.
/// </summary>
public sealed class Regularizer
{
    /// <summary>Creates a penalty <c>l1·Σ|w| + l2·Σw²</c>.</summary>
    /// <param name="l1">The L1 factor; non-negative.</param>
    /// <param name="l2">The L2 factor; non-negative.</param>
    /// <exception cref="ArgumentOutOfRangeException">A factor is negative or not finite.</exception>
    public Regularizer(double l1 = 0, double l2 = 0)
    {
        if (!(l1 >= 0) || !double.IsFinite(l1)) throw new ArgumentOutOfRangeException(nameof(l1), $"l1 must be non-negative; got {l1}.");
        if (!(l2 >= 0) || !double.IsFinite(l2)) throw new ArgumentOutOfRangeException(nameof(l2), $"l2 must be non-negative; got {l2}.");
        L1 = l1;
        L2 = l2;
    }

    /// <summary>The L1 factor.</summary>
    public double L1 { get; }

    /// <summary>The L2 factor.</summary>
    public double L2 { get; }

    /// <summary>Keras' <c>regularizers.L1(l1)</c>.</summary>
    public static Regularizer Lasso(double l1 = 0.01) => new(l1: l1);

    /// <summary>Keras' <c>regularizers.L2(l2)</c> (for SGD, the same as weight decay 2·l2).</summary>
    public static Regularizer Ridge(double l2 = 0.01) => new(l2: l2);

    /// <summary>The penalty for <paramref name="weights"/>, in double.</summary>
    public double Penalty<T>(ReadOnlySpan<T> weights) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double p = 0;
        if (L1 != 0) p += L1 * double.CreateChecked(TensorPrimitives.SumOfMagnitudes(weights));
        if (L2 != 0) p += L2 * double.CreateChecked(TensorPrimitives.SumOfSquares(weights));
        return p;
    }

    /// <summary>Adds the penalty's gradient to <paramref name="gradient"/>: <c>l1·sign(w) + 2·l2·w</c> (sign(0) = 0, as TensorFlow's).</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public void AddGradient<T>(ReadOnlySpan<T> weights, Span<T> gradient) where T : unmanaged, IFloatingPointIeee754<T> =>
        AddGradient(weights, gradient, 1.0);

    /// <summary>Adds <paramref name="scale"/> times the penalty's gradient to <paramref name="gradient"/>:
    /// <c>scale·(l1·sign(w) + 2·l2·w)</c>; with scale 1 bit for bit the public overload.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    internal void AddGradient<T>(ReadOnlySpan<T> weights, Span<T> gradient, double scale) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (weights.Length != gradient.Length)
            throw new ArgumentException($"weights ({weights.Length}) and gradient ({gradient.Length}) differ in length.", nameof(gradient));
        if (L2 != 0) TensorPrimitives.MultiplyAdd(weights, T.CreateChecked(2 * L2 * scale), gradient, gradient);
        if (L1 != 0)
        {
            T l1 = T.CreateChecked(L1 * scale);
            for (int i = 0; i < weights.Length; i++)
            {
                T w = weights[i];
                if (w > T.Zero) gradient[i] += l1;
                else if (w < T.Zero) gradient[i] -= l1;
            }
        }
    }

    /// <summary>The config form: <c>l1:0.01</c>, <c>l2:0.01</c> or <c>l1_l2:0.01,0.02</c>.</summary>
    public string Name => (L1, L2) switch
    {
        (_, 0) => $"l1:{F(L1)}",
        (0, _) => $"l2:{F(L2)}",
        _ => $"l1_l2:{F(L1)},{F(L2)}",
    };

    private static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Creates a regularizer from a Keras name with its default factor 0.01 (<c>l1</c>, <c>l2</c>,
    /// <c>l1_l2</c>) or from <see cref="Name"/>'s form (<c>l2:0.0005</c>, <c>l1_l2:0.01,0.02</c>).</summary>
    /// <exception cref="ArgumentException">The name or a factor is invalid.</exception>
    public static Regularizer Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string n = name.Trim().ToLowerInvariant();
        int colon = n.IndexOf(':');
        string kind = colon < 0 ? n : n[..colon];
        string[] args = colon < 0 ? [] : n[(colon + 1)..].Split(',');
        double Arg(int i) => i < args.Length
            ? double.TryParse(args[i], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v >= 0 && double.IsFinite(v)
                ? v : throw new ArgumentException($"Regularizer '{name}': '{args[i]}' is not a non-negative number.", nameof(name))
            : 0.01;
        int expected = kind == "l1_l2" ? 2 : 1;
        if (args.Length != 0 && args.Length != expected)
            throw new ArgumentException($"Regularizer '{name}' takes {expected} factor(s).", nameof(name));
        return kind switch
        {
            "l1" => new Regularizer(l1: Arg(0)),
            "l2" => new Regularizer(l2: Arg(0)),
            "l1_l2" => new Regularizer(Arg(0), Arg(1)),
            _ => throw new ArgumentException($"Unknown regularizer '{name}'. Known: l1, l2, l1_l2, optionally with factors (l2:0.0005, l1_l2:0.01,0.02).", nameof(name)),
        };
    }

    /// <inheritdoc/>
    public override string ToString() => Name;
}
