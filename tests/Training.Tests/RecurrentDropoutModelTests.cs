using Nn.Simd.Layers;
using Nn.Simd.Tensors;

namespace Nn.Simd.Training.Tests;

/// <summary>Recurrent dropout inside a model: seeded, inference-free, saved with the layer.</summary>
public sealed class RecurrentDropoutModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nn-rdrop").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Sequential Make() =>
        new(new Lstm<float>(8, returnSequences: true) { Dropout = 0.2, RecurrentDropout = 0.3 },
            new Gru<float>(4, resetAfter: false) { RecurrentDropout = 0.25 },
            new Dense<float>(1)) { Seed = 4 };

    [Fact]
    public void SeededModelsTrainTheSame_InferenceIgnoresDropout_AndTheRatesAreSaved()
    {
        var x = Tensor<float>.RandomNormal(new TensorShape(24, 6, 3), 1);
        var y = Tensor<float>.RandomNormal(new TensorShape(24, 1), 2);
        var a = Make();
        var b = Make();
        a.Compile("mse", "adam");
        b.Compile("mse", "adam");
        a.Fit(x, y, epochs: 3, batchSize: 8);
        b.Fit(x, y, epochs: 3, batchSize: 8);
        Assert.Equal(a.Parameters.Select(p => p.Value.ToArray()), b.Parameters.Select(p => p.Value.ToArray()));
        Assert.Equal(a.Predict(x).ToArray(), a.Predict(x).ToArray());

        string path = Path.Combine(_dir, "rdrop.safetensors");
        a.Save(path);
        var loaded = Sequential.Load(path);
        var lstm = (Lstm<float>)loaded.Layers[0];
        Assert.Equal((0.2, 0.3), (lstm.Dropout, lstm.RecurrentDropout));
        Assert.Equal(0.25, ((Gru<float>)loaded.Layers[1]).RecurrentDropout);
        Assert.Equal(a.Predict(x).ToArray(), loaded.Predict(x).ToArray());
    }
}
