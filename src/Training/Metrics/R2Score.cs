using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Training.Metrics;

/// <summary>How <see cref="R2Score{T}"/> combines the scores of the output columns (Keras' <c>class_aggregation</c>;
/// null is Keras' None, one score per column).</summary>
public enum R2Aggregation
{
    /// <summary>Keras' <c>"uniform_average"</c> (the default): the mean of the column scores.</summary>
    UniformAverage,

    /// <summary>Keras' <c>"variance_weighted_average"</c>: the column scores weighted by each column's total sum of squares.</summary>
    VarianceWeightedAverage,
}

/// <summary>
/// The coefficient of determination (Keras' <c>R2Score</c>, <c>r2_score</c>), streaming over batches: per output column,
/// <c>S += Σ w·y, Q += Σ w·y², E += Σ w·(y − p)², N += Σ w</c> (w the row weight); then
/// <c>R² = 1 − E / (Q − S·S/N)</c>, 0 where that is infinite (a constant target), combined as
/// <see cref="ClassAggregation"/> says. With <see cref="NumRegressors"/> k &gt; 0 the adjusted score
/// <c>1 − (1 − R²)·(n − 1)/(n − k − 1)</c> with n the number of target elements seen, unless k ≥ n − 1 (then the plain score, as Keras).
/// </summary>
/// <remarks>Predictions are seen as <c>[rows, columns]</c> (Keras takes 2-D inputs only). Before any batch the result is 0
/// (Keras' would be NaN). With no aggregation (null) <see cref="Result"/> throws and <see cref="ClassResults"/> holds the
/// per-column scores. Sums are kept in float64 (Keras keeps float32).</remarks>
public sealed class R2Score<T> : IMetric<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private double[] _sum = [], _squares = [], _residual = [], _count = [];
    private double _samples;

    /// <summary>Creates the metric.</summary>
    /// <param name="classAggregation">How to combine the column scores (Keras' default uniform average); null keeps one per column.</param>
    /// <param name="numRegressors">The number of independent regressors for the adjusted score; 0 (Keras' default) for the plain score.</param>
    /// <param name="name">The name in logs.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="numRegressors"/> is negative.</exception>
    public R2Score(R2Aggregation? classAggregation = R2Aggregation.UniformAverage, int numRegressors = 0, string name = "r2_score")
    {
        if (classAggregation is R2Aggregation a && !Enum.IsDefined(a))
            throw new ArgumentOutOfRangeException(nameof(classAggregation), $"classAggregation must be UniformAverage, VarianceWeightedAverage or null; got {a}.");
        if (numRegressors < 0)
            throw new ArgumentOutOfRangeException(nameof(numRegressors), $"numRegressors must be non-negative; got {numRegressors}.");
        ArgumentNullException.ThrowIfNull(name);
        ClassAggregation = classAggregation;
        NumRegressors = numRegressors;
        Name = name;
    }

    /// <summary>How the column scores are combined; null for not at all.</summary>
    public R2Aggregation? ClassAggregation { get; }

    /// <summary>The number of regressors of the adjusted score (0: plain R²).</summary>
    public int NumRegressors { get; }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public bool HigherIsBetter => true;

    /// <inheritdoc/>
    public void Reset()
    {
        Array.Clear(_sum);
        Array.Clear(_squares);
        Array.Clear(_residual);
        Array.Clear(_count);
        _samples = 0;
    }

    /// <inheritdoc/>
    public void Update(Tensor<T> prediction, Tensor<T> target) => Update(prediction, target, default);

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">The target holds a different number of elements, the weights do not hold one
    /// per row, or the number of columns differs from the first batch's.</exception>
    public void Update(Tensor<T> prediction, Tensor<T> target, ReadOnlySpan<T> rowWeights)
    {
        MetricChecks.Update(Name, prediction, target, rowWeights);
        int c = prediction.Shape.Columns, rows = prediction.Shape.Rows;
        if (_sum.Length == 0)
        {
            _sum = new double[c]; _squares = new double[c]; _residual = new double[c]; _count = new double[c];
        }
        else if (_sum.Length != c)
            throw new ArgumentException($"{Name}: prediction shape {prediction.Shape} has {c} columns but earlier batches had {_sum.Length}.", nameof(prediction));
        var p = prediction.ReadOnlySpan;
        var y = target.ReadOnlySpan;
        for (int r = 0; r < rows; r++)
        {
            double w = rowWeights.IsEmpty ? 1 : double.CreateChecked(rowWeights[r]);
            for (int j = 0; j < c; j++)
            {
                double yv = double.CreateChecked(y[r * c + j]), d = yv - double.CreateChecked(p[r * c + j]);
                double wy = yv * w;
                _sum[j] += wy;
                _squares[j] += yv * wy;
                _residual[j] += d * d * w;
                _count[j] += w;
            }
        }
        _samples += p.Length;
    }

    /// <summary>The score of each column over everything seen (Keras' raw scores); empty before the first batch.</summary>
    public double[] ClassResults
    {
        get
        {
            var scores = new double[_sum.Length];
            for (int j = 0; j < scores.Length; j++) scores[j] = Raw(j, out _);
            return scores;
        }
    }

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException"><see cref="ClassAggregation"/> is null: there is one score per column.</exception>
    public double Result
    {
        get
        {
            if (ClassAggregation is null)
                throw new InvalidOperationException($"{Name} has no class aggregation (Keras' None), so it has one score per column: read ClassResults, or create it with an R2Aggregation.");
            int c = _sum.Length;
            if (c == 0 || _samples == 0) return 0;
            double r2;
            if (ClassAggregation == R2Aggregation.UniformAverage)
            {
                double s = 0;
                for (int j = 0; j < c; j++) s += Raw(j, out _);
                r2 = s / c;
            }
            else
            {
                double weighted = 0, weights = 0;
                for (int j = 0; j < c; j++)
                {
                    double raw = Raw(j, out double total);
                    weighted += total * raw;
                    weights += total;
                }
                r2 = weighted / weights;
            }
            double n = _samples, k = NumRegressors;
            if (k != 0 && k < n - 1) r2 = 1.0 - (1.0 - r2) * (n - 1.0) / (n - k - 1.0);
            return r2;
        }
    }

    /// <summary>Keras' raw score of column j, <c>1 − E/(Q − S·S/N)</c>, 0 if infinite; <paramref name="total"/> is its <c>Q − S·S/N</c>.</summary>
    private double Raw(int j, out double total)
    {
        double mean = _sum[j] / _count[j];
        total = _squares[j] - _sum[j] * mean;
        double raw = 1 - _residual[j] / total;
        return double.IsInfinity(raw) ? 0 : raw;
    }

    /// <inheritdoc/>
    public override string ToString() => ClassAggregation is null ? $"{Name}: [{string.Join(", ", ClassResults.Select(v => v.ToString("G6")))}]" : $"{Name}: {Result:G6}";
}
