using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using Nn.Simd.Training.Losses;
using Nn.Simd.Training.Metrics;
using Nn.Simd.Training.Optimizers;

namespace Nn.Simd.Training.Tests;

/// <summary>Keras' streaming metrics beyond accuracy/mse/mae, weighted_metrics in Fit and Evaluate, and metrics under
/// a sequence mask; expected values are computed by hand or by brute force in float64.</summary>
public sealed class KerasMetricTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nn-metric").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Tensor<double> D(double[] v, params int[] dims) => Tensor<double>.FromArray(v, dims);

    [Fact]
    public void Rmse_IsTheRootOfTheMeanOverAllBatches_NotTheMeanOfBatchRoots()
    {
        var m = new RootMeanSquaredError<double>();
        m.Update(D([1, 3], 2, 1), D([0, 0], 2, 1));      // squared errors 1, 9
        m.Update(D([2, 2, 2], 1, 3), D([0, 0, 0], 1, 3)); // one row, mean 4
        Assert.Equal(Math.Sqrt((1 + 9 + 4) / 3.0), m.Result, 14);
        Assert.NotEqual((Math.Sqrt(5) + 2) / 2, m.Result, 6);
        // Weighted: Σ w·mean / Σ w.
        m.Reset();
        m.Update(D([1, 3], 2, 1), D([0, 0], 2, 1), [2.0, 0.5]);
        m.Update(D([2, 2, 2], 1, 3), D([0, 0, 0], 1, 3), [1.0]);
        Assert.Equal(Math.Sqrt((2 * 1 + 0.5 * 9 + 4) / 3.5), m.Result, 14);
        Assert.False(m.HigherIsBetter);
        Assert.Equal("root_mean_squared_error", MetricFactory.Get<double>("root_mean_squared_error").Name);
    }

    [Fact]
    public void Mape_Metric_StreamsThePerSampleMean()
    {
        var m = MetricFactory.Get<double>("mape");
        m.Update(D([1.1, 2], 2, 1), D([1, 4], 2, 1));   // 10 %, 50 %
        m.Update(D([0], 1, 1), D([2], 1, 1));           // 100 %
        Assert.Equal((10 + 50 + 100) / 3.0, m.Result, 10);
        Assert.Equal("mape", m.Name);
    }

    [Fact]
    public void PrecisionAndRecall_CountStreamingConfusion_WithWeights()
    {
        var p = new Precision<float>();
        var r = new Recall<float>();
        Assert.Equal(0, p.Result);   // 0/0 is 0, as Keras' divide_no_nan
        // Batch 1: predictions > 0.5 → [1, 1, 0, 0]; labels [1, 0, 1, 0]: TP 1, FP 1, FN 1. 0.5 itself is negative.
        var p1 = Tensor<float>.FromArray([0.9f, 0.6f, 0.5f, 0.1f], 4, 1);
        var y1 = Tensor<float>.FromArray([1f, 0f, 1f, 0f], 4, 1);
        // Batch 2 (two samples × two outputs): predictions [1, 1 | 1, 0], labels [1, 1 | 0, 1]: TP 2, FP 1, FN 1.
        var p2 = Tensor<float>.FromArray([0.7f, 0.8f, 0.99f, 0.2f], 2, 2);
        var y2 = Tensor<float>.FromArray([1f, 1f, 0f, 1f], 2, 2);
        foreach (IMetric<float> m in new IMetric<float>[] { p, r }) { m.Update(p1, y1); m.Update(p2, y2); }
        Assert.Equal(3 / 5.0, p.Result, 12);
        Assert.Equal(3 / 5.0, r.Result, 12);
        // Weights per row (sample): batch 2 with weights [3, 0.5]: TP 3+3, FP 0.5, FN 0.5.
        p.Reset(); r.Reset();
        p.Update(p2, y2, [3f, 0.5f]);
        r.Update(p2, y2, [3f, 0.5f]);
        Assert.Equal(6 / 6.5, p.Result, 12);
        Assert.Equal(6 / 6.5, r.Result, 12);
        Assert.Equal(6, p.TruePositives);
    }

    [Fact]
    public void TopK_CountsTiesAsTensorFlowsInTopK()
    {
        // 7 classes; the target's score and how many others beat it.
        var p = Tensor<float>.FromArray([
            7, 6, 5, 4, 3, 2, 1,     // target 4 (score 3): 4 greater → hit with k = 5
            7, 6, 5, 4, 3, 2, 1,     // target 6 (score 1): 6 greater → miss
            1, 1, 1, 1, 1, 1, 1,     // all tied: 0 greater → hit
            float.NaN, 0, 0, 0, 0, 0, 0, // target 0 is NaN → miss
        ], 4, 7);
        var labels = Tensor<float>.FromArray([4f, 6f, 3f, 0f]);
        var sparse = MetricFactory.Get<float>("sparse_top_k_categorical_accuracy");
        sparse.Update(p, labels);
        Assert.Equal(0.5, sparse.Result, 12);
        var oneHot = new Tensor<float>(4, 7);
        for (int i = 0; i < 4; i++) oneHot[i, (int)labels[i]] = 1;
        var dense = MetricFactory.Get<float>("top_k_categorical_accuracy");
        dense.Update(p, oneHot);
        dense.Update(p.Slice(0, 1), oneHot.Slice(0, 1));   // streaming: 3 hits of 5
        Assert.Equal(3 / 5.0, dense.Result, 12);
        var k1 = new TopKCategoricalAccuracy<float>(k: 1, sparse: true);
        k1.Update(p, labels);
        Assert.Equal(0.25, k1.Result, 12);   // only the all-tied row
    }

    /// <summary>Keras' AUC by brute force: confusion counts at every threshold, then the trapezoid sum.</summary>
    private static double AucReference(double[] p, double[] y, double[] w)
    {
        int n = 200;
        var thr = new double[n];
        for (int i = 0; i < n - 2; i++) thr[i + 1] = (i + 1) * 1.0 / (n - 1);
        thr[0] = -1e-7;
        thr[n - 1] = 1 + 1e-7;
        var tpr = new double[n];
        var fpr = new double[n];
        for (int t = 0; t < n; t++)
        {
            double tp = 0, fp = 0, tn = 0, fn = 0;
            for (int i = 0; i < p.Length; i++)
            {
                bool pos = p[i] > thr[t], lab = y[i] != 0;
                if (pos && lab) tp += w[i]; else if (pos) fp += w[i]; else if (lab) fn += w[i]; else tn += w[i];
            }
            tpr[t] = tp + fn == 0 ? 0 : tp / (tp + fn);
            fpr[t] = fp + tn == 0 ? 0 : fp / (fp + tn);
        }
        double auc = 0;
        for (int t = 0; t < n - 1; t++) auc += (fpr[t] - fpr[t + 1]) * (tpr[t] + tpr[t + 1]) / 2;
        return auc;
    }

    [Fact]
    public void Auc_MatchesTheBruteForceReference_OverBatches_AndWeighted()
    {
        var rng = new Random(5);
        int n = 300;
        var p = new double[n];
        var y = new double[n];
        var w = new double[n];
        for (int i = 0; i < n; i++)
        {
            y[i] = rng.Next(2);
            p[i] = Math.Clamp(0.5 + (y[i] - 0.5) * 0.4 + 0.3 * rng.NextGaussian(), -0.1, 1.1);
            if (i % 10 == 0) p[i] = Math.Round(p[i] * 199) / 199;   // exactly on a threshold
            w[i] = i % 3 == 0 ? 0 : 0.5 + rng.NextDouble();
        }
        var auc = MetricFactory.Get<double>("auc");
        var weighted = new Auc<double>();
        for (int start = 0; start < n; start += 64)
        {
            int c = Math.Min(64, n - start);
            var pb = D(p[start..(start + c)], c, 1);
            var yb = D(y[start..(start + c)], c, 1);
            auc.Update(pb, yb);
            weighted.Update(pb, yb, w[start..(start + c)]);
        }
        Assert.Equal(AucReference(p, y, Enumerable.Repeat(1.0, n).ToArray()), auc.Result, 12);
        Assert.Equal(AucReference(p, y, w), weighted.Result, 12);
        Assert.InRange(auc.Result, 0.6, 0.99);   // informative predictions, not perfect ones
        // Perfect and reversed rankings.
        var perfect = new Auc<double>();
        perfect.Update(D([0.1, 0.2, 0.8, 0.9], 4, 1), D([0, 0, 1, 1], 4, 1));
        Assert.Equal(1.0, perfect.Result, 12);
        var reversed = new Auc<double>();
        reversed.Update(D([0.9, 0.8, 0.2, 0.1], 4, 1), D([0, 0, 1, 1], 4, 1));
        Assert.Equal(0.0, reversed.Result, 12);
    }

    [Fact]
    public void BadInput_IsRejectedByName()
    {
        var e = Assert.Throws<ArgumentException>(() => new RootMeanSquaredError<float>().Update(new Tensor<float>(3, 2), new Tensor<float>(3, 2), [1f, 1f]));
        Assert.Contains("[3, 2]", e.Message);
        Assert.Equal("rowWeights", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => new Precision<float>().Update(new Tensor<float>(3, 2), new Tensor<float>(3, 1)));
        Assert.Contains("[3, 1]", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Recall<float>(threshold: 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TopKCategoricalAccuracy<float>(k: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Auc<float>(numThresholds: 1));
        e = Assert.Throws<ArgumentException>(() => MetricFactory.Get<float>("sparse_top_k_categorical_accuracy").Update(new Tensor<float>(2, 3), Tensor<float>.FromArray([0f, 3f])));
        Assert.Contains("3", e.Message);
    }

    // ***** in a model *****

    private static (Tensor<float> X, Tensor<float> Y) Regression(int n, int seed)
    {
        var x = Tensor<float>.RandomNormal(new TensorShape(n, 3), seed);
        var y = new Tensor<float>(n, 2);
        for (int i = 0; i < n; i++) { y[i, 0] = x[i, 0] - x[i, 1]; y[i, 1] = 0.5f * x[i, 2]; }
        return (x, y);
    }

    [Fact]
    public void WeightedMetrics_GetTheSampleWeights_MetricsDoNot_NamedAsKeras()
    {
        var (x, y) = Regression(23, 1);
        var model = new Sequential(new Dense<float>(4, "tanh"), new Dense<float>(2)) { Seed = 3 };
        model.Compile("mse", "sgd", metrics: ["mae"], weightedMetrics: ["mae", "root_mean_squared_error"]);
        var sw = new Tensor<float>(23);
        for (int i = 0; i < 23; i++) sw[i] = i % 4 == 0 ? 0 : 1 + i % 3;
        model.Build(3);
        var pred = model.Predict(x);
        double plainMae = 0, wMae = 0, wMse = 0, wSum = 0;
        for (int i = 0; i < 23; i++)
        {
            double mae = 0, mse = 0;
            for (int j = 0; j < 2; j++) { double d = pred[i, j] - y[i, j]; mae += Math.Abs(d) / 2; mse += d * d / 2; }
            plainMae += mae / 23;
            wMae += sw[i] * mae; wMse += sw[i] * mse; wSum += sw[i];
        }
        var logs = model.Evaluate(x, y, batchSize: 5, sampleWeight: sw);
        Assert.Equal(plainMae, logs["mae"], 5);
        Assert.Equal(wMae / wSum, logs["weighted_mae"], 5);
        Assert.Equal(Math.Sqrt(wMse / wSum), logs["root_mean_squared_error"], 5);
        Assert.Equal(["mae", "weighted_mae", "root_mean_squared_error"], model.Metrics.Select(m => m.Name));
        // Without sample weights the weighted metrics are plain means.
        logs = model.Evaluate(x, y, batchSize: 5);
        Assert.Equal(logs["mae"], logs["weighted_mae"], 10);
        // Fit reports them too, under the same names, and class weights reach them as sample weights do.
        var history = model.Fit(x, y, epochs: 1, batchSize: 8, shuffle: false, sampleWeight: sw);
        Assert.Contains("weighted_mae", history.Keys);
        Assert.True(history["weighted_mae"][0] > 0);
        Assert.Throws<ArgumentException>(() => model.Compile("mse", "sgd", metrics: null, weightedMetrics: ["f1_score"]));
        // The same with an optimizer object.
        model.Compile("mse", new Nn.Simd.Training.Optimizers.Sgd(), metrics: ["mae"], weightedMetrics: ["mae"]);
        pred = model.Predict(x);
        wMae = 0;
        for (int i = 0; i < 23; i++)
            for (int j = 0; j < 2; j++) wMae += sw[i] * Math.Abs(pred[i, j] - y[i, j]) / 2;
        Assert.Equal(wMae / wSum, model.Evaluate(x, y, batchSize: 5, sampleWeight: sw)["weighted_mae"], 5);
    }

    [Fact]
    public void ClassWeights_ReachTheWeightedMetrics()
    {
        var (x, labels, _) = TestData.Blobs(40, 2);
        var cw = new Dictionary<int, double> { [0] = 0, [1] = 2 };
        var byClass = TestData.SmallMlp(4);
        byClass.Compile("sparse_categorical_crossentropy", "sgd", metrics: null, weightedMetrics: ["accuracy"]);
        var bySample = TestData.SmallMlp(4);
        bySample.Compile("sparse_categorical_crossentropy", "sgd", metrics: null, weightedMetrics: ["accuracy"]);
        var sw = new Tensor<float>(40);
        for (int i = 0; i < 40; i++) sw[i] = labels[i] switch { 0 => 0, 1 => 2, _ => 1 };
        var a = byClass.Fit(x, labels, epochs: 2, batchSize: 16, shuffle: false, classWeight: cw);
        var b = bySample.Fit(x, labels, epochs: 2, batchSize: 16, shuffle: false, sampleWeight: sw);
        Assert.Equal(b["accuracy"], a["accuracy"]);
        var plain = TestData.SmallMlp(4);
        plain.Compile("sparse_categorical_crossentropy", "sgd", "accuracy");
        Assert.NotEqual(plain.Fit(x, labels, epochs: 2, batchSize: 16, shuffle: false, classWeight: cw)["accuracy"], a["accuracy"]);
    }

    [Fact]
    public void MaskedSequenceOutputs_MetricsCountOnlyKeptSteps()
    {
        // Sequences of lengths 2..6 padded with zeros to 6; a per-step regression output [N, 6, 2].
        const int n = 10, steps = 6;
        var rng = new Random(9);
        var x = new Tensor<float>(n, steps, 2);
        var y = Tensor<float>.RandomNormal(new TensorShape(n, steps, 2), 4);
        var lengths = new int[n];
        for (int i = 0; i < n; i++)
        {
            lengths[i] = 2 + rng.Next(steps - 1);
            for (int t = 0; t < lengths[i]; t++) { x[i, t, 0] = (float)rng.NextGaussian(); x[i, t, 1] = 1; }
        }
        var model = new Sequential(new Masking<float>(), new Lstm<float>(3, returnSequences: true), new Dense<float>(2)) { Seed = 5 };
        model.Compile("log_cosh", "adam", metrics: ["mae", "root_mean_squared_error"], weightedMetrics: ["mae"]);
        model.Build(steps, 2);
        var sw = new Tensor<float>(n);
        for (int i = 0; i < n; i++) sw[i] = 1 + i % 3;
        var pred = model.Predict(x);
        double mae = 0, mse = 0, kept = 0, wMae = 0, wKept = 0, loss = 0;
        for (int i = 0; i < n; i++)
            for (int t = 0; t < lengths[i]; t++)
            {
                double a = 0, s = 0, lc = 0;
                for (int j = 0; j < 2; j++)
                {
                    double d = pred[i, t, j] - y[i, t, j];
                    a += Math.Abs(d) / 2; s += d * d / 2; lc += Math.Log(Math.Cosh(d)) / 2;
                }
                mae += a; mse += s; kept++; wMae += sw[i] * a; wKept += sw[i]; loss += sw[i] * lc;
            }
        var logs = model.Evaluate(x, y, batchSize: 4, sampleWeight: sw);
        Assert.Equal(mae / kept, logs["mae"], 5);
        Assert.Equal(Math.Sqrt(mse / kept), logs["root_mean_squared_error"], 5);
        Assert.Equal(wMae / wKept, logs["weighted_mae"], 5);
        Assert.True(double.IsFinite(model.Fit(x, y, epochs: 1, batchSize: 4, sampleWeight: sw)["weighted_mae"][0]));
    }

    [Fact]
    public void ANewLossAndMetrics_SurviveSaveAndLoad_Compiled()
    {
        var (x, y) = Regression(20, 2);
        var model = new Sequential(new Dense<float>(4, "tanh"), new Dense<float>(2)) { Seed = 6 };
        model.Compile("log_cosh", "adam", metrics: ["mape", "root_mean_squared_error"], weightedMetrics: ["root_mean_squared_error", "mae"]);
        var sw = Tensor<float>.RandomUniform(new TensorShape(20), 3, 0, 2);
        model.Fit(x, y, epochs: 2, batchSize: 8, sampleWeight: sw);
        string path = Path.Combine(_dir, "m.safetensors");
        model.Save(path);
        var loaded = Sequential.Load(path);
        Assert.IsType<LogCosh<float>>(loaded.Loss);
        var expected = model.Evaluate(x, y, sampleWeight: sw);
        var actual = loaded.Evaluate(x, y, sampleWeight: sw);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (k, v) in expected) Assert.Equal(v, actual[k], 10);
        Assert.Contains("weighted_root_mean_squared_error", actual.Keys);

        foreach (string loss in new[] { "mape", "msle", "kld", "poisson", "cosine_similarity", "hinge", "squared_hinge", "categorical_hinge" })
        {
            var m = new Sequential(new Dense<float>(2, "softmax")) { Seed = 1 };
            m.Compile(loss, "sgd", "precision", "recall", "auc", "top_k_categorical_accuracy");
            m.Build(3);
            string p = Path.Combine(_dir, loss + ".safetensors");
            m.Save(p);
            var l = Sequential.Load(p);
            Assert.Equal(m.Loss!.GetType(), l.Loss!.GetType());
            var oneHot = new Tensor<float>(4, 2);
            for (int i = 0; i < 4; i++) oneHot[i, i % 2] = 1;
            var xs = Tensor<float>.RandomNormal(new TensorShape(4, 3), 8);
            Assert.Equal(m.Evaluate(xs, oneHot), l.Evaluate(xs, oneHot));
            Assert.Equal(["precision", "recall", "auc", "top_k_categorical_accuracy"], l.Metrics.Select(q => q.Name));
        }
    }

    [Fact]
    public void AStepWithWeightedAndMaskedMetrics_AllocatesNothing()
    {
        var (x, y) = Regression(16, 3);
        var model = new Sequential(new Dense<float>(4, "tanh"), new Dense<float>(2)) { Seed = 7 };
        model.Compile("mse", "sgd", metrics: ["root_mean_squared_error", "precision", "auc"], weightedMetrics: ["mae", "recall"]);
        var sw = Tensor<float>.RandomUniform(new TensorShape(16), 3, 0, 2);
        model.TrainOnBatch(x, y, sampleWeight: sw);
        model.Fit(x, y, epochs: 1, batchSize: 16, shuffle: false, sampleWeight: sw);
        long before = GC.GetAllocatedBytesForCurrentThread();
        model.Fit(x, y, epochs: 1, batchSize: 16, shuffle: false, sampleWeight: sw);
        long withOne = GC.GetAllocatedBytesForCurrentThread() - before;
        before = GC.GetAllocatedBytesForCurrentThread();
        model.Fit(x, y, epochs: 1, batchSize: 2, shuffle: false, sampleWeight: sw);   // 8 steps
        long withEight = GC.GetAllocatedBytesForCurrentThread() - before;
        // Per-call setup allocates; the steps themselves do not (8 steps cost what 1 does, within a few bytes of noise).
        Assert.True(withEight - withOne < 1024, $"1 step: {withOne} B, 8 steps: {withEight} B");
    }
}
