using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using Nn.Simd.Tensors.Kernels;
using Nn.Simd.Training.Optimizers;

namespace Nn.Simd.Training.Tests;

public class OptimizerTests
{
    private static Parameter<double> Param(params double[] values) => new("w", Tensor<double>.FromArray(values));

    /// <summary>Runs steps with the given gradients (one per step) on a single-element parameter starting at w0.</summary>
    private static double[] Run(Optimizer opt, double w0, params double[] grads)
    {
        var p = Param(w0);
        var list = new[] { p };
        var result = new double[grads.Length];
        for (int i = 0; i < grads.Length; i++)
        {
            p.Grad[0] = grads[i];
            opt.Step(list);
            result[i] = p.Value[0];
        }
        return result;
    }

    private static void Close(double expected, double actual, double rel = 1e-13) =>
        Assert.True(Math.Abs(expected - actual) <= rel * Math.Max(1e-300, Math.Abs(expected)), $"expected {expected:R}, got {actual:R}");

    [Fact]
    public void Sgd_Plain() => Assert.Equal([0.95, 0.9], Run(new Sgd(0.1), 1, 0.5, 0.5), new ToleranceComparer(1e-15));

    [Fact]
    public void Sgd_Momentum_KerasForm()
    {
        // v = 0.9v − 0.1g; w += v with g = 1: v = −0.1, −0.19, −0.271.
        var w = Run(new Sgd(0.1, momentum: 0.9), 1, 1, 1, 1);
        Close(0.9, w[0]); Close(0.71, w[1]); Close(0.439, w[2], 1e-12);
    }

    [Fact]
    public void Sgd_Nesterov_KerasForm()
    {
        // w += 0.9v − 0.1g after v = 0.9v − 0.1g: steps −0.19, −0.271.
        var w = Run(new Sgd(0.1, momentum: 0.9, nesterov: true), 1, 1, 1);
        Close(0.81, w[0]); Close(0.539, w[1], 1e-12);
    }

    [Fact]
    public void Sgd_Momentum_WhenLearningRateChanges_KeepsKerasVelocity()
    {
        // Keras: v1 = −0.1 (lr 0.1); then lr 0.01: v2 = 0.9·(−0.1) − 0.01 = −0.1, so w2 = −0.2.
        // PyTorch would rescale its buffer: b2 = 1.9, w2 = −0.1 − 0.019 = −0.119.
        var opt = new Sgd(0.1, momentum: 0.9);
        var p = Param(0);
        p.Grad[0] = 1; opt.Step(new[] { p });
        opt.LearningRate = 0.01;
        p.Grad[0] = 1; opt.Step(new[] { p });
        Close(-0.2, p.Value[0]);
    }

    [Fact]
    public void Sgd_RejectsNesterovWithoutMomentum() => Assert.Throws<ArgumentException>(() => new Sgd(0.1, 0, nesterov: true));

    [Fact]
    public void Adam_ThreeSteps_HandComputed()
    {
        var w = Run(new Adam(), 1, 1, -0.5, 2);
        Close(0.9990000031622677, w[0]); Close(0.9987336668762216, w[1]); Close(0.9980755561844408, w[2]);
    }

    [Fact]
    public void Adam_EqualsPyTorchFormWithTimeVaryingEpsilon()
    {
        // Keras' ε-hat form equals the bias-corrected (PyTorch) form with ε_t = ε / √(1 − β2^t) (REFERENCE.md §2.3).
        double[] grads = [0.3, -1.2, 0.7, 2.5, -0.1];
        var ours = Run(new Adam(0.01, 0.8, 0.99, 1e-3), 0.5, grads);
        double w = 0.5, m = 0, v = 0;
        for (int t = 1; t <= grads.Length; t++)
        {
            double g = grads[t - 1];
            m = 0.8 * m + 0.2 * g;
            v = 0.99 * v + 0.01 * g * g;
            double mHat = m / (1 - Math.Pow(0.8, t)), vHat = v / (1 - Math.Pow(0.99, t));
            w -= 0.01 * mHat / (Math.Sqrt(vHat) + 1e-3 / Math.Sqrt(1 - Math.Pow(0.99, t)));
            Close(w, ours[t - 1], 1e-12);
        }
    }

    [Fact]
    public void AdamW_ThreeSteps_HandComputed()
    {
        var w = Run(new AdamW(), 1, 1, -0.5, 2);
        Close(0.9989960031622677, w[0]); Close(0.9987256708922089, w[1]); Close(0.9980635652977445, w[2]);
    }

    [Fact]
    public void RmsProp_TwoSteps_HandComputed_EpsilonInsideSqrt()
    {
        var w = Run(new RmsProp(0.01), 1, 1, 0.5);
        Close(0.9683772392096927, w[0]); Close(0.9536330500047185, w[1]);
    }

    [Fact]
    public void RmsProp_MomentumAndCentered_HandComputed()
    {
        // Momentum 0.5, g = 1, 1: v = 0.1, 0.19; u = 0.01/√(v+ε); s = u1, then 0.5·u1 + u2.
        var w = Run(new RmsProp(0.01, momentum: 0.5), 0, 1, 1);
        double u1 = 0.01 / Math.Sqrt(0.1 + 1e-7), u2 = 0.01 / Math.Sqrt(0.19 + 1e-7);
        Close(-u1, w[0]); Close(-u1 - (0.5 * u1 + u2), w[1]);
        // Centred, g = 1: a = 0.1, v = 0.1, d = 0.1 − 0.01 + ε.
        var c = Run(new RmsProp(0.01, centered: true), 0, 1);
        Close(-0.01 / Math.Sqrt(0.09 + 1e-7), c[0], 1e-12);
    }

    [Fact]
    public void Adagrad_TwoSteps_HandComputed_AccumulatorStartsAt01_EpsilonInsideSqrt()
    {
        // Keras: a = 0.1 + g², then w −= lr·g/√(a + ε); g = 1 then 0.5.
        var w = Run(new Adagrad(0.1), 1, 1, 0.5);
        double a1 = 0.1 + 1, a2 = a1 + 0.25;
        double w1 = 1 - 0.1 * 1 / Math.Sqrt(a1 + 1e-7), w2 = w1 - 0.1 * 0.5 / Math.Sqrt(a2 + 1e-7);
        Close(w1, w[0], 1e-12); Close(w2, w[1], 1e-12);
        Assert.IsType<Adagrad>(Optimizer.Get("adagrad"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adagrad(initialAccumulatorValue: -1));
    }

    [Fact]
    public void Step_MarksParametersChanged_AndCountsIterations()
    {
        var p = Param(1, 2);
        var opt = new Adam();
        int v0 = p.Version;
        opt.Step(new[] { p });
        opt.Step(new[] { p });
        Assert.Equal(v0 + 2, p.Version);
        Assert.Equal(2, opt.Iterations);
        Assert.Equal(2, opt.GetStateOf(p)!.Count);
    }

    [Fact]
    public void ClipValue_ClampsEachElement()
    {
        var p = new Parameter<double>("w", new Tensor<double>(3));
        Tensor<double>.FromArray([-2, 0.3, 1]).CopyTo(p.Grad);
        new Sgd(1) { ClipValue = 0.5 }.Step(new[] { p });
        Assert.Equal([0.5, -0.3, -0.5], p.Value.ToArray(), new ToleranceComparer(1e-15));
    }

    [Fact]
    public void ClipNorm_RescalesEachParameterSeparately()
    {
        var a = new Parameter<double>("a", new Tensor<double>(2));
        var b = new Parameter<double>("b", new Tensor<double>(1));
        Tensor<double>.FromArray([3, 4]).CopyTo(a.Grad);
        b.Grad[0] = 0.1;
        new Sgd(1) { ClipNorm = 1 }.Step(new[] { a, b });
        Assert.Equal([-0.6, -0.8], a.Value.ToArray(), new ToleranceComparer(1e-15));
        Assert.Equal(-0.1, b.Value[0], 15);
    }

    [Fact]
    public void GlobalClipNorm_RescalesAllTogether()
    {
        var a = new Parameter<double>("a", new Tensor<double>(2));
        var b = new Parameter<double>("b", new Tensor<double>(1));
        Tensor<double>.FromArray([3, 4]).CopyTo(a.Grad);
        b.Grad[0] = 12; // global norm 13
        new Sgd(1) { GlobalClipNorm = 1 }.Step(new[] { a, b });
        Assert.Equal([-3 / 13.0, -4 / 13.0], a.Value.ToArray(), new ToleranceComparer(1e-15));
        Assert.Equal(-12 / 13.0, b.Value[0], 15);
    }

    [Fact]
    public void Clipping_OnlyOneOptionAtATime()
    {
        var opt = new Sgd { ClipNorm = 1 };
        Assert.Throws<InvalidOperationException>(() => opt.ClipValue = 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd { ClipValue = -1 });
    }

    [Fact]
    public void Schedules_Values()
    {
        var inv = new InverseTimeDecay(0.5);
        Close(1, inv.GetLearningRate(1, 0)); Close(1 / 1.5, inv.GetLearningRate(1, 1)); Close(0.5, inv.GetLearningRate(1, 2));
        Close(1 / 1.5, new InverseTimeDecay(0.5, 10, staircase: true).GetLearningRate(1, 19));
        Close(Math.Sqrt(0.5), new ExponentialDecay(10, 0.5).GetLearningRate(1, 5));
        Close(1, new ExponentialDecay(10, 0.5, staircase: true).GetLearningRate(1, 9));
        Close(0.25, new ExponentialDecay(10, 0.5, staircase: true).GetLearningRate(1, 20));
        double[] step = [1, 1, 0.1, 0.1, 0.01];
        for (int i = 0; i < 5; i++) Close(step[i], new StepDecay(2, 0.1).GetLearningRate(1, i), 1e-12);
        var cos = new CosineDecay(10, alpha: 0.1);
        Close(1, cos.GetLearningRate(1, 0)); Close(0.55, cos.GetLearningRate(1, 5), 1e-12); Close(0.1, cos.GetLearningRate(1, 10)); Close(0.1, cos.GetLearningRate(1, 30));
    }

    [Fact]
    public void Schedule_IsAppliedPerStep_NnfsDecay()
    {
        // nnfs: lr_t = lr / (1 + decay·t) with t = updates so far. lr 1, decay 1, g = 1: steps 1, 1/2, 1/3.
        var w = Run(new Sgd(1) { Schedule = new InverseTimeDecay(1) }, 0, 1, 1, 1);
        Close(-1, w[0]); Close(-1.5, w[1]); Close(-1.5 - 1 / 3.0, w[2]);
    }

    // ***** kernels: vectorised path equals the scalar reference bitwise, every length *****

    public static IEnumerable<object[]> Lengths() => Enumerable.Range(0, 70).Concat([127, 128, 129, 6 * 16 + 7]).Select(n => new object[] { n });

    [Theory]
    [MemberData(nameof(Lengths))]
    public void AdamUpdate_MatchesReference_AllLengths(int n)
    {
        AdamCase<float>(n);
        AdamCase<double>(n);
    }

    private static void AdamCase<T>(int n) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var g = Tensor<T>.RandomNormal(new TensorShape(Math.Max(n, 1)), n + 1).Span[..n].ToArray();
        T[] m1 = Tensor<T>.RandomNormal(new TensorShape(Math.Max(n, 1)), n + 2).Span[..n].ToArray(), m2 = (T[])m1.Clone();
        T[] v1 = Tensor<T>.RandomUniform(new TensorShape(Math.Max(n, 1)), n + 3, 0, 1).Span[..n].ToArray(), v2 = (T[])v1.Clone();
        T[] w1 = Tensor<T>.RandomNormal(new TensorShape(Math.Max(n, 1)), n + 4).Span[..n].ToArray(), w2 = (T[])w1.Clone();
        T a = T.CreateChecked(3e-3), b1 = T.CreateChecked(0.9), b2 = T.CreateChecked(0.999), e = T.CreateChecked(1e-7), d = T.CreateChecked(4e-6);
        AdamUpdate.Apply<T>(g, a, b1, b2, e, d, m1, v1, w1);
        AdamUpdate.ApplyReference<T>(g, a, b1, b2, e, d, m2, v2, w2);
        Assert.Equal(m2, m1);
        Assert.Equal(v2, v1);
        Assert.Equal(w2, w1);
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void SgdUpdate_MatchesReference_AllLengths(int n)
    {
        foreach (var (mu, nesterov) in new[] { (0.0f, false), (0.9f, false), (0.9f, true) })
        {
            var g = Tensor<float>.RandomNormal(new TensorShape(n + 1), n).Span[..n].ToArray();
            float[] v1 = Tensor<float>.RandomNormal(new TensorShape(n + 1), n + 7).Span[..n].ToArray(), v2 = (float[])v1.Clone();
            float[] w1 = Tensor<float>.RandomNormal(new TensorShape(n + 1), n + 8).Span[..n].ToArray(), w2 = (float[])w1.Clone();
            SgdUpdate.Apply<float>(g, 0.01f, mu, nesterov, v1, w1);
            SgdUpdate.ApplyReference<float>(g, 0.01f, mu, nesterov, v2, w2);
            Assert.Equal(v2, v1);
            Assert.Equal(w2, w1);
        }
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void RmsPropUpdate_MatchesReference_AllLengths(int n)
    {
        foreach (var (mu, centered) in new[] { (0.0, false), (0.5, false), (0.0, true), (0.5, true) })
        {
            var g = Tensor<double>.RandomNormal(new TensorShape(n + 1), n).Span[..n].ToArray();
            double[] v1 = Tensor<double>.RandomUniform(new TensorShape(n + 1), n + 5, 0.5, 1).Span[..n].ToArray(), v2 = (double[])v1.Clone();
            double[] a1 = Tensor<double>.RandomUniform(new TensorShape(n + 1), n + 6, -0.1, 0.1).Span[..n].ToArray(), a2 = (double[])a1.Clone();
            double[] s1 = Tensor<double>.RandomNormal(new TensorShape(n + 1), n + 7).Span[..n].ToArray(), s2 = (double[])s1.Clone();
            double[] w1 = Tensor<double>.RandomNormal(new TensorShape(n + 1), n + 8).Span[..n].ToArray(), w2 = (double[])w1.Clone();
            RmsPropUpdate.Apply<double>(g, 0.01, 0.9, mu, 1e-7, centered, v1, a1, s1, w1);
            RmsPropUpdate.ApplyReference<double>(g, 0.01, 0.9, mu, 1e-7, centered, v2, a2, s2, w2);
            Assert.Equal(v2, v1); Assert.Equal(a2, a1); Assert.Equal(s2, s1); Assert.Equal(w2, w1);
        }
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void AmsGradUpdate_MatchesReference_AllLengths(int n)
    {
        var g = Tensor<float>.RandomNormal(new TensorShape(n + 1), n).Span[..n].ToArray();
        float[] m1 = Tensor<float>.RandomNormal(new TensorShape(n + 1), n + 1).Span[..n].ToArray(), m2 = (float[])m1.Clone();
        float[] v1 = Tensor<float>.RandomUniform(new TensorShape(n + 1), n + 2, 0, 1).Span[..n].ToArray(), v2 = (float[])v1.Clone();
        float[] h1 = Tensor<float>.RandomUniform(new TensorShape(n + 1), n + 3, 0, 1).Span[..n].ToArray(), h2 = (float[])h1.Clone();
        float[] w1 = Tensor<float>.RandomNormal(new TensorShape(n + 1), n + 4).Span[..n].ToArray(), w2 = (float[])w1.Clone();
        AdamUpdate.Apply<float>(g, 0.01f, 0.9f, 0.999f, 1e-7f, 0, m1, v1, h1, w1);
        AdamUpdate.ApplyReference<float>(g, 0.01f, 0.9f, 0.999f, 1e-7f, 0, m2, v2, h2, w2);
        Assert.Equal(m2, m1); Assert.Equal(v2, v1); Assert.Equal(h2, h1); Assert.Equal(w2, w1);
        for (int i = 0; i < n; i++) Assert.True(h1[i] >= v1[i]);
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void AdagradUpdate_MatchesReference_AllLengths(int n)
    {
        var g = Tensor<float>.RandomNormal(new TensorShape(n + 1), n).Span[..n].ToArray();
        float[] a1 = Tensor<float>.RandomUniform(new TensorShape(n + 1), n + 5, 0.1, 1).Span[..n].ToArray(), a2 = (float[])a1.Clone();
        float[] w1 = Tensor<float>.RandomNormal(new TensorShape(n + 1), n + 8).Span[..n].ToArray(), w2 = (float[])w1.Clone();
        AdagradUpdate.Apply<float>(g, 0.01f, 1e-7f, a1, w1);
        AdagradUpdate.ApplyReference<float>(g, 0.01f, 1e-7f, a2, w2);
        Assert.Equal(a2, a1);
        Assert.Equal(w2, w1);
        Assert.Throws<ArgumentException>(() => AdagradUpdate.Apply<float>(new float[4], 1, 1e-7f, new float[3], new float[4]));
    }

    [Fact]
    public void Kernels_ThrowForMismatchedLengths()
    {
        var ex = Assert.Throws<ArgumentException>(() => AdamUpdate.Apply<float>(new float[4], 1, 0.9f, 0.999f, 1e-7f, 0, new float[4], new float[3], new float[4]));
        Assert.Contains("v has length 3", ex.Message);
        Assert.Throws<ArgumentException>(() => SgdUpdate.Apply<float>(new float[4], 1, 0.9f, false, new float[2], new float[4]));
        Assert.Throws<ArgumentException>(() => RmsPropUpdate.Apply<float>(new float[4], 1, 0.9f, 0, 1e-7f, true, new float[4], default, default, new float[4]));
    }

    private sealed class ToleranceComparer(double tol) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tol;
        public int GetHashCode(double obj) => 0;
    }
}
