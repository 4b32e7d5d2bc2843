using Nn.Simd.Layers;
using Nn.Simd.Layers.Regularizers;
using Nn.Simd.Tensors;
using Nn.Simd.Training.Optimizers;
using Nn.Simd.Training.Serialization;

namespace Nn.Simd.Training.Tests;

/// <summary>Keras 3's <c>activity_regularizer</c>: the penalty <c>r(y)/B</c> of a layer's output joins the loss that
/// Fit, TrainOnBatch, Evaluate and TestOnBatch report, its gradient joins the backward pass, and it is saved.</summary>
public sealed class ActivityRegularizerTests : IDisposable
{
    private const int In = 3, Hidden = 4, Out = 2;
    private static readonly Regularizer HiddenPenalty = new(0.03, 0.02), OutputPenalty = Regularizer.Ridge(0.05);
    private readonly string _dir = Directory.CreateTempSubdirectory("nn-actreg").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Dense(4, tanh) with an L1L2 activity penalty, then Dense(2) with an L2 one; MSE.</summary>
    private static Sequential<double> Model(bool regularized = true, int seed = 3)
    {
        var model = new Sequential<double>(
            new Dense<double>(Hidden, "tanh") { ActivityRegularizer = regularized ? HiddenPenalty : null },
            new Dense<double>(Out) { ActivityRegularizer = regularized ? OutputPenalty : null }) { Seed = seed };
        model.Compile("mse", new Sgd(1.0));
        model.Build(In);
        return model;
    }

    /// <summary>The scalar reference, in double from the formulas: mean((o − y)²) + (0.03·Σ|h| + 0.02·Σh²)/B + 0.05·Σo²/B
    /// with h = tanh(x·W₁ + b₁), o = h·W₂ + b₂, over rows <paramref name="start"/> … start + count − 1.</summary>
    private static double Reference(double[] w1, double[] b1, double[] w2, double[] b2, Tensor<double> x, Tensor<double> y,
        int start, int count, bool penalties = true)
    {
        double mse = 0, hPenalty = 0, oPenalty = 0;
        for (int n = start; n < start + count; n++)
        {
            var h = new double[Hidden];
            for (int j = 0; j < Hidden; j++)
            {
                double z = b1[j];
                for (int i = 0; i < In; i++) z += x[n, i] * w1[i * Hidden + j];
                h[j] = Math.Tanh(z);
                hPenalty += 0.03 * Math.Abs(h[j]) + 0.02 * h[j] * h[j];
            }
            for (int k = 0; k < Out; k++)
            {
                double o = b2[k];
                for (int j = 0; j < Hidden; j++) o += h[j] * w2[j * Out + k];
                mse += (o - y[n, k]) * (o - y[n, k]);
                oPenalty += 0.05 * o * o;
            }
        }
        return mse / (count * Out) + (penalties ? (hPenalty + oPenalty) / count : 0);
    }

    private static double[][] Weights(Sequential<double> m) => m.Parameters.Select(p => p.Value.ToArray()).ToArray();

    private static (Tensor<double> X, Tensor<double> Y) Data(int n) =>
        (Tensor<double>.RandomNormal(new TensorShape(n, In), 11), Tensor<double>.RandomNormal(new TensorShape(n, Out), 12));

    [Fact]
    public void ReportedLosses_AreThePlainLossPlusThePenaltiesOverTheBatchSize()
    {
        var (x, y) = Data(12);
        var m = Model();
        var w = Weights(m);
        double whole = Reference(w[0], w[1], w[2], w[3], x, y, 0, 12);
        Assert.True(whole - Reference(w[0], w[1], w[2], w[3], x, y, 0, 12, penalties: false) > 0.01, "the penalty must matter");

        Assert.Equal(whole, m.TestOnBatch(x, y)["loss"], 12);
        // Evaluate in batches of 5, 5, 2: each batch's penalty is divided by its own size, and the batches are averaged by
        // size (so, as for the mean loss, the total equals the whole batch's).
        double batched = (5 * Reference(w[0], w[1], w[2], w[3], x, y, 0, 5) + 5 * Reference(w[0], w[1], w[2], w[3], x, y, 5, 5)
            + 2 * Reference(w[0], w[1], w[2], w[3], x, y, 10, 2)) / 12;
        Assert.Equal(batched, m.Evaluate(x, y, batchSize: 5)["loss"], 12);
        Assert.Equal(whole, batched, 12);

        // Fit reports the same per-batch totals. With every layer frozen the weights stay, and the penalties still count
        // (Keras: freezing stops the weights, not the output's add_loss).
        var frozen = Model();
        foreach (var l in frozen.Layers) ((Layer<double>)l).Trainable = false;
        Assert.Equal(batched, frozen.Fit(x, y, epochs: 1, batchSize: 5, shuffle: false)["loss"][0], 12);
        Assert.Equal(w[2], frozen.Parameters[2].Value.ToArray());

        // TrainOnBatch reports the loss before its update.
        Assert.Equal(whole, m.TrainOnBatch(x, y)["loss"], 12);
    }

    [Fact]
    public void GradientReachingTheWeights_MatchesFiniteDifferencesOfLossPlusPenalty()
    {
        var (x, y) = Data(6);
        var m = Model();
        var w0 = Weights(m);
        m.TrainOnBatch(x, y);   // SGD with learning rate 1: w₁ = w₀ − ∂(loss + penalty)/∂w
        var w1 = Weights(m);
        const double eps = 1e-6;
        for (int t = 0; t < w0.Length; t++)
        {
            for (int i = 0; i < w0[t].Length; i++)
            {
                var plus = w0.Select(a => (double[])a.Clone()).ToArray();
                var minus = w0.Select(a => (double[])a.Clone()).ToArray();
                plus[t][i] += eps;
                minus[t][i] -= eps;
                double numeric = (Reference(plus[0], plus[1], plus[2], plus[3], x, y, 0, 6)
                    - Reference(minus[0], minus[1], minus[2], minus[3], x, y, 0, 6)) / (2 * eps);
                double analytic = w0[t][i] - w1[t][i];
                Assert.True(Math.Abs(analytic - numeric) <= 1e-7 * Math.Max(1, Math.Abs(numeric)),
                    $"{m.Parameters[t].Name}[{i}]: analytic {analytic}, numeric {numeric}");
            }
        }
    }

    [Fact]
    public void ALayerWithoutIt_IsBitForBitUnchanged()
    {
        var (x, y) = Data(8);
        // The penalty sits on the first layer only: the second layer's gradient is the plain one, bit for bit.
        var plain = Model(regularized: false);
        var first = Model(regularized: false);
        ((Layer<double>)first.Layers[0]).ActivityRegularizer = HiddenPenalty;
        plain.TrainOnBatch(x, y);
        first.TrainOnBatch(x, y);
        Assert.Equal(plain.Parameters[2].Value.ToArray(), first.Parameters[2].Value.ToArray());
        Assert.Equal(plain.Parameters[3].Value.ToArray(), first.Parameters[3].Value.ToArray());
        Assert.NotEqual(plain.Parameters[0].Value.ToArray(), first.Parameters[0].Value.ToArray());
        // Without any, the reported loss is the plain formula's.
        var fresh = Model(regularized: false);
        var w = Weights(fresh);
        Assert.Equal(Reference(w[0], w[1], w[2], w[3], x, y, 0, 8, penalties: false), fresh.TestOnBatch(x, y)["loss"], 12);
    }

    [Fact]
    public void ActivityRegularizer_IsSavedAndLoaded_ForAnyLayer()
    {
        var model = new Sequential<double>(
            new Embedding<double>(5, 3) { ActivityRegularizer = Regularizer.Lasso(0.002) },
            new Lstm<double>(4, returnSequences: true) { ActivityRegularizer = new Regularizer(1e-3, 2e-3) },
            new Flatten<double>() { ActivityRegularizer = Regularizer.Ridge(0.004) },
            new Dense<double>(2) { ActivityRegularizer = Regularizer.Ridge(0.005), KernelRegularizer = Regularizer.Ridge(0.1) },
            new Dense<double>(1)) { Seed = 4 };
        model.Compile("mse", new Sgd(0.1));
        model.Build(3);
        Assert.Equal("l2:0.005", model.Layers[3].GetConfig()["activity_regularizer"]);
        Assert.Equal("l1_l2:0.001,0.002", model.Layers[1].GetConfig()["activity_regularizer"]);
        Assert.Equal("l1:0.002", model.Layers[0].GetConfig()["activity_regularizer"]);
        Assert.False(model.Layers[4].GetConfig().ContainsKey("activity_regularizer"));

        string path = Path.Combine(_dir, "act.safetensors");
        model.Save(path);
        var loaded = Sequential<double>.Load(path);
        Assert.Equal(model.Layers.Select(l => ((Layer<double>)l).ActivityRegularizer?.Name),
            loaded.Layers.Select(l => ((Layer<double>)l).ActivityRegularizer?.Name));
        loaded.Compile("mse", new Sgd(0.1));
        var x = new Tensor<double>(4, 3);
        for (int i = 0; i < x.Length; i++) x.Span[i] = (i * 7 + 1) % 5;
        var y = Tensor<double>.RandomNormal(new TensorShape(4, 1), 2);
        Assert.Equal(model.Evaluate(x, y)["loss"], loaded.Evaluate(x, y)["loss"], 12);

        // Conv layers that list their own weight regularizers list it too, and the registry recreates it.
        var sep = new SeparableConv2D<float>(2, (2, 2)) { ActivityRegularizer = Regularizer.Ridge(0.5) };
        var back = (Layer<float>)LayerRegistry<float>.Create("separable_conv2d", sep.GetConfig());
        Assert.Equal("l2:0.5", back.ActivityRegularizer!.Name);
        var depth = new DepthwiseConv2D<float>((2, 2)) { ActivityRegularizer = Regularizer.Lasso(0.25) };
        Assert.Equal("l1:0.25", ((Layer<float>)LayerRegistry<float>.Create("depthwise_conv2d", depth.GetConfig())).ActivityRegularizer!.Name);
    }

    [Fact]
    public void ABadSavedActivityRegularizer_IsRejectedByName()
    {
        var config = new Dictionary<string, string>(new Dense<float>(2).GetConfig()) { ["activity_regularizer"] = "l3:0.1" };
        var e = Assert.Throws<InvalidDataException>(() => LayerRegistry<float>.Create("dense", config));
        Assert.Contains("l3:0.1", e.Message);
        Assert.Contains("'dense'", e.Message);
    }
}

[Collection(nameof(GlobalParallelism))]
public class ActivityRegularizerAllocationTests
{
    private static long AllocatedByFit(int n)
    {
        var (x, y, _) = TestData.Blobs(n, 3);
        var model = new Sequential(new Dense<float>(16, "relu") { ActivityRegularizer = new Regularizer(1e-3, 1e-3) },
            new Dense<float>(3, "softmax") { ActivityRegularizer = Regularizer.Ridge(1e-2) }) { Seed = 1 };
        model.Threads = 1;
        model.Compile("sparse_categorical_crossentropy", new Adam(0.01), "accuracy");
        model.Fit(x, y, epochs: 1, batchSize: 16);   // warm-up: workspaces, optimizer state, JIT
        long before = GC.GetAllocatedBytesForCurrentThread();
        model.Fit(x, y, epochs: 1, batchSize: 16);
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    [Fact]
    public void TrainingSteps_WithActivityPenalties_DoNotAllocate()
    {
        SteadyStateFit.AssertNoPerStepAllocation(AllocatedByFit);
    }
}
