using Nn.Simd.Layers;
using Nn.Simd.Tensors;

namespace Nn.Simd.Training.Tests;

/// <summary>The small Keras layers for time series and small images (noise, spatial dropout, padding, cropping,
/// upsampling) inside models: training, the model seed, and save/load round trips of their options.</summary>
public sealed class SmallLayerModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nn-small").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static void AssertRoundTrips<T>(Sequential<T> model, Sequential<T> loaded, Tensor<T> x) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        Assert.Equal(model.Layers.Select(l => l.GetType()), loaded.Layers.Select(l => l.GetType()));
        for (int i = 0; i < model.Layers.Count; i++)
            Assert.Equal(model.Layers[i].GetConfig(), loaded.Layers[i].GetConfig());
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
    }

    [Fact]
    public void NoiseLayers_TrainInAModel_AreFixedByTheModelSeed_AndRoundTrip()
    {
        var x = Tensor<float>.RandomNormal(new TensorShape(32, 10, 2), 1);
        var y = new Tensor<float>(32, 1);
        for (int i = 0; i < 32; i++) y[i, 0] = x[i, 2, 0] - x[i, 7, 1];
        Sequential Make() => new(new GaussianNoise<float>(0.05), new Conv1D<float>(4, 3), new SpatialDropout1D<float>(0.2),
            new GaussianDropout<float>(0.1), new Flatten<float>(), new Dense<float>(1)) { Seed = 5 };
        var model = Make();
        model.Compile("mse", new Nn.Simd.Training.Optimizers.Adam(0.01));
        var history = model.Fit(x, y, epochs: 30, batchSize: 8);
        Assert.True(history["loss"][^1] < 0.5 * history["loss"][0], $"loss {history["loss"][0]} -> {history["loss"][^1]}");
        var again = Make();   // the noise layers drew their own seeds, but the model seed overrides them
        again.Compile("mse", new Nn.Simd.Training.Optimizers.Adam(0.01));
        Assert.Equal(history["loss"], again.Fit(x, y, epochs: 30, batchSize: 8)["loss"]);

        string path = Path.Combine(_dir, "noise.safetensors");
        model.Save(path);
        AssertRoundTrips(model, Sequential.Load(path), x);

        var image = new Sequential<double>(new SpatialDropout2D<double>(0.25, seed: 4), new Flatten<double>(), new Dense<double>(2)) { Seed = 2 };
        image.Build(3, 3, 2);
        image.Save(Path.Combine(_dir, "sd2.safetensors"));
        var loaded = Sequential<double>.Load(Path.Combine(_dir, "sd2.safetensors"));
        AssertRoundTrips(image, loaded, Tensor<double>.RandomNormal(new TensorShape(4, 3, 3, 2), 3));
        Assert.Equal(0.25, ((SpatialDropout2D<double>)loaded.Layers[0]).Rate);
    }

    [Fact]
    public void PaddingAndCropping_TrainInAModel_AndRoundTrip()
    {
        var x = Tensor<float>.RandomNormal(new TensorShape(32, 6, 6, 1), 4);
        var y = new Tensor<float>(32, 1);
        for (int i = 0; i < 32; i++) y[i, 0] = x.Span[i * 36] + x.Span[i * 36 + 35];   // corner pixels: 'same'-like padding needed
        var model = new Sequential(new ZeroPadding2D<float>(((1, 2), (2, 1))), new Conv2D<float>(3, (3, 3)), new Cropping2D<float>(((0, 1), (1, 0))),
            new Flatten<float>(), new Dense<float>(1)) { Seed = 6 };
        model.Compile("mse", new Nn.Simd.Training.Optimizers.Adam(0.01));
        var history = model.Fit(x, y, epochs: 30, batchSize: 8);
        Assert.True(history["loss"][^1] < 0.5 * history["loss"][0], $"loss {history["loss"][0]} -> {history["loss"][^1]}");
        Assert.Contains("(None, 9, 9, 1)", model.Summary());
        Assert.Contains("(None, 6, 6, 3)", model.Summary());
        string path = Path.Combine(_dir, "pad2.safetensors");
        model.Save(path);
        AssertRoundTrips(model, Sequential.Load(path), x);

        var series = new Sequential<double>(new ZeroPadding1D<double>((2, 0)), new Conv1D<double>(2, 3), new Cropping1D<double>((1, 0)),
            new Flatten<double>(), new Dense<double>(1)) { Seed = 7 };
        series.Build(5, 2);
        series.Save(Path.Combine(_dir, "pad1.safetensors"));
        var loaded = Sequential<double>.Load(Path.Combine(_dir, "pad1.safetensors"));
        AssertRoundTrips(series, loaded, Tensor<double>.RandomNormal(new TensorShape(3, 5, 2), 8));
        Assert.Equal((1, 0), ((Cropping1D<double>)loaded.Layers[2]).Cropping);
    }

    [Fact]
    public void UpSampling_TrainsInAModel_AndRoundTrips()
    {
        var x = Tensor<float>.RandomNormal(new TensorShape(32, 3, 3, 1), 9);
        var y = new Tensor<float>(32, 1);
        for (int i = 0; i < 32; i++) y[i, 0] = x.Span[i * 9 + 4] - x.Span[i * 9];
        var model = new Sequential(new UpSampling2D<float>((2, 1)), new Conv2D<float>(2, (2, 2)), new Flatten<float>(), new Dense<float>(1)) { Seed = 8 };
        model.Compile("mse", new Nn.Simd.Training.Optimizers.Adam(0.01));
        var history = model.Fit(x, y, epochs: 30, batchSize: 8);
        Assert.True(history["loss"][^1] < 0.5 * history["loss"][0], $"loss {history["loss"][0]} -> {history["loss"][^1]}");
        Assert.Contains("(None, 6, 3, 1)", model.Summary());
        string path = Path.Combine(_dir, "up2.safetensors");
        model.Save(path);
        AssertRoundTrips(model, Sequential.Load(path), x);

        var series = new Sequential<double>(new UpSampling1D<double>(3), new Conv1D<double>(2, 2), new Flatten<double>(), new Dense<double>(1)) { Seed = 2 };
        series.Build(4, 2);
        series.Save(Path.Combine(_dir, "up1.safetensors"));
        var loaded = Sequential<double>.Load(Path.Combine(_dir, "up1.safetensors"));
        AssertRoundTrips(series, loaded, Tensor<double>.RandomNormal(new TensorShape(3, 4, 2), 3));
        Assert.Equal(3, ((UpSampling1D<double>)loaded.Layers[0]).Size);
    }
}
