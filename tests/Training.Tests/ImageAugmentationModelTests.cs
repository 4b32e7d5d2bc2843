using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using Nn.Simd.Training.Optimizers;

namespace Nn.Simd.Training.Tests;

/// <summary>Resizing and the random affine layers in a small image model: saved and loaded with their options, and a run
/// resumed from a checkpoint draws the transforms, and ends with the weights, of the uninterrupted run, bit for bit.</summary>
public sealed class ImageAugmentationModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nn-augment").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Sequential<float> Model(int seed)
    {
        var m = new Sequential<float>(new Resizing<float>(6, 6), new RandomTranslation<float>(0.1, 0.1, seed: 1),
            new RandomRotation<float>(0.05, "constant", seed: 2), new RandomZoom<float>(0.1, fillMode: "nearest", seed: 3),
            new Flatten<float>(), new Dense<float>(2, "softmax")) { Seed = seed };
        m.Compile("sparse_categorical_crossentropy", new Adam(0.01));
        return m;
    }

    /// <summary>Trains <paramref name="make"/>(5) for 4 epochs straight, and again for 2 epochs, saved, loaded (its first
    /// <paramref name="randomLayers"/> layers' configs and its predictions checked equal) and resumed for the last 2.</summary>
    private (Sequential<float> Straight, Sequential<float> Resumed, Tensor<float> X, Tensor<float> Y) StraightAndResumed(
        Func<int, Sequential<float>> make, int randomLayers, int dataSeed, string file)
    {
        var x = Tensor<float>.RandomNormal(new TensorShape(40, 8, 8, 1), seed: dataSeed);
        var y = new Tensor<float>(40);
        for (int i = 0; i < 40; i++) y[i] = x[i * 64 + 27] > 0 ? 1 : 0;

        var straight = make(5);
        straight.Fit(x, y, epochs: 4, batchSize: 16);
        var first = make(5);
        first.Fit(x, y, epochs: 2, batchSize: 16);
        string path = Path.Combine(_dir, file);
        first.Save(path);
        var resumed = Sequential<float>.Load(path);
        for (int i = 0; i < randomLayers; i++) Assert.Equal(first.Layers[i].GetConfig(), resumed.Layers[i].GetConfig());
        // At inference the random layers are the identity (RandomCrop a centred resize): the same predictions.
        Assert.Equal(first.Predict(x).ToArray(), resumed.Predict(x).ToArray());
        resumed.Fit(x, y, epochs: 4, batchSize: 16, initialEpoch: 2);
        Assert.Equal(straight.Parameters.Select(p => p.Value.ToArray()), resumed.Parameters.Select(p => p.Value.ToArray()));
        return (straight, resumed, x, y);
    }

    [Fact]
    public void AugmentedModel_SavesLoads_AndResumesBitForBit()
    {
        var (straight, resumed, _, _) = StraightAndResumed(Model, 4, dataSeed: 1, "augment.safetensors");
        for (int i = 1; i < 4; i++)
            Assert.Equal(((RandomAffineLayer<float>)straight.Layers[i]).Draws!.ToArray(), ((RandomAffineLayer<float>)resumed.Layers[i]).Draws!.ToArray());
    }

    private static Sequential<float> IntensityCropModel(int seed)
    {
        var m = new Sequential<float>(new RandomContrast<float>(0.4, (-3, 3), seed: 1), new RandomBrightness<float>(0.1, (-3, 3), seed: 2),
            new RandomCrop<float>(6, 6, seed: 3), new Flatten<float>(), new Dense<float>(2, "softmax")) { Seed = seed };
        m.Compile("sparse_categorical_crossentropy", new Adam(0.01));
        return m;
    }

    [Fact]
    public void ContrastBrightnessCropModel_SavesLoads_AndResumesBitForBit()
    {
        var (straight, resumed, x, y) = StraightAndResumed(IntensityCropModel, 3, dataSeed: 2, "intensity.safetensors");
        for (int i = 0; i < 2; i++)
            Assert.Equal(((RandomIntensityLayer<float>)straight.Layers[i]).Draws!.ToArray(), ((RandomIntensityLayer<float>)resumed.Layers[i]).Draws!.ToArray());
        Assert.Equal(((RandomCrop<float>)straight.Layers[2]).Draws!.ToArray(), ((RandomCrop<float>)resumed.Layers[2]).Draws!.ToArray());
        // The model's seed reseeds the layers: another seed, other draws.
        var other = IntensityCropModel(6);
        other.Fit(x, y, epochs: 1, batchSize: 16);
        Assert.NotEqual(((RandomCrop<float>)straight.Layers[2]).Seed, ((RandomCrop<float>)other.Layers[2]).Seed);
    }
}
