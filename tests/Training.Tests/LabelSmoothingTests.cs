using System.Numerics;
using Nn.Simd.Tensors;
using Nn.Simd.Tensors.Kernels;
using Nn.Simd.Training.Losses;
using Nn.Simd.Training.Optimizers;

namespace Nn.Simd.Training.Tests;

/// <summary>
/// Label smoothing on <c>binary_crossentropy</c> and <c>categorical_crossentropy</c> (Keras 3's <c>label_smoothing</c>):
/// values against a float64 transcription of Keras' <c>binary_crossentropy</c> / <c>categorical_crossentropy</c> and of
/// its NumPy backend's <c>ops</c>, finite-difference gradients, the default (s = 0) bit for bit as the losses were
/// before the option existed, save/load of a compiled model, and bad options.
/// </summary>
public sealed class LabelSmoothingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nn-smooth").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const double Eps = 1e-7;

    /// <summary>Keras 3 <c>binary_crossentropy(y_true, y_pred, from_logits, label_smoothing)</c> for one row: smooth the
    /// targets, then the NumPy backend's <c>binary_crossentropy</c> (sigmoid, clip to [ε, 1 − ε], −(y·log p + (1 − y)·log(1 − p))),
    /// then the mean over the last axis.</summary>
    private static double KerasBinaryRow(double[] yTrue, double[] yPred, bool fromLogits, double s)
    {
        double sum = 0;
        for (int j = 0; j < yTrue.Length; j++)
        {
            double y = s != 0 ? yTrue[j] * (1.0 - s) + 0.5 * s : yTrue[j];
            double p = fromLogits ? 1 / (1 + Math.Exp(-yPred[j])) : yPred[j];
            p = Math.Clamp(p, Eps, 1 - Eps);
            sum += -(y * Math.Log(p) + (1 - y) * Math.Log(1 - p));
        }
        return sum / yTrue.Length;
    }

    /// <summary>Keras 3 <c>categorical_crossentropy</c> for one row: smooth the targets with s / C, then the NumPy backend's
    /// <c>categorical_crossentropy</c> (from logits −Σ y·log_softmax(z); else p / Σp clipped to [ε, 1 − ε], −Σ y·log p).</summary>
    private static double KerasCategoricalRow(double[] yTrue, double[] yPred, bool fromLogits, double s)
    {
        int c = yTrue.Length;
        var y = yTrue.Select(v => s != 0 ? v * (1.0 - s) + s / c : v).ToArray();
        double loss = 0;
        if (fromLogits)
        {
            double m = yPred.Max(), lse = m + Math.Log(yPred.Sum(v => Math.Exp(v - m)));
            for (int j = 0; j < c; j++) loss -= y[j] * (yPred[j] - lse);
            return loss;
        }
        double sum = yPred.Sum();
        for (int j = 0; j < c; j++) loss -= y[j] * Math.Log(Math.Clamp(yPred[j] / sum, Eps, 1 - Eps));
        return loss;
    }

    private static (Tensor<double> P, Tensor<double> Y) Data(int rows, int c, bool logits, bool categorical, int seed)
    {
        var rng = new Random(seed);
        var p = new Tensor<double>(rows, c);
        var y = new Tensor<double>(rows, c);
        for (int r = 0; r < rows; r++)
        {
            int hot = rng.Next(c);
            for (int j = 0; j < c; j++)
            {
                p[r, j] = logits ? 2.5 * rng.NextGaussian() : 0.02 + 0.96 * rng.NextDouble();
                y[r, j] = categorical ? (j == hot ? 1 : 0) : rng.Next(3) switch { 0 => 0, 1 => 1, _ => rng.NextDouble() };
            }
        }
        return (p, y);
    }

    private static double[] Row(Tensor<double> t, int r, int c) => t.ReadOnlySpan.Slice(r * c, c).ToArray();

    private static Tensor<float> ToFloat(Tensor<double> t)
    {
        var f = new Tensor<float>(t.Shape);
        for (int i = 0; i < t.Length; i++) f.Span[i] = (float)t.Span[i];
        return f;
    }

    public static TheoryData<bool, double> Options() => new()
    {
        { false, 0.0 }, { true, 0.0 }, { false, 0.1 }, { true, 0.1 }, { false, 0.35 }, { true, 0.6 }, { false, 1.0 }, { true, 1.0 },
    };

    [Theory]
    [MemberData(nameof(Options))]
    public void Binary_MatchesKerasFormula_InDoubleAndFloat(bool logits, double s)
    {
        const int rows = 6, c = 4;
        var (p, y) = Data(rows, c, logits, categorical: false, seed: 1);
        double expected = 0;
        for (int r = 0; r < rows; r++) expected += KerasBinaryRow(Row(y, r, c), Row(p, r, c), logits, s);
        expected /= rows;
        var loss = new BinaryCrossEntropy<double>(logits, s);
        Assert.Equal(expected, loss.Compute(p, y), 1e-12);
        Assert.Equal(expected, loss.ComputeWithGradient(p, y, new Tensor<double>(p.Shape)), 1e-12);
        Assert.Equal(expected, new BinaryCrossEntropy<float>(logits, s).Compute(ToFloat(p), ToFloat(y)), 1e-5);
    }

    [Theory]
    [MemberData(nameof(Options))]
    public void Categorical_MatchesKerasFormula_InDoubleAndFloat(bool logits, double s)
    {
        const int rows = 5, c = 4;
        var (p, y) = Data(rows, c, logits, categorical: true, seed: 2);
        double expected = 0;
        for (int r = 0; r < rows; r++) expected += KerasCategoricalRow(Row(y, r, c), Row(p, r, c), logits, s);
        expected /= rows;
        var loss = new CategoricalCrossEntropy<double>(logits, s);
        Assert.Equal(expected, loss.Compute(p, y), 1e-12);
        Assert.Equal(expected, loss.ComputeWithGradient(p, y, new Tensor<double>(p.Shape)), 1e-12);
        Assert.Equal(expected, new CategoricalCrossEntropy<float>(logits, s).Compute(ToFloat(p), ToFloat(y)), 1e-5);
    }

    [Theory]
    [MemberData(nameof(Options))]
    public void Gradients_MatchFiniteDifferences(bool logits, double s)
    {
        var (p, y) = Data(4, 3, logits, categorical: false, seed: 3);
        var rb = GradientCheck.CheckLoss(new BinaryCrossEntropy<double>(logits, s), p, y);
        Assert.True(rb.Passed, "binary: " + rb);
        var (pc, yc) = Data(4, 5, logits, categorical: true, seed: 4);
        var rc = GradientCheck.CheckLoss(new CategoricalCrossEntropy<double>(logits, s), pc, yc);
        Assert.True(rc.Passed, "categorical: " + rc);
        // [B, T, C]: rows are (sample, step) pairs, each smoothed over its own C classes.
        var p3 = pc.Reshape(new TensorShape(2, 2, 5));
        var r3 = GradientCheck.CheckLoss(new CategoricalCrossEntropy<double>(logits, s), p3, yc.Reshape(p3.Shape));
        Assert.True(r3.Passed, "categorical [B, T, C]: " + r3);
    }

    [Fact]
    public void SmoothedOptimum_IsTheSmoothedTarget()
    {
        // From logits the gradient is (softmax(z) − ỹ)/R: zero exactly where the softmax equals ỹ = y(1 − s) + s/C.
        const double s = 0.2;
        double[] yt = [0.05, 0.85, 0.05, 0.05];
        var z = Tensor<double>.FromArray([.. yt.Select(v => Math.Log(v))], 1, 4);
        var d = new Tensor<double>(1, 4);
        new CategoricalCrossEntropy<double>(fromLogits: true, labelSmoothing: s).ComputeWithGradient(z, Tensor<double>.FromArray([0.0, 1, 0, 0], 1, 4), d);
        foreach (double g in d.ToArray()) Assert.Equal(0, g, 14);
        // Binary: σ(z) = ỹ = 1·(1 − s) + s/2 = 0.9 zeroes the gradient.
        var db = new Tensor<double>(1, 1);
        new BinaryCrossEntropy<double>(fromLogits: true, labelSmoothing: s).ComputeWithGradient(
            Tensor<double>.FromArray([Math.Log(0.9 / 0.1)], 1, 1), Tensor<double>.FromArray([1.0], 1, 1), db);
        Assert.Equal(0, db[0, 0], 14);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DefaultSmoothing_IsBitForBitThePreviousLoss(bool logits)
    {
        AssertSameBits<double>(logits);
        AssertSameBits<float>(logits);
    }

    private static void AssertSameBits<T>(bool logits) where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int rows = 7, c = 5;
        var (pd, yd) = Data(rows, c, logits, categorical: true, seed: 5);
        var (pb, yb) = Data(rows, c, logits, categorical: false, seed: 6);
        if (!logits) { pd[0, 0] = 0; pb[0, 0] = 0; pb[1, 1] = 1; }   // clipped entries take the zero-gradient branch
        var (p, y, p2, y2) = (Cast<T>(pd), Cast<T>(yd), Cast<T>(pb), Cast<T>(yb));
        foreach (var cce in new[] { new CategoricalCrossEntropy<T>(logits), new CategoricalCrossEntropy<T>(logits, 0.0), (CategoricalCrossEntropy<T>)LossFactory.Get<T>("categorical_crossentropy", logits) })
        {
            var (value, grad) = PreviousCategorical(p, y, logits);
            var d = new Tensor<T>(p.Shape);
            Assert.Equal(value, cce.ComputeWithGradient(p, y, d));
            Assert.Equal(grad, d.ToArray());
            Assert.Equal(PreviousCategoricalValue(p, y, logits), cce.Compute(p, y));
        }
        foreach (var bce in new[] { new BinaryCrossEntropy<T>(logits), new BinaryCrossEntropy<T>(logits, 0.0) })
        {
            var (value, grad) = PreviousBinary(p2, y2, logits);
            var d = new Tensor<T>(p2.Shape);
            Assert.Equal(value, bce.ComputeWithGradient(p2, y2, d));
            Assert.Equal(value, bce.Compute(p2, y2));
            Assert.Equal(grad, d.ToArray());
        }
    }

    private static Tensor<T> Cast<T>(Tensor<double> t) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var r = new Tensor<T>(t.Shape);
        for (int i = 0; i < t.Length; i++) r.Span[i] = T.CreateChecked(t.Span[i]);
        return r;
    }

    /// <summary>BinaryCrossEntropy's value and gradient as they were computed before label smoothing existed (the loop of
    /// commit 4e7265c, unchanged), so that the default is held to the same bits.</summary>
    private static (T, T[]) PreviousBinary<T>(Tensor<T> prediction, Tensor<T> target, bool fromLogits) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var p = prediction.ReadOnlySpan;
        var y = target.ReadOnlySpan;
        var d = new T[p.Length];
        T eps = T.CreateChecked(1e-7);
        T invN = T.One / T.CreateChecked(p.Length), total = T.Zero, hi = T.One - eps;
        for (int i = 0; i < p.Length; i++)
        {
            if (fromLogits)
            {
                T z = p[i];
                total += T.Max(z, T.Zero) - z * y[i] + T.LogP1(T.Exp(-T.Abs(z)));
                d[i] = (T.One / (T.One + T.Exp(-z)) - y[i]) * invN;
            }
            else
            {
                T pc = T.Clamp(p[i], eps, hi);
                total -= y[i] * T.Log(pc) + (T.One - y[i]) * T.Log(T.One - pc);
                d[i] = pc == p[i] ? (-y[i] / pc + (T.One - y[i]) / (T.One - pc)) * invN : T.Zero;
            }
        }
        return (total * invN, d);
    }

    /// <summary>CategoricalCrossEntropy's value and gradient as computed before label smoothing existed (commit 4e7265c).</summary>
    private static (T, T[]) PreviousCategorical<T>(Tensor<T> prediction, Tensor<T> target, bool fromLogits) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int c = prediction.Shape.Columns, rows = prediction.Shape.Rows;
        var p = prediction.ReadOnlySpan;
        var y = target.ReadOnlySpan;
        var d = new T[p.Length];
        T invRows = T.One / T.CreateChecked(rows);
        if (fromLogits) return (SoftmaxCrossEntropy.Dense(p, y, c, invRows, d) * invRows, d);
        T eps = T.CreateChecked(1e-7), total = T.Zero, hi = T.One - eps;
        for (int r = 0; r < p.Length; r += c)
        {
            var pr = p.Slice(r, c);
            var dr = d.AsSpan(r, c);
            T s = TensorPrimitives.Sum(pr);
            T dot = T.Zero, row = T.Zero;
            for (int j = 0; j < c; j++)
            {
                T q = pr[j] / s;
                T qc = T.Clamp(q, eps, hi);
                row += y[r + j] * T.Log(qc);
                T g = q == qc ? -y[r + j] / q : T.Zero;
                dr[j] = g;
                dot += g * q;
            }
            total -= row;
            T scale = invRows / s;
            for (int j = 0; j < c; j++) dr[j] = (dr[j] - dot) * scale;
        }
        return (total * invRows, d);
    }

    /// <summary>CategoricalCrossEntropy's value-only path (<c>Compute</c>) as it was before label smoothing existed.</summary>
    private static T PreviousCategoricalValue<T>(Tensor<T> prediction, Tensor<T> target, bool fromLogits) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int c = prediction.Shape.Columns, rows = prediction.Shape.Rows;
        var p = prediction.ReadOnlySpan;
        var y = target.ReadOnlySpan;
        if (fromLogits) return SoftmaxCrossEntropy.Dense(p, y, c, T.Zero, default) / T.CreateChecked(rows);
        T eps = T.CreateChecked(1e-7), total = T.Zero, hi = T.One - eps;
        for (int r = 0; r < p.Length; r += c)
        {
            var pr = p.Slice(r, c);
            T s = TensorPrimitives.Sum(pr);
            T row = T.Zero;
            for (int j = 0; j < c; j++) row += y[r + j] * T.Log(T.Clamp(pr[j] / s, eps, hi));
            total -= row;
        }
        return total / T.CreateChecked(rows);
    }

    [Fact]
    public void BadOptions_NameTheArgumentAndValue()
    {
        foreach (double bad in new[] { -0.1, 1.5, double.NaN })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => new BinaryCrossEntropy<float>(labelSmoothing: bad));
            Assert.Equal("labelSmoothing", e.ParamName);
            Assert.Contains(bad.ToString(System.Globalization.CultureInfo.CurrentCulture), e.Message);
            Assert.Equal("labelSmoothing", Assert.Throws<ArgumentOutOfRangeException>(() => new CategoricalCrossEntropy<double>(true, bad)).ParamName);
        }
        var shape = Assert.Throws<ArgumentException>(() => new CategoricalCrossEntropy<float>(labelSmoothing: 0.1).Compute(new Tensor<float>(2, 3), new Tensor<float>(2, 1)));
        Assert.Contains("[2, 1]", shape.Message);
        Assert.Contains("[2, 3]", shape.Message);
        var value = Assert.Throws<ArgumentException>(() => new BinaryCrossEntropy<float>(labelSmoothing: 0.1).ValidateTargets(new TensorShape(2, 1), Tensor<float>.FromArray([0f, 2f], 2, 1)));
        Assert.Contains("index 1", value.Message);
    }

    [Fact]
    public void SavedOptions_AreReadBack_AndBadOnesRejected()
    {
        var b = Assert.IsType<BinaryCrossEntropy<float>>(LossOptions.FromConfig<float>("binary_crossentropy", true, new Dictionary<string, string> { ["label_smoothing"] = "0.25" }));
        Assert.Equal((true, 0.25), (b.FromLogits, b.LabelSmoothing));
        Assert.Empty(LossOptions.GetConfig<float>(new CategoricalCrossEntropy<float>())!);
        Assert.Equal("0.1", LossOptions.GetConfig<float>(new CategoricalCrossEntropy<float>(labelSmoothing: 0.1))!["label_smoothing"]);
        Assert.Contains("gamma", Assert.Throws<ArgumentException>(() => LossOptions.FromConfig<float>("categorical_crossentropy", false,
            new Dictionary<string, string> { ["gamma"] = "2" })).Message);
        Assert.Contains("'x'", Assert.Throws<ArgumentException>(() => LossOptions.FromConfig<float>("binary_crossentropy", false,
            new Dictionary<string, string> { ["label_smoothing"] = "x" })).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => LossOptions.FromConfig<float>("binary_crossentropy", false,
            new Dictionary<string, string> { ["label_smoothing"] = "2" }));
        Assert.Throws<ArgumentException>(() => LossOptions.FromConfig<float>("sparse_categorical_crossentropy", false,
            new Dictionary<string, string> { ["label_smoothing"] = "0.1" }));
    }

    [Fact]
    public void CompiledModel_SavesAndLoadsTheSmoothing_AndContinuesIdentically()
    {
        var (x, labels, oneHot) = TestData.Blobs(30, 7);
        var cat = new Sequential(new Layers.Dense<float>(8, "relu"), new Layers.Dense<float>(3)) { Seed = 4 };
        cat.Compile(new CategoricalCrossEntropy<float>(fromLogits: true, labelSmoothing: 0.1), new Adam(0.01), "accuracy");
        cat.Fit(x, oneHot, epochs: 3, batchSize: 10, shuffle: false);
        string path = Path.Combine(_dir, "cat.safetensors");
        cat.Save(path);
        var loaded = Sequential.Load(path);
        var lc = Assert.IsType<CategoricalCrossEntropy<float>>(loaded.Loss);
        Assert.Equal((true, 0.1), (lc.FromLogits, lc.LabelSmoothing));
        var ha = cat.Fit(x, oneHot, epochs: 2, batchSize: 10, shuffle: false);
        var hb = loaded.Fit(x, oneHot, epochs: 2, batchSize: 10, shuffle: false);
        Assert.Equal(ha["loss"], hb["loss"]);
        Assert.Equal(ha["accuracy"], hb["accuracy"]);

        var y = new Tensor<float>(30, 1);
        for (int i = 0; i < 30; i++) y[i, 0] = labels[i] == 1 ? 1 : 0;
        var bin = new Sequential(new Layers.Dense<float>(4, "tanh"), new Layers.Dense<float>(1, "sigmoid")) { Seed = 5 };
        bin.Compile(new BinaryCrossEntropy<float>(labelSmoothing: 0.3), new Sgd(0.1));
        bin.Fit(x, y, epochs: 2, batchSize: 10, shuffle: false);
        string bpath = Path.Combine(_dir, "bin.safetensors");
        bin.Save(bpath);
        var lb = Sequential.Load(bpath);
        var lbl = Assert.IsType<BinaryCrossEntropy<float>>(lb.Loss);
        Assert.Equal((false, 0.3), (lbl.FromLogits, lbl.LabelSmoothing));
        Assert.Equal(bin.Evaluate(x, y)["loss"], lb.Evaluate(x, y)["loss"]);

        // The default loss saves as before (no loss_config) and loads unsmoothed.
        var plain = new Sequential(new Layers.Dense<float>(3)) { Seed = 6 };
        plain.Compile("categorical_crossentropy", new Sgd(0.1));
        plain.Build(2);
        string ppath = Path.Combine(_dir, "plain.safetensors");
        plain.Save(ppath);
        Assert.DoesNotContain("loss_config", File.ReadAllText(ppath));
        Assert.Equal(0.0, Assert.IsType<CategoricalCrossEntropy<float>>(Sequential.Load(ppath).Loss).LabelSmoothing);
    }
}
