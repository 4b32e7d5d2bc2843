using System.Globalization;
using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers.Constraints;

/// <summary>
/// A projection applied to a weight right after each optimizer step, Keras' weight constraints
/// (<c>keras.constraints</c>): the optimizer replaces <c>w</c> by <c>constraint(w)</c> after updating it (Keras 3
/// <c>BaseOptimizer.apply</c>). Attach one with a layer's <c>KernelConstraint</c>, <c>RecurrentConstraint</c> or
/// <c>BiasConstraint</c>, or to any parameter with <see cref="Parameter{T}.Constraint"/>.
/// </summary>
public abstract class Constraint
{
    /// <summary>Keras' <c>backend.epsilon()</c>, added to the norms the norm constraints divide by.</summary>
    public const double Epsilon = 1e-7;

    /// <summary>The config form: the Keras name, then the arguments after a colon when they differ from Keras'
    /// defaults (<c>non_neg</c>, <c>max_norm:3,[0,1,2]</c>); <see cref="Get"/> turns it back into an equal constraint.</summary>
    public abstract string Name { get; }

    /// <summary>Replaces <paramref name="weights"/> by its projection, in place, without allocating.</summary>
    /// <exception cref="ArgumentException">The constraint does not fit the tensor's shape (an axis out of range).</exception>
    public abstract void Apply<T>(Tensor<T> weights) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>Throws unless the constraint can be applied to a tensor of shape <paramref name="shape"/>; layers call it
    /// when they create the parameter.</summary>
    /// <param name="shape">The weight's shape.</param>
    /// <param name="weightName">The weight's name, for the message.</param>
    /// <exception cref="ArgumentException">It cannot.</exception>
    public virtual void CheckShape(TensorShape shape, string weightName) { }

    /// <inheritdoc/>
    public override string ToString() => Name;

    private const string KnownNames = "non_neg, max_norm[:max_value,axis], unit_norm[:axis], min_max_norm[:min_value,max_value,rate,axis] (axis an integer or a list [0,1,2])";

    /// <summary>Creates a constraint from its Keras name (snake case or class name: <c>max_norm</c>/<c>MaxNorm</c>,
    /// <c>non_neg</c>, <c>unit_norm</c>, <c>min_max_norm</c>) with Keras' defaults, or from <see cref="Name"/>'s form with
    /// the arguments after a colon in Keras' order (<c>max_norm:3,[0,1,2]</c>, <c>unit_norm:-1</c>,
    /// <c>min_max_norm:0.5,2,0.9,0</c>); missing trailing arguments take the defaults.</summary>
    /// <exception cref="ArgumentException">The name is unknown, or an argument is missing, extra or invalid.</exception>
    public static Constraint Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string n = name.Trim();
        int colon = n.IndexOf(':');
        string kind = (colon < 0 ? n : n[..colon]).Replace("_", "", StringComparison.Ordinal).ToLowerInvariant();
        List<string> args = colon < 0 ? [] : SplitArgs(n[(colon + 1)..]);
        int maxArgs = kind switch { "maxnorm" => 2, "unitnorm" => 1, "minmaxnorm" => 4, _ => 0 };
        if (args.Count > maxArgs)
            throw new ArgumentException($"Constraint '{name}' takes at most {maxArgs} argument(s); got {args.Count}.", nameof(name));
        double Num(int i, double fallback) => i >= args.Count ? fallback
            : double.TryParse(args[i], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v
            : throw new ArgumentException($"Constraint '{name}': '{args[i]}' is not a number.", nameof(name));
        int[] Axes(int i) => i >= args.Count ? [0] : ParseAxes(args[i], name);
        try
        {
            return kind switch
            {
                "nonneg" => new NonNeg(),
                "maxnorm" => new MaxNorm(Num(0, 2), Axes(1)),
                "unitnorm" => new UnitNorm(Axes(0)),
                "minmaxnorm" => new MinMaxNorm(Num(0, 0), Num(1, 1), Num(2, 1), Axes(3)),
                _ => throw new ArgumentException($"Unknown constraint '{name}'. Known: {KnownNames}.", nameof(name)),
            };
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new ArgumentException($"Constraint '{name}': {e.Message}", nameof(name), e);
        }
    }

    private static List<string> SplitArgs(string s)
    {
        var parts = new List<string>();
        int depth = 0, start = 0;
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '[') depth++;
            else if (s[i] == ']') depth--;
            else if (s[i] == ',' && depth == 0)
            {
                parts.Add(s[start..i].Trim());
                start = i + 1;
            }
        }
        parts.Add(s[start..].Trim());
        return parts;
    }

    private static int[] ParseAxes(string s, string name)
    {
        string inner = s.StartsWith('[') && s.EndsWith(']') ? s[1..^1] : s;
        var items = inner.Split(',', StringSplitOptions.TrimEntries);
        var axes = new int[items.Length];
        for (int i = 0; i < items.Length; i++)
            if (!int.TryParse(items[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out axes[i]))
                throw new ArgumentException($"Constraint '{name}': axis '{s}' is not an integer or a list of integers like [0,1,2].", nameof(name));
        return axes;
    }

    /// <summary>Formats a number for <see cref="Name"/>.</summary>
    protected static string Arg(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary><c>max(w, 0)</c> elementwise, Keras' <c>NonNeg</c> (<c>non_neg</c>).</summary>
public sealed class NonNeg : Constraint
{
    /// <inheritdoc/>
    public override string Name => "non_neg";

    /// <inheritdoc/>
    public override void Apply<T>(Tensor<T> weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var w = weights.Span;
        TensorPrimitives.Max(w, T.Zero, w);
    }
}

/// <summary>
/// The base of the norm constraints: <c>w · f(‖w‖)</c>, with the L2 norm taken over <see cref="Axis"/> for each index
/// of the other axes (Keras' <c>ops.sum(ops.square(w), axis, keepdims=True)</c>). For a Dense kernel <c>[in, out]</c>
/// axis 0 gives each output unit's incoming weight vector its own norm; for a Conv2D kernel <c>[kh, kw, in, out]</c>
/// axes <c>[0, 1, 2]</c> give each filter its own. Negative axes count from the end.
/// </summary>
/// <remarks>The sums of squares, norms and factors are formed in double and each weight is rounded once,
/// <c>T(w·f)</c>; Keras computes them in the weight's dtype. A per-thread scratch array holds the norms, so
/// <see cref="Apply{T}"/> allocates only when a weight needs more norms than the thread has needed before.</remarks>
public abstract class NormConstraint : Constraint
{
    [ThreadStatic] private static double[]? t_norms;
    private readonly int[] _axis;

    /// <summary>Stores the axes.</summary>
    /// <exception cref="ArgumentException"><paramref name="axis"/> is empty or repeats an axis.</exception>
    private protected NormConstraint(int[] axis)
    {
        ArgumentNullException.ThrowIfNull(axis);
        if (axis.Length == 0) throw new ArgumentException("axis must name at least one axis.", nameof(axis));
        if (axis.Length > TensorShape.MaxRank || axis.Distinct().Count() != axis.Length)
            throw new ArgumentException($"axis must list distinct axes; got [{string.Join(", ", axis)}].", nameof(axis));
        _axis = (int[])axis.Clone();
    }

    /// <summary>The axes the norms are taken over (Keras' <c>axis</c>, an integer or a list).</summary>
    public IReadOnlyList<int> Axis => _axis;

    /// <summary>The axis argument as <see cref="Constraint.Name"/> writes it: <c>0</c> or <c>[0,1,2]</c>.</summary>
    private protected string AxisArg => _axis.Length == 1 ? _axis[0].ToString(CultureInfo.InvariantCulture)
        : "[" + string.Join(",", _axis.Select(a => a.ToString(CultureInfo.InvariantCulture))) + "]";

    /// <summary>Whether <see cref="Axis"/> is Keras' default, 0.</summary>
    private protected bool DefaultAxis => _axis is [0];

    /// <summary>The factor a slice with L2 norm <paramref name="norm"/> is multiplied by.</summary>
    protected abstract double Factor(double norm);

    /// <inheritdoc/>
    public override void CheckShape(TensorShape shape, string weightName) => Reduced(shape, weightName);

    // Which of the (up to 4) axes of the shape are reduced; throws when an axis does not exist.
    private int Reduced(TensorShape shape, string weightName)
    {
        int mask = 0;
        foreach (int a in _axis)
        {
            int k = a < 0 ? a + shape.Rank : a;
            if (k < 0 || k >= shape.Rank)
                throw new ArgumentException($"{Name}: axis {a} does not exist in the {shape.Rank}-D weight '{weightName}' of shape {shape}.", nameof(shape));
            mask |= 1 << k;
        }
        return mask;
    }

    /// <inheritdoc/>
    public override void Apply<T>(Tensor<T> weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var shape = weights.Shape;
        int reduced = Reduced(shape, "weights");
        // Pad the shape to 4 axes with leading 1s; keptStride[d] is the stride of axis d in the array of norms
        // (0 for a reduced axis), so element (a, b, c, e) belongs to slice a·k0 + b·k1 + c·k2 + e·k3.
        Span<int> dims = stackalloc int[4];
        Span<int> keptStride = stackalloc int[4];
        int pad = 4 - shape.Rank, count = 1;
        for (int d = 3; d >= 0; d--)
        {
            int axis = d - pad;
            dims[d] = axis < 0 ? 1 : shape[axis];
            bool kept = axis >= 0 && (reduced & (1 << axis)) == 0;
            keptStride[d] = kept ? count : 0;
            if (kept) count *= dims[d];
        }
        var norms = t_norms is { } buf && buf.Length >= count ? buf : (t_norms = new double[Math.Max(count, 64)]);
        var f = norms.AsSpan(0, count);
        f.Clear();
        var w = weights.Span;
        // Pass 1: the sums of squares of each slice.
        int i = 0;
        for (int a = 0; a < dims[0]; a++)
            for (int b = 0; b < dims[1]; b++)
                for (int c = 0; c < dims[2]; c++)
                {
                    int k = a * keptStride[0] + b * keptStride[1] + c * keptStride[2];
                    if (keptStride[3] == 0)
                    {
                        double s = 0;
                        for (int e = 0; e < dims[3]; e++, i++) { double v = double.CreateChecked(w[i]); s += v * v; }
                        f[k] += s;
                    }
                    else
                    {
                        for (int e = 0; e < dims[3]; e++, i++) { double v = double.CreateChecked(w[i]); f[k + e] += v * v; }
                    }
                }
        for (int k = 0; k < f.Length; k++) f[k] = Factor(Math.Sqrt(f[k]));
        // Pass 2: scale each weight by its slice's factor.
        i = 0;
        for (int a = 0; a < dims[0]; a++)
            for (int b = 0; b < dims[1]; b++)
                for (int c = 0; c < dims[2]; c++)
                {
                    int k = a * keptStride[0] + b * keptStride[1] + c * keptStride[2];
                    int step = keptStride[3];
                    for (int e = 0; e < dims[3]; e++, i++, k += step)
                        w[i] = T.CreateChecked(double.CreateChecked(w[i]) * f[k]);
                }
    }
}

/// <summary><c>w · min(‖w‖, maxValue) / (ε + ‖w‖)</c> with ε = 1e-7, norms over <see cref="NormConstraint.Axis"/>:
/// Keras' <c>MaxNorm(max_value = 2, axis = 0)</c> (<c>max_norm</c>). Each slice's norm ends at most maxValue.</summary>
/// <remarks>As in Keras, a slice already within the bound is still multiplied by <c>‖w‖/(ε + ‖w‖)</c>, slightly below 1.</remarks>
public sealed class MaxNorm : NormConstraint
{
    /// <summary>Creates the constraint with one axis.</summary>
    /// <param name="maxValue">The largest norm allowed; non-negative and finite.</param>
    /// <param name="axis">The axis the norms are taken over (negative counts from the end).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxValue"/> is negative or not finite.</exception>
    public MaxNorm(double maxValue = 2, int axis = 0) : this(maxValue, [axis]) { }

    /// <summary>Creates the constraint with several axes (<c>[0, 1, 2]</c> for a Conv2D kernel's filters).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxValue"/> is negative or not finite.</exception>
    /// <exception cref="ArgumentException"><paramref name="axis"/> is empty or repeats an axis.</exception>
    public MaxNorm(double maxValue, int[] axis) : base(axis) =>
        MaxValue = maxValue >= 0 && double.IsFinite(maxValue) ? maxValue
            : throw new ArgumentOutOfRangeException(nameof(maxValue), $"maxValue must be non-negative and finite; got {maxValue}.");

    /// <summary>The largest norm allowed.</summary>
    public double MaxValue { get; }

    /// <inheritdoc/>
    public override string Name => MaxValue == 2 && DefaultAxis ? "max_norm" : $"max_norm:{Arg(MaxValue)},{AxisArg}";

    /// <inheritdoc/>
    protected override double Factor(double norm) => Math.Clamp(norm, 0, MaxValue) / (Epsilon + norm);
}

/// <summary><c>w / (ε + ‖w‖)</c> with ε = 1e-7, norms over <see cref="NormConstraint.Axis"/>: Keras'
/// <c>UnitNorm(axis = 0)</c> (<c>unit_norm</c>).</summary>
public sealed class UnitNorm : NormConstraint
{
    /// <summary>Creates the constraint with one axis (negative counts from the end).</summary>
    public UnitNorm(int axis = 0) : this([axis]) { }

    /// <summary>Creates the constraint with several axes.</summary>
    /// <exception cref="ArgumentException"><paramref name="axis"/> is empty or repeats an axis.</exception>
    public UnitNorm(int[] axis) : base(axis) { }

    /// <inheritdoc/>
    public override string Name => DefaultAxis ? "unit_norm" : $"unit_norm:{AxisArg}";

    /// <inheritdoc/>
    protected override double Factor(double norm) => 1 / (Epsilon + norm);
}

/// <summary><c>w · (rate·clip(‖w‖, minValue, maxValue) + (1 − rate)·‖w‖) / (ε + ‖w‖)</c> with ε = 1e-7, norms over
/// <see cref="NormConstraint.Axis"/>: Keras' <c>MinMaxNorm(min_value = 0, max_value = 1, rate = 1, axis = 0)</c>
/// (<c>min_max_norm</c>). Rate 1 enforces the bounds at once; a smaller rate moves the norms toward them each step.</summary>
public sealed class MinMaxNorm : NormConstraint
{
    /// <summary>Creates the constraint with one axis.</summary>
    /// <param name="minValue">The smallest norm; non-negative.</param>
    /// <param name="maxValue">The largest norm; at least <paramref name="minValue"/>, finite.</param>
    /// <param name="rate">How far each application moves the norm into the bounds, in [0, 1].</param>
    /// <param name="axis">The axis the norms are taken over (negative counts from the end).</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public MinMaxNorm(double minValue = 0, double maxValue = 1, double rate = 1, int axis = 0) : this(minValue, maxValue, rate, [axis]) { }

    /// <summary>Creates the constraint with several axes.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    /// <exception cref="ArgumentException"><paramref name="axis"/> is empty or repeats an axis.</exception>
    public MinMaxNorm(double minValue, double maxValue, double rate, int[] axis) : base(axis)
    {
        if (!(minValue >= 0) || !double.IsFinite(minValue))
            throw new ArgumentOutOfRangeException(nameof(minValue), $"minValue must be non-negative and finite; got {minValue}.");
        if (!(maxValue >= minValue) || !double.IsFinite(maxValue))
            throw new ArgumentOutOfRangeException(nameof(maxValue), $"maxValue must be finite and at least minValue ({minValue}); got {maxValue}.");
        if (rate is not (>= 0 and <= 1))
            throw new ArgumentOutOfRangeException(nameof(rate), $"rate must be in [0, 1]; got {rate}.");
        (MinValue, MaxValue, Rate) = (minValue, maxValue, rate);
    }

    /// <summary>The smallest norm.</summary>
    public double MinValue { get; }

    /// <summary>The largest norm.</summary>
    public double MaxValue { get; }

    /// <summary>The enforcement rate.</summary>
    public double Rate { get; }

    /// <inheritdoc/>
    public override string Name => MinValue == 0 && MaxValue == 1 && Rate == 1 && DefaultAxis
        ? "min_max_norm" : $"min_max_norm:{Arg(MinValue)},{Arg(MaxValue)},{Arg(Rate)},{AxisArg}";

    /// <inheritdoc/>
    protected override double Factor(double norm) =>
        (Rate * Math.Clamp(norm, MinValue, MaxValue) + (1 - Rate) * norm) / (Epsilon + norm);
}
