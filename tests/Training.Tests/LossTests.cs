using Nn.Simd.Tensors;
using Nn.Simd.Training;
using Nn.Simd.Training.Losses;

namespace Nn.Simd.Training.Tests;

public class LossTests
{
    private static Tensor<double> T(double[] data, params int[] dims) => Tensor<double>.FromArray(data, dims);

    private static void AssertClose(double expected, double actual, double tol = 1e-12) =>
        Assert.True(Math.Abs(expected - actual) <= tol * Math.Max(1, Math.Abs(expected)), $"expected {expected:R}, got {actual:R}");

    /// <summary>Random rows of one-hot targets.</summary>
    private static Tensor<double> OneHot(int rows, int classes, int seed)
    {
        var rng = new Random(seed);
        var t = new Tensor<double>(rows, classes);
        for (int r = 0; r < rows; r++) t[r, rng.Next(classes)] = 1;
        return t;
    }

    private static Tensor<double> Labels(int rows, int classes, int seed)
    {
        var rng = new Random(seed);
        var t = new Tensor<double>(rows);
        for (int r = 0; r < rows; r++) t[r] = rng.Next(classes);
        return t;
    }

    // ***** values against hand-computed numbers *****

    [Fact]
    public void CategoricalCrossEntropy_Probabilities_Value()
    {
        var p = T([0.2, 0.3, 0.5, 0.1, 0.1, 0.8], 2, 3);
        var y = T([0, 0, 1, 0, 1, 0], 2, 3);
        AssertClose((-Math.Log(0.5) - Math.Log(0.1)) / 2, new CategoricalCrossEntropy<double>().Compute(p, y)); // 1.4978661367769954
    }

    [Fact]
    public void CategoricalCrossEntropy_Probabilities_RenormalisesRowsAsKeras()
    {
        // Row [1, 1, 2] sums to 4, so q = [.25, .25, .5] and the loss is ln 2.
        var loss = new CategoricalCrossEntropy<double>().Compute(T([1, 1, 2], 1, 3), T([0, 0, 1], 1, 3));
        AssertClose(Math.Log(2), loss);
    }

    [Fact]
    public void CategoricalCrossEntropy_Probabilities_ClipsAt1e7()
    {
        var ce = new CategoricalCrossEntropy<double>();
        var p = T([0, 1], 1, 2);
        var y = T([1, 0], 1, 2);
        AssertClose(16.11809565095832, ce.Compute(p, y), 1e-9);
        var d = new Tensor<double>(1, 2);
        ce.Gradient(p, y, d);
        Assert.All(d.ToArray(), v => Assert.Equal(0.0, v)); // clipped: the derivative of a clip is zero
    }

    [Fact]
    public void CategoricalCrossEntropy_Logits_ValueAndGradient()
    {
        var z = T([1, 2, 3, 1, 2, 3], 2, 3);
        var y = T([0, 0, 1, 1, 0, 0], 2, 3);
        var ce = new CategoricalCrossEntropy<double>(fromLogits: true);
        AssertClose((0.4076059644443806 + 2.4076059644443806) / 2, ce.Compute(z, y));
        var d = new Tensor<double>(2, 3);
        ce.Gradient(z, y, d);
        double[] s = [0.09003057317038046, 0.24472847105479767, 0.6652409557748219];
        double[] expected = [s[0] / 2, s[1] / 2, (s[2] - 1) / 2, (s[0] - 1) / 2, s[1] / 2, s[2] / 2];
        for (int i = 0; i < 6; i++) AssertClose(expected[i], d[i], 1e-12);
    }

    [Fact]
    public void CategoricalCrossEntropy_Logits_StableForHugeLogits()
    {
        var ce = new CategoricalCrossEntropy<float>(fromLogits: true);
        var loss = ce.Compute(Tensor<float>.FromArray([1000f, -1000f, 0f], 1, 3), Tensor<float>.FromArray([0f, 1f, 0f], 1, 3));
        Assert.Equal(2000f, loss, 1e-3f);
    }

    [Fact]
    public void SparseCategoricalCrossEntropy_Value_MatchesCategorical()
    {
        var z = T([1, 2, 3, 1, 2, 3], 2, 3);
        var labels = T([2, 0], 2);
        var onehot = T([0, 0, 1, 1, 0, 0], 2, 3);
        foreach (bool logits in new[] { true, false })
        {
            var pred = logits ? z : T([0.2, 0.3, 0.5, 0.6, 0.3, 0.1], 2, 3);
            double sparse = new SparseCategoricalCrossEntropy<double>(logits).Compute(pred, labels);
            double dense = new CategoricalCrossEntropy<double>(logits).Compute(pred, onehot);
            AssertClose(dense, sparse);
            // [B, 1] labels work too.
            AssertClose(dense, new SparseCategoricalCrossEntropy<double>(logits).Compute(pred, labels.Reshape(2, 1)));
        }
        AssertClose((0.4076059644443806 + 2.4076059644443806) / 2, new SparseCategoricalCrossEntropy<double>(true).Compute(z, labels));
    }

    [Theory]
    [InlineData(3.0, "3")]
    [InlineData(-1.0, "-1")]
    [InlineData(1.5, "1.5")]
    public void SparseCategoricalCrossEntropy_BadLabel_ThrowsWithValueAndIndex(double bad, string shown)
    {
        var z = T([1, 2, 3, 1, 2, 3], 2, 3);
        var labels = T([0, bad], 2);
        var ex = Assert.Throws<ArgumentException>(() => new SparseCategoricalCrossEntropy<double>(true).Compute(z, labels));
        Assert.Contains($"Label {shown} at index 1", ex.Message);
        Assert.Throws<ArgumentException>(() => new SparseCategoricalCrossEntropy<double>(false).Compute(z, labels));
    }

    [Fact]
    public void BinaryCrossEntropy_Values()
    {
        AssertClose(0.2899092476264711, new BinaryCrossEntropy<double>().Compute(T([0.8, 0.3], 2, 1), T([1, 0], 2, 1)));
        AssertClose(0.2200948492805977, new BinaryCrossEntropy<double>(true).Compute(T([2, -1], 2, 1), T([1, 0], 2, 1)));
        // Stable for large logits: loss ≈ |z| when the sign is wrong.
        Assert.Equal(100.0, new BinaryCrossEntropy<double>(true).Compute(T([-100], 1, 1), T([1], 1, 1)), 9);
    }

    [Fact]
    public void BinaryCrossEntropy_TargetOutsideUnitInterval_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            new BinaryCrossEntropy<double>().ValidateTargets(new TensorShape(3, 1), T([0, 1, 2], 3, 1)));
        Assert.Contains("target value 2 at index 2", ex.Message);
    }

    [Fact]
    public void RegressionLosses_Values()
    {
        var p = T([1, 2, 3, 4], 4, 1);
        var y = T([1, 1, 1, 1], 4, 1);
        AssertClose(3.5, new MeanSquaredError<double>().Compute(p, y));
        AssertClose(1.5, new MeanAbsoluteError<double>().Compute(p, y));
        AssertClose(1.125, new Huber<double>().Compute(p, y)); // 0 + 0.5 + 1.5 + 2.5
        AssertClose(3.5, new MeanSquaredError<double>().Compute(p, T([1, 1, 1, 1], 4))); // [N] targets for [N, 1]
        var d = new Tensor<double>(4, 1);
        new MeanSquaredError<double>().Gradient(p, y, d);
        Assert.Equal(new[] { 0, 0.5, 1, 1.5 }, d.ToArray());
        new Huber<double>().Gradient(p, y, d);
        Assert.Equal(new[] { 0, 0.25, 0.25, 0.25 }, d.ToArray());
    }

    [Fact]
    public void ShapeMismatch_MessageNamesBothShapes()
    {
        var ex = Assert.Throws<ArgumentException>(() => new MeanSquaredError<double>().Compute(new Tensor<double>(4, 2), new Tensor<double>(4, 3)));
        Assert.Contains("[4, 3]", ex.Message);
        Assert.Contains("[4, 2]", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => new CategoricalCrossEntropy<double>().Compute(new Tensor<double>(4, 2), new Tensor<double>(4)));
        Assert.Contains("[4, 2]", ex.Message);
    }

    [Fact]
    public void ComputeWithGradient_MatchesSeparateCalls()
    {
        var p = Tensor<double>.RandomUniform(new TensorShape(5, 4), 3, 0.1, 1);
        var y = OneHot(5, 4, 4);
        foreach (ILoss<double> loss in new ILoss<double>[] { new CategoricalCrossEntropy<double>(), new CategoricalCrossEntropy<double>(true), new MeanSquaredError<double>() })
        {
            var d1 = new Tensor<double>(5, 4);
            var d2 = new Tensor<double>(5, 4);
            double v = loss.ComputeWithGradient(p, y, d1);
            loss.Gradient(p, y, d2);
            AssertClose(loss.Compute(p, y), v);
            Assert.Equal(d2.ToArray(), d1.ToArray());
        }
    }

    // ***** gradient checks (float64, central differences, ≤ 1e-6) *****

    public static TheoryData<string> Cases() =>
    [
        "cce", "cce_logits", "cce_soft_targets", "cce_logits_3d", "sparse", "sparse_logits",
        "bce", "bce_logits", "mse", "mae", "huber",
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Loss_Gradient_MatchesFiniteDifferences(string which) => CheckLossGradient(which, 5, 4, 11);

    /// <summary>Every loss over random batch sizes (1–8), class counts (2–10) and values.</summary>
    [FsCheck.Xunit.Property(MaxTest = 12, Replay = "(409,5099)")]
    public void EveryLoss_Gradient_MatchesFiniteDifferences_RandomShapes(FsCheck.PositiveInt batch, FsCheck.PositiveInt classes, FsCheck.PositiveInt seed)
    {
        foreach (string which in Cases()) CheckLossGradient(which, 1 + batch.Get % 8, 2 + classes.Get % 9, seed.Get % 100000);
    }

    private static void CheckLossGradient(string which, int b, int c, int seed)
    {
        var probs = Tensor<double>.RandomUniform(new TensorShape(b, c), seed, 0.05, 1);   // unnormalised on purpose
        var logits = Tensor<double>.RandomNormal(new TensorShape(b, c), seed + 1, 0, 2);
        var soft = Tensor<double>.RandomUniform(new TensorShape(b, c), seed + 2, 0, 1);
        var (loss, pred, target) = which switch
        {
            "cce" => ((ILoss<double>)new CategoricalCrossEntropy<double>(), probs, OneHot(b, c, 1)),
            "cce_logits" => (new CategoricalCrossEntropy<double>(true), logits, OneHot(b, c, 2)),
            "cce_soft_targets" => (new CategoricalCrossEntropy<double>(), probs, soft),
            "cce_logits_3d" => (new CategoricalCrossEntropy<double>(true), Tensor<double>.RandomNormal(new TensorShape(2, 3, c), seed + 3),
                OneHot(6, c, 3).Reshape(2, 3, c)),
            "sparse" => (new SparseCategoricalCrossEntropy<double>(), probs, Labels(b, c, 4)),
            "sparse_logits" => (new SparseCategoricalCrossEntropy<double>(true), logits, Labels(b, c, 5)),
            "bce" => (new BinaryCrossEntropy<double>(), Tensor<double>.RandomUniform(new TensorShape(b, c), seed + 4, 0.05, 0.95), soft),
            "bce_logits" => (new BinaryCrossEntropy<double>(true), logits, soft),
            "mse" => (new MeanSquaredError<double>(), logits, soft),
            "mae" => (new MeanAbsoluteError<double>(), AwayFrom(logits, soft, 0, 0.05), soft),
            "huber" => (new Huber<double>(), AwayFrom(logits, soft, 1, 0.05), soft),
            _ => throw new ArgumentException(which),
        };
        var report = GradientCheck.CheckLoss(loss, pred, target);
        Assert.True(report.Passed, $"{which} on [{b}, {c}]: {report}");
        Assert.True(report.Tensors[0].Checked == pred.Length);
    }

    /// <summary>Moves predictions so |p − y| stays at least <paramref name="margin"/> from the kink at <paramref name="kink"/>.</summary>
    private static Tensor<double> AwayFrom(Tensor<double> p, Tensor<double> y, double kink, double margin)
    {
        var r = p.Clone();
        for (int i = 0; i < r.Length; i++)
        {
            double d = r[i] - y[i];
            if (Math.Abs(Math.Abs(d) - kink) < margin) r[i] += 3 * margin * (d >= 0 ? 1 : -1);
        }
        return r;
    }
}
