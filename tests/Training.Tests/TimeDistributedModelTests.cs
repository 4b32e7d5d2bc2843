using Nn.Simd.Layers;
using Nn.Simd.Layers.Regularizers;
using Nn.Simd.Tensors;
using Nn.Simd.Training.Optimizers;

namespace Nn.Simd.Training.Tests;

/// <summary>TimeDistributed in models: a per-step head after an LSTM, masks, rank-4 steps, summary, save and load.</summary>
public sealed class TimeDistributedModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nn-td").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>y[t] = (running mean of x[·, 0] up to t, x[t, 1]·x[t, 2]): a sequence-to-sequence target.</summary>
    private static (Tensor<float> X, Tensor<float> Y) RunningMeans(int n, int steps, int seed)
    {
        var x = Tensor<float>.RandomNormal(new TensorShape(n, steps, 3), seed);
        var y = new Tensor<float>(n, steps, 2);
        for (int i = 0; i < n; i++)
        {
            float sum = 0;
            for (int t = 0; t < steps; t++)
            {
                sum += x[i, t, 0];
                y[i, t, 0] = sum / (t + 1);
                y[i, t, 1] = x[i, t, 1] * x[i, t, 2];
            }
        }
        return (x, y);
    }

    [Fact]
    public void LstmThenTimeDistributedDense_Trains_Summarises_AndRoundTrips()
    {
        var (x, y) = RunningMeans(64, 8, 1);
        var head = new Dense<float>(2, "linear") { KernelRegularizer = Regularizer.Ridge(1e-4) };
        var model = new Sequential(new Lstm<float>(12, returnSequences: true), new TimeDistributed<float>(head)) { Seed = 4 };
        model.Compile("mse", new Adam(0.01));
        var history = model.Fit(x, y, epochs: 6, batchSize: 16);
        Assert.True(history["loss"][^1] < 0.8 * history["loss"][0], $"loss {history["loss"][0]} -> {history["loss"][^1]}");

        string summary = model.Summary();
        Assert.Contains("(TimeDistributed)", summary);
        Assert.Contains("(None, 8, 2)", summary);
        Assert.Contains("Total params: 794", summary);   // LSTM 3·48 + 12·48 + 48 = 768, Dense 12·2 + 2 = 26

        string path = Path.Combine(_dir, "td.safetensors");
        model.Save(path);
        var loaded = Sequential.Load(path);
        var td = Assert.IsType<TimeDistributed<float>>(loaded.Layers[1]);
        var dense = Assert.IsType<Dense<float>>(td.Layer);
        Assert.Equal(2, dense.Units);
        Assert.NotNull(dense.KernelRegularizer);
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
        // The optimizer state came along: one more epoch from here is the same in both.
        var next = model.Fit(x, y, epochs: 1, batchSize: 16, shuffle: false);
        var nextLoaded = loaded.Fit(x, y, epochs: 1, batchSize: 16, shuffle: false);
        Assert.Equal(next["loss"][0], nextLoaded["loss"][0]);
    }

    /// <summary>Right-padded sequences: the mask from Masking passes through TimeDistributed (as in Keras 3) to the loss,
    /// so the targets at padded steps do not count. Training is bit for bit that of the same model with a Dense head
    /// on [B, T, H] (the same GEMM), and changing the padded targets changes nothing.</summary>
    [Fact]
    public void MaskFromMasking_ReachesTheLossThroughTimeDistributed()
    {
        const int n = 32, steps = 7;
        var (x, y) = RunningMeans(n, steps, 2);
        var rng = new Random(3);
        var lengths = new int[n];
        for (int i = 0; i < n; i++)
        {
            lengths[i] = 2 + rng.Next(steps - 1);
            for (int t = lengths[i]; t < steps; t++)
                for (int f = 0; f < 3; f++) x[i, t, f] = 0;
        }
        var garbage = y.Clone();
        for (int i = 0; i < n; i++)
            for (int t = lengths[i]; t < steps; t++) garbage[i, t, 0] = garbage[i, t, 1] = 100;

        Sequential<float> Make(bool wrapped) => new(new Masking<float>(), new Lstm<float>(6, returnSequences: true),
            wrapped ? new TimeDistributed<float>(new Dense<float>(2)) : new Dense<float>(2)) { Seed = 5 };
        var withTd = Make(true);
        var plain = Make(false);
        withTd.Build(steps, 3);
        plain.Build(steps, 3);
        for (int i = 0; i < plain.Parameters.Count; i++) withTd.Parameters[i].Value.ReadOnlySpan.CopyTo(plain.Parameters[i].Value.Span);
        withTd.Compile("mse", new Adam(0.01));
        plain.Compile("mse", new Adam(0.01));

        Assert.Equal(withTd.Evaluate(x, y)["loss"], withTd.Evaluate(x, garbage)["loss"]);
        var a = withTd.Fit(x, garbage, epochs: 3, batchSize: 8);
        var b = plain.Fit(x, garbage, epochs: 3, batchSize: 8);
        Assert.Equal(b["loss"], a["loss"]);
        Assert.Equal(plain.Predict(x).ToArray(), withTd.Predict(x).ToArray());
        Assert.True(a["loss"][^1] < 1, $"the padded targets (100) were counted: loss {a["loss"][^1]}");
    }

    /// <summary>Rank-4 inputs: four windows of six steps each, a Conv1D and a pooling per window, then an LSTM over the
    /// windows; with a nested TimeDistributed(TimeDistributed(Dense)) first, whose config nests as <c>layer.layer.*</c>.</summary>
    [Fact]
    public void Conv1DPerWindow_ThenLstm_Trains_AndRoundTripsNestedConfigs()
    {
        var x = Tensor<float>.RandomNormal(new TensorShape(48, 4, 6, 2), 6);
        var y = new Tensor<float>(48, 1);
        for (int i = 0; i < 48; i++)
            for (int w = 0; w < 4; w++) y[i, 0] += x.ReadOnlySpan[((i * 4 + w) * 6 + 5) * 2] * (w + 1) * 0.25f;
        var model = new Sequential(
            new TimeDistributed<float>(new TimeDistributed<float>(new Dense<float>(3, "tanh"))),
            new TimeDistributed<float>(new Conv1D<float>(4, 3, padding: "causal", activation: "relu")),
            new TimeDistributed<float>(new GlobalMaxPooling1D<float>()),
            new Lstm<float>(5),
            new Dense<float>(1)) { Seed = 7 };
        model.Compile("mse", new Adam(0.01));
        var history = model.Fit(x, y, epochs: 8, batchSize: 16);
        Assert.True(history["loss"][^1] < history["loss"][0], $"loss {history["loss"][0]} -> {history["loss"][^1]}");
        Assert.Equal("3", model.Layers[0].GetConfig()["layer.layer.units"]);
        string summary = model.Summary();
        Assert.Contains("(None, 4, 6, 3)", summary);
        Assert.Contains("(None, 4, 6, 4)", summary);
        Assert.Contains("(None, 4, 4)", summary);

        string path = Path.Combine(_dir, "windows.safetensors");
        model.Save(path);
        var loaded = Sequential.Load(path);
        var outer = Assert.IsType<TimeDistributed<float>>(loaded.Layers[0]);
        Assert.IsType<Dense<float>>(Assert.IsType<TimeDistributed<float>>(outer.Layer).Layer);
        Assert.Equal("causal", Assert.IsType<Conv1D<float>>(((TimeDistributed<float>)loaded.Layers[1]).Layer).Padding);
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
    }

    [Fact]
    public void FrozenTimeDistributed_StaysFrozen_AndSavesSo()
    {
        var (x, y) = RunningMeans(16, 5, 8);
        var td = new TimeDistributed<float>(new Dense<float>(2));
        var model = new Sequential(new Lstm<float>(4, returnSequences: true), td) { Seed = 9 };
        td.Trainable = false;
        model.Compile("mse", new Adam(0.05));
        model.Build(5, 3);
        var before = td.Parameters.Select(p => p.Value.ToArray()).ToArray();
        model.Fit(x, y, epochs: 2, batchSize: 8);
        for (int i = 0; i < before.Length; i++) Assert.Equal(before[i], td.Parameters[i].Value.ToArray());
        Assert.Contains("Non-trainable params: 10", model.Summary());   // 4·2 + 2
        string path = Path.Combine(_dir, "frozen.safetensors");
        model.Save(path);
        var loaded = Sequential.Load(path);
        Assert.False(((TimeDistributed<float>)loaded.Layers[1]).Trainable);
    }

    [Fact]
    public void FirstLayerWrapped_SkipsTheUnusedInputGradient_AsAnUnwrappedOneDoes()
    {
        var inner = new Dense<float>(4);
        var nested = new Dense<float>(3);
        var m = new Sequential(new TimeDistributed<float>(new TimeDistributed<float>(nested)), new Flatten<float>(), new Dense<float>(1));
        var plain = new Sequential(new TimeDistributed<float>(inner), new Dense<float>(2));
        Assert.True(inner.ComputeInputGradient && nested.ComputeInputGradient);
        m.Build(new TensorShape(5, 2, 6));
        plain.Build(new TensorShape(5, 6));
        Assert.False(nested.ComputeInputGradient);
        Assert.False(inner.ComputeInputGradient);
    }

    [Fact]
    public void FirstLayerBidirectional_SkipsBothDirectionsInputGradients_AndTrainsAsBefore()
    {
        var x = Tensor<float>.RandomNormal(new TensorShape(12, 5, 3), seed: 8);
        var y = Tensor<float>.RandomNormal(new TensorShape(12, 1), seed: 9);
        Sequential Make(out Bidirectional<float> bi)
        {
            bi = new Bidirectional<float>(new Lstm<float>(4));
            var m = new Sequential(bi, new Dense<float>(1)) { Seed = 3 };
            m.Compile("mse", new Optimizers.Adam(0.01));
            return m;
        }
        var model = Make(out var first);
        var losses = model.Fit(x, y, epochs: 3, batchSize: 4, shuffle: false)["loss"];
        Assert.False(first.ComputeInputGradient);
        Assert.False(first.ForwardLayer.ComputeInputGradient || first.BackwardLayer.ComputeInputGradient);
        // The same model with the input gradient forced on (as a non-first layer would have it) trains to the same bits.
        var control = Make(out var second);
        control.Build(new TensorShape(5, 3));
        second.ComputeInputGradient = true;
        Assert.Equal(losses, control.Fit(x, y, epochs: 3, batchSize: 4, shuffle: false)["loss"]);
    }
}
