using Nn.Simd.Cli.Experiments.SideBySide;
using Nn.Simd.Layers;
using Nn.Simd.Reference;
using Nn.Simd.Tensors;
using Nn.Simd.Training;
using Nn.Simd.Training.Losses;
using Nn.Simd.Training.Optimizers;

namespace Nn.Simd.Cli.Tests;

/// <summary>
/// "Same weights, same batches, same optimizer": with the same seed both engines start from identical weights
/// and, after one identical batch, stay within 1e-5 relative.
/// </summary>
public class EngineParityTests
{
    private const double Lr = 0.01;

    private static TrainingSet RandomSet(int n, int[] sampleShape, TargetKind kind, int classes, int seed)
    {
        var rng = new Random(seed);
        int row = sampleShape.Aggregate(1, (a, b) => a * b);
        var x = new float[n * row];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        var y = new float[n];
        for (int i = 0; i < n; i++) y[i] = kind == TargetKind.SparseLabels ? rng.Next(classes) : (float)rng.NextDouble();
        return new TrainingSet(x, sampleShape, y, kind);
    }

    public static TheoryData<string> Models => new() { "mlp", "sigmoid-mlp", "rnn", "lstm", "gru", "stock-gru", "cnn", "cnn-same" };

    /// <summary>The models whose first several steps are compared (the CLI's new CNN and GRU forms).</summary>
    public static TheoryData<string> NewModels => new() { "stock-gru", "cnn", "cnn-same" };

    private static (Sequential<float> Model, TrainingSet Data) Create(string name)
    {
        (ILayer<float>[] layers, int[] shape, TargetKind kind, int classes) = name switch
        {
            "mlp" => (new ILayer<float>[] { new Dense<float>(16, "relu"), new Dense<float>(3, "softmax") }, new[] { 2 }, TargetKind.SparseLabels, 3),
            "sigmoid-mlp" => ([new Dense<float>(12, "relu"), new Dense<float>(8, "relu"), new Dense<float>(4, "sigmoid")], [10], TargetKind.SparseLabels, 4),
            "rnn" => ([new SimpleRnn<float>(7), new Dense<float>(1)], [6, 5], TargetKind.Regression, 0),
            "lstm" => ([new Lstm<float>(7), new Dense<float>(1)], [6, 5], TargetKind.Regression, 0),
            "gru" => ([new Gru<float>(5), new Dense<float>(3, "softmax")], [4, 3], TargetKind.SparseLabels, 3),
            "stock-gru" => ([new Gru<float>(7), new Dense<float>(1)], [6, 5], TargetKind.Regression, 0),
            // The fashion CNN in miniature: Flatten sees [2, 2, 6], so a wrong flatten order (NCHW) changes the function.
            "cnn" => ([new Conv2D<float>(4, (3, 3), activation: "relu"), new MaxPooling2D<float>(), new Conv2D<float>(6, (3, 3), activation: "relu"),
                new MaxPooling2D<float>(), new Flatten<float>(), new Dense<float>(3, "softmax")], [14, 14, 2], TargetKind.SparseLabels, 3),
            // 'same' at stride 2 over 13 and 14 pixels: TensorFlow pads 0 before and 1 after on one axis, 1 and 1 on the other.
            "cnn-same" => ([new Conv2D<float>(3, (3, 3), (2, 2), "same", "tanh"), new MaxPooling2D<float>((2, 3), (1, 2)), new Flatten<float>(),
                new Dense<float>(4, "softmax")], [13, 14, 2], TargetKind.SparseLabels, 4),
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown test model"),
        };
        var model = new Sequential<float>(layers) { Seed = 11 };
        model.Build(shape);
        ILoss<float> loss = kind == TargetKind.Regression ? new MeanSquaredError<float>() : new SparseCategoricalCrossEntropy<float>();
        model.Compile(loss, new Adam(Lr));
        return (model, RandomSet(40, shape, kind, classes, seed: 3));
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void SameSeed_IdenticalStart_AndOneIdenticalBatch_StaysWithin1e5(string name)
    {
        var (model, data) = Create(name);
        using var torch = new TorchEngine(ReferenceMirror.Specs(model), data, Lr);

        // Identical start: bit for bit.
        var torchStart = torch.Model.GetKerasWeights();
        Assert.Equal(model.Parameters.Count, torchStart.Count);
        for (int i = 0; i < torchStart.Count; i++)
            Assert.Equal(model.Parameters[i].Value.ToArray(), torchStart[i]);

        // One identical batch, chosen by the shared schedule.
        var schedule = new EpochSchedule(data.Count, 16, epochs: 1, seed: 5);
        using var ours = new NnSimdEngine(model, data);
        double lossOurs = ours.TrainStep(schedule.Order(0), 0, 16);
        double lossTorch = torch.TrainStep(schedule.Order(0), 0, 16);
        Assert.True(Math.Abs(lossOurs - lossTorch) <= 1e-5 * Math.Abs(lossTorch) + 1e-7, $"{name}: loss {lossOurs} vs torch {lossTorch}");

        var torchAfter = torch.Model.GetKerasWeights();
        bool moved = false;
        for (int i = 0; i < torchAfter.Count; i++)
        {
            float[] mine = model.Parameters[i].Value.ToArray();
            // 1e-5 relative, with an absolute floor of 1e-4 of one step (lr): Adam's first step is lr·g/(|g| + 3e-6),
            // so for a weight whose gradient nearly cancels (|g| ~ 1e-6) float summation order alone moves the step
            // by ~1e-5·lr (seen: 4.5e-7 at lr 0.01 for one LSTM kernel entry).
            var r = Tolerance.Compare<float>(torchAfter[i], mine, rtol: 1e-5, atol: 1e-4 * Lr);
            Assert.True(r.Passed, $"{name}: parameter {i} ({model.Parameters[i].Name}) after one step: {r}");
            moved |= !mine.AsSpan().SequenceEqual(torchStart[i]);
        }
        Assert.True(moved, "the step changed no weight");

        // And the two models still compute the same function.
        float[] pOurs = ours.Predict(data.X, data.Count), pTorch = torch.Predict(data.X, data.Count);
        var p = Tolerance.Compare<float>(pTorch, pOurs, rtol: 1e-5, atol: 1e-6);
        Assert.True(p.Passed, $"{name}: predictions {p}");
    }

    /// <summary>Five steps of batch 8 (one epoch of 40 samples): every step's loss and the final weights agree.</summary>
    [Theory]
    [MemberData(nameof(NewModels))]
    public void SameSeed_FirstFiveSteps_TrackTorch(string name)
    {
        var (model, data) = Create(name);
        using var torch = new TorchEngine(ReferenceMirror.Specs(model), data, Lr);
        using var ours = new NnSimdEngine(model, data);
        var schedule = new EpochSchedule(data.Count, 8, epochs: 1, seed: 9);
        for (int step = 0; step < schedule.StepsPerEpoch; step++)
        {
            double a = ours.TrainStep(schedule.Order(0), step * 8, 8), b = torch.TrainStep(schedule.Order(0), step * 8, 8);
            Assert.True(Math.Abs(a - b) <= 1e-5 * Math.Abs(b) + 1e-6, $"{name}: step {step} loss {a} vs torch {b}");
        }
        var torchAfter = torch.Model.GetKerasWeights();
        for (int i = 0; i < torchAfter.Count; i++)
        {
            // As above, plus room for five Adam steps of float rounding (each at most lr per weight).
            var r = Tolerance.Compare<float>(torchAfter[i], model.Parameters[i].Value.ToArray(), rtol: 1e-4, atol: 1e-3 * Lr);
            Assert.True(r.Passed, $"{name}: parameter {i} ({model.Parameters[i].Name}) after five steps: {r}");
        }
        var p = Tolerance.Compare<float>(torch.Predict(data.X, data.Count), ours.Predict(data.X, data.Count), rtol: 1e-4, atol: 1e-5);
        Assert.True(p.Passed, $"{name}: predictions after five steps {p}");
    }

    /// <summary>
    /// The CLI's fashion CNN with a linear head, so the outputs are the logits: from the same weights both engines give
    /// the same logits. Flatten sees [5, 5, 32]; torch flattens after permuting back to NHWC, and the Dense kernel maps
    /// by the plain transpose.
    /// </summary>
    [Fact]
    public void FashionCnn_SameWeights_SameLogits()
    {
        var model = new Sequential<float>(new Conv2D<float>(16, (3, 3), activation: "relu"), new MaxPooling2D<float>(),
            new Conv2D<float>(32, (3, 3), activation: "relu"), new MaxPooling2D<float>(), new Flatten<float>(), new Dense<float>(10)) { Seed = 4 };
        model.Build(28, 28, 1);
        // Non-zero biases, so a bias mapped to the wrong channel shows too.
        var rng = new Random(6);
        foreach (var p in model.Parameters.Where(p => p.Name.EndsWith("bias", StringComparison.Ordinal)))
            foreach (ref float v in p.Value.Span) v = (float)(rng.NextDouble() - 0.5) * 0.2f;
        var data = RandomSet(6, [28, 28, 1], TargetKind.SparseLabels, 10, seed: 8);
        var specs = ReferenceMirror.Specs(model);
        Assert.Equal(["Conv2DSpec", "MaxPooling2DSpec", "Conv2DSpec", "MaxPooling2DSpec", "FlattenSpec", "DenseSpec"], specs.Select(s => s.GetType().Name));
        Assert.Equal(800, ((FlattenSpec)specs[4]).Units);
        using var torch = new TorchEngine(specs, data, Lr);
        using var ours = new NnSimdEngine(model, data);
        float[] mine = ours.Predict(data.X, data.Count), theirs = torch.Predict(data.X, data.Count);
        Assert.Equal(6 * 10, mine.Length);
        var r = Tolerance.Compare<float>(theirs, mine, rtol: 1e-5, atol: 1e-5);
        Assert.True(r.Passed, $"logits {r}");
        Assert.True(mine.Max() - mine.Min() > 0.1, "the logits differ between classes and samples, so the comparison means something");
    }

    [Fact]
    public void Schedule_IsAPermutationPerEpoch_ReproducibleFromTheSeed()
    {
        var a = new EpochSchedule(100, 32, epochs: 3, seed: 7);
        var b = new EpochSchedule(100, 32, epochs: 3, seed: 7);
        var c = new EpochSchedule(100, 32, epochs: 3, seed: 8);
        Assert.Equal(4, a.StepsPerEpoch);
        for (int e = 0; e < 3; e++)
        {
            Assert.Equal(Enumerable.Range(0, 100), a.Order(e).Order());
            Assert.Equal(a.Order(e), b.Order(e));
        }
        Assert.NotEqual(a.Order(0), a.Order(1));
        Assert.NotEqual(a.Order(0), c.Order(0));

        var full = new EpochSchedule(10, 64, epochs: 2, seed: 7);
        Assert.Equal((10, 1), (full.BatchSize, full.StepsPerEpoch));
        Assert.Equal(Enumerable.Range(0, 10), full.Order(1));
    }

    [Fact]
    public void Mirror_RejectsLayersTheReferenceLacks()
    {
        var model = new Sequential<float>(new Dense<float>(4, "gelu"), new Dense<float>(2)) { Seed = 1 };
        model.Build(3);
        var ex = Assert.Throws<ArgumentException>(() => ReferenceMirror.Specs(model));
        Assert.Contains("has no reference counterpart", ex.Message);
        var lstm = new Sequential<float>(new Lstm<float>(3, goBackwards: true)) { Seed = 1 };
        lstm.Build(2, 2);
        Assert.Throws<ArgumentException>(() => ReferenceMirror.Specs(lstm));
        // Keras' original GRU (one [3H] bias) is not torch's GRU.
        var gru = new Sequential<float>(new Gru<float>(3, resetAfter: false)) { Seed = 1 };
        gru.Build(2, 2);
        Assert.Throws<ArgumentException>(() => ReferenceMirror.Specs(gru));
        // Softmax over channels is not element-wise on NCHW; torch's max pooling has no TensorFlow 'same' padding.
        var conv = new Sequential<float>(new Conv2D<float>(2, (3, 3), activation: "softmax")) { Seed = 1 };
        conv.Build(5, 5, 1);
        Assert.Contains("has no reference counterpart", Assert.Throws<ArgumentException>(() => ReferenceMirror.Specs(conv)).Message);
        // The reference's Conv2DSpec has no dilation.
        var dilated = new Sequential<float>(new Conv2D<float>(2, (3, 3), activation: "relu", dilationRate: (2, 1))) { Seed = 1 };
        dilated.Build(6, 5, 1);
        Assert.Contains("has no reference counterpart", Assert.Throws<ArgumentException>(() => ReferenceMirror.Specs(dilated)).Message);
        var pool = new Sequential<float>(new MaxPooling2D<float>(padding: "same")) { Seed = 1 };
        pool.Build(5, 5, 1);
        Assert.Throws<ArgumentException>(() => ReferenceMirror.Specs(pool));
        // The reference engine itself checks a spec built by hand.
        float[] k = new float[3 * 3 * 1 * 2];
        Assert.Contains("'softmax' is not element-wise", Assert.Throws<ArgumentException>(
            () => new TorchModel([new Conv2DSpec(1, 2, 3, 3, 1, 1, "valid", "softmax", k, null)])).Message);
        Assert.Contains("'causal'", Assert.Throws<ArgumentException>(
            () => new TorchModel([new Conv2DSpec(1, 2, 3, 3, 1, 1, "causal", "relu", k, null)])).Message);
        Assert.Contains("[9, 3] was expected", Assert.Throws<ArgumentException>(
            () => new TorchModel([new Conv2DSpec(1, 3, 3, 3, 1, 1, "valid", "relu", k, null)])).Message);
    }
}
