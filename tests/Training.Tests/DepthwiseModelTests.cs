using Nn.Simd.Layers;
using Nn.Simd.Tensors;

namespace Nn.Simd.Training.Tests;

/// <summary>DepthwiseConv2D in a mobile-style block (depthwise 3×3, pointwise 1×1): training, summary, save and load.</summary>
public sealed class DepthwiseModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nn-dw").FullName;

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
    public void DepthwiseSeparableBlock_Trains_AndRoundTrips()
    {
        var (x, y) = Quadrants(128, 1);
        var model = new Sequential(
            new DepthwiseConv2D<float>((3, 3), padding: "same", depthMultiplier: 2, activation: "relu"),
            new Conv2D<float>(8, (1, 1), activation: "relu"),
            new DepthwiseConv2D<float>((3, 3), strides: (2, 2), padding: "same", activation: "relu")
            { DepthwiseRegularizer = Nn.Simd.Layers.Regularizers.Regularizer.Ridge(1e-4) },
            new Flatten<float>(),
            new Dense<float>(4, "softmax")) { Seed = 3 };
        model.Compile("sparse_categorical_crossentropy", new Nn.Simd.Training.Optimizers.Adam(0.01), "accuracy");
        model.Fit(x, y, epochs: 15, batchSize: 16);
        var (xt, yt) = Quadrants(64, 2);
        double accuracy = model.Evaluate(xt, yt)["accuracy"];
        Assert.True(accuracy > 0.9, $"held-out accuracy {accuracy}");
        Assert.False(((DepthwiseConv2D<float>)model.Layers[0]).ComputeInputGradient);

        string summary = model.Summary();
        Assert.Contains("(None, 8, 8, 4)", summary);
        Assert.Contains("(None, 4, 4, 8)", summary);
        // (3·3·2·2 + 4) + (4·8 + 8) + (3·3·8·1 + 8) + (4·4·8·4 + 4)
        Assert.Contains("Total params: 676", summary);

        string path = Path.Combine(_dir, "mobile.safetensors");
        model.Save(path);
        var loaded = Sequential.Load(path);
        Assert.Equal(model.Predict(xt).ToArray(), loaded.Predict(xt).ToArray());
        for (int i = 0; i < model.Layers.Count; i++) Assert.Equal(model.Layers[i].GetConfig(), loaded.Layers[i].GetConfig());
        var first = (DepthwiseConv2D<float>)loaded.Layers[0];
        Assert.Equal((2, new TensorShape(3, 3, 2, 2)), (first.DepthMultiplier, first.Kernel.Value.Shape));
        Assert.Equal(1e-4, ((DepthwiseConv2D<float>)loaded.Layers[2]).DepthwiseRegularizer!.L2);
    }
}
