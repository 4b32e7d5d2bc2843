using Nn.Simd.Layers;
using Nn.Simd.Layers.Regularizers;
using Nn.Simd.Tensors;

namespace Nn.Simd.Training.Tests;

/// <summary>Conv2DTranspose in a model: a small convolutional autoencoder that trains, summarises and round-trips.</summary>
public sealed class ConvTransposeModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nn-convt").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>8×8 images of one bright 2×2 blob on a dark background, at a random place.</summary>
    private static Tensor<float> Blobs(int n, int seed)
    {
        var rng = new Random(seed);
        var x = new Tensor<float>(n, 8, 8, 1);
        for (int i = 0; i < n; i++)
        {
            int top = rng.Next(7), left = rng.Next(7);
            for (int a = 0; a < 2; a++)
                for (int b = 0; b < 2; b++) x[((i * 8 + top + a) * 8 + left + b)] = 1;
        }
        return x;
    }

    [Fact]
    public void ConvolutionalAutoencoder_Trains_AndRoundTrips()
    {
        var x = Blobs(96, 1);
        var model = new Sequential(
            new Conv2D<float>(8, (3, 3), strides: (2, 2), padding: "same", activation: "relu"),
            new Conv2D<float>(8, (3, 3), strides: (2, 2), padding: "same", activation: "relu"),
            new Conv2DTranspose<float>(8, (3, 3), strides: (2, 2), padding: "same", activation: "relu"),
            new Conv2DTranspose<float>(1, (3, 3), strides: (2, 2), padding: "same", outputPadding: (1, 1), activation: "sigmoid")
            { KernelRegularizer = Regularizer.Ridge(1e-4) }) { Seed = 2 };
        model.Compile("binary_crossentropy", new Nn.Simd.Training.Optimizers.Adam(0.01));
        var history = model.Fit(x, x, epochs: 40, batchSize: 16);
        Assert.True(history["loss"][^1] < 0.35 * history["loss"][0], $"loss {history["loss"][0]} -> {history["loss"][^1]}");

        string summary = model.Summary();
        Assert.Contains("(None, 4, 4, 8)", summary);
        Assert.Contains("(None, 2, 2, 8)", summary);
        Assert.Contains("(None, 8, 8, 1)", summary);
        // (3·3·1·8 + 8) + (3·3·8·8 + 8) + (3·3·8·8 + 8) + (3·3·1·8 + 1): the last kernel is [3, 3, 1, 8].
        Assert.Contains("Total params: 1,321", summary);

        var xt = Blobs(16, 2);
        string path = Path.Combine(_dir, "autoencoder.safetensors");
        model.Save(path);
        var loaded = Sequential.Load(path);
        Assert.Equal(model.Predict(xt).ToArray(), loaded.Predict(xt).ToArray());
        var last = (Conv2DTranspose<float>)loaded.Layers[3];
        Assert.Equal(((2, 2), "same", (1, 1), 1e-4), (last.Strides, last.Padding, last.OutputPadding, last.KernelRegularizer?.L2));
        Assert.Equal(new TensorShape(3, 3, 1, 8), last.Kernel.Value.Shape);
        Assert.Null(((Conv2DTranspose<float>)loaded.Layers[2]).OutputPadding);
        for (int i = 0; i < model.Layers.Count; i++) Assert.Equal(model.Layers[i].GetConfig(), loaded.Layers[i].GetConfig());
    }

    [Fact]
    public void Conv2DTransposeFirst_TrainsWithoutItsInputGradient_InFloat64()
    {
        // A decoder: 2×2 codes up to 4×4 maps ('valid' with a 2×2 kernel at stride 2 tiles without overlap).
        var codes = Tensor<double>.RandomNormal(new TensorShape(32, 2, 2, 3), 1);
        var target = new Tensor<double>(32, 4, 4, 1);
        for (int i = 0; i < target.Length; i++) target[i] = Math.Tanh(codes[i / 16 * 12 + (i % 16 / 8) * 6 + (i % 4 / 2) * 3]);
        var first = new Conv2DTranspose<double>(4, (2, 2), (2, 2), dilationRate: (1, 1), activation: "tanh");
        var model = new Sequential<double>(first, new Conv2D<double>(1, (1, 1))) { Seed = 3 };
        model.Compile("mse", new Nn.Simd.Training.Optimizers.Adam(0.02));
        var history = model.Fit(codes, target, epochs: 60, batchSize: 8);
        Assert.False(first.ComputeInputGradient);
        Assert.True(history["loss"][^1] < 0.1 * history["loss"][0], $"loss {history["loss"][0]} -> {history["loss"][^1]}");
        string path = Path.Combine(_dir, "decoder.safetensors");
        model.Save(path);
        Assert.Equal(model.Predict(codes).ToArray(), Sequential<double>.Load(path).Predict(codes).ToArray());
    }
}
