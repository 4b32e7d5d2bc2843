using System.Numerics;
using Nn.Simd.Tensors;
using Nn.Simd.Tensors.Kernels;
using Nn.Simd.Training.Losses;

namespace Nn.Simd.Training.Metrics;

/// <summary>A metric's name and running value, independent of the element type.</summary>
public interface IMetric
{
    /// <summary>The name used in logs and <see cref="History"/>, e.g. <c>accuracy</c>.</summary>
    string Name { get; }

    /// <summary>The value over everything seen since the last <see cref="Reset"/> (0 when nothing was seen).</summary>
    double Result { get; }

    /// <summary>Whether larger values are better (used by callbacks in <c>auto</c> mode).</summary>
    bool HigherIsBetter { get; }

    /// <summary>Forgets everything seen.</summary>
    void Reset();
}

/// <summary>A metric accumulated over batches, Keras-style: a per-sample mean.</summary>
public interface IMetric<T> : IMetric where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Accumulates a batch.</summary>
    /// <param name="prediction">Predictions, e.g. <c>[batch, classes]</c>.</param>
    /// <param name="target">Targets in the loss's layout.</param>
    void Update(Tensor<T> prediction, Tensor<T> target);
}

/// <summary>Shared bookkeeping: a sum of per-sample values and a sample count.</summary>
public abstract class MeanMetric<T> : IMetric<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private double _total;
    private long _count;

    /// <inheritdoc/>
    public abstract string Name { get; }

    /// <inheritdoc/>
    public virtual bool HigherIsBetter => true;

    /// <inheritdoc/>
    public double Result => _count == 0 ? 0 : _total / _count;

    /// <inheritdoc/>
    public void Reset() { _total = 0; _count = 0; }

    /// <inheritdoc/>
    public void Update(Tensor<T> prediction, Tensor<T> target)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        var (sum, count) = Accumulate(prediction, target);
        _total += sum;
        _count += count;
    }

    /// <summary>The sum of per-sample values in a batch and the number of samples.</summary>
    protected abstract (double Sum, long Count) Accumulate(Tensor<T> prediction, Tensor<T> target);

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: {Result:G6}";
}

/// <summary>The fraction of rows whose arg-max matches the one-hot target's (Keras' <c>categorical_accuracy</c>).</summary>
public sealed class CategoricalAccuracy<T>(string name = "accuracy") : MeanMetric<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Name { get; } = name;

    /// <inheritdoc/>
    protected override (double Sum, long Count) Accumulate(Tensor<T> prediction, Tensor<T> target)
    {
        if (target.Shape != prediction.Shape)
            throw new ArgumentException($"{Name}: target shape {target.Shape} must equal prediction shape {prediction.Shape}.", nameof(target));
        int c = prediction.Shape.Columns, rows = prediction.Shape.Rows, hits = 0;
        var p = prediction.ReadOnlySpan;
        var y = target.ReadOnlySpan;
        for (int r = 0; r < rows; r++)
            if (TensorPrimitives.IndexOfMax(p.Slice(r * c, c)) == TensorPrimitives.IndexOfMax(y.Slice(r * c, c))) hits++;
        return (hits, rows);
    }
}

/// <summary>The fraction of rows whose arg-max equals the integer label (Keras' <c>sparse_categorical_accuracy</c>).</summary>
public sealed class SparseCategoricalAccuracy<T>(string name = "accuracy") : MeanMetric<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Name { get; } = name;

    /// <inheritdoc/>
    protected override (double Sum, long Count) Accumulate(Tensor<T> prediction, Tensor<T> target)
    {
        int c = prediction.Shape.Columns, rows = prediction.Shape.Rows, hits = 0;
        if (target.Length != rows)
            throw new ArgumentException($"{Name}: target shape {target.Shape} does not hold one label per row of prediction shape {prediction.Shape}.", nameof(target));
        var p = prediction.ReadOnlySpan;
        var y = target.ReadOnlySpan;
        for (int r = 0; r < rows; r++)
            if (TensorPrimitives.IndexOfMax(p.Slice(r * c, c)) == SoftmaxCrossEntropy.Label(y[r], r, c)) hits++;
        return (hits, rows);
    }
}

/// <summary>The fraction of elements where <c>(p &gt; threshold)</c> equals the 0/1 target, averaged per sample
/// (Keras' <c>binary_accuracy</c>).</summary>
public sealed class BinaryAccuracy<T> : MeanMetric<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T _threshold;

    /// <summary>Creates the metric.</summary>
    /// <param name="threshold">Predictions above it count as 1 (use 0 for logits).</param>
    /// <param name="name">The metric's name.</param>
    public BinaryAccuracy(double threshold = 0.5, string name = "accuracy")
    {
        Threshold = threshold;
        _threshold = T.CreateChecked(threshold);
        Name = name;
    }

    /// <summary>The decision threshold.</summary>
    public double Threshold { get; }

    /// <inheritdoc/>
    public override string Name { get; }

    /// <inheritdoc/>
    protected override (double Sum, long Count) Accumulate(Tensor<T> prediction, Tensor<T> target)
    {
        if (target.Length != prediction.Length)
            throw new ArgumentException($"{Name}: target shape {target.Shape} does not match prediction shape {prediction.Shape}.", nameof(target));
        var p = prediction.ReadOnlySpan;
        var y = target.ReadOnlySpan;
        long hits = 0;
        for (int i = 0; i < p.Length; i++)
            if ((p[i] > _threshold ? T.One : T.Zero) == y[i]) hits++;
        int rows = prediction.Shape[0];
        int perRow = rows == 0 ? 1 : p.Length / rows;
        return ((double)hits / perRow, rows);
    }
}

/// <summary>A loss used as a metric (e.g. <c>mae</c> while training on <c>mse</c>), averaged per sample.</summary>
public sealed class LossMetric<T> : MeanMetric<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly ILoss<T> _loss;

    /// <summary>Creates the metric.</summary>
    /// <param name="loss">The loss to report.</param>
    /// <param name="name">The name in logs; defaults to the loss's name.</param>
    public LossMetric(ILoss<T> loss, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(loss);
        _loss = loss;
        Name = name ?? loss.Name;
    }

    /// <inheritdoc/>
    public override string Name { get; }

    /// <inheritdoc/>
    public override bool HigherIsBetter => false;

    /// <inheritdoc/>
    protected override (double Sum, long Count) Accumulate(Tensor<T> prediction, Tensor<T> target)
    {
        int rows = prediction.Shape[0];
        return (double.CreateChecked(_loss.Compute(prediction, target)) * rows, rows);
    }
}

/// <summary>Looks metrics up by their Keras names.</summary>
public static class MetricFactory
{
    /// <summary>Creates the metric named <paramref name="name"/>. <c>accuracy</c> (or <c>acc</c>) resolves as Keras does:
    /// sparse for a sparse loss, binary for binary cross-entropy or a single output, categorical otherwise.</summary>
    /// <param name="name">A metric name: accuracy, categorical_accuracy, sparse_categorical_accuracy, binary_accuracy, mse, mae.</param>
    /// <param name="loss">The compiled loss, used to resolve <c>accuracy</c>.</param>
    /// <param name="outputWidth">The model's output width, used to resolve <c>accuracy</c>; 0 if unknown.</param>
    /// <exception cref="ArgumentException">The name is unknown.</exception>
    public static IMetric<T> Get<T>(string name, ILoss<T>? loss = null, int outputWidth = 0) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.ToLowerInvariant() switch
        {
            "accuracy" or "acc" => loss switch
            {
                SparseCategoricalCrossEntropy<T> => new SparseCategoricalAccuracy<T>(name),
                BinaryCrossEntropy<T> b => new BinaryAccuracy<T>(b.FromLogits ? 0 : 0.5, name),
                _ when outputWidth == 1 => new BinaryAccuracy<T>(0.5, name),
                _ => new CategoricalAccuracy<T>(name),
            },
            "categorical_accuracy" => new CategoricalAccuracy<T>(name),
            "sparse_categorical_accuracy" => new SparseCategoricalAccuracy<T>(name),
            "binary_accuracy" => new BinaryAccuracy<T>(0.5, name),
            "mse" or "mean_squared_error" => new LossMetric<T>(new MeanSquaredError<T>(), name),
            "mae" or "mean_absolute_error" => new LossMetric<T>(new MeanAbsoluteError<T>(), name),
            _ => throw new ArgumentException($"Unknown metric '{name}'. Known: accuracy, categorical_accuracy, sparse_categorical_accuracy, binary_accuracy, mse, mae.", nameof(name)),
        };
    }
}
