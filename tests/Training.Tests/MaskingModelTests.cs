using Nn.Simd.Layers;
using Nn.Simd.Tensors;

namespace Nn.Simd.Training.Tests;

/// <summary>Variable-length sequences in a model: a Masking layer's mask reaches the recurrent layers after it.</summary>
public sealed class MaskingModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nn-mask").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Sequences of lengths 2..T, right-padded with zeros; the target is the sum of the first feature.</summary>
    private static (Tensor<float> X, Tensor<float> Y, int[] Lengths) Padded(int n, int steps, int seed)
    {
        var rng = new Random(seed);
        var x = new Tensor<float>(n, steps, 2);
        var y = new Tensor<float>(n, 1);
        var lengths = new int[n];
        for (int i = 0; i < n; i++)
        {
            lengths[i] = 2 + rng.Next(steps - 1);
            for (int t = 0; t < lengths[i]; t++)
            {
                x[i, t, 0] = (float)(rng.NextDouble() - 0.5);
                x[i, t, 1] = 1;   // never all zero, so only the padding is masked
                y[i, 0] += x[i, t, 0];
            }
        }
        return (x, y, lengths);
    }

    [Fact]
    public void PaddedBatch_PredictsWhatEachUnpaddedSequencePredicts_AndSurvivesSaveLoad()
    {
        const int steps = 9;
        var (x, y, lengths) = Padded(48, steps, 1);
        var model = new Sequential(
            new Masking<float>(),
            new Lstm<float>(8, returnSequences: true),
            new Dropout<float>(0.1),
            new Gru<float>(6),
            new Dense<float>(1)) { Seed = 2 };
        model.Compile("mse", "adam");
        var history = model.Fit(x, y, epochs: 8, batchSize: 16);
        Assert.True(history["loss"][^1] < history["loss"][0], "training on masked sequences did not lower the loss");

        var padded = model.Predict(x);
        Sequential Unmasked(int length)
        {
            // The same weights without the Masking layer, for inputs of the given length.
            var m = new Sequential(new Lstm<float>(8, returnSequences: true), new Dropout<float>(0.1), new Gru<float>(6), new Dense<float>(1));
            m.Build(length, 2);
            for (int i = 0; i < m.Parameters.Count; i++) model.Parameters[i].Value.ReadOnlySpan.CopyTo(m.Parameters[i].Value.Span);
            return m;
        }
        for (int i = 0; i < 8; i++)
        {
            var alone = new Tensor<float>(1, lengths[i], 2);
            x.ReadOnlySpan.Slice(i * steps * 2, lengths[i] * 2).CopyTo(alone.Span);
            Assert.Equal(Unmasked(lengths[i]).Predict(alone)[0, 0], padded[i, 0], 5);
            Assert.Equal(model.Predict(alone)[0, 0], padded[i, 0], 5);   // the model takes any number of steps
        }
        // Without masking the padding is read as data.
        Assert.NotEqual(padded.ToArray(), Unmasked(steps).Predict(x).ToArray());

        string path = Path.Combine(_dir, "masked.safetensors");
        model.Save(path);
        var loaded = Sequential.Load(path);
        Assert.IsType<Masking<float>>(loaded.Layers[0]);
        Assert.Equal(padded.ToArray(), loaded.Predict(x).ToArray());
    }

    [Fact]
    public void AModelOverSequences_TakesAnyNumberOfSteps_ButNotOtherFeatures()
    {
        var model = new Sequential(new Lstm<float>(4, returnSequences: true), new Dense<float>(2)) { Seed = 3 };
        model.Compile("mse", "sgd");
        var x = Tensor<float>.RandomNormal(new TensorShape(3, 5, 2), 1);
        model.Fit(x, Tensor<float>.RandomNormal(new TensorShape(3, 5, 2), 2), epochs: 1);
        var longer = Tensor<float>.RandomNormal(new TensorShape(2, 11, 2), 3);
        Assert.Equal(new TensorShape(2, 11, 2), model.Predict(longer).Shape);
        // Training and evaluation at another length check the targets against that length's output.
        model.Fit(longer, Tensor<float>.RandomNormal(new TensorShape(2, 11, 2), 4), epochs: 1);
        var e = Assert.Throws<ArgumentException>(() => model.Evaluate(longer, new Tensor<float>(2, 5, 2)));
        Assert.Contains("[2, 11, 2]", e.Message);
        e = Assert.Throws<ArgumentException>(() => model.Predict(new Tensor<float>(2, 5, 3)));
        Assert.Contains("any number of time steps: [N, T, 2]", e.Message);

        var mlp = new Sequential(new Dense<float>(3)) { Seed = 1 };
        mlp.Build(4);
        e = Assert.Throws<ArgumentException>(() => mlp.Predict(new Tensor<float>(2, 5)));
        Assert.DoesNotContain("time steps", e.Message);
    }

    /// <summary>Models whose weights do not depend on the length keep taking any number of steps (the entry check
    /// builds each built layer at the new shape, which only checks its features).</summary>
    [Theory]
    [InlineData("lstm_timedistributed")]
    [InlineData("conv1d_pooling")]
    [InlineData("bidirectional_gru")]
    [InlineData("simplernn_dense_per_step")]
    public void ModelsWhoseWeightsDoNotDependOnTheLength_TakeAnyLength(string kind)
    {
        ILayer<float>[] layers = kind switch
        {
            "lstm_timedistributed" => [new Lstm<float>(4, returnSequences: true), new TimeDistributed<float>(new Dense<float>(2))],
            "conv1d_pooling" => [new Conv1D<float>(4, 3, padding: "same"), new GlobalAveragePooling1D<float>(), new Dense<float>(2)],
            "bidirectional_gru" => [new Bidirectional<float>(new Gru<float>(3)), new Dense<float>(2)],
            _ => [new SimpleRnn<float>(4, returnSequences: true), new Dense<float>(2)],
        };
        var model = new Sequential(layers) { Seed = 5 };
        model.Compile("mse", "sgd");
        var x = Tensor<float>.RandomNormal(new TensorShape(3, 6, 2), 1);
        var y = model.Predict(x);
        model.Fit(x, Tensor<float>.RandomNormal(y.Shape, 2), epochs: 1);
        var longer = model.Predict(Tensor<float>.RandomNormal(new TensorShape(2, 10, 2), 3));
        Assert.Equal(y.Rank == 3 ? new TensorShape(2, 10, 2) : new TensorShape(2, 2), longer.Shape);
    }

    [Fact]
    public void AModelWhoseWeightsDependOnTheLength_TakesOnlyItsOwnLength()
    {
        // Flatten then Dense: the Dense's kernel has T·F rows, so another T cannot run; the model's entry says so,
        // naming the shape it takes, instead of claiming any length and failing inside the Dense.
        var model = new Sequential(new Lstm<float>(4, returnSequences: true), new Flatten<float>(), new Dense<float>(2)) { Seed = 3 };
        model.Compile("mse", "sgd");
        var x = Tensor<float>.RandomNormal(new TensorShape(3, 5, 2), 1);
        model.Fit(x, Tensor<float>.RandomNormal(new TensorShape(3, 2), 2), epochs: 1);
        var e = Assert.Throws<ArgumentException>(() => model.Predict(new Tensor<float>(2, 7, 2)));
        Assert.Contains("[2, 7, 2]", e.Message);
        Assert.Contains("[N, 5, 2]", e.Message);
        Assert.DoesNotContain("any number of time steps", e.Message);
        Assert.Equal(new TensorShape(2, 2), model.Predict(new Tensor<float>(2, 5, 2)).Shape);
    }

    [Fact]
    public void SequenceOutputs_LeaveMaskedStepsOutOfTheLoss_AsKeras()
    {
        const int steps = 6;
        var (x, _, lengths) = Padded(20, steps, 5);
        var y = Tensor<float>.RandomNormal(new TensorShape(20, steps, 1), 6);
        Sequential Make()
        {
            var m = new Sequential(new Masking<float>(), new Lstm<float>(5, returnSequences: true), new Dense<float>(1)) { Seed = 7 };
            m.Compile("mse", new Nn.Simd.Training.Optimizers.Sgd(0.05));
            return m;
        }
        var model = Make();
        model.Build(steps, 2);
        // The loss is the mean over the kept steps only.
        var p = model.Predict(x);
        double sum = 0;
        int valid = 0;
        for (int i = 0; i < 20; i++)
            for (int t = 0; t < lengths[i]; t++) { double d = p[i, t, 0] - y[i, t, 0]; sum += d * d; valid++; }
        Assert.Equal(sum / valid, model.Evaluate(x, y)["loss"], 5);

        // Targets at padded steps change nothing in training.
        var yOther = y.Clone();
        for (int i = 0; i < 20; i++)
            for (int t = lengths[i]; t < steps; t++) yOther[i, t, 0] = 100;
        var a = Make();
        var b = Make();
        var ha = a.Fit(x, y, epochs: 2, batchSize: 8, shuffle: false);
        var hb = b.Fit(x, yOther, epochs: 2, batchSize: 8, shuffle: false);
        Assert.Equal(ha["loss"], hb["loss"]);
        Assert.Equal(a.Parameters.Select(q => q.Value.ToArray()), b.Parameters.Select(q => q.Value.ToArray()));
        Assert.Equal(a.Evaluate(x, y)["loss"], b.Evaluate(x, yOther)["loss"]);
    }

    [Fact]
    public void WithoutAMaskingLayer_AMaskSetOnALayerIsLeftAlone()
    {
        var lstm = new Lstm<float>(3);
        var model = new Sequential(lstm, new Dense<float>(1)) { Seed = 1 };
        model.Build(4, 1);
        var mask = SequenceMask.FromLengths([2, 4], 4);
        lstm.InputMask = mask;
        model.Predict(new Tensor<float>(2, 4, 1));
        Assert.Same(mask, lstm.InputMask);
    }
}
