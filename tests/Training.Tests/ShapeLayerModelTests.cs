using Nn.Simd.Layers;
using Nn.Simd.Tensors;

namespace Nn.Simd.Training.Tests;

/// <summary>Reshape, RepeatVector and Permute inside models: an LSTM autoencoder that trains, and save/load round trips.</summary>
public sealed class ShapeLayerModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nn-shape").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void LstmAutoencoder_WithRepeatVector_Reconstructs_AndRoundTrips()
    {
        // Sine waves of random phase and frequency, 8 steps: encode to 16 numbers, repeat them to every step, decode.
        var rng = new Random(1);
        var x = new Tensor<float>(64, 8, 1);
        for (int i = 0; i < 64; i++)
        {
            double phase = rng.NextDouble() * 2 * Math.PI, freq = 0.3 + 0.5 * rng.NextDouble();
            for (int t = 0; t < 8; t++) x[i, t, 0] = (float)Math.Sin(phase + freq * t);
        }
        var model = new Sequential(new Lstm<float>(16), new RepeatVector<float>(8), new Lstm<float>(16, returnSequences: true), new Dense<float>(1)) { Seed = 4 };
        model.Compile("mse", new Nn.Simd.Training.Optimizers.Adam(0.01));
        var history = model.Fit(x, x, epochs: 40, batchSize: 16);
        Assert.True(history["loss"][^1] < 0.1 * history["loss"][0], $"loss {history["loss"][0]} -> {history["loss"][^1]}");
        string summary = model.Summary();
        Assert.Contains("(None, 8, 16)", summary);
        Assert.Contains("(None, 8, 1)", summary);
        string path = Path.Combine(_dir, "ae.safetensors");
        model.Save(path);
        var loaded = Sequential.Load(path);
        Assert.Equal(8, ((RepeatVector<float>)loaded.Layers[1]).N);
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
    }

    [Fact]
    public void ReshapeAndPermute_TrainInAModel_AndRoundTrip_InFloat64()
    {
        // Flat rows of 12 values read as 12 one-channel steps, convolved, then steps and channels swapped.
        var x = Tensor<double>.RandomNormal(new TensorShape(32, 12), 2);
        var y = new Tensor<double>(32, 1);
        for (int i = 0; i < 32; i++) y[i, 0] = x[i, 3] - x[i, 4];
        var model = new Sequential<double>(new Reshape<double>(-1, 1), new Conv1D<double>(3, 2), new Permute<double>(2, 1),
            new Reshape<double>(33), new Dense<double>(1)) { Seed = 3 };
        model.Compile("mse", new Nn.Simd.Training.Optimizers.Adam(0.01));
        var history = model.Fit(x, y, epochs: 40, batchSize: 8);
        Assert.True(history["loss"][^1] < 0.1 * history["loss"][0], $"loss {history["loss"][0]} -> {history["loss"][^1]}");
        Assert.Contains("(None, 3, 11)", model.Summary());
        string path = Path.Combine(_dir, "shape.safetensors");
        model.Save(path);
        var loaded = Sequential<double>.Load(path);
        for (int i = 0; i < model.Layers.Count; i++)
            Assert.Equal(model.Layers[i].GetConfig(), loaded.Layers[i].GetConfig());
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
    }
}
