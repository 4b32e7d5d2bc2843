using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using Nn.Simd.Training.Losses;
using Nn.Simd.Training.Optimizers;

namespace Nn.Simd.Training.Tests;

/// <summary>
/// The focal losses against a float64 transcription of Keras 3's <c>binary_focal_crossentropy</c> and
/// <c>categorical_focal_crossentropy</c> (label smoothing, logits, balancing, clipping), Keras' documented examples,
/// finite-difference gradients, sample weights and sequence masks in a model, save/load and bad options.
/// </summary>
public sealed class FocalLossTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nn-focal").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const double Eps = 1e-7;

    /// <summary>Keras 3 <c>binary_focal_crossentropy</c>, one row, as written in keras/src/losses/losses.py.</summary>
    /// <remarks>With <paramref name="float32"/> the clip bounds are float32's ε and 1 − ε (1 − 1e-7 rounds to
    /// 1 − 1.19e-7 in float32, as in Keras' float32 models).</remarks>
    private static double KerasBinaryFocalRow(double[] yTrue, double[] yPred, bool balancing, double alpha, double gamma, bool fromLogits, double smoothing,
        bool float32 = false)
    {
        double lo = float32 ? 1e-7f : Eps, hi = float32 ? 1f - 1e-7f : 1 - Eps;
        double sum = 0;
        for (int j = 0; j < yTrue.Length; j++)
        {
            double y = smoothing != 0 ? yTrue[j] * (1.0 - smoothing) + 0.5 * smoothing : yTrue[j];
            double p = fromLogits ? 1 / (1 + Math.Exp(-yPred[j])) : yPred[j];
            double o = Math.Clamp(p, lo, hi);
            double bce = -(y * Math.Log(o) + (1.0 - y) * Math.Log(1.0 - o));
            double pt = y * p + (1 - y) * (1 - p);
            double focal = Math.Pow(1.0 - pt, gamma) * bce;
            if (balancing) focal *= y * alpha + (1 - y) * (1 - alpha);
            sum += focal;
        }
        return sum / yTrue.Length;
    }

    /// <summary>Keras 3 <c>categorical_focal_crossentropy</c>, one row.</summary>
    private static double KerasCategoricalFocalRow(double[] yTrue, double[] yPred, double alpha, double gamma, bool fromLogits, double smoothing,
        bool float32 = false)
    {
        double lo = float32 ? 1e-7f : Eps, hi = float32 ? 1f - 1e-7f : 1 - Eps;
        int c = yTrue.Length;
        var y = yTrue.Select(v => smoothing != 0 ? v * (1.0 - smoothing) + smoothing / c : v).ToArray();
        var p = yPred;
        if (fromLogits)
        {
            double m = p.Max();
            var e = p.Select(v => Math.Exp(v - m)).ToArray();
            p = e.Select(v => v / e.Sum()).ToArray();
        }
        double s = p.Sum(), loss = 0;
        for (int j = 0; j < c; j++)
        {
            double o = Math.Clamp(p[j] / s, lo, hi);
            loss += Math.Pow(1.0 - o, gamma) * alpha * (-y[j] * Math.Log(o));
        }
        return loss;
    }

    private static double[] Row(Tensor<double> t, int r, int c) => t.ReadOnlySpan.Slice(r * c, c).ToArray();

    private static (Tensor<double> P, Tensor<double> Y) Data(int rows, int c, bool logits, bool categorical, int seed, bool withClipped)
    {
        var rng = new Random(seed);
        var p = new Tensor<double>(rows, c);
        var y = new Tensor<double>(rows, c);
        for (int r = 0; r < rows; r++)
        {
            int hot = rng.Next(c);
            for (int j = 0; j < c; j++)
            {
                p[r, j] = logits ? 3 * rng.NextGaussian() : 0.02 + 0.96 * rng.NextDouble();
                y[r, j] = categorical ? (j == hot ? 1 : 0) : rng.Next(3) switch { 0 => 0, 1 => 1, _ => rng.NextDouble() };
            }
        }
        if (withClipped && !logits)
        {
            // Probabilities at and beyond the clip: 0, 1, and (binary) values the focal factor still sees.
            p[0, 0] = 0; p[rows - 1, c - 1] = 1;
            if (!categorical) p[0, 1] = 1e-9;
        }
        if (withClipped && logits) { p[0, 0] = 40; p[rows - 1, c - 1] = -40; }
        return (p, y);
    }

    public static TheoryData<bool, bool, double, double, double> Options() => new()
    {
        // fromLogits, balancing, gamma, smoothing, alpha
        { false, false, 2.0, 0.0, 0.25 },
        { true, false, 2.0, 0.0, 0.25 },
        { false, true, 2.0, 0.1, 0.25 },
        { true, true, 0.5, 0.2, 0.7 },
        { false, false, 0.0, 0.0, 0.25 },
        { true, false, 1.0, 0.05, 0.4 },
        { false, true, 3.0, 0.0, 1.0 },
    };

    [Theory]
    [MemberData(nameof(Options))]
    public void BinaryFocal_MatchesKerasFormula_InDoubleAndFloat(bool logits, bool balancing, double gamma, double smoothing, double alpha)
    {
        const int rows = 6, c = 5;
        var (p, y) = Data(rows, c, logits, categorical: false, seed: 1, withClipped: true);
        var loss = new BinaryFocalCrossEntropy<double>(balancing, alpha, gamma, logits, smoothing);
        double expected = 0;
        for (int r = 0; r < rows; r++) expected += KerasBinaryFocalRow(Row(y, r, c), Row(p, r, c), balancing, alpha, gamma, logits, smoothing);
        expected /= rows;
        Assert.Equal(expected, loss.Compute(p, y), 1e-12);
        var lf = new BinaryFocalCrossEntropy<float>(balancing, alpha, gamma, logits, smoothing);
        double expected32 = 0;
        var (pf, yf) = (ToFloat(p), ToFloat(y));
        for (int r = 0; r < rows; r++)
            expected32 += KerasBinaryFocalRow(Row(ToDouble(yf), r, c), Row(ToDouble(pf), r, c), balancing, alpha, gamma, logits, smoothing, float32: true);
        Assert.Equal(expected32 / rows, lf.Compute(pf, yf), 1e-5);
        var d = new Tensor<double>(p.Shape);
        Assert.Equal(expected, loss.ComputeWithGradient(p, y, d), 1e-12);
    }

    [Theory]
    [MemberData(nameof(Options))]
    public void CategoricalFocal_MatchesKerasFormula_InDoubleAndFloat(bool logits, bool unused, double gamma, double smoothing, double alpha)
    {
        _ = unused;
        const int rows = 5, c = 4;
        var (p, y) = Data(rows, c, logits, categorical: true, seed: 2, withClipped: true);
        var loss = new CategoricalFocalCrossEntropy<double>(alpha, gamma, logits, smoothing);
        double expected = 0;
        for (int r = 0; r < rows; r++) expected += KerasCategoricalFocalRow(Row(y, r, c), Row(p, r, c), alpha, gamma, logits, smoothing);
        expected /= rows;
        Assert.Equal(expected, loss.Compute(p, y), 1e-12);
        var lf = new CategoricalFocalCrossEntropy<float>(alpha, gamma, logits, smoothing);
        double expected32 = 0;
        var (pf, yf) = (ToFloat(p), ToFloat(y));
        for (int r = 0; r < rows; r++)
            expected32 += KerasCategoricalFocalRow(Row(ToDouble(yf), r, c), Row(ToDouble(pf), r, c), alpha, gamma, logits, smoothing, float32: true);
        Assert.Equal(expected32 / rows, lf.Compute(pf, yf), 1e-5);
    }

    private static Tensor<float> ToFloat(Tensor<double> t)
    {
        var f = new Tensor<float>(t.Shape);
        for (int i = 0; i < t.Length; i++) f.Span[i] = (float)t.Span[i];
        return f;
    }

    private static Tensor<double> ToDouble(Tensor<float> t)
    {
        var d = new Tensor<double>(t.Shape);
        for (int i = 0; i < t.Length; i++) d.Span[i] = t.Span[i];
        return d;
    }

    [Fact]
    public void KerasDocumentedExamples()
    {
        // keras.losses.binary_focal_crossentropy([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]], gamma=2) -> [0.330, 0.206].
        var bin = new BinaryFocalCrossEntropy<double>();
        Assert.Equal(0.330, bin.Compute(Tensor<double>.FromArray([0.6, 0.4], 1, 2), Tensor<double>.FromArray([0.0, 1], 1, 2)), 3);
        Assert.Equal(0.206, bin.Compute(Tensor<double>.FromArray([0.4, 0.6], 1, 2), Tensor<double>.FromArray([0.0, 0], 1, 2)), 3);
        // BinaryFocalCrossentropy(gamma=2, from_logits=True) on y [0, 1, 0, 0], logits [-18.6, 0.51, 2.94, -12.8] -> 0.691;
        // with apply_class_balancing=True -> 0.51.
        var z = Tensor<double>.FromArray([-18.6, 0.51, 2.94, -12.8], 1, 4);
        var t = Tensor<double>.FromArray([0.0, 1, 0, 0], 1, 4);
        Assert.Equal(0.691, new BinaryFocalCrossEntropy<double>(fromLogits: true).Compute(z, t), 3);
        Assert.Equal(0.51, new BinaryFocalCrossEntropy<double>(applyClassBalancing: true, fromLogits: true).Compute(z, t), 2);
        // CategoricalFocalCrossentropy() on [[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]] -> 0.23315276.
        var cat = new CategoricalFocalCrossEntropy<double>();
        Assert.Equal(0.23315276, cat.Compute(Tensor<double>.FromArray([0.05, 0.95, 0, 0.1, 0.8, 0.1], 2, 3),
            Tensor<double>.FromArray([0.0, 1, 0, 0, 0, 1], 2, 3)), 7);
    }

    [Theory]
    [MemberData(nameof(Options))]
    public void Gradients_MatchFiniteDifferences(bool logits, bool balancing, double gamma, double smoothing, double alpha)
    {
        var (p, y) = Data(4, 3, logits, categorical: false, seed: 3, withClipped: false);
        var report = GradientCheck.CheckLoss(new BinaryFocalCrossEntropy<double>(balancing, alpha, gamma, logits, smoothing), p, y);
        Assert.True(report.Passed, "binary: " + report);
        var (pc, yc) = Data(4, 5, logits, categorical: true, seed: 4, withClipped: false);
        var rc = GradientCheck.CheckLoss(new CategoricalFocalCrossEntropy<double>(alpha, gamma, logits, smoothing), pc, yc);
        Assert.True(rc.Passed, "categorical: " + rc);
        // [B, T, C] predictions: rows are (sample, step) pairs.
        var p3 = p.Reshape(new TensorShape(2, 2, 3));
        var r3 = GradientCheck.CheckLoss(new BinaryFocalCrossEntropy<double>(balancing, alpha, gamma, logits, smoothing), p3, y.Reshape(p3.Shape));
        Assert.True(r3.Passed, "binary [B, T, C]: " + r3);
    }

    [Fact]
    public void ClippedProbabilities_KeepOnlyTheFocalFactorsGradient()
    {
        // y = 0, p = 1: p̂ = 1 − ε, bce = −log ε, 1 − p_t = 1, so ∂ℓ/∂p = γ·1·(1 − 0)·bce (the bce's own term is clipped away).
        var loss = new BinaryFocalCrossEntropy<double>(gamma: 2);
        var d = new Tensor<double>(1, 1);
        double value = loss.ComputeWithGradient(Tensor<double>.FromArray([1.0], 1, 1), Tensor<double>.FromArray([0.0], 1, 1), d);
        Assert.Equal(-Math.Log(1 - (1 - Eps)), value, 9);
        Assert.Equal(2 * value, d[0, 0], 9);
        // Categorical: a clipped class gets no gradient of its own, only through the renormalisation.
        var cat = new CategoricalFocalCrossEntropy<double>();
        var dc = new Tensor<double>(1, 3);
        cat.ComputeWithGradient(Tensor<double>.FromArray([0.0, 0.3, 0.7], 1, 3), Tensor<double>.FromArray([1.0, 0, 0], 1, 3), dc);
        Assert.Equal(0, dc[0, 1]);
        Assert.Equal(0, dc[0, 2]);
        Assert.Equal(0, dc[0, 0]);
    }

    [Fact]
    public void FactoryNames_AndBadOptions()
    {
        Assert.IsType<BinaryFocalCrossEntropy<float>>(LossFactory.Get<float>("binary_focal_crossentropy"));
        var c = Assert.IsType<CategoricalFocalCrossEntropy<double>>(LossFactory.Get<double>("Categorical_Focal_Crossentropy", fromLogits: true));
        Assert.True(c.FromLogits);
        Assert.Equal((0.25, 2.0, 0.0), (c.Alpha, c.Gamma, c.LabelSmoothing));
        Assert.Equal("gamma", Assert.Throws<ArgumentOutOfRangeException>(() => new BinaryFocalCrossEntropy<float>(gamma: -1)).ParamName);
        Assert.Equal("alpha", Assert.Throws<ArgumentOutOfRangeException>(() => new BinaryFocalCrossEntropy<float>(alpha: 1.5)).ParamName);
        Assert.Equal("alpha", Assert.Throws<ArgumentOutOfRangeException>(() => new CategoricalFocalCrossEntropy<float>(alpha: double.NaN)).ParamName);
        var ls = Assert.Throws<ArgumentOutOfRangeException>(() => new CategoricalFocalCrossEntropy<float>(labelSmoothing: 1.2));
        Assert.Contains("1.2", ls.Message);
        var shape = Assert.Throws<ArgumentException>(() => new CategoricalFocalCrossEntropy<float>().Compute(new Tensor<float>(2, 3), new Tensor<float>(2, 1)));
        Assert.Contains("[2, 1]", shape.Message);
        Assert.Contains("[2, 3]", shape.Message);
        var value = Assert.Throws<ArgumentException>(() => new BinaryFocalCrossEntropy<float>().ValidateTargets(new TensorShape(2, 1), Tensor<float>.FromArray([0f, 2f], 2, 1)));
        Assert.Contains("index 1", value.Message);
    }

    [Fact]
    public void SampleWeights_WeighEachSamplesLoss()
    {
        var (x, _, oneHot) = TestData.Blobs(24, 3);
        var model = TestData.SmallMlp(2);
        model.Compile(new CategoricalFocalCrossEntropy<float>(gamma: 1.5, labelSmoothing: 0.1), new Adam(0.01));
        model.Build(2);
        var w = new Tensor<float>(24);
        for (int i = 0; i < 24; i++) w[i] = i % 4 == 0 ? 0 : 0.5f + i % 3;
        var p = model.Predict(x);
        double expected = 0;
        for (int i = 0; i < 24; i++) expected += w[i] * model.Loss!.Compute(p.Slice(i, 1), oneHot.Slice(i, 1));
        Assert.Equal(expected / 24, model.Evaluate(x, oneHot, batchSize: 7, sampleWeight: w)["loss"], 5);
        var history = model.Fit(x, oneHot, epochs: 1, batchSize: 24, shuffle: false, sampleWeight: w);
        Assert.Equal(expected / 24, history["loss"][0], 5);
    }

    [Fact]
    public void SequenceMask_LeavesMaskedStepsOut_AndTheirTargetsChangeNothing()
    {
        const int n = 10, steps = 5;
        var x = Tensor<float>.RandomNormal(new TensorShape(n, steps, 2), 1);
        var y = new Tensor<float>(n, steps, 1);
        var rng = new Random(2);
        int[] lengths = [.. Enumerable.Range(0, n).Select(i => 1 + i % steps)];
        for (int i = 0; i < n; i++)
            for (int t = 0; t < steps; t++)
            {
                if (t >= lengths[i]) { x[i, t, 0] = 0; x[i, t, 1] = 0; }
                y[i, t, 0] = rng.Next(2);
            }
        Sequential Make()
        {
            var m = new Sequential(new Masking<float>(), new Lstm<float>(4, returnSequences: true), new Dense<float>(1)) { Seed = 3 };
            m.Compile(new BinaryFocalCrossEntropy<float>(applyClassBalancing: true, fromLogits: true), new Sgd(0.1));
            return m;
        }
        var model = Make();
        model.Build(steps, 2);
        var p = model.Predict(x);
        double sum = 0;
        int valid = 0;
        for (int i = 0; i < n; i++)
            for (int t = 0; t < lengths[i]; t++)
            {
                sum += KerasBinaryFocalRow([y[i, t, 0]], [p[i, t, 0]], true, 0.25, 2.0, true, 0);
                valid++;
            }
        Assert.Equal(sum / valid, model.Evaluate(x, y)["loss"], 5);
        var yOther = y.Clone();
        for (int i = 0; i < n; i++)
            for (int t = lengths[i]; t < steps; t++) yOther[i, t, 0] = 1 - y[i, t, 0];
        var a = Make();
        var b = Make();
        Assert.Equal(a.Fit(x, y, epochs: 2, batchSize: 4, shuffle: false)["loss"], b.Fit(x, yOther, epochs: 2, batchSize: 4, shuffle: false)["loss"]);
        Assert.Equal(a.Parameters.Select(q => q.Value.ToArray()), b.Parameters.Select(q => q.Value.ToArray()));
    }

    [Fact]
    public void CompiledModel_SavesAndLoadsTheLossWithItsOptions_AndContinuesIdentically()
    {
        var (x, labels, oneHot) = TestData.Blobs(30, 5);
        var cat = TestData.SmallMlp(4);
        cat.Compile(new CategoricalFocalCrossEntropy<float>(alpha: 0.5, gamma: 1.5, labelSmoothing: 0.1), new Adam(0.01), "accuracy");
        var h = cat.Fit(x, oneHot, epochs: 15, batchSize: 10, shuffle: false);
        Assert.True(h["loss"][^1] < 0.5 * h["loss"][0], $"loss {h["loss"][0]} -> {h["loss"][^1]}");
        string path = Path.Combine(_dir, "cat.safetensors");
        cat.Save(path);
        var loaded = Sequential.Load(path);
        var lc = Assert.IsType<CategoricalFocalCrossEntropy<float>>(loaded.Loss);
        Assert.Equal((0.5, 1.5, 0.1, false), (lc.Alpha, lc.Gamma, lc.LabelSmoothing, lc.FromLogits));
        Assert.Equal(cat.Fit(x, oneHot, epochs: 2, batchSize: 10, shuffle: false)["loss"], loaded.Fit(x, oneHot, epochs: 2, batchSize: 10, shuffle: false)["loss"]);

        var y = new Tensor<float>(30, 1);
        for (int i = 0; i < 30; i++) y[i, 0] = labels[i] == 2 ? 1 : 0;
        var bin = new Sequential(new Dense<float>(8, "relu"), new Dense<float>(1)) { Seed = 6 };
        bin.Compile(new BinaryFocalCrossEntropy<float>(applyClassBalancing: true, alpha: 0.6, gamma: 3, fromLogits: true, labelSmoothing: 0.05), new Adam(0.01), "accuracy");
        bin.Fit(x, y, epochs: 3, batchSize: 10, shuffle: false);
        string bpath = Path.Combine(_dir, "bin.safetensors");
        bin.Save(bpath);
        var lb = Sequential.Load(bpath);
        var lbl = Assert.IsType<BinaryFocalCrossEntropy<float>>(lb.Loss);
        Assert.Equal((true, 0.6, 3.0, true, 0.05), (lbl.ApplyClassBalancing, lbl.Alpha, lbl.Gamma, lbl.FromLogits, lbl.LabelSmoothing));
        var ha = bin.Fit(x, y, epochs: 2, batchSize: 10, shuffle: false);
        var hb = lb.Fit(x, y, epochs: 2, batchSize: 10, shuffle: false);
        Assert.Equal(ha["loss"], hb["loss"]);
        Assert.Equal(ha["accuracy"], hb["accuracy"]);   // binary accuracy at the logit threshold 0
    }
}
