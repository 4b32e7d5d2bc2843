using Nn.Simd.Layers;
using Nn.Simd.Layers.Regularizers;
using Nn.Simd.Tensors;
using Nn.Simd.Training.Optimizers;

namespace Nn.Simd.Training.Tests;

/// <summary>Weight penalties (Keras' kernel/recurrent/bias regularizers, the nnfs book's L1/L2): value, gradient,
/// their effect on a training step, and persistence.</summary>
public sealed class RegularizerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nn-reg").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(0.01, 0.0)]
    [InlineData(0.0, 0.02)]
    [InlineData(0.03, 0.005)]
    public void Gradient_MatchesFiniteDifferencesOfThePenalty(double l1, double l2)
    {
        var r = new Regularizer(l1, l2);
        var w = Tensor<double>.RandomNormal(new TensorShape(40), seed: 1).ToArray();
        var g = new double[w.Length];
        r.AddGradient<double>(w, g);
        for (int i = 0; i < w.Length; i++)
        {
            var plus = (double[])w.Clone(); plus[i] += 1e-6;
            var minus = (double[])w.Clone(); minus[i] -= 1e-6;
            Assert.Equal((r.Penalty<double>(plus) - r.Penalty<double>(minus)) / 2e-6, g[i], 6);
        }
        Assert.Equal(w.Sum(v => l1 * Math.Abs(v) + l2 * v * v), r.Penalty<double>(w), 12);
        var zero = new double[1];
        r.AddGradient<double>([0.0], zero);
        Assert.Equal(0.0, zero[0]);
    }

    [Fact]
    public void Names_RoundTrip_AndBadOnesAreRejected()
    {
        foreach (var r in new[] { Regularizer.Lasso(0.5), Regularizer.Ridge(5e-4), new Regularizer(0.01, 0.02) })
        {
            var back = Regularizer.Get(r.Name);
            Assert.Equal((r.L1, r.L2), (back.L1, back.L2));
        }
        Assert.Equal((0.0, 0.01), (Regularizer.Get("l2").L1, Regularizer.Get("l2").L2));
        Assert.Equal((0.01, 0.01), (Regularizer.Get("L1_L2").L1, Regularizer.Get("L1_L2").L2));
        Assert.Throws<ArgumentException>(() => Regularizer.Get("l3"));
        Assert.Throws<ArgumentException>(() => Regularizer.Get("l2:-1"));
        Assert.Throws<ArgumentException>(() => Regularizer.Get("l2:0.1,0.2"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Regularizer(l2: double.NaN));
    }

    [Fact]
    public void SgdStep_SubtractsThePenaltyGradient_AndTheLossIncludesThePenalty()
    {
        var (x, labels, _) = TestData.Blobs(32, 2);
        Sequential Make(bool regularized)
        {
            var dense = new Dense<float>(3, "softmax");
            if (regularized) { dense.KernelRegularizer = Regularizer.Ridge(0.05); dense.BiasRegularizer = Regularizer.Lasso(0.1); }
            var m = new Sequential(new Dense<float>(4, "tanh"), dense) { Seed = 7 };
            m.Compile("sparse_categorical_crossentropy", new Sgd(0.1));
            m.Build(2);
            // A non-zero bias so the L1 term has a sign to follow.
            TensorPrimitives.Add(m.Parameters[3].Value.Span, 0.3f, m.Parameters[3].Value.Span);
            return m;
        }
        var plain = Make(false);
        var reg = Make(true);
        var w0 = reg.Parameters[2].Value.ToArray();
        var b0 = reg.Parameters[3].Value.ToArray();
        double penalty = reg.RegularizationLoss();
        Assert.Equal(w0.Sum(v => 0.05 * (double)v * v) + b0.Sum(v => 0.1 * Math.Abs((double)v)), penalty, 6);
        Assert.Equal(penalty, reg.Evaluate(x, labels)["loss"] - plain.Evaluate(x, labels)["loss"], 5);

        double plainLoss = plain.TrainOnBatch(x, labels)["loss"];
        double regLoss = reg.TrainOnBatch(x, labels)["loss"];
        Assert.Equal(plainLoss + penalty, regLoss, 5);
        // w₁ = w₀ − lr·(g + 2·l2·w₀) and b₁ = b₀ − lr·(g + l1·sign(b₀)): the difference from the plain step.
        var wPlain = plain.Parameters[2].Value.ToArray();
        var wReg = reg.Parameters[2].Value.ToArray();
        for (int i = 0; i < w0.Length; i++) Assert.Equal(wPlain[i] - 0.1f * 2 * 0.05f * w0[i], wReg[i], 5);
        var bPlain = plain.Parameters[3].Value.ToArray();
        var bReg = reg.Parameters[3].Value.ToArray();
        for (int i = 0; i < b0.Length; i++) Assert.Equal(bPlain[i] - 0.1f * 0.1f * Math.Sign(b0[i]), bReg[i], 5);
        // The first layer has no penalty: same step in both models.
        Assert.Equal(plain.Parameters[0].Value.ToArray(), reg.Parameters[0].Value.ToArray());

        // A frozen layer's penalty is neither counted nor applied.
        ((Layer<float>)reg.Layers[1]).Trainable = false;
        Assert.Equal(0, reg.RegularizationLoss());
    }

    [Fact]
    public void Regularizers_AreSaved_AndCopiedToTheBackwardLayerOfABidirectional()
    {
        var lstm = new Lstm<float>(3) { KernelRegularizer = Regularizer.Ridge(1e-3), RecurrentRegularizer = Regularizer.Lasso(2e-3), BiasRegularizer = new Regularizer(1e-4, 2e-4) };
        var bi = new Bidirectional<float>(lstm);
        Assert.Equal("l1:0.002", bi.BackwardLayer.RecurrentRegularizer!.Name);
        var model = new Sequential(bi, new Dense<float>(1) { KernelRegularizer = Regularizer.Get("l2:0.0005") }) { Seed = 1 };
        model.Build(4, 2);
        // Both directions' kernel, recurrent kernel and bias, and the Dense kernel; not the Dense bias.
        Assert.All(model.Parameters.Take(7), p => Assert.NotNull(p.Regularizer));
        Assert.Null(model.Parameters[7].Regularizer);
        string path = Path.Combine(_dir, "reg.safetensors");
        model.Save(path);
        var loaded = Sequential.Load(path);
        Assert.Equal(model.Parameters.Select(p => p.Regularizer?.Name), loaded.Parameters.Select(p => p.Regularizer?.Name));
        Assert.Equal(model.RegularizationLoss(), loaded.RegularizationLoss());
        Assert.Equal("l1_l2:0.0001,0.0002", lstm.GetConfig()["bias_regularizer"]);
        Assert.Equal("l2:0.0005", model.Layers[1].GetConfig()["kernel_regularizer"]);
    }
}
