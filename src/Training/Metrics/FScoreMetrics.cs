using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Training.Metrics;

/// <summary>How <see cref="FBetaScore{T}"/> averages over classes (Keras' <c>average</c>; null is Keras' None, one
/// score per class).</summary>
public enum FScoreAverage
{
    /// <summary>Keras' <c>"micro"</c>: one score from the true positives, false positives and false negatives of all classes together.</summary>
    Micro,

    /// <summary>Keras' <c>"macro"</c>: the unweighted mean of the per-class scores.</summary>
    Macro,

    /// <summary>Keras' <c>"weighted"</c>: the per-class scores weighted by support (the weighted count of true instances).</summary>
    Weighted,
}

/// <summary>
/// The F-beta score (Keras' <c>FBetaScore</c>), streaming over batches: per class c, with ŷ the 0/1 prediction and y the
/// target, <c>TP += w·ŷ·y, FP += w·ŷ·(1 − y), FN += w·(1 − ŷ)·y, support += w·y</c> (w the row weight); then
/// <c>P = TP/(TP + FP + ε)</c>, <c>R = TP/(TP + FN + ε)</c>, <c>F = (1 + β²)·P·R/(β²·P + R + ε)</c> with ε = 1e-7
/// (Keras' <c>backend.epsilon()</c>), averaged as <see cref="Average"/> says.
/// </summary>
/// <remarks>
/// <para>ŷ is <c>p &gt; threshold</c>, or, without a threshold, 1 where p equals its row's maximum and <c>|p| &gt; 1e-9</c>
/// (so ties all count, and an all-zero row predicts nothing), as in Keras. Predictions are seen as <c>[rows, classes]</c>;
/// Keras takes 2-D inputs only, a sequence output here contributes one row per (sample, step).</para>
/// <para>Keras' defaults are <c>average=None</c> (one score per class), <c>beta=1</c>, <c>threshold=None</c>. With no
/// average the metric has no single value: <see cref="ClassResults"/> holds the scores, <see cref="Result"/> throws and
/// <c>Sequential.Compile</c> refuses it, since logs hold one number per metric. Keras' name lookup
/// (<c>metrics=["f1_score"]</c>) builds that per-class default, so the names are not registered in
/// <see cref="MetricFactory"/>: pass an instance with an average. The counts are kept in float64 (Keras keeps float32).</para>
/// </remarks>
public class FBetaScore<T> : IMetric<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const double Epsilon = 1e-7;
    private double[] _tp = [], _fp = [], _fn = [], _support = [];

    /// <summary>Creates the metric.</summary>
    /// <param name="average">How to average over classes; null (Keras' default None) keeps one score per class.</param>
    /// <param name="beta">β, the weight of recall; positive and finite (Keras' default 1).</param>
    /// <param name="threshold">Predictions above it count as 1, in (0, 1]; null (Keras' default) marks each row's maximum.</param>
    /// <param name="name">The name in logs.</param>
    /// <exception cref="ArgumentOutOfRangeException">β or the threshold is out of range.</exception>
    public FBetaScore(FScoreAverage? average = null, double beta = 1.0, double? threshold = null, string name = "fbeta_score")
    {
        if (average is FScoreAverage a && !Enum.IsDefined(a))
            throw new ArgumentOutOfRangeException(nameof(average), $"average must be Micro, Macro, Weighted or null; got {a}.");
        if (!(beta > 0) || !double.IsFinite(beta))
            throw new ArgumentOutOfRangeException(nameof(beta), $"beta must be positive and finite; got {beta}.");
        if (threshold is double t && !(t > 0 && t <= 1))
            throw new ArgumentOutOfRangeException(nameof(threshold), $"threshold must satisfy 0 < threshold <= 1 (or be null for the row maximum); got {t}.");
        ArgumentNullException.ThrowIfNull(name);
        Average = average;
        Beta = beta;
        Threshold = threshold;
        Name = name;
    }

    /// <summary>How the per-class scores are averaged; null for none.</summary>
    public FScoreAverage? Average { get; }

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <summary>The decision threshold, or null for the row maximum.</summary>
    public double? Threshold { get; }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public bool HigherIsBetter => true;

    /// <summary>The number of classes, fixed by the first batch (0 before).</summary>
    public int Classes => _tp.Length;

    /// <inheritdoc/>
    public void Reset()
    {
        Array.Clear(_tp);
        Array.Clear(_fp);
        Array.Clear(_fn);
        Array.Clear(_support);
    }

    /// <inheritdoc/>
    public void Update(Tensor<T> prediction, Tensor<T> target) => Update(prediction, target, default);

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">The target's shape differs from the prediction's, the weights do not hold one
    /// per row, or the number of classes differs from the first batch's.</exception>
    public void Update(Tensor<T> prediction, Tensor<T> target, ReadOnlySpan<T> rowWeights)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        if (target.Shape != prediction.Shape)
            throw new ArgumentException($"{Name}: target shape {target.Shape} must equal prediction shape {prediction.Shape}.", nameof(target));
        MetricChecks.RowWeights(Name, prediction, rowWeights);
        int c = prediction.Shape.Columns, rows = prediction.Shape.Rows;
        if (_tp.Length == 0)
        {
            _tp = new double[c]; _fp = new double[c]; _fn = new double[c]; _support = new double[c];
        }
        else if (_tp.Length != c)
            throw new ArgumentException($"{Name}: prediction shape {prediction.Shape} has {c} classes but earlier batches had {_tp.Length}.", nameof(prediction));
        var p = prediction.ReadOnlySpan;
        var y = target.ReadOnlySpan;
        T threshold = Threshold is double th ? T.CreateChecked(th) : T.Zero, tiny = T.CreateChecked(1e-9);
        for (int r = 0; r < rows; r++)
        {
            double w = rowWeights.IsEmpty ? 1 : double.CreateChecked(rowWeights[r]);
            var row = p.Slice(r * c, c);
            T max = Threshold is null ? TensorPrimitives.Max(row) : T.Zero;
            for (int j = 0; j < c; j++)
            {
                T v = row[j];
                double predicted = (Threshold is null ? v >= max && T.Abs(v) > tiny : v > threshold) ? 1 : 0;
                double actual = double.CreateChecked(y[r * c + j]);
                _tp[j] += w * (predicted * actual);
                _fp[j] += w * (predicted * (1 - actual));
                _fn[j] += w * ((1 - predicted) * actual);
                _support[j] += w * actual;
            }
        }
    }

    /// <summary>The score of each class over everything seen (Keras' result with <c>average=None</c>); empty before the first batch.</summary>
    public double[] ClassResults
    {
        get
        {
            var f = new double[_tp.Length];
            for (int j = 0; j < f.Length; j++) f[j] = Score(_tp[j], _fp[j], _fn[j]);
            return f;
        }
    }

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException"><see cref="Average"/> is null: there is one score per class (<see cref="ClassResults"/>).</exception>
    public double Result
    {
        get
        {
            switch (Average)
            {
                case null:
                    throw new InvalidOperationException($"{Name} has no average (Keras' average=None), so it has one score per class: read ClassResults, or create it with an FScoreAverage.");
                case FScoreAverage.Micro:
                    double tp = 0, fp = 0, fn = 0;
                    for (int j = 0; j < _tp.Length; j++) { tp += _tp[j]; fp += _fp[j]; fn += _fn[j]; }
                    return Score(tp, fp, fn);
                case FScoreAverage.Macro:
                    if (_tp.Length == 0) return 0;
                    double sum = 0;
                    for (int j = 0; j < _tp.Length; j++) sum += Score(_tp[j], _fp[j], _fn[j]);
                    return sum / _tp.Length;
                default:
                    double total = 0, weighted = 0;
                    for (int j = 0; j < _tp.Length; j++) total += _support[j];
                    for (int j = 0; j < _tp.Length; j++) weighted += Score(_tp[j], _fp[j], _fn[j]) * (_support[j] / (total + Epsilon));
                    return weighted;
            }
        }
    }

    /// <summary>Keras' F-beta of one set of counts, in Keras' order of operations.</summary>
    private double Score(double tp, double fp, double fn)
    {
        double precision = tp / (tp + fp + Epsilon);
        double recall = tp / (tp + fn + Epsilon);
        double b2 = Beta * Beta;
        double mean = precision * recall / (b2 * precision + recall + Epsilon);
        return mean * (1 + b2);
    }

    /// <inheritdoc/>
    public override string ToString() => Average is null ? $"{Name}: [{string.Join(", ", ClassResults.Select(v => v.ToString("G6")))}]" : $"{Name}: {Result:G6}";
}

/// <summary>The F1 score (Keras' <c>F1Score</c>): <see cref="FBetaScore{T}"/> with β = 1, <c>2·P·R/(P + R)</c> (up to
/// Keras' ε terms). Keras' defaults: <c>average=None</c>, <c>threshold=None</c>, name <c>f1_score</c>.</summary>
public sealed class F1Score<T> : FBetaScore<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the metric.</summary>
    /// <param name="average">How to average over classes; null (Keras' default None) keeps one score per class.</param>
    /// <param name="threshold">Predictions above it count as 1, in (0, 1]; null (Keras' default) marks each row's maximum.</param>
    /// <param name="name">The name in logs.</param>
    /// <exception cref="ArgumentOutOfRangeException">The threshold is out of range.</exception>
    public F1Score(FScoreAverage? average = null, double? threshold = null, string name = "f1_score")
        : base(average, 1.0, threshold, name) { }
}
