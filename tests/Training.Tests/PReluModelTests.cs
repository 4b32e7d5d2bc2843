using Nn.Simd.Layers;
using Nn.Simd.Layers.Initializers;
using Nn.Simd.Layers.Regularizers;
using Nn.Simd.Tensors;

namespace Nn.Simd.Training.Tests;

/// <summary>PRelu inside models: its slopes train, and a compiled model saves and loads with its options, slopes and
/// optimizer state, continuing training exactly as the original does.</summary>
public sealed class PReluModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nn-prelu").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void PerChannelPReLU_TrainsInAConvNet_AndRoundTripsWithOptimizerState()
    {
        var x = Tensor<float>.RandomNormal(new TensorShape(32, 5, 5, 1), 1);
        var y = new Tensor<float>(32, 1);
        for (int i = 0; i < 32; i++) y[i, 0] = x.Span[i * 25 + 6] - 0.5f * x.Span[i * 25 + 18];
        Sequential Make() => new(new Conv2D<float>(4, (3, 3)), new PRelu<float>(sharedAxes: [1, 2]) { AlphaRegularizer = Regularizer.Ridge(1e-4) },
            new Flatten<float>(), new Dense<float>(1)) { Seed = 3 };
        var model = Make();
        model.Compile("mse", new Optimizers.Adam(0.01));
        var history = model.Fit(x, y, epochs: 20, batchSize: 8);
        Assert.True(history["loss"][^1] < 0.5 * history["loss"][0], $"loss {history["loss"][0]} -> {history["loss"][^1]}");
        var prelu = (PRelu<float>)model.Layers[1];
        Assert.Equal(new TensorShape(1, 1, 4), prelu.Alpha.Value.Shape);
        Assert.Contains(prelu.Alpha.Value.ToArray(), a => a != 0);   // the slopes moved off their zero start

        string path = Path.Combine(_dir, "prelu.safetensors");
        model.Save(path);
        var loaded = Sequential.Load(path);
        var lp = Assert.IsType<PRelu<float>>(loaded.Layers[1]);
        Assert.Equal(prelu.GetConfig(), lp.GetConfig());
        Assert.Equal([1, 2], lp.SharedAxes);
        Assert.Equal("l2:0.0001", lp.AlphaRegularizer!.Name);
        Assert.Equal(prelu.Alpha.Value.ToArray(), lp.Alpha.Value.ToArray());
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
        // The optimizer state came along: both continue identically.
        var more = model.Fit(x, y, epochs: 2, batchSize: 8, shuffle: false)["loss"];
        Assert.Equal(more, loaded.Fit(x, y, epochs: 2, batchSize: 8, shuffle: false)["loss"]);
    }

    [Fact]
    public void UnsharedPReLU_InDoubleModel_RoundTripsItsInitializer()
    {
        var model = new Sequential<double>(new Dense<double>(3), new PRelu<double>(new Constant(0.25))) { Seed = 1 };
        model.Build(4);
        string path = Path.Combine(_dir, "prelu-d.safetensors");
        model.Save(path);
        var loaded = Sequential<double>.Load(path);
        var lp = Assert.IsType<PRelu<double>>(loaded.Layers[1]);
        Assert.Equal("constant:0.25", lp.GetConfig()["alpha_initializer"]);
        Assert.Empty(lp.SharedAxes);
        Assert.Equal([0.25, 0.25, 0.25], lp.Alpha.Value.ToArray());
        var x = Tensor<double>.RandomNormal(new TensorShape(5, 4), 2);
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
    }

    [Fact]
    public void AlphaConstraint_HoldsAfterEveryStep_AndIsSaved()
    {
        // Targets that want negative slopes (y = −|x| on the negative side), so without the constraint α goes below 0.
        var x = Tensor<float>.RandomNormal(new TensorShape(64, 6), 4);
        var y = new Tensor<float>(64, 6);
        for (int i = 0; i < x.Length; i++) y.Span[i] = x.Span[i] >= 0 ? x.Span[i] : -0.5f * x.Span[i];
        PRelu<float> Run(Layers.Constraints.Constraint? constraint)
        {
            var prelu = new PRelu<float>(new Constant(0.1)) { AlphaConstraint = constraint };
            var m = new Sequential(prelu) { Seed = 2 };
            m.Compile("mse", new Optimizers.Sgd(0.5));
            for (int step = 0; step < 5; step++)
            {
                m.TrainOnBatch(x, y);
                if (constraint is not null) Assert.All(prelu.Alpha.Value.ToArray(), a => Assert.True(a >= 0, $"alpha {a} after step {step}"));
            }
            if (constraint is not null)
            {
                string path = Path.Combine(_dir, "prelu-c.safetensors");
                m.Save(path);
                var lp = Assert.IsType<PRelu<float>>(Sequential.Load(path).Layers[0]);
                Assert.Equal("non_neg", lp.AlphaConstraint!.Name);
                Assert.Equal("non_neg", lp.GetConfig()["alpha_constraint"]);
            }
            return prelu;
        }
        Assert.Contains(Run(null).Alpha.Value.ToArray(), a => a < 0);   // control: the data does push α below 0
        Run(new Layers.Constraints.NonNeg());
    }
}
