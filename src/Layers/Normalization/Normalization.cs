using System.Globalization;
using System.Numerics;
using Nn.Simd.Layers.Initializers;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

// Shapes: R = rows (every axis but the last), C = features (the last axis); μ, σ² are [C].
// Forward: y = (x − μ) / max(√σ², ε); inverted: y = μ + x·max(√σ², ε). ε = 1e-7 (Keras' backend epsilon).
// Backward: dx = dy / max(√σ², ε); inverted: dx = dy·max(√σ², ε). Nothing is trained.

/// <summary>
/// Keras' <c>Normalization</c> preprocessing layer along the last axis: <c>y = (x − μ) / max(√σ², ε)</c> per feature,
/// with the mean μ and variance σ² either computed from data by <see cref="Adapt"/> or given to the constructor;
/// with <c>invert</c>, <c>y = μ + x·max(√σ², ε)</c> (to map a normalised prediction back to the data's units).
/// </summary>
/// <remarks>
/// <para>μ and σ² are buffers named <c>mean</c> and <c>variance</c> (zeros and ones until adapted, so an un-adapted
/// layer passes its input through, as in Keras): they are saved with the model, counted as non-trainable, and never
/// touched by the optimizer. <see cref="Adapt"/> takes the population (biased) variance, as Keras' <c>adapt</c> does.
/// Only Keras' default <c>axis=-1</c> is supported: inputs are <c>[batch, features]</c> or
/// <c>[batch, time, features]</c>.</para>
/// <para>Put it first in a model so that raw features are standardised inside the model, and saved with it.</para>
/// </remarks>
public sealed class Normalization<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>ε, Keras' backend epsilon: the smallest standard deviation divided by.</summary>
    public const double Epsilon = 1e-7;

    private readonly double[]? _givenMean, _givenVariance;
    private readonly Workspace<T> _wY = new(), _wDx = new(), _wScale = new();
    private Parameter<T>? _mean, _variance;
    private Tensor<T>? _lastY;

    /// <summary>Creates the layer.</summary>
    /// <param name="mean">Fixed per-feature means (one value is broadcast to every feature), or null to
    /// <see cref="Adapt"/> the layer to data instead. Must be given together with <paramref name="variance"/>.</param>
    /// <param name="variance">Fixed per-feature variances, non-negative, the same length as <paramref name="mean"/>.</param>
    /// <param name="invert">Whether to undo the normalisation, <c>y = μ + x·max(√σ², ε)</c>.</param>
    /// <exception cref="ArgumentException">Only one of mean and variance is given, their lengths differ, a list is
    /// empty, a mean is not finite or a variance is negative or not finite.</exception>
    public Normalization(IReadOnlyList<double>? mean = null, IReadOnlyList<double>? variance = null, bool invert = false)
    {
        if ((mean is null) != (variance is null))
            throw new ArgumentException($"Give both mean and variance, or neither; got mean {Describe(mean)} and variance {Describe(variance)}.",
                mean is null ? nameof(mean) : nameof(variance));
        if (mean is not null && variance is not null)
        {
            if (mean.Count == 0 || mean.Count != variance.Count)
                throw new ArgumentException($"mean and variance must be non-empty and of the same length; got {mean.Count} and {variance.Count}.", nameof(variance));
            for (int i = 0; i < mean.Count; i++)
            {
                if (!double.IsFinite(mean[i])) throw new ArgumentException($"mean[{i}] must be finite; got {mean[i]}.", nameof(mean));
                if (!(variance[i] >= 0) || !double.IsFinite(variance[i]))
                    throw new ArgumentException($"variance[{i}] must be finite and non-negative; got {variance[i]}.", nameof(variance));
            }
            _givenMean = [.. mean];
            _givenVariance = [.. variance];
        }
        Invert = invert;
    }

    /// <inheritdoc/>
    public override string TypeName => "normalization";

    /// <summary>Whether the layer undoes the normalisation.</summary>
    public bool Invert { get; }

    /// <summary>Whether μ and σ² were given to the constructor (such a layer cannot be adapted, as in Keras).</summary>
    public bool HasFixedStatistics => _givenMean is not null;

    /// <summary>The per-feature mean μ [C] (a buffer).</summary>
    public Parameter<T> Mean => _mean ?? throw new InvalidOperationException($"{Name} is not built yet: call Adapt or use it in a model first.");

    /// <summary>The per-feature variance σ² [C] (a buffer).</summary>
    public Parameter<T> Variance => _variance ?? throw new InvalidOperationException($"{Name} is not built yet: call Adapt or use it in a model first.");

    /// <inheritdoc/>
    protected override void BuildCore(TensorShape inputShape, Random rng)
    {
        CheckRank(inputShape, nameof(inputShape));
        int c = inputShape[-1];
        var shape = new TensorShape(c);
        _mean = AddBuffer("mean", shape, new Constant(0), rng);
        _variance = AddBuffer("variance", shape, new Constant(1), rng);
        if (_givenMean is null) return;
        if (_givenMean.Length != 1 && _givenMean.Length != c)
            throw new ArgumentException($"{Name} was given {_givenMean.Length} means and variances, but its input {inputShape} has {c} features.", nameof(inputShape));
        var m = _mean.Value.Span;
        var v = _variance.Value.Span;
        for (int j = 0; j < c; j++)
        {
            int i = _givenMean.Length == 1 ? 0 : j;
            m[j] = T.CreateChecked(_givenMean[i]);
            v[j] = T.CreateChecked(_givenVariance![i]);
        }
    }

    /// <summary>
    /// Sets μ and σ² to the per-feature mean and population variance of <paramref name="data"/> (every row of
    /// <c>[samples, features]</c> or <c>[samples, time, features]</c>), accumulated in double precision in two passes.
    /// Builds the layer if needed.
    /// </summary>
    /// <param name="data">The training inputs; at least one row, all finite.</param>
    /// <exception cref="ArgumentException">The rank is wrong, there are no rows, the feature count differs from the
    /// built layer's, or a value is NaN or infinite (the message gives its row and feature); the layer is unchanged.</exception>
    /// <exception cref="InvalidOperationException">The layer was given fixed statistics.</exception>
    public void Adapt(Tensor<T> data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (HasFixedStatistics)
            throw new InvalidOperationException($"{Name} was given its mean and variance; adapt a layer created without them.");
        CheckRank(data.Shape, nameof(data));
        int rows = data.Shape.Rows, c = data.Shape.Columns;
        if (IsBuilt) CheckFeatures(data.Shape, nameof(data));
        if (rows == 0) throw new ArgumentException($"{Name}: Adapt needs at least one row; got {data.Shape}.", nameof(data));
        var x = data.ReadOnlySpan;
        var sum = new double[c];
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * c, c);
            for (int j = 0; j < c; j++)
            {
                double v = double.CreateChecked(xr[j]);
                if (!double.IsFinite(v))
                    throw new ArgumentException($"{Name}: Adapt data {data.Shape} holds {v} at row {r}, feature {j}; the statistics were not changed.", nameof(data));
                sum[j] += v;
            }
        }
        for (int j = 0; j < c; j++) sum[j] /= rows;
        var squares = new double[c];
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * c, c);
            for (int j = 0; j < c; j++)
            {
                double d = double.CreateChecked(xr[j]) - sum[j];
                squares[j] += d * d;
            }
        }
        if (!IsBuilt) Build(data.Shape, 0);
        var m = Mean.Value.Span;
        var s2 = Variance.Value.Span;
        for (int j = 0; j < c; j++)
        {
            m[j] = T.CreateChecked(sum[j]);
            s2[j] = T.CreateChecked(squares[j] / rows);
        }
    }

    /// <inheritdoc/>
    public override TensorShape ComputeOutputShape(TensorShape inputShape)
    {
        CheckRank(inputShape, nameof(inputShape));
        return inputShape;
    }

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        EnsureBuilt(input);
        int rows = input.Shape.Rows, c = input.Shape.Columns;
        var x = input.ReadOnlySpan;
        var scale = Scale(c);
        var mean = Mean.Value.ReadOnlySpan;
        var y = _wY.Get(input.Shape);
        var ys = y.Span;
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * c, c);
            var yr = ys.Slice(r * c, c);
            if (Invert)
            {
                // Keras: mean + x·max(√var, ε), a multiply then an add.
                TensorPrimitives.Multiply(xr, scale, yr);
                TensorPrimitives.Add(yr, mean, yr);
            }
            else
            {
                // Keras: (x − mean) / max(√var, ε), a division as Keras does it (the same bits).
                TensorPrimitives.Subtract(xr, mean, yr);
                TensorPrimitives.Divide(yr, scale, yr);
            }
        }
        _lastY = y;
        return y;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_lastY, dOutput, Name);
        int rows = dOutput.Shape.Rows, c = dOutput.Shape.Columns;
        var scale = Scale(c);
        var dy = dOutput.ReadOnlySpan;
        var dx = _wDx.Get(dOutput.Shape);
        var dxs = dx.Span;
        for (int r = 0; r < rows; r++)
        {
            if (Invert) TensorPrimitives.Multiply(dy.Slice(r * c, c), scale, dxs.Slice(r * c, c));
            else TensorPrimitives.Divide(dy.Slice(r * c, c), scale, dxs.Slice(r * c, c));
        }
        return dx;
    }

    /// <summary>max(√σ², ε) per feature, in a workspace.</summary>
    private ReadOnlySpan<T> Scale(int c)
    {
        var s = _wScale.Get(new TensorShape(c)).Span;
        TensorPrimitives.Sqrt(Variance.Value.ReadOnlySpan, s);
        TensorPrimitives.Max(s, T.CreateChecked(Epsilon), s);
        return s;
    }

    private void CheckRank(TensorShape shape, string paramName)
    {
        if (shape.Rank is < 2 or > 3)
            throw new ArgumentException($"{Name} takes [batch, features] or [batch, time, features]; got {shape}.", paramName);
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig()
    {
        var config = new Dictionary<string, string> { ["invert"] = Str(Invert) };
        if (_givenMean is not null)
        {
            config["mean"] = string.Join(",", _givenMean.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
            config["variance"] = string.Join(",", _givenVariance!.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
        }
        return config;
    }

    private static string Describe(IReadOnlyList<double>? values) => values is null ? "null" : $"[{values.Count} values]";
}
