using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using Nn.Simd.Training.Optimizers;

namespace Nn.Simd.Training.Tests;

/// <summary>Rescaling, RandomFlip and CenterCrop at the front of a small image model: the first layer's skipped input
/// gradient, save/load, flips fixed by the model's Seed, and a resumed run that is bitwise the uninterrupted one.</summary>
public sealed class ImagePreprocessingModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nn-imageprep").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>8×8 one-channel images of pixel values in [0, 255] with a bright row at the top or the bottom (the
    /// label); a left-right flip keeps the label.</summary>
    private static (Tensor<T> X, Tensor<T> Y) Rows<T>(int n, int seed) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var rng = new Random(seed);
        var x = new Tensor<T>(n, 8, 8, 1);
        var y = new Tensor<T>(n);
        for (int i = 0; i < n; i++)
        {
            int label = rng.Next(2), row = label == 0 ? 1 + rng.Next(2) : 5 + rng.Next(2);
            for (int p = 0; p < 64; p++) x[i * 64 + p] = T.CreateChecked(rng.Next(60) + (p / 8 == row ? 190 : 0));
            y[i] = T.CreateChecked(label);
        }
        return (x, y);
    }

    private static Sequential<T> Model<T>(int seed) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var m = new Sequential<T>(new Rescaling<T>(1 / 127.5, -1), new RandomFlip<T>("horizontal"), new CenterCrop<T>(6, 6),
            new Conv2D<T>(4, (3, 3), activation: "relu"), new Flatten<T>(), new Dense<T>(2, "softmax")) { Seed = seed };
        m.Compile("sparse_categorical_crossentropy", new Adam(0.01), "accuracy");
        return m;
    }

    private static T[][] Weights<T>(Sequential<T> m) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> =>
        m.Parameters.Select(p => p.Value.ToArray()).ToArray();

    [Fact]
    public void ImageModel_Trains_SkipsTheDataGradient_AndRoundTrips()
    {
        var (x, y) = Rows<float>(96, 1);
        var model = Model<float>(3);
        var history = model.Fit(x, y, epochs: 6, batchSize: 16);
        Assert.True(history["loss"][^1] < 0.5 * history["loss"][0], $"loss {history["loss"][0]} -> {history["loss"][^1]}");
        Assert.False(((Rescaling<float>)model.Layers[0]).ComputeInputGradient);
        string summary = model.Summary();
        Assert.Contains("(None, 6, 6, 1)", summary);
        Assert.Contains("(None, 4, 4, 4)", summary);

        string path = Path.Combine(_dir, "image.safetensors");
        model.Save(path);
        var loaded = Sequential.Load(path);
        for (int i = 0; i < model.Layers.Count; i++)
            Assert.Equal(model.Layers[i].GetConfig(), loaded.Layers[i].GetConfig());
        Assert.Equal(1 / 127.5, ((Rescaling<float>)loaded.Layers[0]).Scale);
        Assert.Equal(-1, ((Rescaling<float>)loaded.Layers[0]).Offset);
        Assert.Equal("horizontal", ((RandomFlip<float>)loaded.Layers[1]).Mode);
        Assert.Equal((6, 6), (((CenterCrop<float>)loaded.Layers[2]).Height, ((CenterCrop<float>)loaded.Layers[2]).Width));
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());   // the flip is the identity at inference
    }

    [Fact]
    public void ModelSeed_FixesTheFlips_AsTheLayersGeneratorSeededSeedPlusIndex()
    {
        // One batch: the flips are the first 24 draws of new Random(seed + 1) (the flip is layer 1), flipped when u ≤ 0.5.
        var (x, y) = Rows<double>(24, 2);
        var model = Model<double>(17);
        model.Fit(x, y, epochs: 1, batchSize: 24, shuffle: false);
        var rng = new Random(17 + 1);
        Assert.Equal(Enumerable.Range(0, 24).Select(_ => rng.NextDouble() <= 0.5 ? 1.0 : 0.0), ((RandomFlip<double>)model.Layers[1]).Flips!.ToArray());
        var again = Model<double>(17);
        again.Fit(x, y, epochs: 1, batchSize: 24, shuffle: false);
        Assert.Equal(Weights(model), Weights(again));
    }

    private void AssertResumeIsBitwise<T>(string name) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var (x, y) = Rows<T>(40, 3);
        var straight = Model<T>(8);
        straight.Fit(x, y, epochs: 4, batchSize: 16);

        var first = Model<T>(8);
        first.Fit(x, y, epochs: 2, batchSize: 16);
        string path = Path.Combine(_dir, name);
        first.Save(path);
        var resumed = Sequential<T>.Load(path);
        resumed.Fit(x, y, epochs: 4, batchSize: 16, initialEpoch: 2);
        Assert.Equal(((RandomFlip<T>)straight.Layers[1]).Flips!.ToArray(), ((RandomFlip<T>)resumed.Layers[1]).Flips!.ToArray());
        Assert.Equal(Weights(straight), Weights(resumed));
    }

    [Fact]
    public void FlippedRun_ResumedFromAFile_IsBitwiseTheUninterruptedRun_Float() => AssertResumeIsBitwise<float>("f.safetensors");

    [Fact]
    public void FlippedRun_ResumedFromAFile_IsBitwiseTheUninterruptedRun_Double() => AssertResumeIsBitwise<double>("d.safetensors");
}
