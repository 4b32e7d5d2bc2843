using Nn.Simd.Tensors;
using Nn.Simd.Training.Losses;

namespace Nn.Simd.Training.Tests;

/// <summary>The Keras losses beyond cross-entropy and MSE/MAE/Huber: values against float64 references written from
/// Keras' formulas (keras/src/losses/losses.py), finite-difference gradients, float against double, edge values.</summary>
public sealed class KerasLossTests
{
    private const double Eps = 1e-7;

    private static void Close(double expected, double actual, double tol = 1e-12) =>
        Assert.True(Math.Abs(expected - actual) <= tol * Math.Max(1, Math.Abs(expected)), $"expected {expected:R}, got {actual:R}");

    // ***** float64 references, one row (last axis) at a time, then Keras' mean over rows *****

    private static double Softplus(double z) => Math.Max(z, 0) + Math.Log(1 + Math.Exp(-Math.Abs(z)));

    private static double RowReference(string name, double[] p, double[] y)
    {
        int c = p.Length;
        switch (name)
        {
            case "mape": return Enumerable.Range(0, c).Average(j => 100 * Math.Abs((y[j] - p[j]) / Math.Max(Math.Abs(y[j]), Eps)));
            case "msle": return Enumerable.Range(0, c).Average(j => Math.Pow(Math.Log(Math.Max(p[j], Eps) + 1) - Math.Log(Math.Max(y[j], Eps) + 1), 2));
            case "log_cosh": return Enumerable.Range(0, c).Average(j => { double x = p[j] - y[j]; return x + Softplus(-2 * x) - Math.Log(2); });
            case "poisson": return Enumerable.Range(0, c).Average(j => p[j] - y[j] * Math.Log(p[j] + Eps));
            case "hinge": return Enumerable.Range(0, c).Average(j => Math.Max(1 - (y[j] == 0 ? -1 : y[j]) * p[j], 0));
            case "squared_hinge": return Enumerable.Range(0, c).Average(j => Math.Pow(Math.Max(1 - (y[j] == 0 ? -1 : y[j]) * p[j], 0), 2));
            case "kld":
                return Enumerable.Range(0, c).Sum(j =>
                {
                    double yc = Math.Clamp(y[j], Eps, 1), pc = Math.Clamp(p[j], Eps, 1);
                    return yc * Math.Log(yc / pc);
                });
            case "cosine_similarity":
                {
                    double np = Math.Max(Math.Sqrt(p.Sum(v => v * v)), Eps), ny = Math.Max(Math.Sqrt(y.Sum(v => v * v)), Eps);
                    return -Enumerable.Range(0, c).Sum(j => y[j] / ny * (p[j] / np));
                }
            case "categorical_hinge":
                {
                    double pos = Enumerable.Range(0, c).Sum(j => y[j] * p[j]);
                    double neg = Enumerable.Range(0, c).Max(j => (1 - y[j]) * p[j]);
                    return Math.Max(neg - pos + 1, 0);
                }
            default: throw new ArgumentException(name);
        }
    }

    private static double Reference(string name, Tensor<double> p, Tensor<double> y)
    {
        int c = p.Shape.Columns, rows = p.Length / c;
        double sum = 0;
        for (int r = 0; r < rows; r++)
            sum += RowReference(name, p.ReadOnlySpan.Slice(r * c, c).ToArray(), y.ReadOnlySpan.Slice(r * c, c).ToArray());
        return sum / rows;
    }

    public static TheoryData<string> Names() =>
        ["mape", "msle", "log_cosh", "poisson", "hinge", "squared_hinge", "kld", "cosine_similarity", "categorical_hinge"];

    /// <summary>Predictions and targets in each loss's domain, with edge values mixed in (zeros, negatives where the
    /// loss takes them, values past the clips, large magnitudes).</summary>
    /// <remarks>With <paramref name="moderate"/>, no target of 0 for MAPE (a loss of 1e9·|p|) and no huge differences
    /// for log-cosh: finite differences of such large sums lose the derivative to round-off (tested apart instead).</remarks>
    private static (Tensor<double> P, Tensor<double> Y) Data(string name, int rows, int c, int seed, bool moderate = false)
    {
        var rng = new Random(seed);
        var p = new Tensor<double>(rows, c);
        var y = new Tensor<double>(rows, c);
        for (int i = 0; i < p.Length; i++)
        {
            double u = rng.NextDouble(), g = 3 * rng.NextGaussian();
            (p[i], y[i]) = name switch
            {
                "mape" => (g, i % 7 == 0 && !moderate ? 0 : 2 * rng.NextGaussian()),
                "msle" => (i % 5 == 0 ? -0.5 * u : 4 * u, i % 6 == 0 ? -u : 3 * rng.NextDouble()),
                "log_cosh" => (i % 9 == 0 && !moderate ? 400 * g : g, rng.NextGaussian()),
                "poisson" => (0.05 + 5 * u, i % 4 == 0 ? 0 : rng.Next(6)),
                "hinge" or "squared_hinge" => (g / 2, rng.Next(2)),
                "kld" => (i % 8 == 0 ? 1.3 : i % 8 == 1 ? 0 : u, i % 5 == 0 ? 0 : rng.NextDouble()),
                "cosine_similarity" => (g, rng.NextGaussian()),
                "categorical_hinge" => (g, 0),
                _ => throw new ArgumentException(name),
            };
        }
        if (name == "categorical_hinge")
            for (int r = 0; r < rows; r++) y[r, rng.Next(c)] = 1;
        if (name == "cosine_similarity" && rows > 1)
            for (int j = 0; j < c; j++) y[1, j] = 0;   // a zero target row: loss 0
        return (p, y);
    }

    private static ILoss<double> Make(string name) => LossFactory.Get<double>(name);

    [Theory]
    [MemberData(nameof(Names))]
    public void Value_MatchesTheFloat64Reference_AndFloatAgrees(string name)
    {
        foreach (var (rows, c, seed) in new[] { (6, 5, 1), (1, 1, 2), (9, 3, 3) })
        {
            var (p, y) = Data(name, rows, c, seed);
            double expected = Reference(name, p, y);
            Close(expected, Make(name).Compute(p, y), 1e-12);
            var pf = Tensor<float>.FromArray(p.ToArray().Select(v => (float)v).ToArray(), rows, c);
            var yf = Tensor<float>.FromArray(y.ToArray().Select(v => (float)v).ToArray(), rows, c);
            // Float rounds the inputs too; compare against the reference on the rounded inputs.
            double rounded = Reference(name, Tensor<double>.FromArray(pf.ToArray().Select(v => (double)v).ToArray(), rows, c),
                Tensor<double>.FromArray(yf.ToArray().Select(v => (double)v).ToArray(), rows, c));
            Close(rounded, LossFactory.Get<float>(name).Compute(pf, yf), name == "mape" ? 1e-5 : 2e-5);
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Gradient_MatchesFiniteDifferences(string name)
    {
        var (p, y) = Data(name, 6, 5, 7, moderate: true);
        p = AwayFromKinks(name, p, y);
        var report = GradientCheck.CheckLoss(Make(name), p, y, new GradientCheck.Options(Epsilon: 1e-6, Tolerance: 1e-6));
        Assert.True(report.Passed, $"{name}: {report}");
        // ComputeWithGradient is one pass over both and agrees with the separate calls.
        var d1 = new Tensor<double>(p.Shape);
        var d2 = new Tensor<double>(p.Shape);
        double v = Make(name).ComputeWithGradient(p, y, d1);
        Make(name).Gradient(p, y, d2);
        Assert.Equal(Make(name).Compute(p, y), v);
        Assert.Equal(d2.ToArray(), d1.ToArray());
    }

    /// <summary>Moves predictions off the points where a loss has no derivative (p = y for MAPE, the clips of MSLE
    /// and KLD, the hinge at y·p = 1, ties in categorical hinge), so central differences are meaningful.</summary>
    private static Tensor<double> AwayFromKinks(string name, Tensor<double> p, Tensor<double> y)
    {
        var r = p.Clone();
        for (int i = 0; i < r.Length; i++)
        {
            double s = y[i] == 0 ? -1 : y[i];
            r[i] = name switch
            {
                "mape" when Math.Abs(r[i] - y[i]) < 1e-3 => r[i] + 0.01,
                "msle" when Math.Abs(r[i]) < 1e-3 => 0.2,
                "kld" when Math.Abs(r[i] - 1) < 1e-3 || Math.Abs(r[i]) < 1e-3 => r[i] + 0.01,
                "hinge" or "squared_hinge" when Math.Abs(1 - s * r[i]) < 1e-3 => r[i] + 0.05,
                _ => r[i],
            };
        }
        return r;
    }

    // ***** edge values *****

    [Fact]
    public void LogCosh_IsFiniteAndExactForHugeDifferences()
    {
        var f = new LogCosh<float>();
        var p = Tensor<float>.FromArray([1000f, -1000f, 1e30f], 3, 1);
        var y = new Tensor<float>(3, 1);
        var d = new Tensor<float>(3, 1);
        double v = f.ComputeWithGradient(p, y, d);
        Close((1000 - Math.Log(2) + 1000 - Math.Log(2) + (double)1e30f - Math.Log(2)) / 3, v, 1e-6);
        Assert.Equal(new[] { 1f / 3, -1f / 3, 1f / 3 }, d.ToArray());
        // Small x: log cosh x ≈ x²/2.
        Close(0.5e-8, new LogCosh<double>().Compute(Tensor<double>.FromArray([1e-4], 1, 1), new Tensor<double>(1, 1)), 1e-6);
    }

    [Fact]
    public void Mape_ZeroTargetDividesByEpsilon_AndEqualValuesHaveZeroGradient()
    {
        var mape = new MeanAbsolutePercentageError<double>();
        var p = Tensor<double>.FromArray([0.5, -2, 3], 1, 3);
        var y = Tensor<double>.FromArray([0, -4, 3], 1, 3);
        var d = new Tensor<double>(1, 3);
        Close((100 * 0.5 / 1e-7 + 100 * 0.5 + 0) / 3, mape.ComputeWithGradient(p, y, d));
        Close(100 / 1e-7 / 3, d[0]);
        Close(100 / 4.0 / 3, d[1]);     // p > y: +100/|y|
        Assert.Equal(0.0, d[2]);
    }

    [Fact]
    public void Msle_And_Kld_GradientIsZeroWherePredictionsAreClipped()
    {
        var d = new Tensor<double>(1, 2);
        new MeanSquaredLogarithmicError<double>().Gradient(Tensor<double>.FromArray([-3, 2], 1, 2), Tensor<double>.FromArray([1, 1], 1, 2), d);
        Assert.Equal(0.0, d[0]);
        Close(2 * (Math.Log(3) - Math.Log(2)) / 3 / 2, d[1]);
        var kld = new KLDivergence<double>();
        var p = Tensor<double>.FromArray([0, 1.5, 0.25], 1, 3);
        var y = Tensor<double>.FromArray([0.5, 0.25, 0.25], 1, 3);
        var dk = new Tensor<double>(1, 3);
        Close(0.5 * Math.Log(0.5 / 1e-7) + 0.25 * Math.Log(0.25) + 0, kld.ComputeWithGradient(p, y, dk));
        Assert.Equal(new[] { 0.0, 0.0, -1.0 }, dk.ToArray());
    }

    [Fact]
    public void CosineSimilarity_IsNegative_AndHandlesZeroNorms()
    {
        var cs = new CosineSimilarity<double>();
        var y = Tensor<double>.FromArray([1, 2, 2, 0, 0, 0], 2, 3);
        var p = Tensor<double>.FromArray([2, 4, 4, 1, 1, 1], 2, 3);
        var d = new Tensor<double>(2, 3);
        Close((-1 + 0) / 2.0, cs.ComputeWithGradient(p, y, d));
        // Parallel vectors: the gradient is orthogonal to p and zero here; a zero target contributes nothing.
        Assert.All(d.ToArray(), v => Assert.True(Math.Abs(v) < 1e-15, $"{v}"));
        // A zero prediction: p̂ = p / ε, so the gradient is −ŷ/ε / R and the loss 0.
        var d0 = new Tensor<double>(1, 3);
        Assert.Equal(0.0, cs.ComputeWithGradient(new Tensor<double>(1, 3), Tensor<double>.FromArray([3, 4, 0], 1, 3), d0));
        Close(-0.6 / 1e-7, d0[0]);
        Close(-0.8 / 1e-7, d0[1]);
    }

    [Fact]
    public void Hinge_MapsZeroOneLabelsLikeKeras()
    {
        var p = Tensor<double>.FromArray([0.3, -0.4, 2, -0.5], 2, 2);
        var h = new Hinge<double>();
        double v01 = h.Compute(p, Tensor<double>.FromArray([1, 0, 1, 0], 2, 2));
        double vpm = h.Compute(p, Tensor<double>.FromArray([1, -1, 1, -1], 2, 2));
        Assert.Equal(vpm, v01);
        Close((0.7 + 0.6 + 0 + 0.5) / 4, v01);
        Close((0.49 + 0.36 + 0 + 0.25) / 4, new SquaredHinge<double>().Compute(p, Tensor<double>.FromArray([1, 0, 1, 0], 2, 2)));
    }

    [Fact]
    public void CategoricalHinge_Value()
    {
        // Row 1: pos 0.2, neg max(0.5, 0.3) = 0.5 → 1.3; row 2: pos 3, neg 0.5 → max(−1.5, 0) = 0.
        var loss = new CategoricalHinge<double>().Compute(Tensor<double>.FromArray([0.2, 0.5, 0.3, 3, 0.5, 0.1], 2, 3),
            Tensor<double>.FromArray([1, 0, 0, 1, 0, 0], 2, 3));
        Close(1.3 / 2, loss);
    }

    // ***** names and bad input *****

    [Fact]
    public void KerasNamesAndAliases_Resolve()
    {
        Assert.IsType<MeanAbsolutePercentageError<float>>(LossFactory.Get<float>("mape"));
        Assert.IsType<MeanSquaredLogarithmicError<float>>(LossFactory.Get<float>("MSLE"));
        Assert.IsType<LogCosh<float>>(LossFactory.Get<float>("logcosh"));
        Assert.IsType<KLDivergence<float>>(LossFactory.Get<float>("kld"));
        Assert.IsType<KLDivergence<float>>(LossFactory.Get<float>("kullback_leibler_divergence"));
        foreach (var n in new[] { "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "log_cosh", "kl_divergence",
                     "poisson", "cosine_similarity", "hinge", "squared_hinge", "categorical_hinge" })
        {
            Assert.Contains(n, LossFactory.Names);
            Assert.Equal(n, LossFactory.Get<double>(n).Name);
        }
    }

    [Fact]
    public void BadTargets_AreRejectedWithValueIndexAndShapes()
    {
        var shape = new TensorShape(2, 2);
        var e = Assert.Throws<ArgumentException>(() => new KLDivergence<float>().ValidateTargets(shape, Tensor<float>.FromArray([0.5f, 1.5f, 0, 1], 2, 2)));
        Assert.Contains("1.5", e.Message);
        Assert.Contains("index 1", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Hinge<float>().ValidateTargets(shape, Tensor<float>.FromArray([0, 1, -1, 1], 2, 2)));
        Assert.Contains("index 0", e.Message);
        Assert.Contains("index 2", e.Message);
        e = Assert.Throws<ArgumentException>(() => new SquaredHinge<float>().ValidateTargets(shape, Tensor<float>.FromArray([0, 1, 0.5f, 1], 2, 2)));
        Assert.Contains("0.5", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Poisson<float>().ValidateTargets(shape, Tensor<float>.FromArray([0, 1, -2, 1], 2, 2)));
        Assert.Contains("-2", e.Message);
        e = Assert.Throws<ArgumentException>(() => new CosineSimilarity<float>().Compute(new Tensor<float>(4, 2), new Tensor<float>(4, 2, 1)));
        Assert.Contains("[4, 2, 1]", e.Message);
        Assert.Contains("[4, 2]", e.Message);
        e = Assert.Throws<ArgumentException>(() => new LogCosh<float>().Gradient(new Tensor<float>(4, 2), new Tensor<float>(4, 2), new Tensor<float>(4, 3)));
        Assert.Equal("dPrediction", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => new MeanAbsolutePercentageError<float>().ValidateTargets(shape, Tensor<float>.FromArray([0, float.NaN, 0, 1], 2, 2)));
        Assert.Contains("NaN", e.Message);
    }
}
