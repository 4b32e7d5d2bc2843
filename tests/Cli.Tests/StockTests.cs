using System.Globalization;
using System.Text;
using Nn.Simd.Cli.Data;

namespace Nn.Simd.Cli.Tests;

public class StockCsvTests
{
    private const string Header = "Date,Open,High,Low,Close,Adj Close,Volume";

    private static StockSeries Parse(string text) => StockSeries.Parse(new StringReader(text), "test.csv");

    [Fact]
    public void Parse_ReadsRows_InvariantCulture()
    {
        var s = Parse(Header + "\n2020-01-02,1.5,2.25,1.25,2,2,1000\n2020-01-03,2,3,1.5,2.5,2.5,2000");
        Assert.Equal(2, s.Count);
        Assert.Equal(new StockRow(new DateOnly(2020, 1, 2), 1.5, 2.25, 1.25, 2, 2, 1000), s.Rows[0]);
        Assert.Equal(2.5, s.Rows[1].Close);
    }

    [Theory]
    [InlineData("Date,Open,High,Low,Close,Volume\n2020-01-02,1,1,1,1,1", "test.csv:1: header")]
    [InlineData(Header + "\n2020-01-02,1,1,1,1,1,1\n2020-01-03,1,1,1,1,1", "test.csv:3: expected 7 columns, found 6")]
    [InlineData(Header + "\n2020-01-02,1,1,1,1,1,1\n\n2020-01-03,1,null,1,1,1,1", "test.csv:4: High 'null' is not a number")]
    [InlineData(Header + "\n01/02/2020,1,1,1,1,1,1", "test.csv:2: Date '01/02/2020'")]
    [InlineData(Header + "\n2020-01-03,1,1,1,1,1,1\n2020-01-02,1,1,1,1,1,1", "test.csv:3: date 2020-01-02 does not come after")]
    [InlineData(Header + "\n2020-01-02,1,1,1,-1,1,1", "test.csv:2: Close is -1")]
    [InlineData(Header + "\n2020-01-02,1,1,1,1,1,1.5", "test.csv:2: Volume '1.5'")]
    [InlineData(Header + "\n2020-01-02,1,1,1,NaN,1,1", "test.csv:2: Close 'NaN' is not a number")]
    [InlineData(Header, "no data rows")]
    [InlineData("", "the file is empty")]
    public void Parse_Errors_NameLineAndProblem(string text, string expected)
    {
        var ex = Assert.Throws<DataException>(() => Parse(text));
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void Between_KeepsInclusiveRange_AndErrorsWhenEmpty()
    {
        var s = Parse(Header + "\n2020-01-02,1,1,1,1,1,1\n2020-01-03,1,1,1,2,1,1\n2020-01-06,1,1,1,3,1,1");
        var mid = s.Between(new DateOnly(2020, 1, 3), new DateOnly(2020, 1, 6));
        Assert.Equal([2.0, 3.0], mid.Rows.Select(r => r.Close));
        var ex = Assert.Throws<DataException>(() => s.Between(new DateOnly(2021, 1, 1), new DateOnly(2021, 2, 1)));
        Assert.Contains("2020-01-02 to 2020-01-06", ex.Message);
    }

    [Fact]
    public void RealFile_DefaultWindowHas1257Rows_WhenPresent()
    {
        string path;
        try
        {
            path = new DataLocator(null).FindStockCsv();
        }
        catch (DataException)
        {
            return; // the CSV is not in this checkout; the synthetic tests cover the logic
        }
        var all = StockSeries.Load(path);
        Assert.Equal(1509, all.Count);
        Assert.Equal(new DateOnly(2018, 1, 2), all.Rows[0].Date);
        var window = all.Between(StockSeries.DefaultFrom, StockSeries.DefaultTo);
        Assert.Equal(1257, window.Count);
        Assert.All(window.Rows, r => Assert.Equal(r.Close, r.AdjClose));

        var data = StockDataset.Create(window);
        Assert.Equal((1005, 252), (data.TrainRowCount, data.TestRowCount));
        Assert.Equal((945, 252), (data.Train.Count, data.Test.Count));
    }
}

public class StockDatasetTests
{
    /// <summary>A synthetic series: day i has close 100 + i + sin(i), other features offset from it.</summary>
    private static StockSeries Synthetic(int n, Func<int, double>? closeOf = null)
    {
        closeOf ??= i => 100 + i + Math.Sin(i);
        var rows = new List<StockRow>();
        var day = new DateOnly(2021, 1, 1);
        for (int i = 0; i < n; i++)
        {
            double c = closeOf(i);
            rows.Add(new StockRow(day.AddDays(i), c - 0.5, c + 1 + 0.01 * i, c - 1, c, c * 0.999, 1000 + i));
        }
        return new StockSeries("synthetic", rows);
    }

    [Fact]
    public void Create_SplitsChronologically_AndBuildsWindows()
    {
        var series = Synthetic(53);
        var d = StockDataset.Create(series, window: 5, slices: 5);
        Assert.Equal(42, d.TrainRowCount);   // 53·4/5 = 42.4 → 42
        Assert.Equal(11, d.TestRowCount);
        Assert.Equal(37, d.Train.Count);     // targets 5..41
        Assert.Equal(11, d.Test.Count);      // targets 42..52, context reaches into training rows
        Assert.Equal(5 * 5 * 37, d.Train.Inputs.Length);

        // Window k of the test set: rows 42+k−5 .. 42+k−1, target row 42+k.
        for (int k = 0; k < d.Test.Count; k++)
        {
            int t = 42 + k;
            Assert.Equal(series.Rows[t].Date, d.Test.TargetDates[k]);
            Assert.Equal(series.Rows[t].Close, d.Test.TargetCloses[k]);
            Assert.Equal(series.Rows[t - 1].Close, d.Test.PreviousCloses[k]);
            for (int w = 0; w < 5; w++)
            {
                var row = series.Rows[t - 5 + w];
                double[] raw = [row.Open, row.High, row.Low, row.Close, row.AdjClose];
                for (int f = 0; f < 5; f++)
                    Assert.Equal((float)d.Scaler.Transform(raw[f], f), d.Test.Inputs[(k * 5 + w) * 5 + f]);
            }
        }
        Assert.Equal(series.Rows[5].Date, d.Train.TargetDates[0]);
        Assert.Equal(series.Rows[41].Date, d.Train.TargetDates[^1]);
    }

    [Fact]
    public void Scaler_IsFittedOnTrainingRowsOnly()
    {
        var series = Synthetic(50);
        var d = StockDataset.Create(series, window: 4);
        var train = series.Rows.Take(d.TrainRowCount).ToList();
        Assert.Equal(train.Min(r => r.Close), d.Scaler.Min[StockDataset.CloseFeature]);
        Assert.Equal(train.Max(r => r.Close), d.Scaler.Max[StockDataset.CloseFeature], 1e-12);
        Assert.Equal(train.Max(r => r.High), d.Scaler.Max[1], 1e-12);
        Assert.All(d.Train.Inputs, v => Assert.InRange(v, 0f, 1f));
        Assert.Contains(d.Test.Targets, v => v > 1f); // the test slice trends above the training range
    }

    [Fact]
    public void ChangingTestSlice_DoesNotChangeScalerOrTrainingWindows()
    {
        var original = Synthetic(60);
        var a = StockDataset.Create(original, window: 6);

        // Same training rows, wildly different test rows.
        var tampered = Synthetic(60, i => i < 48 ? 100 + i + Math.Sin(i) : 5000 - 37 * i);
        var b = StockDataset.Create(tampered, window: 6);

        Assert.Equal(48, a.TrainRowCount);
        Assert.Equal(a.Scaler.Min, b.Scaler.Min);
        Assert.Equal(a.Scaler.Max, b.Scaler.Max);
        Assert.Equal(a.Train.Inputs, b.Train.Inputs);
        Assert.Equal(a.Train.Targets, b.Train.Targets);
        Assert.NotEqual(a.Test.Targets, b.Test.Targets);
    }

    [Fact]
    public void InverseClose_RecoversDollars()
    {
        var d = StockDataset.Create(Synthetic(40), window: 3);
        for (int k = 0; k < d.Test.Count; k++)
            Assert.Equal(d.Test.TargetCloses[k], d.InverseClose(d.Test.Targets[k]), 1e-4);
    }

    [Fact]
    public void ConstantFeature_ScalesToZeroNotNaN()
    {
        var s = MinMaxScaler.Fit([3.0, 1.0, 3.0, 2.0], features: 2);
        Assert.Equal(0.0, s.Transform(3.0, 0));
        Assert.Equal(0.5, s.Transform(1.5, 1));
        Assert.Equal(3.0, s.Inverse(0.0, 0));
    }

    [Fact]
    public void TooFewRows_IsDataError()
    {
        var ex = Assert.Throws<DataException>(() => StockDataset.Create(Synthetic(20), window: 60));
        Assert.Contains("window of 60", ex.Message);
    }

    [Fact]
    public void ForecastErrors_KnownValues()
    {
        var e = ForecastErrors.Of([1.0, 2.0, 3.0], [2.0, 2.0, 5.0]);
        Assert.Equal(Math.Sqrt(5.0 / 3.0), e.Rmse, 1e-15);
        Assert.Equal(1.0, e.Mae, 1e-15);
        Assert.Throws<ArgumentException>(() => ForecastErrors.Of([1.0], [1.0, 2.0]));
    }

    [Fact]
    public void NaiveForecast_UsesPreviousClose()
    {
        var series = Synthetic(30, i => i * i);
        var d = StockDataset.Create(series, window: 3);
        var naive = ForecastErrors.Naive(d.Test);
        // close(t) − close(t−1) = 2t − 1 for the test targets t = 24..29.
        double[] diffs = Enumerable.Range(24, 6).Select(t => 2.0 * t - 1).ToArray();
        Assert.Equal(diffs.Average(), naive.Mae, 1e-12);
        Assert.Equal(Math.Sqrt(diffs.Select(x => x * x).Average()), naive.Rmse, 1e-12);
    }

    [Fact]
    public void Load_FromFile_EndToEnd()
    {
        using var tmp = new TempDirectory();
        string path = tmp.Combine("prices.csv");
        var sb = new StringBuilder("Date,Open,High,Low,Close,Adj Close,Volume");
        var day = new DateOnly(2022, 3, 1);
        for (int i = 0; i < 25; i++)
            sb.Append(CultureInfo.InvariantCulture, $"\n{day.AddDays(i):yyyy-MM-dd},{10 + i},{11 + i},{9 + i},{10.5 + i},{10.5 + i},{100 * i}");
        File.WriteAllText(path, sb.ToString());
        var d = StockDataset.Create(StockSeries.Load(path), window: 4);
        Assert.Equal((20, 5), (d.TrainRowCount, d.TestRowCount));
        Assert.Equal([16, 4, 5], d.Train.InputsTensor().Shape.ToArray());
    }
}
