using Nn.Simd.Layers;
using Nn.Simd.Tensors;

namespace Nn.Simd.Training.Tests;

/// <summary>Token sequences: Embedding(maskZero) in front of recurrent layers.</summary>
public sealed class EmbeddingModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nn-emb").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void PaddedTokenSequences_PredictAsUnpadded_TrainAndRoundTrip()
    {
        // Classify whether token 3 appears; sequences of 2..8 tokens in 1..9, right-padded with 0.
        var rng = new Random(1);
        const int n = 64, steps = 8;
        var x = new Tensor<float>(n, steps);
        var y = new Tensor<float>(n);
        var lengths = new int[n];
        for (int i = 0; i < n; i++)
        {
            lengths[i] = 2 + rng.Next(steps - 1);
            for (int t = 0; t < lengths[i]; t++)
            {
                x[i, t] = 1 + rng.Next(9);
                if (x[i, t] == 3) y[i] = 1;
            }
        }
        var model = new Sequential(new Embedding<float>(10, 8, maskZero: true), new Lstm<float>(8), new Dense<float>(2, "softmax")) { Seed = 2 };
        model.Compile("sparse_categorical_crossentropy", new Nn.Simd.Training.Optimizers.Adam(0.02), "accuracy");
        var history = model.Fit(x, y, epochs: 40, batchSize: 16);
        Assert.True(history["accuracy"][^1] > 0.9, $"accuracy {history["accuracy"][^1]}");

        var padded = model.Predict(x);
        for (int i = 0; i < 6; i++)
        {
            var alone = new Tensor<float>(1, lengths[i]);
            x.ReadOnlySpan.Slice(i * steps, lengths[i]).CopyTo(alone.Span);
            var p = model.Predict(alone);   // an Embedding model takes any number of steps
            Assert.Equal(p[0, 1], padded[i, 1], 5);
        }
        var e = Assert.Throws<ArgumentException>(() => model.Predict(new Tensor<float>(2, 3, 1)));
        Assert.Contains("[N, T]", e.Message);

        string path = Path.Combine(_dir, "emb.safetensors");
        model.Save(path);
        var loaded = Sequential.Load(path);
        Assert.True(((Embedding<float>)loaded.Layers[0]).MaskZero);
        Assert.Equal(padded.ToArray(), loaded.Predict(x).ToArray());
    }
}
