using Nn.Simd.Layers;
using Nn.Simd.Tensors;

namespace Nn.Simd.Training.Tests;

/// <summary>SeparableConv2D in a model: training, the first layer's skipped input gradient, summary, save and load.</summary>
public sealed class SeparableModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nn-sep").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>8×8 two-channel noise with a bright 2×2 blob in one quadrant of a random channel; the label is the
    /// quadrant.</summary>
    private static (Tensor<float> X, Tensor<float> Y) Quadrants(int n, int seed)
    {
        var rng = new Random(seed);
        var x = new Tensor<float>(n, 8, 8, 2);
        var y = new Tensor<float>(n);
        for (int i = 0; i < n; i++)
        {
            for (int p = 0; p < 128; p++) x[i * 128 + p] = (float)(0.3 * rng.NextDouble());
            int q = rng.Next(4), top = (q / 2) * 4 + rng.Next(3), left = (q % 2) * 4 + rng.Next(3), ch = rng.Next(2);
            for (int a = 0; a < 2; a++)
                for (int b = 0; b < 2; b++) x[i * 128 + ((top + a) * 8 + left + b) * 2 + ch] = 1;
            y[i] = q;
        }
        return (x, y);
    }

    [Fact]
    public void SeparableBlock_Trains_AndRoundTrips()
    {
        var (x, y) = Quadrants(128, 1);
        var model = new Sequential(
            new SeparableConv2D<float>(8, (3, 3), padding: "same", depthMultiplier: 2, activation: "relu"),
            new SeparableConv2D<float>(8, (3, 3), strides: (2, 2), padding: "same", activation: "relu")
            { PointwiseRegularizer = Nn.Simd.Layers.Regularizers.Regularizer.Ridge(1e-4), DepthwiseConstraint = new Nn.Simd.Layers.Constraints.MaxNorm(3, [0, 1]) },
            new Flatten<float>(),
            new Dense<float>(4, "softmax")) { Seed = 3 };
        model.Compile("sparse_categorical_crossentropy", new Nn.Simd.Training.Optimizers.Adam(0.01), "accuracy");
        var first = (SeparableConv2D<float>)model.Layers[0];
        model.Build(8, 8, 2);
        var before = first.DepthwiseKernel.Value.ToArray();
        model.Fit(x, y, epochs: 15, batchSize: 16);
        var (xt, yt) = Quadrants(64, 2);
        double accuracy = model.Evaluate(xt, yt)["accuracy"];
        Assert.True(accuracy > 0.9, $"held-out accuracy {accuracy}");
        // The first layer skips its input gradient, but its depthwise kernel still trains.
        Assert.False(first.ComputeInputGradient);
        Assert.NotEqual(before, first.DepthwiseKernel.Value.ToArray());

        string summary = model.Summary();
        Assert.Contains("(None, 8, 8, 8)", summary);
        Assert.Contains("(None, 4, 4, 8)", summary);
        // (3·3·2·2 + 4·8 + 8) + (3·3·8 + 8·8 + 8) + (4·4·8·4 + 4) = 76 + 144 + 516
        Assert.Contains("Total params: 736", summary);

        string path = Path.Combine(_dir, "separable.safetensors");
        model.Save(path);
        var loaded = Sequential.Load(path);
        Assert.Equal(model.Predict(xt).ToArray(), loaded.Predict(xt).ToArray());
        for (int i = 0; i < model.Layers.Count; i++) Assert.Equal(model.Layers[i].GetConfig(), loaded.Layers[i].GetConfig());
        var second = (SeparableConv2D<float>)loaded.Layers[1];
        Assert.Equal(["depthwise_kernel", "pointwise_kernel", "bias"], second.Parameters.Select(p => p.Name));
        Assert.Equal((new TensorShape(3, 3, 8, 1), new TensorShape(1, 1, 8, 8)), (second.DepthwiseKernel.Value.Shape, second.PointwiseKernel.Value.Shape));
        Assert.Equal(1e-4, second.PointwiseRegularizer!.L2);
        Assert.IsType<Nn.Simd.Layers.Constraints.MaxNorm>(second.DepthwiseKernel.Constraint);
        // The loaded model goes on training.
        loaded.Compile("sparse_categorical_crossentropy", new Nn.Simd.Training.Optimizers.Adam(0.01), "accuracy");
        loaded.Fit(x, y, epochs: 1, batchSize: 16);
        Assert.True(loaded.Evaluate(xt, yt)["accuracy"] > 0.85);
    }
}
