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

    /// <summary>Accumulates a batch with a weight per row (Keras' <c>sample_weight</c>, times a sequence mask): rows are
    /// the prediction seen as <c>[rows, last axis]</c>, so <c>[B]</c> weights for <c>[B, C]</c> outputs and <c>[B·T]</c>
    /// for <c>[B, T, C]</c>. Empty weights mean all ones.</summary>
    /// <param name="prediction">Predictions, e.g. <c>[batch, classes]</c>.</param>
    /// <param name="target">Targets in the loss's layout.</param>
    /// <param name="rowWeights">One non-negative weight per row, or empty.</param>
    /// <exception cref="NotSupportedException">The metric cannot take weights (the default for a user metric).</exception>
    void Update(Tensor<T> prediction, Tensor<T> target, ReadOnlySpan<T> rowWeights)
    {
        if (!rowWeights.IsEmpty)
            throw new NotSupportedException($"Metric '{Name}' ({GetType().Name}) does not take sample weights or a sequence mask; implement IMetric<T>.Update(prediction, target, rowWeights).");
        Update(prediction, target);
    }
}

/// <summary>Checks shared by the metrics.</summary>
internal static class MetricChecks
{
    /// <exception cref="ArgumentException">The weights do not hold one weight per row.</exception>
    public static void RowWeights<T>(string name, Tensor<T> prediction, ReadOnlySpan<T> rowWeights) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!rowWeights.IsEmpty && rowWeights.Length != prediction.Shape.Rows)
            throw new ArgumentException($"{name}: {rowWeights.Length} row weights for prediction shape {prediction.Shape}, which has {prediction.Shape.Rows} rows.", nameof(rowWeights));
    }

    /// <summary>The checks every <c>Update(prediction, target, rowWeights)</c> starts with.</summary>
    /// <exception cref="ArgumentNullException">The prediction or target is null.</exception>
    /// <exception cref="ArgumentException">The lengths differ, or the weights do not hold one weight per row.</exception>
    public static void Update<T>(string name, Tensor<T> prediction, Tensor<T> target, ReadOnlySpan<T> rowWeights) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        SameLength(name, prediction, target);
        RowWeights(name, prediction, rowWeights);
    }

    /// <exception cref="ArgumentException">The target does not hold the same number of elements as the prediction.</exception>
    public static void SameLength<T>(string name, Tensor<T> prediction, Tensor<T> target) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (target.Length != prediction.Length)
            throw new ArgumentException($"{name}: target shape {target.Shape} does not match prediction shape {prediction.Shape}.", nameof(target));
    }
}

/// <summary>Shared bookkeeping: a (weighted) sum of per-row values and the sum of the weights, as Keras' <c>Mean</c>:
/// <c>Σ wᵣ·vᵣ / Σ wᵣ</c> over every row seen since the last <see cref="Reset"/>.</summary>
/// <remarks>A row is a sample, or a (sample, step) pair of a sequence output; with equal steps per sample the mean over
/// rows is Keras' mean over samples of their per-step means.</remarks>
public abstract class MeanMetric<T> : IMetric<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private double _total, _count;
    private double[] _values = [];

    /// <inheritdoc/>
    public abstract string Name { get; }

    /// <inheritdoc/>
    public virtual bool HigherIsBetter => true;

    /// <inheritdoc/>
    public virtual double Result => Mean;

    /// <summary>The weighted mean of the row values seen (0 when nothing was seen).</summary>
    protected double Mean => _count == 0 ? 0 : _total / _count;

    /// <inheritdoc/>
    public void Reset() { _total = 0; _count = 0; }

    /// <inheritdoc/>
    public void Update(Tensor<T> prediction, Tensor<T> target) => Update(prediction, target, default);

    /// <inheritdoc/>
    public void Update(Tensor<T> prediction, Tensor<T> target, ReadOnlySpan<T> rowWeights)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        MetricChecks.RowWeights(Name, prediction, rowWeights);
        if (rowWeights.IsEmpty)
        {
            var (sum, count) = Accumulate(prediction, target);
            _total += sum;
            _count += count;
            return;
        }
        var values = RowValueBuffer(prediction.Shape.Rows);
        RowValues(prediction, target, values);
        for (int r = 0; r < values.Length; r++)
        {
            double w = double.CreateChecked(rowWeights[r]);
            if (w == 0) continue;   // a masked row's value may be anything, even NaN
            _total += w * values[r];
            _count += w;
        }
    }

    /// <summary>The value of every row of a batch (the prediction seen as <c>[rows, last axis]</c>).</summary>
    protected abstract void RowValues(Tensor<T> prediction, Tensor<T> target, Span<double> values);

    /// <summary>The sum of the row values of an unweighted batch and its number of rows.</summary>
    protected virtual (double Sum, double Count) Accumulate(Tensor<T> prediction, Tensor<T> target)
    {
        var values = RowValueBuffer(prediction.Shape.Rows);
        RowValues(prediction, target, values);
        double sum = 0;
        foreach (double v in values) sum += v;
        return (sum, values.Length);
    }

    private Span<double> RowValueBuffer(int rows)
    {
        if (_values.Length < rows) _values = new double[rows];
        return _values.AsSpan(0, rows);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: {Result:G6}";
}

/// <summary>The fraction of rows whose arg-max matches the one-hot target's (Keras' <c>categorical_accuracy</c>).</summary>
public sealed class CategoricalAccuracy<T>(string name = "accuracy") : MeanMetric<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Name { get; } = name;

    /// <inheritdoc/>
    protected override void RowValues(Tensor<T> prediction, Tensor<T> target, Span<double> values)
    {
        if (target.Shape != prediction.Shape)
            throw new ArgumentException($"{Name}: target shape {target.Shape} must equal prediction shape {prediction.Shape}.", nameof(target));
        int c = prediction.Shape.Columns;
        var p = prediction.ReadOnlySpan;
        var y = target.ReadOnlySpan;
        for (int r = 0; r < values.Length; r++)
            values[r] = TensorPrimitives.IndexOfMax(p.Slice(r * c, c)) == TensorPrimitives.IndexOfMax(y.Slice(r * c, c)) ? 1 : 0;
    }
}

/// <summary>The fraction of rows whose arg-max equals the integer label (Keras' <c>sparse_categorical_accuracy</c>).</summary>
public sealed class SparseCategoricalAccuracy<T>(string name = "accuracy") : MeanMetric<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Name { get; } = name;

    /// <inheritdoc/>
    protected override void RowValues(Tensor<T> prediction, Tensor<T> target, Span<double> values)
    {
        int c = prediction.Shape.Columns;
        if (target.Length != values.Length)
            throw new ArgumentException($"{Name}: target shape {target.Shape} does not hold one label per row of prediction shape {prediction.Shape}.", nameof(target));
        var p = prediction.ReadOnlySpan;
        var y = target.ReadOnlySpan;
        for (int r = 0; r < values.Length; r++)
            values[r] = TensorPrimitives.IndexOfMax(p.Slice(r * c, c)) == SoftmaxCrossEntropy.Label(y[r], r, c) ? 1 : 0;
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
    protected override void RowValues(Tensor<T> prediction, Tensor<T> target, Span<double> values)
    {
        MetricChecks.SameLength(Name, prediction, target);
        var p = prediction.ReadOnlySpan;
        var y = target.ReadOnlySpan;
        int c = prediction.Shape.Columns;
        for (int r = 0; r < values.Length; r++)
        {
            int hits = 0;
            for (int i = r * c; i < (r + 1) * c; i++)
                if ((p[i] > _threshold ? T.One : T.Zero) == y[i]) hits++;
            values[r] = (double)hits / c;
        }
    }
}

/// <summary>
/// Whether the target class is among the <c>k</c> largest predictions, averaged over rows (Keras'
/// <c>top_k_categorical_accuracy</c> for one-hot targets, <c>sparse_top_k_categorical_accuracy</c> for class indices;
/// k = 5). As TensorFlow's <c>in_top_k</c>, a row counts when fewer than k predictions are strictly greater than the
/// target class's, so ties at the boundary count as hits, and a non-finite target prediction is a miss.
/// </summary>
public sealed class TopKCategoricalAccuracy<T> : MeanMetric<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the metric.</summary>
    /// <param name="k">How many top predictions count; positive.</param>
    /// <param name="sparse">Whether targets are class indices rather than one-hot rows.</param>
    /// <param name="name">The name in logs; defaults to Keras' name.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is not positive.</exception>
    public TopKCategoricalAccuracy(int k = 5, bool sparse = false, string? name = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        K = k;
        Sparse = sparse;
        Name = name ?? (sparse ? "sparse_top_k_categorical_accuracy" : "top_k_categorical_accuracy");
    }

    /// <summary>k.</summary>
    public int K { get; }

    /// <summary>Whether targets are class indices.</summary>
    public bool Sparse { get; }

    /// <inheritdoc/>
    public override string Name { get; }

    /// <inheritdoc/>
    protected override void RowValues(Tensor<T> prediction, Tensor<T> target, Span<double> values)
    {
        int c = prediction.Shape.Columns;
        if (Sparse ? target.Length != values.Length : target.Shape != prediction.Shape)
            throw new ArgumentException(Sparse
                ? $"{Name}: target shape {target.Shape} does not hold one label per row of prediction shape {prediction.Shape}."
                : $"{Name}: target shape {target.Shape} must equal prediction shape {prediction.Shape}.", nameof(target));
        var p = prediction.ReadOnlySpan;
        var y = target.ReadOnlySpan;
        for (int r = 0; r < values.Length; r++)
        {
            var row = p.Slice(r * c, c);
            int label = Sparse ? SoftmaxCrossEntropy.Label(y[r], r, c) : TensorPrimitives.IndexOfMax(y.Slice(r * c, c));
            T v = row[label];
            int greater = 0;
            foreach (T q in row) if (q > v) greater++;
            values[r] = T.IsFinite(v) && greater < K ? 1 : 0;
        }
    }
}

/// <summary>
/// Root mean squared error (Keras' <c>RootMeanSquaredError</c>, <c>root_mean_squared_error</c>):
/// <c>sqrt(Σ wᵣ·mean_j (p − y)² / Σ wᵣ)</c> over every row since the last reset: the root of the mean over all
/// batches, not a mean of per-batch roots.
/// </summary>
public sealed class RootMeanSquaredError<T>(string name = "root_mean_squared_error") : MeanMetric<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Name { get; } = name;

    /// <inheritdoc/>
    public override bool HigherIsBetter => false;

    /// <inheritdoc/>
    public override double Result => Math.Sqrt(Mean);

    /// <inheritdoc/>
    protected override void RowValues(Tensor<T> prediction, Tensor<T> target, Span<double> values)
    {
        MetricChecks.SameLength(Name, prediction, target);
        var p = prediction.ReadOnlySpan;
        var y = target.ReadOnlySpan;
        int c = prediction.Shape.Columns;
        for (int r = 0; r < values.Length; r++)
        {
            double s = 0;
            for (int i = r * c; i < (r + 1) * c; i++)
            {
                double d = double.CreateChecked(p[i] - y[i]);
                s += d * d;
            }
            values[r] = s / c;
        }
    }
}

/// <summary>A loss used as a metric (e.g. <c>mae</c> while training on <c>mse</c>), averaged per sample: Keras'
/// <c>MeanMetricWrapper</c> around the loss function. With weights, each row's loss is taken alone.</summary>
public sealed class LossMetric<T> : MeanMetric<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly ILoss<T> _loss;
    private readonly RowViews<T> _predictionRows = new(), _targetRows = new();

    /// <summary>Creates the metric.</summary>
    /// <param name="loss">The loss to report.</param>
    /// <param name="name">The name in logs; defaults to the loss's name.</param>
    public LossMetric(ILoss<T> loss, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(loss);
        _loss = loss;
        Name = name ?? loss.Name;
    }

    /// <summary>The loss reported.</summary>
    public ILoss<T> Loss => _loss;

    /// <inheritdoc/>
    public override string Name { get; }

    /// <inheritdoc/>
    public override bool HigherIsBetter => false;

    /// <inheritdoc/>
    protected override (double Sum, double Count) Accumulate(Tensor<T> prediction, Tensor<T> target)
    {
        int rows = prediction.Shape[0];
        return (double.CreateChecked(_loss.Compute(prediction, target)) * rows, rows);
    }

    /// <summary>The loss of each row (for metrics derived from this one).</summary>
    internal void RowValuesOf(Tensor<T> prediction, Tensor<T> target, Span<double> values) => RowValues(prediction, target, values);

    /// <inheritdoc/>
    protected override void RowValues(Tensor<T> prediction, Tensor<T> target, Span<double> values)
    {
        int rows = values.Length;
        if (target.Length % rows != 0)
            throw new ArgumentException($"{Name}: target shape {target.Shape} does not split into the {rows} rows of prediction shape {prediction.Shape}.", nameof(target));
        for (int r = 0; r < rows; r++)
            values[r] = double.CreateChecked(_loss.Compute(_predictionRows.Get(prediction, r, rows), _targetRows.Get(target, r, rows)));
    }
}

/// <summary>
/// Streaming binary confusion counts at one threshold: an element is predicted positive when <c>p &gt; threshold</c>
/// and is a positive when its target is non-zero (Keras casts labels to bool). Each element adds its row's weight to
/// the true-positive, false-positive or false-negative count.
/// </summary>
public abstract class ConfusionMetric<T> : IMetric<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T _threshold;

    /// <summary>Creates the metric.</summary>
    /// <param name="threshold">The decision threshold, in [0, 1] (Keras' default 0.5).</param>
    /// <param name="name">The name in logs.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threshold"/> is outside [0, 1].</exception>
    protected ConfusionMetric(double threshold, string name)
    {
        if (!(threshold >= 0 && threshold <= 1))
            throw new ArgumentOutOfRangeException(nameof(threshold), $"threshold must be in [0, 1]; got {threshold}.");
        Threshold = threshold;
        _threshold = T.CreateChecked(threshold);
        Name = name;
    }

    /// <summary>The decision threshold.</summary>
    public double Threshold { get; }

    /// <summary>The weighted true positives seen.</summary>
    public double TruePositives { get; private set; }

    /// <summary>The weighted false positives seen.</summary>
    public double FalsePositives { get; private set; }

    /// <summary>The weighted false negatives seen.</summary>
    public double FalseNegatives { get; private set; }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public abstract double Result { get; }

    /// <inheritdoc/>
    public bool HigherIsBetter => true;

    /// <inheritdoc/>
    public void Reset() { TruePositives = 0; FalsePositives = 0; FalseNegatives = 0; }

    /// <inheritdoc/>
    public void Update(Tensor<T> prediction, Tensor<T> target) => Update(prediction, target, default);

    /// <inheritdoc/>
    public void Update(Tensor<T> prediction, Tensor<T> target, ReadOnlySpan<T> rowWeights)
    {
        MetricChecks.Update(Name, prediction, target, rowWeights);
        var p = prediction.ReadOnlySpan;
        var y = target.ReadOnlySpan;
        int c = prediction.Shape.Columns;
        double tp = 0, fp = 0, fn = 0;
        for (int i = 0; i < p.Length; i++)
        {
            double w = rowWeights.IsEmpty ? 1 : double.CreateChecked(rowWeights[i / c]);
            bool predicted = p[i] > _threshold, actual = y[i] != T.Zero;
            if (predicted && actual) tp += w;
            else if (predicted) fp += w;
            else if (actual) fn += w;
        }
        TruePositives += tp;
        FalsePositives += fp;
        FalseNegatives += fn;
    }

    /// <summary><c>a / (a + b)</c>, or 0 when that is 0/0 (Keras' <c>divide_no_nan</c>).</summary>
    protected static double Ratio(double a, double b) => a + b == 0 ? 0 : a / (a + b);

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: {Result:G6}";
}

/// <summary>Precision, <c>TP / (TP + FP)</c> over everything seen (Keras' <c>Precision</c>, threshold 0.5); 0 before any
/// positive prediction.</summary>
public sealed class Precision<T>(double threshold = 0.5, string name = "precision") : ConfusionMetric<T>(threshold, name)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override double Result => Ratio(TruePositives, FalsePositives);
}

/// <summary>Recall, <c>TP / (TP + FN)</c> over everything seen (Keras' <c>Recall</c>, threshold 0.5); 0 before any
/// positive target.</summary>
public sealed class Recall<T>(double threshold = 0.5, string name = "recall") : ConfusionMetric<T>(threshold, name)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override double Result => Ratio(TruePositives, FalseNegatives);
}

/// <summary>
/// Area under the ROC curve (Keras' <c>AUC</c> with its defaults: 200 thresholds, <c>curve="ROC"</c>,
/// <c>summation_method="interpolation"</c>): streaming weighted confusion counts at thresholds
/// <c>[−ε, 1/199, 2/199, …, 198/199, 1 + ε]</c> (ε = 1e-7; an element is positive at a threshold when
/// <c>p &gt; threshold</c>, a label is positive when non-zero), then the trapezoid rule
/// <c>Σᵢ (FPRᵢ − FPRᵢ₊₁)·(TPRᵢ + TPRᵢ₊₁)/2</c> with <c>TPR = TP/(TP + FN)</c> and <c>FPR = FP/(FP + TN)</c> (0 for 0/0).
/// </summary>
/// <remarks>Predictions are probabilities; a prediction outside [0, 1] falls in the first or last bucket, as Keras'
/// thresholds do. Each element is filed under the number of thresholds it exceeds (a binary search), so an update
/// costs O(log 200) per element and the counts per threshold are summed when <see cref="Result"/> is read.</remarks>
public sealed class Auc<T> : IMetric<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly double[] _thresholds;
    private readonly double[] _positives, _negatives;   // weight of positive / negative labels exceeding exactly i thresholds

    /// <summary>Creates the metric.</summary>
    /// <param name="numThresholds">The number of thresholds, at least 2 (Keras' default 200).</param>
    /// <param name="name">The name in logs.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="numThresholds"/> is below 2.</exception>
    public Auc(int numThresholds = 200, string name = "auc")
    {
        if (numThresholds < 2) throw new ArgumentOutOfRangeException(nameof(numThresholds), $"numThresholds must be at least 2; got {numThresholds}.");
        NumThresholds = numThresholds;
        Name = name;
        _thresholds = new double[numThresholds];
        for (int i = 1; i < numThresholds - 1; i++) _thresholds[i] = i * 1.0 / (numThresholds - 1);
        _thresholds[0] = 0.0 - 1e-7;
        _thresholds[^1] = 1.0 + 1e-7;
        _positives = new double[numThresholds + 1];
        _negatives = new double[numThresholds + 1];
    }

    /// <summary>The number of thresholds.</summary>
    public int NumThresholds { get; }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public bool HigherIsBetter => true;

    /// <inheritdoc/>
    public void Reset()
    {
        Array.Clear(_positives);
        Array.Clear(_negatives);
    }

    /// <inheritdoc/>
    public void Update(Tensor<T> prediction, Tensor<T> target) => Update(prediction, target, default);

    /// <inheritdoc/>
    public void Update(Tensor<T> prediction, Tensor<T> target, ReadOnlySpan<T> rowWeights)
    {
        MetricChecks.Update(Name, prediction, target, rowWeights);
        var p = prediction.ReadOnlySpan;
        var y = target.ReadOnlySpan;
        int c = prediction.Shape.Columns;
        for (int i = 0; i < p.Length; i++)
        {
            double w = rowWeights.IsEmpty ? 1 : double.CreateChecked(rowWeights[i / c]);
            if (w == 0) continue;
            int exceeded = Exceeded(double.CreateChecked(p[i]));
            if (y[i] != T.Zero) _positives[exceeded] += w;
            else _negatives[exceeded] += w;
        }
    }

    /// <summary>How many thresholds <paramref name="v"/> is strictly above (thresholds are ascending).</summary>
    private int Exceeded(double v)
    {
        int lo = 0, hi = _thresholds.Length;    // answer in [lo, hi]
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (v > _thresholds[mid]) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /// <inheritdoc/>
    public double Result
    {
        get
        {
            // At threshold t, TP = weight of positives exceeding more than t thresholds, i.e. buckets t+1 … n.
            int n = NumThresholds;
            double totalPos = 0, totalNeg = 0;
            for (int i = 0; i <= n; i++) { totalPos += _positives[i]; totalNeg += _negatives[i]; }
            double tp = totalPos - _positives[0], fp = totalNeg - _negatives[0];
            double prevTpr = Rate(tp, totalPos), prevFpr = Rate(fp, totalNeg), auc = 0;
            for (int t = 1; t < n; t++)
            {
                tp -= _positives[t];
                fp -= _negatives[t];
                double tpr = Rate(tp, totalPos), fpr = Rate(fp, totalNeg);
                auc += (prevFpr - fpr) * (prevTpr + tpr) / 2;
                (prevTpr, prevFpr) = (tpr, fpr);
            }
            return auc;
        }
    }

    private static double Rate(double a, double total) => total == 0 ? 0 : a / total;

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: {Result:G6}";
}

/// <summary>
/// Keras' <c>CosineSimilarity</c> metric: the mean over samples of <c>cos(p, y) = p·y / (‖p‖·‖y‖)</c> along the last
/// axis (higher is better), the negative of the <c>cosine_similarity</c> loss, whose norms it shares (clipped at
/// 1e-12 as Keras' <c>l2_normalize</c>).
/// </summary>
/// <param name="name">The name in logs.</param>
public sealed class CosineSimilarityMetric<T>(string name = "cosine_similarity") : MeanMetric<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly LossMetric<T> _loss = new(new CosineSimilarity<T>());

    /// <inheritdoc/>
    public override string Name { get; } = name;

    /// <inheritdoc/>
    protected override void RowValues(Tensor<T> prediction, Tensor<T> target, Span<double> values)
    {
        _loss.RowValuesOf(prediction, target, values);
        foreach (ref double v in values) v = -v;
    }
}

/// <summary>Looks metrics up by their Keras names.</summary>
public static class MetricFactory
{
    /// <summary>The names <see cref="Get{T}"/> accepts (aliases included).</summary>
    public static IReadOnlyList<string> Names { get; } =
    [
        "accuracy", "acc", "categorical_accuracy", "sparse_categorical_accuracy", "binary_accuracy",
        "mse", "mean_squared_error", "mae", "mean_absolute_error", "mape", "mean_absolute_percentage_error",
        "root_mean_squared_error", "precision", "recall", "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "auc", "r2_score",
        "msle", "mean_squared_logarithmic_error", "logcosh", "log_cosh", "kl_divergence", "kld", "poisson", "hinge", "squared_hinge",
        "categorical_hinge", "cosine_similarity", "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
    ];

    /// <summary>Creates the metric named <paramref name="name"/>. <c>accuracy</c> (or <c>acc</c>) resolves as Keras does:
    /// sparse for a sparse loss, binary for binary (or binary focal) cross-entropy or a single output, categorical otherwise.</summary>
    /// <param name="name">A metric name, one of <see cref="Names"/>.</param>
    /// <param name="loss">The compiled loss, used to resolve <c>accuracy</c>.</param>
    /// <param name="outputWidth">The model's output width, used to resolve <c>accuracy</c>; 0 if unknown.</param>
    /// <param name="displayName">The name in logs; defaults to <paramref name="name"/> as given (as Keras).</param>
    /// <exception cref="ArgumentException">The name is unknown.</exception>
    public static IMetric<T> Get<T>(string name, ILoss<T>? loss = null, int outputWidth = 0, string? displayName = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(name);
        string shown = displayName ?? name;
        return name.ToLowerInvariant() switch
        {
            "accuracy" or "acc" => loss switch
            {
                SparseCategoricalCrossEntropy<T> => new SparseCategoricalAccuracy<T>(shown),
                BinaryCrossEntropy<T> b => new BinaryAccuracy<T>(b.FromLogits ? 0 : 0.5, shown),
                BinaryFocalCrossEntropy<T> b => new BinaryAccuracy<T>(b.FromLogits ? 0 : 0.5, shown),
                _ when outputWidth == 1 => new BinaryAccuracy<T>(0.5, shown),
                _ => new CategoricalAccuracy<T>(shown),
            },
            "categorical_accuracy" => new CategoricalAccuracy<T>(shown),
            "sparse_categorical_accuracy" => new SparseCategoricalAccuracy<T>(shown),
            "binary_accuracy" => new BinaryAccuracy<T>(0.5, shown),
            "mse" or "mean_squared_error" => new LossMetric<T>(new MeanSquaredError<T>(), shown),
            "mae" or "mean_absolute_error" => new LossMetric<T>(new MeanAbsoluteError<T>(), shown),
            "mape" or "mean_absolute_percentage_error" => new LossMetric<T>(new MeanAbsolutePercentageError<T>(), shown),
            "root_mean_squared_error" => new RootMeanSquaredError<T>(shown),
            "precision" => new Precision<T>(name: shown),
            "recall" => new Recall<T>(name: shown),
            "top_k_categorical_accuracy" => new TopKCategoricalAccuracy<T>(5, sparse: false, shown),
            "sparse_top_k_categorical_accuracy" => new TopKCategoricalAccuracy<T>(5, sparse: true, shown),
            "auc" => new Auc<T>(name: shown),
            "r2_score" => new R2Score<T>(name: shown),
            // Keras' loss-valued metrics: the mean of the loss over the samples seen (probabilities, not logits).
            "msle" or "mean_squared_logarithmic_error" => new LossMetric<T>(new MeanSquaredLogarithmicError<T>(), shown),
            "logcosh" or "log_cosh" => new LossMetric<T>(new LogCosh<T>(), shown),
            "kl_divergence" or "kld" => new LossMetric<T>(new KLDivergence<T>(), shown),
            "poisson" => new LossMetric<T>(new Poisson<T>(), shown),
            "hinge" => new LossMetric<T>(new Hinge<T>(), shown),
            "squared_hinge" => new LossMetric<T>(new SquaredHinge<T>(), shown),
            "categorical_hinge" => new LossMetric<T>(new CategoricalHinge<T>(), shown),
            "binary_crossentropy" => new LossMetric<T>(new BinaryCrossEntropy<T>(), shown),
            "categorical_crossentropy" => new LossMetric<T>(new CategoricalCrossEntropy<T>(), shown),
            "sparse_categorical_crossentropy" => new LossMetric<T>(new SparseCategoricalCrossEntropy<T>(), shown),
            "cosine_similarity" => new CosineSimilarityMetric<T>(shown),
            _ => throw new ArgumentException($"Unknown metric '{name}'. Known: {string.Join(", ", Names)}.", nameof(name)),
        };
    }
}
