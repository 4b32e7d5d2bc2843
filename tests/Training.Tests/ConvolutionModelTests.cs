using Nn.Simd.Layers;
using Nn.Simd.Tensors;

namespace Nn.Simd.Training.Tests;

/// <summary>A small CNN (Conv2D, MaxPooling2D, Flatten, Dense) in a model: training, summary, save and load.</summary>
public sealed class ConvolutionModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nn-cnn").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>8×8 noise images with a bright 2×2 blob in one quadrant; the label is the quadrant.</summary>
    private static (Tensor<float> X, Tensor<float> Y) Quadrants(int n, int seed)
    {
        var rng = new Random(seed);
        var x = new Tensor<float>(n, 8, 8, 1);
        var y = new Tensor<float>(n);
        var xs = x.Span;
        for (int i = 0; i < n; i++)
        {
            for (int p = 0; p < 64; p++) xs[i * 64 + p] = (float)(0.3 * rng.NextDouble());
            int q = rng.Next(4), top = (q / 2) * 4 + rng.Next(3), left = (q % 2) * 4 + rng.Next(3);
            for (int a = 0; a < 2; a++)
                for (int b = 0; b < 2; b++) xs[i * 64 + (top + a) * 8 + left + b] = 1;
            y[i] = q;
        }
        return (x, y);
    }

    [Fact]
    public void SmallCnn_Trains_Summarises_AndRoundTrips()
    {
        var (x, y) = Quadrants(128, 1);
        var model = new Sequential(
            new Conv2D<float>(6, (3, 3), padding: "same", activation: "relu"),
            new MaxPooling2D<float>(),
            new Conv2D<float>(8, (3, 3), strides: (2, 2), padding: "same", activation: "relu"),
            new Flatten<float>(),
            new Dense<float>(4, "softmax")) { Seed = 3 };
        model.Compile("sparse_categorical_crossentropy", new Nn.Simd.Training.Optimizers.Adam(0.01), "accuracy");
        model.Fit(x, y, epochs: 15, batchSize: 16);
        var (xt, yt) = Quadrants(64, 2);
        double accuracy = model.Evaluate(xt, yt)["accuracy"];
        Assert.True(accuracy > 0.9, $"held-out accuracy {accuracy}");

        string summary = model.Summary();
        Assert.Contains("(None, 8, 8, 6)", summary);
        Assert.Contains("(None, 4, 4, 6)", summary);
        Assert.Contains("(None, 2, 2, 8)", summary);
        Assert.Contains("Total params: 632", summary);   // (3·3·1·6 + 6) + (3·3·6·8 + 8) + (2·2·8·4 + 4)

        string path = Path.Combine(_dir, "cnn.safetensors");
        model.Save(path);
        var loaded = Sequential.Load(path);
        Assert.Equal(model.Predict(xt).ToArray(), loaded.Predict(xt).ToArray());
        var conv = (Conv2D<float>)loaded.Layers[2];
        Assert.Equal(((2, 2), "same"), (conv.Strides, conv.Padding));
    }

    [Fact]
    public void CausalConv1DForecaster_LearnsALaggedSum_AndRoundTrips()
    {
        // y = x[t−1] + 0.5·x[t−2] at the last step: a causal 3-step kernel can represent it exactly.
        var x = Tensor<float>.RandomNormal(new TensorShape(128, 10, 1), 1);
        var y = new Tensor<float>(128, 1);
        for (int i = 0; i < 128; i++) y[i, 0] = x[i, 8, 0] + 0.5f * x[i, 7, 0];
        var model = new Sequential(new Conv1D<float>(4, 3, padding: "causal", activation: "linear"), new Flatten<float>(), new Dense<float>(1)) { Seed = 2 };
        model.Compile("mse", new Nn.Simd.Training.Optimizers.Adam(0.01));
        var history = model.Fit(x, y, epochs: 60, batchSize: 32);
        Assert.True(history["loss"][^1] < 0.01 * history["loss"][0], $"loss {history["loss"][0]} -> {history["loss"][^1]}");
        string path = Path.Combine(_dir, "conv1d.safetensors");
        model.Save(path);
        var loaded = Sequential.Load(path);
        Assert.Equal("causal", ((Conv1D<float>)loaded.Layers[0]).Padding);
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
    }

    [Fact]
    public void DilatedCausalStack_LearnsALongLag_AndRoundTrips()
    {
        // y[t] = x[t − 6]: three causal 2-tap layers dilated 1, 2, 4 see 8 steps back (a small temporal convolutional net).
        var x = Tensor<float>.RandomNormal(new TensorShape(64, 16, 1), 3);
        var y = new Tensor<float>(64, 16, 1);
        for (int i = 0; i < 64; i++)
            for (int t = 6; t < 16; t++) y[i, t, 0] = x[i, t - 6, 0];
        var model = new Sequential(
            new Conv1D<float>(8, 2, padding: "causal", activation: "linear", dilationRate: 1),
            new Conv1D<float>(8, 2, padding: "causal", activation: "linear", dilationRate: 2),
            new Conv1D<float>(1, 2, padding: "causal", activation: "linear", dilationRate: 4)) { Seed = 2 };
        model.Compile("mse", new Nn.Simd.Training.Optimizers.Adam(0.01));
        var history = model.Fit(x, y, epochs: 60, batchSize: 16);
        Assert.True(history["loss"][^1] < 0.05 * history["loss"][0], $"loss {history["loss"][0]} -> {history["loss"][^1]}");
        string path = Path.Combine(_dir, "tcn.safetensors");
        model.Save(path);
        var loaded = Sequential.Load(path);
        Assert.Equal([1, 2, 4], loaded.Layers.Select(l => ((Conv1D<float>)l).DilationRate));
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
    }

    [Fact]
    public void DilatedConv2D_Trains_AndRoundTripsItsDilation()
    {
        var (x, y) = Quadrants(64, 4);
        var model = new Sequential(
            new Conv2D<float>(4, (3, 3), padding: "same", activation: "relu", dilationRate: (2, 2)),
            new Conv2D<float>(4, (2, 3), activation: "relu", dilationRate: (1, 2)),
            new Flatten<float>(),
            new Dense<float>(4, "softmax")) { Seed = 6 };
        model.Compile("sparse_categorical_crossentropy", new Nn.Simd.Training.Optimizers.Adam(0.01));
        var history = model.Fit(x, y, epochs: 8, batchSize: 16);
        Assert.True(history["loss"][^1] < history["loss"][0], $"loss {history["loss"][0]} -> {history["loss"][^1]}");
        Assert.Contains("(None, 7, 4, 4)", model.Summary());   // 8 − 1 rows, 8 − 4 columns
        string path = Path.Combine(_dir, "dilated2d.safetensors");
        model.Save(path);
        var loaded = Sequential.Load(path);
        Assert.Equal([(2, 2), (1, 2)], loaded.Layers.Take(2).Select(l => ((Conv2D<float>)l).DilationRate));
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
    }

    [Fact]
    public void Conv1DWithGlobalPooling_ClassifiesSequences_AndRoundTrips()
    {
        var (x, y) = Spikes(96, 4);
        var model = new Sequential(new Conv1D<float>(8, 2, activation: "relu"), new GlobalAveragePooling1D<float>(), new Dense<float>(2, "softmax")) { Seed = 5 };
        model.Compile("sparse_categorical_crossentropy", new Nn.Simd.Training.Optimizers.Adam(0.02), "accuracy");
        model.Fit(x, y, epochs: 60, batchSize: 16);
        Assert.True(model.Evaluate(x, y)["accuracy"] > 0.95);
        string path = Path.Combine(_dir, "gap.safetensors");
        model.Save(path);
        Assert.Equal(model.Predict(x).ToArray(), Sequential.Load(path).Predict(x).ToArray());
    }

    /// <summary>Class 1 when a length-12 sequence holds an up-down spike (+1 then −1 on consecutive steps) anywhere.</summary>
    private static (Tensor<float> X, Tensor<float> Y) Spikes(int n, int seed)
    {
        var rng = new Random(seed);
        var x = new Tensor<float>(n, 12, 1);
        var y = new Tensor<float>(n);
        for (int i = 0; i < n; i++)
        {
            for (int t = 0; t < 12; t++) x[i, t, 0] = (float)(0.2 * (rng.NextDouble() - 0.5));
            if (i % 2 == 1)
            {
                int at = rng.Next(11);
                x[i, at, 0] = 1;
                x[i, at + 1, 0] = -1;
                y[i] = 1;
            }
        }
        return (x, y);
    }

    [Fact]
    public void Conv1DWithMaxPooling_ClassifiesSequences_AndRoundTrips()
    {
        var (x, y) = Spikes(96, 6);
        var model = new Sequential(new Conv1D<float>(8, 2, activation: "relu"), new MaxPooling1D<float>(padding: "same"),
            new GlobalMaxPooling1D<float>(), new Dense<float>(2, "softmax")) { Seed = 5 };
        model.Compile("sparse_categorical_crossentropy", new Nn.Simd.Training.Optimizers.Adam(0.02), "accuracy");
        model.Fit(x, y, epochs: 40, batchSize: 16);
        var (xt, yt) = Spikes(64, 7);
        double accuracy = model.Evaluate(xt, yt)["accuracy"];
        Assert.True(accuracy > 0.95, $"held-out accuracy {accuracy}");
        string summary = model.Summary();
        Assert.Contains("(None, 6, 8)", summary);   // 11 conv steps, pooled by 2 with 'same': ⌈11/2⌉
        Assert.Contains("(None, 8)", summary);
        string path = Path.Combine(_dir, "maxpool1d.safetensors");
        model.Save(path);
        var loaded = Sequential.Load(path);
        Assert.Equal(model.Predict(xt).ToArray(), loaded.Predict(xt).ToArray());
        Assert.Equal("same", ((MaxPooling1D<float>)loaded.Layers[1]).Padding);
    }

    [Fact]
    public void EveryPoolingLayer_RoundTripsItsOptions_InFloat64()
    {
        var images = new Sequential<double>(
            new Conv2D<double>(4, (3, 3), padding: "same", activation: "tanh"),
            new AveragePooling2D<double>((3, 2), (2, 1), "same"),
            new MaxPooling2D<double>((2, 3), (1, 2)),
            new GlobalMaxPooling2D<double>(),
            new Dense<double>(3)) { Seed = 1 };
        var sequences = new Sequential<double>(
            new Conv1D<double>(4, 3, activation: "tanh"),
            new AveragePooling1D<double>(3, 1, "same"),
            new MaxPooling1D<double>(3, 2),
            new AveragePooling1D<double>(),
            new GlobalAveragePooling1D<double>(),
            new Dense<double>(2)) { Seed = 2 };
        foreach (var (model, x) in new[]
        {
            (images, Tensor<double>.RandomNormal(new TensorShape(3, 9, 8, 2), 3)),
            (sequences, Tensor<double>.RandomNormal(new TensorShape(3, 20, 2), 4)),
        })
        {
            model.Build(new TensorShape(x.Shape.ToArray()[1..]));
            string path = Path.Combine(_dir, $"pools{x.Shape.Rank}.safetensors");
            model.Save(path);
            var loaded = Sequential<double>.Load(path);
            Assert.Equal(model.Layers.Select(l => l.GetType()), loaded.Layers.Select(l => l.GetType()));
            for (int i = 0; i < model.Layers.Count; i++)
                Assert.Equal(model.Layers[i].GetConfig(), loaded.Layers[i].GetConfig());
            Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
        }
        Assert.Equal("3,2", images.Layers[1].GetConfig()["pool_size"]);
        Assert.Equal("1", sequences.Layers[1].GetConfig()["strides"]);
    }
}
