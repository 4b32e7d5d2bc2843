using System.Numerics;
using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using Nn.Simd.Tensors.Kernels;
using Nn.Simd.Training.Optimizers;

namespace Nn.Simd.Training.Tests;

/// <summary>
/// Nadam, Adamax, Adadelta and Lion: each kernel against its scalar reference (bitwise, every length), each optimizer
/// over several steps against a float64 transcription of Keras 3's <c>update_step</c>, names, defaults and bad arguments.
/// Parity with torch.optim is in Parity.Tests; checkpoint resume and config round trips are in <see cref="CheckpointTests"/>.
/// </summary>
public class NadamAdamaxAdadeltaLionTests
{
    // ***** kernels: vectorised path equals the scalar reference bitwise, every length *****

    public static IEnumerable<object[]> Lengths() => OptimizerTests.Lengths().Append([1000]);

    private static T[] Normal<T>(int n, int seed) where T : unmanaged, IFloatingPointIeee754<T> =>
        Tensor<T>.RandomNormal(new TensorShape(n + 1), seed).Span[..n].ToArray();

    private static T[] Uniform<T>(int n, int seed, double lo, double hi) where T : unmanaged, IFloatingPointIeee754<T> =>
        Tensor<T>.RandomUniform(new TensorShape(n + 1), seed, lo, hi).Span[..n].ToArray();

    private static T C<T>(double v) where T : unmanaged, IFloatingPointIeee754<T> => T.CreateChecked(v);

    [Theory]
    [MemberData(nameof(Lengths))]
    public void NadamUpdate_MatchesReference_AllLengths(int n)
    {
        NadamCase<float>(n);
        NadamCase<double>(n);
    }

    private static void NadamCase<T>(int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var g = Normal<T>(n, n);
        T[] m1 = Normal<T>(n, n + 1), m2 = (T[])m1.Clone();
        T[] v1 = Uniform<T>(n, n + 2, 0, 1), v2 = (T[])v1.Clone();
        T[] w1 = Normal<T>(n, n + 3), w2 = (T[])w1.Clone();
        NadamUpdate.Apply<T>(g, C<T>(2e-3), C<T>(7e-4), C<T>(0.9), C<T>(0.999), C<T>(1000.5), C<T>(1e-7), m1, v1, w1);
        NadamUpdate.ApplyReference<T>(g, C<T>(2e-3), C<T>(7e-4), C<T>(0.9), C<T>(0.999), C<T>(1000.5), C<T>(1e-7), m2, v2, w2);
        Assert.Equal(m2, m1);
        Assert.Equal(v2, v1);
        Assert.Equal(w2, w1);
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void AdamaxUpdate_MatchesReference_AllLengths(int n)
    {
        AdamaxCase<float>(n);
        AdamaxCase<double>(n);
    }

    private static void AdamaxCase<T>(int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var g = Normal<T>(n, n);
        T[] m1 = Normal<T>(n, n + 1), m2 = (T[])m1.Clone();
        // u around |g| so that both sides of the maximum win somewhere.
        T[] u1 = Uniform<T>(n, n + 2, 0, 1.5), u2 = (T[])u1.Clone();
        T[] w1 = Normal<T>(n, n + 3), w2 = (T[])w1.Clone();
        AdamaxUpdate.Apply<T>(g, C<T>(0.01), C<T>(0.9), C<T>(0.999), C<T>(1e-7), m1, u1, w1);
        AdamaxUpdate.ApplyReference<T>(g, C<T>(0.01), C<T>(0.9), C<T>(0.999), C<T>(1e-7), m2, u2, w2);
        Assert.Equal(m2, m1);
        Assert.Equal(u2, u1);
        Assert.Equal(w2, w1);
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void AdadeltaUpdate_MatchesReference_AllLengths(int n)
    {
        AdadeltaCase<float>(n);
        AdadeltaCase<double>(n);
    }

    private static void AdadeltaCase<T>(int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var g = Normal<T>(n, n);
        T[] a1 = Uniform<T>(n, n + 1, 0, 1), a2 = (T[])a1.Clone();
        T[] d1 = Uniform<T>(n, n + 2, 0, 0.01), d2 = (T[])d1.Clone();
        T[] w1 = Normal<T>(n, n + 3), w2 = (T[])w1.Clone();
        AdadeltaUpdate.Apply<T>(g, C<T>(0.5), C<T>(0.95), C<T>(1e-7), a1, d1, w1);
        AdadeltaUpdate.ApplyReference<T>(g, C<T>(0.5), C<T>(0.95), C<T>(1e-7), a2, d2, w2);
        Assert.Equal(a2, a1);
        Assert.Equal(d2, d1);
        Assert.Equal(w2, w1);
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void LionUpdate_MatchesReference_AllLengths(int n)
    {
        LionCase<float>(n);
        LionCase<double>(n);
    }

    private static void LionCase<T>(int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var g = Normal<T>(n, n);
        T[] m1 = Normal<T>(n, n + 1), m2 = (T[])m1.Clone();
        T[] w1 = Normal<T>(n, n + 3), w2 = (T[])w1.Clone();
        LionUpdate.Apply<T>(g, C<T>(1e-3), C<T>(0.9), C<T>(0.99), m1, w1);
        LionUpdate.ApplyReference<T>(g, C<T>(1e-3), C<T>(0.9), C<T>(0.99), m2, w2);
        Assert.Equal(m2, m1);
        Assert.Equal(w2, w1);
    }

    [Fact]
    public void LionUpdate_SignIsZeroForZero_NaNForNaN_OneForInfinity_InEveryLane()
    {
        // m = 0, so c = 0.1·g and the step is −lr·sign(g). The special values sit in the vector body and the tail.
        const int n = 37;
        float[] g = Normal<float>(n, 5);
        (int Index, float G, float Sign)[] specials = [(0, 0f, 0), (3, -0f, 0), (9, float.NaN, float.NaN), (17, float.PositiveInfinity, 1),
            (20, float.NegativeInfinity, -1), (33, 0f, 0), (35, float.NaN, float.NaN), (36, 1e-30f, 1)];
        foreach (var s in specials) g[s.Index] = s.G;
        foreach (bool reference in new[] { false, true })
        {
            float[] m = new float[n], w = new float[n];
            if (reference) LionUpdate.ApplyReference<float>(g, 0.5f, 0.9f, 0.99f, m, w);
            else LionUpdate.Apply<float>(g, 0.5f, 0.9f, 0.99f, m, w);
            for (int i = 0; i < n; i++)
            {
                int k = Array.FindIndex(specials, s => s.Index == i);
                float sign = k >= 0 ? specials[k].Sign : MathF.Sign(g[i]);
                Assert.True((-0.5f * sign).Equals(w[i]), $"reference={reference}, g[{i}] = {g[i]}: expected w {-0.5f * sign}, got {w[i]}");
            }
        }
    }

    [Fact]
    public void Kernels_ThrowForMismatchedLengths_NamingTheSpan()
    {
        var e = Assert.Throws<ArgumentException>(() => NadamUpdate.Apply<float>(new float[4], 1, 1, 0.9f, 0.999f, 1, 1e-7f, new float[4], new float[3], new float[4]));
        Assert.Equal("v", e.ParamName);
        Assert.Contains("length 3", e.Message);
        e = Assert.Throws<ArgumentException>(() => AdamaxUpdate.Apply<double>(new double[4], 1, 0.9, 0.999, 1e-7, new double[4], new double[5], new double[4]));
        Assert.Equal("u", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => AdadeltaUpdate.Apply<float>(new float[4], 1, 0.95f, 1e-7f, new float[4], new float[4], new float[2]));
        Assert.Equal("weights", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => LionUpdate.ApplyReference<float>(new float[4], 1, 0.9f, 0.99f, new float[1], new float[4]));
        Assert.Equal("m", e.ParamName);
    }

    // ***** several steps against a float64 transcription of Keras 3 *****

    /// <summary>One optimizer's Keras 3 update, written from keras/src/optimizers/*.py in float64, for one parameter.</summary>
    private abstract class KerasReference(int n)
    {
        protected readonly double[] S0 = new double[n], S1 = new double[n];
        public abstract void Step(double[] w, double[] g, double lr, long t);
    }

    private sealed class NadamReference(int n, double b1, double b2, double eps) : KerasReference(n)
    {
        private double _uProduct = 1;

        public override void Step(double[] w, double[] g, double lr, long t)
        {
            // _backend_update_step: u_product *= β1·(1 − 0.5·0.96^t), once per step before the variables.
            double ut = b1 * (1 - 0.5 * Math.Pow(0.96, t)), ut1 = b1 * (1 - 0.5 * Math.Pow(0.96, t + 1));
            _uProduct *= ut;
            double uProductT1 = _uProduct * ut1, beta2Power = Math.Pow(b2, t);
            for (int i = 0; i < w.Length; i++)
            {
                S0[i] += (g[i] - S0[i]) * (1 - b1);
                S1[i] += (g[i] * g[i] - S1[i]) * (1 - b2);
                double mHat = ut1 * S0[i] / (1 - uProductT1) + (1 - ut) * g[i] / (1 - _uProduct);
                double vHat = S1[i] / (1 - beta2Power);
                w[i] -= mHat * lr / (Math.Sqrt(vHat) + eps);
            }
        }
    }

    private sealed class AdamaxReference(int n, double b1, double b2, double eps) : KerasReference(n)
    {
        public override void Step(double[] w, double[] g, double lr, long t)
        {
            double beta1Power = Math.Pow(b1, t);
            for (int i = 0; i < w.Length; i++)
            {
                S0[i] += (g[i] - S0[i]) * (1 - b1);
                S1[i] = Math.Max(b2 * S1[i], Math.Abs(g[i]));
                w[i] -= lr * S0[i] / ((1 - beta1Power) * (S1[i] + eps));
            }
        }
    }

    private sealed class AdadeltaReference(int n, double rho, double eps) : KerasReference(n)
    {
        public override void Step(double[] w, double[] g, double lr, long t)
        {
            for (int i = 0; i < w.Length; i++)
            {
                S0[i] = rho * S0[i] + (1 - rho) * g[i] * g[i];
                double deltaVar = -Math.Sqrt(S1[i] + eps) * g[i] / Math.Sqrt(S0[i] + eps);
                S1[i] = rho * S1[i] + (1 - rho) * deltaVar * deltaVar;
                w[i] += lr * deltaVar;
            }
        }
    }

    private sealed class LionReference(int n, double b1, double b2) : KerasReference(n)
    {
        public override void Step(double[] w, double[] g, double lr, long t)
        {
            for (int i = 0; i < w.Length; i++)
            {
                w[i] -= lr * Math.Sign(S0[i] * b1 + g[i] * (1 - b1));
                S0[i] = S0[i] * b2 + g[i] * (1 - b2);
            }
        }
    }

    public static TheoryData<string, bool> ReferenceCases()
    {
        var data = new TheoryData<string, bool>();
        foreach (var name in new[] { "nadam", "nadam_defaults", "adamax", "adadelta", "adadelta_torch_defaults", "lion" })
            foreach (bool clipAndSchedule in new[] { false, true })
                data.Add(name, clipAndSchedule);
        return data;
    }

    private static (Optimizer Ours, KerasReference Reference) Make(string name, int n) => name switch
    {
        "nadam" => (new Nadam(0.01, 0.85, 0.99, 1e-4), new NadamReference(n, 0.85, 0.99, 1e-4)),
        "nadam_defaults" => (new Nadam(), new NadamReference(n, 0.9, 0.999, 1e-7)),
        "adamax" => (new Adamax(0.02, 0.8, 0.95, 1e-3), new AdamaxReference(n, 0.8, 0.95, 1e-3)),
        "adadelta" => (new Adadelta(), new AdadeltaReference(n, 0.95, 1e-7)),
        "adadelta_torch_defaults" => (new Adadelta(1.0, 0.9, 1e-6), new AdadeltaReference(n, 0.9, 1e-6)),
        "lion" => (new Lion(0.003, 0.8, 0.95), new LionReference(n, 0.8, 0.95)),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(ReferenceCases))]
    public void Optimizer_MatchesFloat64KerasFormula_OverSteps(string name, bool clipAndSchedule)
    {
        // 37 elements: whole vectors and a tail at every width. Gradients vary in scale so Adamax's maximum switches sides.
        const int n = 37, steps = 9;
        const double clip = 1.5;
        var (ours, reference) = Make(name, n);
        var (oursFloat, _) = Make(name, n);
        var schedule = new ExponentialDecay(3, 0.5);
        if (clipAndSchedule)
        {
            ours.ClipNorm = oursFloat.ClipNorm = clip;
            ours.Schedule = oursFloat.Schedule = schedule;
        }
        double[] w = Normal<double>(n, 11);
        var p = new Parameter<double>("w", Tensor<double>.FromArray(w));
        var pf = new Parameter<float>("w", Tensor<float>.FromArray(w.Select(x => (float)x).ToArray()));
        w = (double[])w.Clone();
        for (int t = 1; t <= steps; t++)
        {
            double[] g = Normal<double>(n, 100 + t);
            for (int i = 0; i < n; i++) g[i] *= t % 3 == 0 ? 0.05 : 2;
            g.CopyTo(p.Grad.Span);
            for (int i = 0; i < n; i++) pf.Grad.Span[i] = (float)g[i];
            double lr = ours.LearningRate;
            if (clipAndSchedule)
            {
                double norm = Math.Sqrt(g.Sum(x => x * x));
                if (norm > clip) for (int i = 0; i < n; i++) g[i] *= clip / norm;
                lr *= Math.Pow(0.5, (t - 1) / 3.0);
            }
            reference.Step(w, g, lr, t);
            ours.Step([p]);
            oursFloat.Step([pf]);

            var r = Tolerance.Compare<double>(w, p.Value.ToArray(), 1e-12, 1e-14);
            Assert.True(r.Passed, $"{name} double, step {t}: {r}");
            // Float: the steps are rounded to ~1e-7 relative; over 9 steps the weights (order 1) agree to a few 1e-7.
            var rf = Tolerance.Compare<double>(w, pf.Value.ToArray().Select(x => (double)x).ToArray(), 1e-5, 1e-6);
            Assert.True(rf.Passed, $"{name} float, step {t}: {rf}");
        }
        Assert.Equal(steps, ours.Iterations);
        // The state is there to be saved: 2 slots (1 for Lion) of the parameter's shape.
        Assert.Equal(name == "lion" ? 1 : 2, ours.GetStateOf(p)!.Count);
    }

    [Fact]
    public void Nadam_FirstStep_UsesKeras3MomentumSchedule()
    {
        // t = 1, g = 1, defaults: u1 = 0.9·(1 − 0.5·0.96) = 0.468, u2 = 0.9·(1 − 0.5·0.9216) = 0.48528,
        // m = 0.1, v̂ = 1, m̂ = 0.48528·0.1/(1 − 0.468·0.48528) + 0.532·1/0.532. With Keras 2's / PyTorch's
        // 0.96^(0.004·t) the step would be ≈ 1.0611e-3 instead of 1.0628e-3.
        var p = new Parameter<double>("w", Tensor<double>.FromArray([1.0]));
        p.Grad[0] = 1;
        new Nadam().Step([p]);
        double mHat = 0.048528 / (1 - 0.468 * 0.48528) + 1;
        Assert.Equal(1 - 1e-3 * mHat / (1 + 1e-7), p.Value[0], 15);
    }

    [Fact]
    public void Nadam_AfterReset_RepeatsTheSameSteps()
    {
        // The running product of u_t must follow the step count back to 1.
        var opt = new Nadam(0.01);
        double[] Run()
        {
            var p = new Parameter<double>("w", Tensor<double>.FromArray([0.5, -0.5]));
            for (int t = 0; t < 5; t++) { p.Grad[0] = 1 + t; p.Grad[1] = -0.3; opt.Step([p]); }
            return p.Value.ToArray();
        }
        double[] first = Run();
        opt.Reset();
        Assert.Equal(first, Run());
    }

    [Theory]
    [InlineData("nadam")]
    [InlineData("adamax")]
    [InlineData("adadelta")]
    [InlineData("lion")]
    public void Step_DoesNotAllocate_AfterTheFirst(string name)
    {
        var opt = Optimizer.Get(name);
        Parameter<float>[] ps = [new("a", Tensor<float>.RandomNormal(new TensorShape(3, 40), 1)), new("b", Tensor<float>.RandomNormal(new TensorShape(7), 2))];
        foreach (var q in ps) q.Grad.Span.Fill(0.25f);
        opt.Step(ps);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++) opt.Step(ps);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    // ***** names, defaults, arguments *****

    [Fact]
    public void Get_ByKerasName_HasKerasDefaults()
    {
        Dictionary<string, string> Expected(params (string, string)[] kv) => kv.ToDictionary(x => x.Item1, x => x.Item2);
        Assert.Equal(Expected(("learning_rate", "0.001"), ("beta_1", "0.9"), ("beta_2", "0.999"), ("epsilon", "1E-07")), Optimizer.Get("nadam").GetConfig());
        Assert.Equal(Expected(("learning_rate", "0.001"), ("beta_1", "0.9"), ("beta_2", "0.999"), ("epsilon", "1E-07")), Optimizer.Get("Adamax").GetConfig());
        Assert.Equal(Expected(("learning_rate", "0.001"), ("rho", "0.95"), ("epsilon", "1E-07")), Optimizer.Get("adadelta").GetConfig());
        Assert.Equal(Expected(("learning_rate", "0.0001"), ("beta_1", "0.9"), ("beta_2", "0.99")), Optimizer.Get("LION").GetConfig());
        foreach (var (name, type) in new[] { ("nadam", typeof(Nadam)), ("adamax", typeof(Adamax)), ("adadelta", typeof(Adadelta)), ("lion", typeof(Lion)) })
        {
            var o = Optimizer.Get(name);
            Assert.IsType(type, o);
            Assert.Equal(name, o.Name);
            Assert.True(o.IsBuiltIn);
            // Missing keys take the same defaults.
            Assert.Equal(o.GetConfig(), Optimizer.FromConfig(name, new Dictionary<string, string>()).GetConfig());
        }
        var e = Assert.Throws<ArgumentException>(() => Optimizer.Get("lamb"));
        Assert.Contains("nadam, adamax, adadelta, lion", e.Message);
    }

    [Theory]
    [InlineData("nadam")]
    [InlineData("adamax")]
    [InlineData("adadelta")]
    [InlineData("lion")]
    public void Compile_WithOptimizerName_TrainsTheModel(string name)
    {
        var (x, labels, _) = TestData.Blobs(60, 2);
        var m = TestData.SmallMlp(3);
        m.Compile("sparse_categorical_crossentropy", name);
        Assert.Equal(name, m.Optimizer!.Name);
        m.Optimizer.LearningRate = name == "adadelta" ? 1.0 : 0.01;
        var before = m.Parameters.Select(q => q.Value.ToArray()).ToArray();
        var h = m.Fit(x, labels, epochs: 3, batchSize: 20, shuffle: false);
        Assert.Equal(9, m.Optimizer.Iterations);
        Assert.NotEqual(before, m.Parameters.Select(q => q.Value.ToArray()).ToArray());
        Assert.True(h["loss"][^1] < h["loss"][0], $"{name}: loss {h["loss"][0]} → {h["loss"][^1]}");
    }

    [Fact]
    public void Constructors_RejectBadArguments_NamingThemAndTheValue()
    {
        void Bad(Func<Optimizer> make, string param, string value)
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => make());
            Assert.Equal(param, e.ParamName);
            Assert.Contains(value, e.Message);
        }
        Bad(() => new Nadam(beta1: 1), "beta1", "1");
        Bad(() => new Nadam(beta2: -0.5), "beta2", "-0.5");
        Bad(() => new Nadam(epsilon: 0), "epsilon", "0");
        Bad(() => new Nadam(learningRate: double.NaN), "value", "NaN");
        Bad(() => new Adamax(beta1: 1.5), "beta1", "1.5");
        Bad(() => new Adamax(beta2: 1), "beta2", "1");
        Bad(() => new Adamax(epsilon: -1e-7), "epsilon", "-1E-07");
        Bad(() => new Adadelta(rho: 1), "rho", "1");
        Bad(() => new Adadelta(epsilon: double.PositiveInfinity), "epsilon", "Infinity");
        Bad(() => new Adadelta(learningRate: 0), "value", "0");
        Bad(() => new Lion(beta1: 0), "beta1", "signSGD");
        Bad(() => new Lion(beta1: 1.01), "beta1", "1.01");
        Bad(() => new Lion(beta2: -0.1), "beta2", "-0.1");
        // Lion's upper ends are allowed, as in Keras.
        Assert.Equal(1, new Lion(beta1: 1, beta2: 1).Beta1);

        var c = Assert.Throws<ArgumentException>(() => Optimizer.FromConfig("lion", new Dictionary<string, string> { ["epsilon"] = "1e-7" }));
        Assert.Contains("epsilon", c.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Optimizer.FromConfig("adadelta", new Dictionary<string, string> { ["rho"] = "2" }));
    }
}
