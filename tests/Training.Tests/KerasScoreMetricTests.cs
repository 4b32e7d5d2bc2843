using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using Nn.Simd.Training.Losses;
using Nn.Simd.Training.Metrics;
using Nn.Simd.Training.Optimizers;

namespace Nn.Simd.Training.Tests;

/// <summary>Keras' F-beta, F1 and R² metrics, streamed over batches, with row weights.</summary>
public class KerasScoreMetricTests
{
    private static Tensor<T> M<T>(int rows, int cols, params double[] v) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> =>
        Tensor<T>.FromArray(v.Select(T.CreateChecked).ToArray(), rows, cols);

    // Keras' docstring example: y_true [[1,1,1],[1,0,0],[1,1,0]], y_pred [[.2,.6,.7],[.2,.6,.6],[.6,.8,0]].
    private static readonly double[] YTrue = [1, 1, 1, 1, 0, 0, 1, 1, 0];
    private static readonly double[] YPred = [0.2, 0.6, 0.7, 0.2, 0.6, 0.6, 0.6, 0.8, 0.0];

    /// <summary>F-beta of hand counts, without Keras' ε terms (they move results by about 1e-7).</summary>
    private static double F(double tp, double fp, double fn, double beta = 1)
    {
        double p = tp / (tp + fp), r = tp / (tp + fn), b2 = beta * beta;
        return (1 + b2) * p * r / (b2 * p + r);
    }

    /// <summary>Feeds the example in two batches (rows 0–1, then row 2).</summary>
    private static void FeedExample<T>(IMetric<T> m) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        m.Update(M<T>(2, 3, YPred[..6]), M<T>(2, 3, YTrue[..6]));
        m.Update(M<T>(1, 3, YPred[6..]), M<T>(1, 3, YTrue[6..]));
    }

    [Fact]
    public void F1AndFBeta_MatchKerasDocstringExamples_StreamedOverTwoBatches()
    {
        // Thresholded at 0.5: class 0 TP 1 FN 2; class 1 TP 2 FP 1; class 2 TP 1 FP 1.
        var f1 = new F1Score<float>(threshold: 0.5);
        FeedExample(f1);
        Assert.Equal([0.5, 0.8, 0.6666667], f1.ClassResults, new ToleranceComparer(1e-6));
        var fb = new FBetaScore<double>(beta: 2.0, threshold: 0.5);
        FeedExample(fb);
        Assert.Equal([0.3846154, 0.90909094, 0.8333334], fb.ClassResults, new ToleranceComparer(1e-6));
        Assert.Equal("f1_score", f1.Name);
        Assert.Equal("fbeta_score", fb.Name);
        Assert.True(f1.HigherIsBetter);
    }

    [Fact]
    public void Averages_MatchHandComputedValues()
    {
        double[] perClass = [F(1, 0, 2), F(2, 1, 0), F(1, 1, 0)];
        double[] support = [3, 2, 1];
        var micro = new F1Score<float>(FScoreAverage.Micro, 0.5);
        var macro = new F1Score<float>(FScoreAverage.Macro, 0.5);
        var weighted = new F1Score<double>(FScoreAverage.Weighted, 0.5);
        FeedExample(micro); FeedExample(macro); FeedExample(weighted);
        Assert.Equal(F(4, 2, 2), micro.Result, tolerance: 1e-6);
        Assert.Equal(perClass.Average(), macro.Result, tolerance: 1e-6);
        Assert.Equal(perClass.Zip(support, (f, s) => f * s).Sum() / support.Sum(), weighted.Result, tolerance: 1e-6);
        Assert.Equal(F(4, 2, 2, beta: 0.5), Fed(new FBetaScore<float>(FScoreAverage.Micro, 0.5, 0.5)).Result, tolerance: 1e-6);
        static FBetaScore<float> Fed(FBetaScore<float> m) { FeedExample(m); return m; }
    }

    [Fact]
    public void WithoutThreshold_MarksEachRowsMaximum_TiesIncluded_AndAnAllZeroRowPredictsNothing()
    {
        // Rows: [.2,.6,.7] → class 2; [.2,.6,.6] → classes 1 and 2 (a tie); [.6,.8,0] → class 1; [0,0,0] → nothing.
        var m = new F1Score<float>();
        FeedExample(m);
        m.Update(M<float>(1, 3, 0, 0, 0), M<float>(1, 3, 1, 0, 0));
        // class 0: TP 0, FN 4 → 0; class 1: ŷ rows 1,2 with y 0,1 → TP 1 FP 1 FN 1; class 2: ŷ rows 0,1 with y 1,0 → TP 1 FP 1.
        Assert.Equal([0.0, F(1, 1, 1), F(1, 1, 0)], m.ClassResults, new ToleranceComparer(1e-6));
    }

    [Fact]
    public void RowWeights_WeighTheCounts_ZeroDropsARow()
    {
        // Weights [2, 0, 1] on the example equal rows 0, 0, 2 unweighted.
        var weighted = new F1Score<double>(FScoreAverage.Macro, 0.5);
        weighted.Update(M<double>(3, 3, YPred), M<double>(3, 3, YTrue), [2.0, 0.0, 1.0]);
        var repeated = new F1Score<double>(FScoreAverage.Macro, 0.5);
        repeated.Update(M<double>(3, 3, [.. YPred[..3], .. YPred[..3], .. YPred[6..]]), M<double>(3, 3, [.. YTrue[..3], .. YTrue[..3], .. YTrue[6..]]));
        Assert.Equal(repeated.Result, weighted.Result, 12);
        // By hand: class 0 TP 1 FN 2; class 1 TP 3 (rows 0,0,2); class 2 TP 2 FN 0 FP 0.
        Assert.Equal((F(1, 0, 2) + 1 + 1) / 3, weighted.Result, tolerance: 1e-6);
        weighted.Reset();
        Assert.Equal(0, weighted.Result);
    }

    [Fact]
    public void FScore_RejectsBadArguments_AndCannotBeLoggedWithoutAnAverage()
    {
        Assert.Equal("beta", Assert.Throws<ArgumentOutOfRangeException>(() => new FBetaScore<float>(beta: 0)).ParamName);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new F1Score<float>(threshold: 1.5));
        Assert.Contains("1.5", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new F1Score<float>(threshold: 0));
        var m = new F1Score<float>();
        Assert.Contains("ClassResults", Assert.Throws<InvalidOperationException>(() => m.Result).Message);
        var shape = Assert.Throws<ArgumentException>(() => m.Update(M<float>(1, 3, 1, 0, 0), M<float>(1, 2, 1, 0)));
        Assert.Contains("[1, 2]", shape.Message);
        m.Update(M<float>(1, 3, 1, 0, 0), M<float>(1, 3, 1, 0, 0));
        Assert.Throws<ArgumentException>(() => m.Update(M<float>(1, 2, 1, 0), M<float>(1, 2, 1, 0)));
        Assert.Throws<ArgumentException>(() => m.Update(M<float>(1, 3, 1, 0, 0), M<float>(1, 3, 1, 0, 0), [1f, 1f]));
        var model = new Sequential<float>(new Dense<float>(3, "softmax"));
        var c = Assert.Throws<ArgumentException>(() => model.Compile(new CategoricalCrossEntropy<float>(), new Adam(), new F1Score<float>()));
        Assert.Contains("f1_score", c.Message);
        Assert.Throws<ArgumentException>(() => model.Compile(new MeanSquaredError<float>(), new Adam(), new R2Score<float>(null)));
        model.Compile(new CategoricalCrossEntropy<float>(), new Adam(), new F1Score<float>(FScoreAverage.Macro));
    }

    // ***** R² *****

    /// <summary>Two-pass reference per column: 1 − Σw(y − p)² / Σw(y − ȳ)², ȳ the weighted mean.</summary>
    private static double[] R2Reference(double[] y, double[] p, double[] w, int cols)
    {
        int rows = y.Length / cols;
        var r2 = new double[cols];
        for (int j = 0; j < cols; j++)
        {
            double sw = 0, swy = 0;
            for (int r = 0; r < rows; r++) { sw += w[r]; swy += w[r] * y[r * cols + j]; }
            double mean = swy / sw, sse = 0, sst = 0;
            for (int r = 0; r < rows; r++)
            {
                sse += w[r] * Math.Pow(y[r * cols + j] - p[r * cols + j], 2);
                sst += w[r] * Math.Pow(y[r * cols + j] - mean, 2);
            }
            r2[j] = 1 - sse / sst;
        }
        return r2;
    }

    [Fact]
    public void R2Score_MatchesKerasDocstringExample_StreamedAndWeighted()
    {
        var m = new R2Score<float>();
        m.Update(M<float>(2, 1, 2, 4), M<float>(2, 1, 1, 4));
        m.Update(M<float>(1, 1, 4), M<float>(1, 1, 3));
        Assert.Equal(0.57142854, m.Result, tolerance: 1e-6);
        Assert.Equal(1 - 2 / (26 - 64.0 / 3), m.Result, 12);
        // Weights [2, 1, 1] are row 0 twice: 1 − 3/6.75.
        var w = new R2Score<double>();
        w.Update(M<double>(3, 1, 2, 4, 4), M<double>(3, 1, 1, 4, 3), [2.0, 1.0, 1.0]);
        Assert.Equal(1 - 3 / 6.75, w.Result, 12);
        Assert.Equal("r2_score", MetricFactory.Get<float>("r2_score").Name);
        Assert.IsType<R2Score<float>>(MetricFactory.Get<float>("r2_score"));
    }

    [Fact]
    public void R2Score_Aggregations_AndAdjusted_MatchAReference_OverThreeBatches()
    {
        const int cols = 3;
        var rng = new Random(5);
        var y = Enumerable.Range(0, 12 * cols).Select(_ => rng.NextDouble() * 4 - 1).ToArray();
        var p = y.Select((v, i) => v + (i % cols + 1) * 0.3 * (rng.NextDouble() - 0.5)).ToArray();
        var w = Enumerable.Range(0, 12).Select(i => i % 4 == 0 ? 0.0 : 0.5 + i % 3).ToArray();
        var metrics = new[]
        {
            new R2Score<double>(), new R2Score<double>(R2Aggregation.VarianceWeightedAverage), new R2Score<double>(null),
            new R2Score<double>(numRegressors: 4),
        };
        foreach (var m in metrics)
            for (int b = 0; b < 3; b++)
                m.Update(M<double>(4, cols, p[(b * 4 * cols)..((b + 1) * 4 * cols)]), M<double>(4, cols, y[(b * 4 * cols)..((b + 1) * 4 * cols)]), w.AsSpan(b * 4, 4));
        var raw = R2Reference(y, p, w, cols);
        Assert.Equal(raw, metrics[2].ClassResults, new ToleranceComparer(1e-12));
        Assert.Equal(raw.Average(), metrics[0].Result, 12);
        var sst = Enumerable.Range(0, cols).Select(j =>
        {
            double sw = 0, swy = 0;
            for (int r = 0; r < 12; r++) { sw += w[r]; swy += w[r] * y[r * cols + j]; }
            return Enumerable.Range(0, 12).Sum(r => w[r] * Math.Pow(y[r * cols + j] - swy / sw, 2));
        }).ToArray();
        Assert.Equal(raw.Zip(sst, (r, s) => r * s).Sum() / sst.Sum(), metrics[1].Result, 12);
        // Adjusted with n = 36 target elements seen (Keras counts elements, unweighted) and k = 4.
        Assert.Equal(1 - (1 - raw.Average()) * 35 / 31, metrics[3].Result, 12);
        Assert.Throws<InvalidOperationException>(() => metrics[2].Result);
    }

    [Fact]
    public void R2Score_ConstantTargetScoresZero_TooManyRegressorsFallsBack_AndBadArgumentsAreRejected()
    {
        var m = new R2Score<float>();
        Assert.Equal(0, m.Result);   // nothing seen
        m.Update(M<float>(3, 1, 1, 2, 3), M<float>(3, 1, 2, 2, 2));   // constant target: E/0 = ∞ → 0, as Keras
        Assert.Equal(0, m.Result);
        var adjusted = new R2Score<double>(numRegressors: 2);   // n = 3, k = n − 1: the plain score
        adjusted.Update(M<double>(3, 1, 2, 4, 4), M<double>(3, 1, 1, 4, 3));
        Assert.Equal(1 - 2 / (26 - 64.0 / 3), adjusted.Result, 12);
        Assert.Equal("numRegressors", Assert.Throws<ArgumentOutOfRangeException>(() => new R2Score<float>(numRegressors: -1)).ParamName);
        var e = Assert.Throws<ArgumentException>(() => m.Update(M<float>(2, 2, 1, 2, 3, 4), M<float>(2, 2, 1, 2, 3, 4)));
        Assert.Contains("columns", e.Message);
        Assert.Throws<ArgumentException>(() => m.Update(M<float>(3, 1, 1, 2, 3), M<float>(2, 1, 1, 2)));
    }

    [Fact]
    public void R2Score_ByName_SurvivesSaveAndLoad()
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("nn-r2").FullName, "m.safetensors");
        try
        {
            var model = new Sequential<float>(new Dense<float>(2)) { Seed = 1 };
            model.Compile("mse", new Sgd(0.1), "r2_score");
            var x = Tensor<float>.RandomNormal(new TensorShape(16, 3), 2);
            var y = Tensor<float>.RandomNormal(new TensorShape(16, 2), 3);
            model.Fit(x, y, epochs: 1, batchSize: 8);
            model.Save(path);
            var loaded = Sequential<float>.Load(path);
            Assert.Equal(model.Evaluate(x, y)["r2_score"], loaded.Evaluate(x, y)["r2_score"]);
        }
        finally { Directory.Delete(Path.GetDirectoryName(path)!, true); }
    }

    private sealed class ToleranceComparer(double tol) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tol;
        public int GetHashCode(double obj) => 0;
    }
}
