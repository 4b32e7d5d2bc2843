using Nn.Simd.Tensors;

namespace Nn.Simd.Cli.Data;

/// <summary>
/// Per-feature min-max scaling, <c>x' = (x − min) / (max − min)</c>, fitted on training rows only.
/// </summary>
/// <remarks>A feature whose training values are all equal gets a range of 1 (so it maps to 0, not NaN).</remarks>
public sealed class MinMaxScaler
{
    private readonly double[] _min;
    private readonly double[] _range;

    private MinMaxScaler(double[] min, double[] range)
    {
        _min = min;
        _range = range;
    }

    /// <summary>The fitted minimum of each feature.</summary>
    public IReadOnlyList<double> Min => _min;

    /// <summary>The fitted maximum of each feature.</summary>
    public IReadOnlyList<double> Max => _min.Select((m, f) => m + _range[f]).ToArray();

    /// <summary>Number of features.</summary>
    public int Features => _min.Length;

    /// <summary>Fits the scaler on <paramref name="rows"/>, <c>[n, features]</c> row-major.</summary>
    /// <param name="rows">The training values.</param>
    /// <param name="features">Values per row.</param>
    /// <exception cref="ArgumentException">The data is empty or not a whole number of rows.</exception>
    public static MinMaxScaler Fit(ReadOnlySpan<double> rows, int features)
    {
        if (features < 1) throw new ArgumentOutOfRangeException(nameof(features), $"features must be at least 1; got {features}.");
        if (rows.Length == 0 || rows.Length % features != 0)
            throw new ArgumentException($"rows has {rows.Length} values, not a positive multiple of {features} features.", nameof(rows));
        var min = new double[features];
        var max = new double[features];
        min.AsSpan().Fill(double.PositiveInfinity);
        max.AsSpan().Fill(double.NegativeInfinity);
        for (int i = 0; i < rows.Length; i += features)
        {
            for (int f = 0; f < features; f++)
            {
                double v = rows[i + f];
                if (v < min[f]) min[f] = v;
                if (v > max[f]) max[f] = v;
            }
        }
        var range = new double[features];
        for (int f = 0; f < features; f++) range[f] = max[f] > min[f] ? max[f] - min[f] : 1.0;
        return new MinMaxScaler(min, range);
    }

    /// <summary>Scales value <paramref name="value"/> of feature <paramref name="feature"/>.</summary>
    public double Transform(double value, int feature) => (value - _min[feature]) / _range[feature];

    /// <summary>Undoes <see cref="Transform"/> for feature <paramref name="feature"/>.</summary>
    public double Inverse(double scaled, int feature) => scaled * _range[feature] + _min[feature];
}

/// <summary>
/// Sliding windows over daily prices: <see cref="Inputs"/> is <c>[Count, Window, Features]</c> (scaled),
/// <see cref="Targets"/> is <c>[Count]</c>, the scaled close of the day after each window.
/// </summary>
/// <param name="Inputs">Scaled features of the <c>Window</c> days before each target day, row-major.</param>
/// <param name="Targets">Scaled close of each target day.</param>
/// <param name="TargetCloses">The target day's close in dollars.</param>
/// <param name="PreviousCloses">The close of the day before each target day (the last day of its window), in dollars.</param>
/// <param name="TargetDates">Each target day.</param>
/// <param name="Window">Days per window.</param>
/// <param name="Features">Features per day.</param>
public sealed record StockWindows(
    float[] Inputs, float[] Targets, double[] TargetCloses, double[] PreviousCloses, DateOnly[] TargetDates, int Window, int Features)
{
    /// <summary>Number of windows.</summary>
    public int Count => Targets.Length;

    /// <summary>The inputs as a <c>[Count, Window, Features]</c> tensor (a copy).</summary>
    public Tensor<float> InputsTensor() => Tensor<float>.FromArray(Inputs, Count, Window, Features);

    /// <summary>The targets as a <c>[Count, 1]</c> tensor (a copy).</summary>
    public Tensor<float> TargetsTensor() => Tensor<float>.FromArray(Targets, Count, 1);
}

/// <summary>Root-mean-square and mean absolute error, in the units of the data (dollars here).</summary>
/// <param name="Rmse">sqrt(mean((predicted − actual)²)).</param>
/// <param name="Mae">mean(|predicted − actual|).</param>
public readonly record struct ForecastErrors(double Rmse, double Mae)
{
    /// <summary>The errors of <paramref name="predicted"/> against <paramref name="actual"/>.</summary>
    /// <exception cref="ArgumentException">The spans differ in length or are empty.</exception>
    public static ForecastErrors Of(ReadOnlySpan<double> actual, ReadOnlySpan<double> predicted)
    {
        if (actual.Length != predicted.Length || actual.Length == 0)
            throw new ArgumentException($"actual has {actual.Length} values and predicted {predicted.Length}; they must be equal and non-zero.", nameof(predicted));
        double sq = 0, abs = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double d = predicted[i] - actual[i];
            sq += d * d;
            abs += Math.Abs(d);
        }
        return new ForecastErrors(Math.Sqrt(sq / actual.Length), abs / actual.Length);
    }

    /// <summary>The naive forecast (tomorrow's close = today's close) on <paramref name="windows"/>.</summary>
    public static ForecastErrors Naive(StockWindows windows)
    {
        ArgumentNullException.ThrowIfNull(windows);
        return Of(windows.TargetCloses, windows.PreviousCloses);
    }
}

/// <summary>
/// The stock-forecast data set: features Open, High, Low, Close, Adj Close; rows split chronologically into
/// equal slices, all but the last for training and the last for testing; windows of the previous N days predict
/// the next day's close.
/// </summary>
/// <remarks>
/// <para>The scaler is fitted on the training rows only, so nothing about the test slice leaks into training.</para>
/// <para>Training windows have their target day and all their context days in the training rows. Test windows
/// have their target day in the test slice; their context may reach back into the last <c>Window</c> training
/// rows, so every test day gets a prediction (those context days are data the model saw anyway).</para>
/// <para>The split is <c>trainRows = rows·(slices − 1) / slices</c> (integer division), the rest is test:
/// 1,005 / 252 for the default 1,257 rows and 5 slices.</para>
/// </remarks>
public sealed class StockDataset
{
    /// <summary>The feature names, in column order of the windows.</summary>
    public static IReadOnlyList<string> FeatureNames { get; } = ["Open", "High", "Low", "Close", "Adj Close"];

    /// <summary>Index of Close among the features.</summary>
    public const int CloseFeature = 3;

    private StockDataset(StockSeries series, int trainRows, MinMaxScaler scaler, StockWindows train, StockWindows test)
    {
        Series = series;
        TrainRowCount = trainRows;
        Scaler = scaler;
        Train = train;
        Test = test;
    }

    /// <summary>The rows used.</summary>
    public StockSeries Series { get; }

    /// <summary>Rows in the training slices (the rest are test rows).</summary>
    public int TrainRowCount { get; }

    /// <summary>Rows in the test slice.</summary>
    public int TestRowCount => Series.Count - TrainRowCount;

    /// <summary>The scaler, fitted on training rows.</summary>
    public MinMaxScaler Scaler { get; }

    /// <summary>Training windows.</summary>
    public StockWindows Train { get; }

    /// <summary>Test windows, one per test row.</summary>
    public StockWindows Test { get; }

    /// <summary>Converts a scaled close (a model output) back to dollars.</summary>
    public double InverseClose(double scaled) => Scaler.Inverse(scaled, CloseFeature);

    /// <summary>Builds windows and the chronological split.</summary>
    /// <param name="series">The rows, oldest first.</param>
    /// <param name="window">Days of context per window (default 60).</param>
    /// <param name="slices">Chronological slices; the last one is the test set (default 5).</param>
    /// <exception cref="DataException">There are too few rows for one training window and one test row.</exception>
    public static StockDataset Create(StockSeries series, int window = 60, int slices = 5)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (window < 1) throw new ArgumentOutOfRangeException(nameof(window), $"window must be at least 1; got {window}.");
        if (slices < 2) throw new ArgumentOutOfRangeException(nameof(slices), $"slices must be at least 2; got {slices}.");

        int n = series.Count;
        int trainRows = (int)((long)n * (slices - 1) / slices);
        if (trainRows <= window || trainRows >= n)
            throw new DataException(
                $"{series.Source}: {n} rows give {trainRows} training rows and {n - trainRows} test rows; a window of {window} days " +
                $"needs more than {window} training rows and at least 1 test row (use a smaller --window or more rows).");

        const int features = 5;
        var values = new double[n * features];
        for (int i = 0; i < n; i++)
        {
            StockRow r = series.Rows[i];
            values[i * features] = r.Open;
            values[i * features + 1] = r.High;
            values[i * features + 2] = r.Low;
            values[i * features + 3] = r.Close;
            values[i * features + 4] = r.AdjClose;
        }
        MinMaxScaler scaler = MinMaxScaler.Fit(values.AsSpan(0, trainRows * features), features);
        var scaled = new float[values.Length];
        for (int i = 0; i < values.Length; i++) scaled[i] = (float)scaler.Transform(values[i], i % features);

        StockWindows train = Windows(series, scaled, values, window, features, firstTarget: window, endTarget: trainRows);
        StockWindows test = Windows(series, scaled, values, window, features, firstTarget: trainRows, endTarget: n);
        return new StockDataset(series, trainRows, scaler, train, test);
    }

    private static StockWindows Windows(StockSeries series, float[] scaled, double[] values, int window, int features, int firstTarget, int endTarget)
    {
        int count = endTarget - firstTarget;
        var inputs = new float[count * window * features];
        var targets = new float[count];
        var closes = new double[count];
        var previous = new double[count];
        var dates = new DateOnly[count];
        for (int k = 0; k < count; k++)
        {
            int t = firstTarget + k;
            scaled.AsSpan((t - window) * features, window * features).CopyTo(inputs.AsSpan(k * window * features));
            targets[k] = scaled[t * features + CloseFeature];
            closes[k] = values[t * features + CloseFeature];
            previous[k] = values[(t - 1) * features + CloseFeature];
            dates[k] = series.Rows[t].Date;
        }
        return new StockWindows(inputs, targets, closes, previous, dates, window, features);
    }
}
