using Nn.Simd.Layers;
using Nn.Simd.Layers.Constraints;
using Nn.Simd.Layers.Regularizers;
using Nn.Simd.Tensors;
using Nn.Simd.Training.Optimizers;

namespace Nn.Simd.Training.Tests;

/// <summary>
/// Keras' <c>embeddings_regularizer</c>/<c>embeddings_constraint</c> on Embedding and <c>gamma_regularizer</c>,
/// <c>beta_regularizer</c>, <c>gamma_constraint</c>, <c>beta_constraint</c> on BatchNormalization and LayerNormalization:
/// the penalty joins the loss and its gradient the SGD step (against a plain twin model), the constraints hold after every
/// step and are the projection of the plain step, and the options survive save and load.
/// </summary>
public sealed class LayerWeightOptionsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nn-weightopts").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const float Lr = 0.1f;

    /// <summary>Token sequences [n, 5] over a vocabulary of 12 that never use tokens 10 and 11, and a target from them.</summary>
    private static (Tensor<float> X, Tensor<float> Y) Tokens(int n)
    {
        var rng = new Random(3);
        var x = new Tensor<float>(n, 5);
        var y = new Tensor<float>(n, 1);
        for (int i = 0; i < n; i++)
        {
            for (int t = 0; t < 5; t++) x[i, t] = rng.Next(10);
            y[i, 0] = x[i, 0] > 4 ? 1 : 0;
        }
        return (x, y);
    }

    private static Sequential EmbeddingModel(Regularizer? regularizer, Constraint? constraint)
    {
        var emb = new Embedding<float>(12, 3, embeddingsInitializer: new Layers.Initializers.RandomUniform(-0.5, 0.5))
        {
            EmbeddingsRegularizer = regularizer,
            EmbeddingsConstraint = constraint,
        };
        var m = new Sequential(emb, new GlobalAveragePooling1D<float>(), new Dense<float>(1, "sigmoid")) { Seed = 9 };
        m.Compile("binary_crossentropy", new Sgd(Lr));
        m.Build(5);
        return m;
    }

    /// <summary>w₁ = w_plain − lr·(2·l2·w₀ + l1·sign(w₀)): the regularized step differs from the plain one by the penalty's gradient.</summary>
    private static void AssertPenaltyStep(float[] w0, float[] plain, float[] reg, double l1, double l2)
    {
        for (int i = 0; i < w0.Length; i++)
            Assert.Equal(plain[i] - Lr * (float)(2 * l2 * w0[i] + l1 * Math.Sign(w0[i])), reg[i], 6);
    }

    [Fact]
    public void EmbeddingsRegularizer_JoinsTheLoss_AndItsGradientTheStep_OnEveryRow()
    {
        var (x, y) = Tokens(16);
        var plain = EmbeddingModel(null, null);
        var reg = EmbeddingModel(new Regularizer(0.01, 0.2), null);
        var e0 = reg.Parameters[0].Value.ToArray();
        double penalty = e0.Sum(v => 0.01 * Math.Abs((double)v) + 0.2 * (double)v * v);
        Assert.Equal(penalty, reg.RegularizationLoss(), 6);
        Assert.Equal(penalty, reg.Evaluate(x, y)["loss"] - plain.Evaluate(x, y)["loss"], 5);
        Assert.Equal(plain.TrainOnBatch(x, y)["loss"] + penalty, reg.TrainOnBatch(x, y)["loss"], 5);
        var ePlain = plain.Parameters[0].Value.ToArray();
        var eReg = reg.Parameters[0].Value.ToArray();
        AssertPenaltyStep(e0, ePlain, eReg, 0.01, 0.2);
        // Rows 10 and 11 are never looked up: only the penalty moves them, as Keras' penalty on the whole table does.
        for (int i = 30; i < 36; i++)
        {
            Assert.Equal(e0[i], ePlain[i]);
            Assert.NotEqual(e0[i], eReg[i]);
        }
        Assert.Equal("l1_l2:0.01,0.2", reg.Layers[0].GetConfig()["embeddings_regularizer"]);
    }

    [Fact]
    public void EmbeddingsConstraint_HoldsAfterEveryStep_AndIsTheProjectionOfThePlainStep()
    {
        var (x, y) = Tokens(16);
        var constraint = new MaxNorm(0.3, axis: 1);   // each token's vector
        var plain = EmbeddingModel(null, null);
        var model = EmbeddingModel(null, constraint);
        plain.Parameters[0].Value.ReadOnlySpan.CopyTo(model.Parameters[0].Value.Span);
        plain.TrainOnBatch(x, y);
        model.TrainOnBatch(x, y);
        var projected = plain.Parameters[0].Value.Clone();
        constraint.Apply(projected);
        Assert.Equal(projected.ToArray(), model.Parameters[0].Value.ToArray());
        bool exceeded = false;
        for (int step = 0; step < 5; step++)
        {
            model.TrainOnBatch(x, y);
            plain.TrainOnBatch(x, y);
            var e = model.Parameters[0].Value;
            var f = plain.Parameters[0].Value;
            for (int r = 0; r < 12; r++)
            {
                Assert.True(RowNorm(e, r) <= 0.3 * (1 + 1e-6), $"step {step}: row {r} has norm {RowNorm(e, r)}");
                exceeded |= RowNorm(f, r) > 0.3;
            }
        }
        Assert.True(exceeded, "without the constraint some row should exceed 0.3");
    }

    private static double RowNorm(Tensor<float> t, int r) =>
        Math.Sqrt(Enumerable.Range(0, t.Shape[1]).Sum(j => (double)t[r, j] * t[r, j]));

    private static Sequential NormModel(bool batchNorm, Action<NormalizationLayer<float>>? options)
    {
        NormalizationLayer<float> norm = batchNorm ? new BatchNormalization<float>() : new LayerNormalization<float>();
        options?.Invoke(norm);
        var m = new Sequential(new Dense<float>(4, "tanh"), norm, new Dense<float>(3, "softmax")) { Seed = 11 };
        m.Compile("sparse_categorical_crossentropy", new Sgd(Lr));
        m.Build(2);
        // β away from 0 (and γ not all equal), so the L1 terms have signs to follow.
        var gamma = m.Parameters[2].Value.Span;
        var beta = m.Parameters[3].Value.Span;
        for (int j = 0; j < 4; j++) { gamma[j] = 1 + 0.3f * (j - 1.5f); beta[j] = 0.2f * (j - 1.5f); }
        return m;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void GammaAndBetaRegularizers_JoinTheLoss_AndTheirGradientsTheStep(bool batchNorm)
    {
        var (x, labels, _) = TestData.Blobs(24, 8);
        var plain = NormModel(batchNorm, null);
        var reg = NormModel(batchNorm, n => { n.GammaRegularizer = Regularizer.Ridge(0.05); n.BetaRegularizer = Regularizer.Lasso(0.02); });
        Assert.Equal("gamma", reg.Parameters[2].Name);
        Assert.Equal("beta", reg.Parameters[3].Name);
        var g0 = reg.Parameters[2].Value.ToArray();
        var b0 = reg.Parameters[3].Value.ToArray();
        double penalty = g0.Sum(v => 0.05 * (double)v * v) + b0.Sum(v => 0.02 * Math.Abs((double)v));
        Assert.Equal(penalty, reg.RegularizationLoss(), 6);
        Assert.Equal(penalty, reg.Evaluate(x, labels)["loss"] - plain.Evaluate(x, labels)["loss"], 5);
        Assert.Equal(plain.TrainOnBatch(x, labels)["loss"] + penalty, reg.TrainOnBatch(x, labels)["loss"], 5);
        AssertPenaltyStep(g0, plain.Parameters[2].Value.ToArray(), reg.Parameters[2].Value.ToArray(), 0, 0.05);
        AssertPenaltyStep(b0, plain.Parameters[3].Value.ToArray(), reg.Parameters[3].Value.ToArray(), 0.02, 0);
        // The layers without a penalty step as in the plain model.
        Assert.Equal(plain.Parameters[0].Value.ToArray(), reg.Parameters[0].Value.ToArray());
        var config = reg.Layers[1].GetConfig();
        Assert.Equal("l2:0.05", config["gamma_regularizer"]);
        Assert.Equal("l1:0.02", config["beta_regularizer"]);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void GammaAndBetaConstraints_HoldAfterEveryStep_AndAreTheProjectionOfThePlainStep(bool batchNorm)
    {
        var (x, labels, _) = TestData.Blobs(24, 8);
        var gammaConstraint = new MinMaxNorm(0.5, 1.0);   // ‖γ‖ in [0.5, 1]; γ starts with norm ≈ 2.1
        var betaConstraint = new NonNeg();
        var plain = NormModel(batchNorm, null);
        var model = NormModel(batchNorm, n => { n.GammaConstraint = gammaConstraint; n.BetaConstraint = betaConstraint; });
        plain.TrainOnBatch(x, labels);
        model.TrainOnBatch(x, labels);
        var g = plain.Parameters[2].Value.Clone();
        var b = plain.Parameters[3].Value.Clone();
        gammaConstraint.Apply(g);
        betaConstraint.Apply(b);
        Assert.Equal(g.ToArray(), model.Parameters[2].Value.ToArray());
        Assert.Equal(b.ToArray(), model.Parameters[3].Value.ToArray());
        Assert.Contains(plain.Parameters[3].Value.ToArray(), v => v < 0);
        for (int step = 0; step < 4; step++)
        {
            model.TrainOnBatch(x, labels);
            double norm = Math.Sqrt(model.Parameters[2].Value.ToArray().Sum(v => (double)v * v));
            Assert.InRange(norm, 0.5 * (1 - 1e-6), 1 + 1e-6);
            Assert.All(model.Parameters[3].Value.ToArray(), v => Assert.True(v >= 0));
        }
    }

    [Fact]
    public void Options_AreSavedAndLoaded_WithKerasNames()
    {
        var emb = new Embedding<float>(12, 4) { EmbeddingsRegularizer = Regularizer.Ridge(1e-3), EmbeddingsConstraint = new UnitNorm(1) };
        var bn = new BatchNormalization<float>
        {
            GammaRegularizer = Regularizer.Lasso(2e-3), BetaRegularizer = new Regularizer(1e-4, 2e-4),
            GammaConstraint = new MaxNorm(3), BetaConstraint = new NonNeg(),
        };
        var ln = new LayerNormalization<float> { GammaConstraint = new NonNeg(), BetaRegularizer = Regularizer.Ridge(0.5) };
        var model = new Sequential(emb, bn, ln, new GlobalAveragePooling1D<float>(), new Dense<float>(1)) { Seed = 2 };
        model.Compile("mse", new Adam(0.01));
        model.Build(5);
        var (x, _) = Tokens(8);
        model.Fit(x, Tensor<float>.RandomNormal(new TensorShape(8, 1), 1), epochs: 1, batchSize: 4);
        string path = Path.Combine(_dir, "opts.safetensors");
        model.Save(path);
        var loaded = Sequential.Load(path);
        for (int i = 0; i < 3; i++)
            Assert.Equal(model.Layers[i].GetConfig().OrderBy(p => p.Key), loaded.Layers[i].GetConfig().OrderBy(p => p.Key));
        Assert.Equal(model.Parameters.Select(p => (p.Name, p.Regularizer?.Name, p.Constraint?.Name)),
            loaded.Parameters.Select(p => (p.Name, p.Regularizer?.Name, p.Constraint?.Name)));
        Assert.Equal(model.RegularizationLoss(), loaded.RegularizationLoss());
        var e = emb.GetConfig();
        Assert.Equal(("l2:0.001", "unit_norm:1"), (e["embeddings_regularizer"], e["embeddings_constraint"]));
        var c = bn.GetConfig();
        Assert.Equal(("l1:0.002", "l1_l2:0.0001,0.0002", "max_norm:3,0", "non_neg"),
            (c["gamma_regularizer"], c["beta_regularizer"], c["gamma_constraint"], c["beta_constraint"]));
        Assert.False(ln.GetConfig().ContainsKey("gamma_regularizer"));
        Assert.Equal("non_neg", ln.GetConfig()["gamma_constraint"]);
        Assert.Equal(model.Evaluate(x, Tensor<float>.RandomNormal(new TensorShape(8, 1), 1))["loss"],
            loaded.Evaluate(x, Tensor<float>.RandomNormal(new TensorShape(8, 1), 1))["loss"]);
        // Without options the configs hold none of the keys (files saved before the options existed load the same).
        Assert.DoesNotContain(new Embedding<float>(3, 2).GetConfig().Keys, k => k.EndsWith("_regularizer") || k.EndsWith("_constraint"));
        Assert.DoesNotContain(new BatchNormalization<float>().GetConfig().Keys, k => k.EndsWith("_regularizer") || k.EndsWith("_constraint"));
    }

    [Fact]
    public void AConstraintThatDoesNotFit_IsRejected_WithTheWeightAndItsShape()
    {
        var emb = new Embedding<float>(6, 3) { Name = "emb" };
        emb.Build(new TensorShape(2, 4), 1);
        var e = Assert.Throws<ArgumentException>(() => emb.EmbeddingsConstraint = new MaxNorm(1, axis: 2));
        Assert.Contains("emb.embeddings", e.Message);
        Assert.Contains("[6, 3]", e.Message);
        var ln = new LayerNormalization<float> { Name = "ln", GammaConstraint = new UnitNorm(1) };
        var b = Assert.Throws<ArgumentException>(() => ln.Build(new TensorShape(2, 5), 1));
        Assert.Contains("ln.gamma", b.Message);
        Assert.Contains("[5]", b.Message);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void GammaAndBetaInitializers_FillTheWeights_AndAreSavedAndLoaded(bool batchNorm)
    {
        NormalizationLayer<float> Make(Layers.Initializers.Initializer? beta, Layers.Initializers.Initializer? gamma) => batchNorm
            ? new BatchNormalization<float>(betaInitializer: beta, gammaInitializer: gamma)
            : new LayerNormalization<float>(betaInitializer: beta, gammaInitializer: gamma);
        var norm = Make(new Layers.Initializers.Constant(0.25), new Layers.Initializers.Constant(2));
        var m = new Sequential(new Dense<float>(4), norm, new Dense<float>(1)) { Seed = 5 };
        m.Compile("mse", new Sgd(0.01));
        m.Build(3);
        var values = m.Parameters.Where(p => p.Name is "gamma" or "beta").ToDictionary(p => p.Name, p => p.Value.ToArray());
        Assert.All(values["gamma"], v => Assert.Equal(2f, v));
        Assert.All(values["beta"], v => Assert.Equal(0.25f, v));
        Assert.Equal("constant:0.25", norm.GetConfig()["beta_initializer"]);
        Assert.Equal("constant:2", norm.GetConfig()["gamma_initializer"]);
        string path = Path.Combine(_dir, $"init-{batchNorm}.safetensors");
        m.Save(path);
        var loaded = Assert.IsAssignableFrom<NormalizationLayer<float>>(Sequential.Load(path).Layers[1]);
        Assert.Equal(norm.GetConfig(), loaded.GetConfig());
        // Keras' defaults, also for a config that does not name them (files saved before the option existed).
        var plain = Make(null, null).GetConfig();
        Assert.Equal("zeros", plain["beta_initializer"]);
        Assert.Equal("ones", plain["gamma_initializer"]);
        var old = plain.Where(kv => !kv.Key.EndsWith("_initializer", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value);
        var rebuilt = Assert.IsAssignableFrom<NormalizationLayer<float>>(
            Serialization.LayerRegistry<float>.Create(batchNorm ? "batch_normalization" : "layer_normalization", old));
        Assert.Equal(plain, rebuilt.GetConfig());
    }
}
