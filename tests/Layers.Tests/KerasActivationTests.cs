using Nn.Simd.Layers.Activations;
using Nn.Simd.Tensors;
using Nn.Simd.Training;

namespace Nn.Simd.Layers.Tests;

/// <summary>
/// The activations beyond relu/sigmoid/tanh/softmax/leaky_relu/gelu, against float64 references written from their
/// formulas: every length 0..70 (so every vector body and overlapping tail runs), special values, float within a
/// few ulp and double within 1e−14 relative; derivatives against the formulas and against finite differences.
/// </summary>
public class KerasActivationTests
{
    private const double SeluAlpha = 1.67326324, SeluScale = 1.05070098;

    /// <summary>e^x − 1: its Taylor series for |x| &lt; 0.1, where e^x − 1 would cancel.</summary>
    private static double ExpM1(double x)
    {
        if (Math.Abs(x) >= 0.1) return Math.Exp(x) - 1;
        double term = x, sum = x;
        for (int k = 2; k < 20; k++) { term *= x / k; sum += term; }
        return sum;
    }

    /// <summary>ln(1 + x) for x ≥ 0: its series for x &lt; 0.1.</summary>
    private static double Log1P(double x)
    {
        if (x >= 0.1) return Math.Log(1 + x);
        double power = x, sum = 0;
        for (int k = 1; k < 40; k++) { sum += (k % 2 == 1 ? power : -power) / k; power *= x; }
        return sum;
    }

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));
    private static double Softplus(double x) => x > 0 ? x + Log1P(Math.Exp(-x)) : Log1P(Math.Exp(x));
    private static double Clamp6(double v) => double.IsNaN(v) ? v : Math.Min(Math.Max(v, 0), 6);

    /// <summary>(name, f, f′, float ulp bound)</summary>
    public static readonly (string Name, Func<double, double> F, Func<double, double> D, double Ulps)[] Table =
    [
        ("elu", x => x > 0 ? x : ExpM1(x), x => x > 0 ? 1 : Math.Exp(x), 3),
        ("selu", x => SeluScale * (x > 0 ? x : SeluAlpha * ExpM1(x)), x => SeluScale * (x > 0 ? 1 : SeluAlpha * Math.Exp(x)), 3),
        ("silu", x => x * Sigmoid(x), x => Sigmoid(x) + x * Sigmoid(x) * (1 - Sigmoid(x)), 4),
        ("swish", x => x * Sigmoid(x), x => Sigmoid(x) + x * Sigmoid(x) * (1 - Sigmoid(x)), 4),
        ("softplus", Softplus, Sigmoid, 4),
        ("softsign", x => x / (1 + Math.Abs(x)), x => 1 / ((1 + Math.Abs(x)) * (1 + Math.Abs(x))), 3),
        ("hard_sigmoid", x => Clamp6(x + 3) / 6, x => x > -3 && x < 3 ? 1.0 / 6 : 0, 1),
        ("hard_silu", x => x * Clamp6(x + 3) / 6, x => x < -3 ? 0 : x <= 3 ? x / 3 + 0.5 : 1, 2),
        ("hard_swish", x => x * Clamp6(x + 3) / 6, x => x < -3 ? 0 : x <= 3 ? x / 3 + 0.5 : 1, 2),
        ("relu6", Clamp6, x => x > 0 && x < 6 ? 1 : 0, 0),
        ("mish", x => x * Math.Tanh(Softplus(x)), x => Math.Tanh(Softplus(x)) + x * Sigmoid(x) * (1 - Math.Tanh(Softplus(x)) * Math.Tanh(Softplus(x))), 4),
        ("exponential", Math.Exp, Math.Exp, 2),
    ];

    public static TheoryData<string> Names() => new(Table.Select(t => t.Name));

    /// <summary>Specials first, then a spread of normal values; slices of it at every length cover all lanes.</summary>
    private static double[] Pool()
    {
        double[] specials =
        [
            0, -0.0, 1e-30, -1e-30, 1e-8, -1e-8, 1e-3, -1e-3, 0.3, -0.3, 0.5, -0.5, 0.99, -0.99, 1, -1, 1.01, -1.01, 2.9999, -2.9999,
            3, -3, 3.0001, -3.0001, 5.999, 6, 6.001, -6, 15, -15, 20, -20, 30, -30, 40, -40, 45, -45, 86, -86, 87.5, -87.5,
            88.5, -88.5, 89, -89, 95, -95, 104, -104, 1e4, -1e4, 1e30, -1e30, float.MaxValue, -float.MaxValue,
            double.PositiveInfinity, double.NegativeInfinity, double.NaN,
        ];
        var rng = new Random(20240611);
        return [.. specials, .. Enumerable.Range(0, 80).Select(_ => (rng.NextDouble() - 0.5) * 16)];
    }

    private static double[] Slice(double[] pool, int n, int seed) => Enumerable.Range(0, n).Select(i => pool[(seed * 13 + i * 7) % pool.Length]).ToArray();

    private static void AssertFloat(string what, float x, double expected, float actual, double ulps, double absolute = 1e-35)
    {
        if (double.IsNaN(expected)) { Assert.True(float.IsNaN(actual), $"{what}({x:R}) = {actual:R}, expected NaN"); return; }
        float e = (float)expected;
        if (float.IsInfinity(e)) { Assert.True(actual == e, $"{what}({x:R}) = {actual:R}, expected {e}"); return; }
        double ulp = Math.Max(MathF.BitIncrement(Math.Abs(e)) - Math.Abs(e), float.Epsilon);
        double err = Math.Abs(actual - expected);
        // Results below 1e−35 in magnitude may be flushed (FastExp does not return subnormals).
        Assert.True(err <= Math.Max(ulps, 0.5) * ulp + absolute || (ulps == 0 && actual == e),
            $"{what}({x:R}) = {actual:R}, expected {expected:R}: {err / ulp:F2} ulp (bound {ulps})");
    }

    private static void AssertDouble(string what, double x, double expected, double actual, double rtol = 1e-14)
    {
        if (double.IsNaN(expected)) { Assert.True(double.IsNaN(actual), $"{what}({x:R}) = {actual:R}, expected NaN"); return; }
        if (double.IsInfinity(expected)) { Assert.True(actual == expected, $"{what}({x:R}) = {actual:R}, expected {expected}"); return; }
        Assert.True(Math.Abs(actual - expected) <= rtol * Math.Abs(expected) + 1e-300,
            $"{what}({x:R}) = {actual:R}, expected {expected:R}, relative error {Math.Abs(actual - expected) / Math.Abs(expected):G3}");
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Forward_Float_IsWithinItsUlpBound_AtEveryLength(string name)
    {
        var (_, f, _, ulps) = Table.Single(t => t.Name == name);
        var act = Activations.Activations.Get<float>(name);
        double[] pool = Pool();
        for (int n = 0; n <= 70; n++)
        {
            float[] x = Slice(pool, n, n).Select(v => (float)v).ToArray();
            float[] y = new float[n];
            act.Forward(x, y, Math.Max(n, 1));
            for (int i = 0; i < n; i++) AssertFloat($"{name} (n = {n}, i = {i})", x[i], f(x[i]), y[i], ulps);
            act.Forward(x, x, Math.Max(n, 1)); // in place
            Assert.Equal(y, x);
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Forward_Double_IsWithin1e14_AtEveryLength(string name)
    {
        var (_, f, _, _) = Table.Single(t => t.Name == name);
        var act = Activations.Activations.Get<double>(name);
        double[] pool = Pool();
        for (int n = 0; n <= 70; n++)
        {
            double[] x = Slice(pool, n, n);
            double[] y = new double[n];
            act.Forward(x, y, Math.Max(n, 1));
            for (int i = 0; i < n; i++) AssertDouble($"{name} (n = {n}, i = {i})", x[i], f(x[i]), y[i]);
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Backward_MatchesTheDerivativeFormula_InFloatAndDouble(string name)
    {
        var (_, f, d, ulps) = Table.Single(t => t.Name == name);
        var actF = Activations.Activations.Get<float>(name);
        var actD = Activations.Activations.Get<double>(name);
        double[] pool = Pool().Where(double.IsFinite).ToArray();
        var rng = new Random(5);
        for (int n = 0; n <= 70; n++)
        {
            double[] x = Slice(pool, n, n + 3).Select(v => (double)(float)v).ToArray();
            double[] dy = Enumerable.Range(0, n).Select(_ => (double)(float)(rng.NextDouble() * 2 - 1)).ToArray();
            double[] y = new double[n], dx = new double[n];
            actD.Forward(x, y, Math.Max(n, 1));
            actD.Backward(x, y, dy, dx, Math.Max(n, 1));
            float[] xf = x.Select(v => (float)v).ToArray(), dyf = dy.Select(v => (float)v).ToArray(), yf = new float[n], dxf = new float[n];
            actF.Forward(xf, yf, Math.Max(n, 1));
            actF.Backward(xf, yf, dyf, dxf, Math.Max(n, 1));
            for (int i = 0; i < n; i++)
            {
                double expected = dy[i] * d(x[i]);
                AssertDouble($"{name}' (n = {n}, i = {i})", x[i], expected, dx[i], 1e-13);
                // dy·f′ rounds once more in float, so one ulp more than the forward bound, plus 2^−23·|dy|: where f′
                // crosses zero (silu near −1.28, mish near −1.19) its O(1) terms cancel. Skipped where the float
                // forward overflows (exponential's derivative is read from y).
                if (float.IsFinite((float)f(x[i])))
                    AssertFloat($"{name}' (n = {n}, i = {i})", xf[i], expected, dxf[i], ulps + 1, 1.2e-7 * Math.Abs(dy[i]) + 1e-35);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Backward_MatchesFiniteDifferences(string name)
    {
        // Away from the kinks of relu6/hard_sigmoid/hard_silu (at −3, 0, 3, 6) by more than the step.
        // exponential: only up to ±5.5, or e^12 swamps every other term of the checked sum Σ g·y.
        double[] values = [-40, -12, -5.5, -2.7, -1.3, -0.6, -0.2, -1e-3, 1e-3, 0.2, 0.6, 1.3, 2.7, 4.5, 5.5, 12, 40];
        if (name == "exponential") values = values[2..^2];
        var x = Tensor<double>.FromArray(values, 1, values.Length);
        var report = GradientCheck.Check(new ActivationLayer<double>(name), x);
        Assert.True(report.Passed, $"{name}: {report}");
    }

    [Fact]
    public void LogSoftmax_MatchesTheMaxShiftedFormula_AtEveryRowLength()
    {
        var rng = new Random(11);
        var actF = Activations.Activations.Get<float>("log_softmax");
        var actD = Activations.Activations.Get<double>("log_softmax");
        for (int features = 1; features <= 70; features++)
        {
            // Two rows, the second shifted far up so an unshifted exp would overflow.
            double[] x = Enumerable.Range(0, 2 * features).Select(i => (rng.NextDouble() - 0.5) * 20 + (i >= features ? 1e3 : 0)).Select(v => (double)(float)v).ToArray();
            double[] expected = new double[x.Length];
            for (int r = 0; r < 2; r++)
            {
                var row = x.AsSpan(r * features, features);
                double max = row.ToArray().Max(), sum = row.ToArray().Sum(v => Math.Exp(v - max));
                for (int j = 0; j < features; j++) expected[r * features + j] = row[j] - max - Math.Log(sum);
            }
            double[] y = new double[x.Length];
            actD.Forward(x, y, features);
            float[] xf = x.Select(v => (float)v).ToArray(), yf = new float[x.Length];
            actF.Forward(xf, yf, features);
            for (int i = 0; i < x.Length; i++)
            {
                Assert.True(Math.Abs(y[i] - expected[i]) <= 1e-13 * Math.Max(1, Math.Abs(expected[i])), $"log_softmax double [{features}] {i}: {y[i]:R} vs {expected[i]:R}");
                // The result is a difference of values near 1e3: an absolute bound relative to the inputs' size.
                double scale = Math.Max(Math.Max(1, Math.Abs(expected[i])), Math.Abs(x[i - i % features]) + 10);
                Assert.True(Math.Abs(yf[i] - expected[i]) <= 3e-7 * scale, $"log_softmax float [{features}] {i}: {yf[i]:R} vs {expected[i]:R}");
            }
        }
        var check = GradientCheck.Check(new ActivationLayer<double>("log_softmax"), Tensor<double>.RandomNormal(new TensorShape(3, 7), seed: 4));
        Assert.True(check.Passed, check.ToString());
    }

    [Fact]
    public void Elu_Alpha_IsUsed_AndValidated()
    {
        var elu = new Elu<double>(0.5);
        double[] y = new double[2], dx = new double[2];
        elu.Forward([-2.0, 3.0], y, 2);
        Assert.Equal(0.5 * ExpM1(-2), y[0], 15);
        Assert.Equal(3.0, y[1]);
        elu.Backward([-2.0, 3.0], y, [1.0, 1.0], dx, 2);
        Assert.Equal(0.5 * Math.Exp(-2), dx[0], 15);
        Assert.Equal("elu:0.5", elu.Name);
        Assert.Equal("elu", new Elu<float>().Name);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new Elu<float>(-1));
        Assert.Equal("alpha", ex.ParamName);
        Assert.Contains("-1", ex.Message);
    }

    [Theory]
    [InlineData("elu:0.5", 0.5)]
    [InlineData("ELU:2", 2.0)]
    [InlineData("elu", 1.0)]
    public void Get_ReadsEluAlphaFromTheName(string name, double alpha)
    {
        var a = Assert.IsType<Elu<float>>(Activations.Activations.Get<float>(name));
        Assert.Equal(alpha, a.Alpha);
        Assert.Equal(a.Name, Activations.Activations.Get<float>(a.Name).Name);
        Assert.Equal(0.1, Assert.IsType<LeakyRelu<float>>(Activations.Activations.Get<float>("leaky_relu:0.1")).NegativeSlope);
    }

    [Theory]
    [InlineData("selu:2", "only elu and leaky_relu")]
    [InlineData("elu:abc", "not a number")]
    [InlineData("swishy", "Unknown activation")]
    public void Get_RejectsBadNames_NamingThem(string name, string message)
    {
        var ex = Assert.Throws<ArgumentException>(() => Activations.Activations.Get<float>(name));
        Assert.Equal("name", ex.ParamName);
        Assert.Contains(name, ex.Message);
        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void Get_UnknownName_ListsEveryName_AndEveryNameResolves()
    {
        var ex = Assert.Throws<ArgumentException>(() => new Dense<float>(4, "sofplus"));
        foreach (string n in Activations.Activations.Names)
        {
            Assert.Contains(n, ex.Message);
            var a = Activations.Activations.Get<float>(n);
            // Aliases resolve to the canonical Keras name; everything else reports its own name.
            string canonical = n switch { "swish" => "silu", "hard_swish" => "hard_silu", _ => n };
            Assert.Equal(canonical, a.Name);
        }
        foreach (var (name, _, _, _) in Table) Assert.Contains(name, Activations.Activations.Names);
        Assert.Contains("log_softmax", Activations.Activations.Names);
    }
}
