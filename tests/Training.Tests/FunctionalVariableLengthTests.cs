using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using Nn.Simd.Training.Optimizers;

namespace Nn.Simd.Training.Tests;

/// <summary>Graphs whose input has a <c>None</c> time axis (Keras' <c>keras.Input(shape=(None, 5))</c>): trained at one
/// length and run at others, against the fixed-shape graph of the same weights, finite differences, steady-state
/// allocation, save/load and the refusal of a layer whose weights depend on the <c>None</c> axis.</summary>
[Collection(nameof(GlobalParallelism))]
public sealed class FunctionalVariableLengthTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nn-nonetime").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>x → LSTM (sequences) added to a per-step Dense of x (a skip connection), then an LSTM and a Dense head.</summary>
    private static (Input<T> Input, SymbolicTensor<T> Output) LstmSkipGraph<T>(int steps) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var x = new Input<T>(steps, 3);
        var h = new Lstm<T>(5, returnSequences: true) { Name = "seq" }.Call(x);
        var skip = new Dense<T>(5, "tanh") { Name = "skip" }.Call(x);
        var sum = new Add<T> { Name = "sum" }.Call(h, skip);
        var last = new Lstm<T>(4) { Name = "last" }.Call(sum);
        return (x, new Dense<T>(1) { Name = "head" }.Call(last));
    }

    private static void CopyWeights<T>(Sequential<T> from, Sequential<T> to) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        Assert.Equal(from.Parameters.Count, to.Parameters.Count);
        for (int i = 0; i < from.Parameters.Count; i++) from.Parameters[i].Value.ReadOnlySpan.CopyTo(to.Parameters[i].Value.Span);
    }

    private static (Tensor<float> X, Tensor<float> Y) Windows(int n, int steps, int seed)
    {
        var x = Tensor<float>.RandomNormal(new TensorShape(n, steps, 3), seed);
        var y = new Tensor<float>(new TensorShape(n, 1));
        for (int i = 0; i < n; i++) y[i, 0] = 0.5f * x[i, steps - 1, 0] - 0.25f * x[i, 0, 1];
        return (x, y);
    }

    [Fact]
    public void NoneGraph_TrainedOnEightSteps_PredictsThirteenLikeTheFixedGraph()
    {
        var (input, output) = LstmSkipGraph<float>(Input<float>.None);
        var model = Model.Create(input, output, seed: 3);
        model.Compile("mse", new Adam(0.01));
        var (x8, y8) = Windows(48, 8, 1);
        var history = model.Fit(x8, y8, epochs: 3, batchSize: 16);
        Assert.True(history["loss"][^1] < history["loss"][0], $"loss {history["loss"][0]} → {history["loss"][^1]}");

        var (x13, _) = Windows(10, 13, 2);
        var (fixedInput, fixedOutput) = LstmSkipGraph<float>(13);
        var fixedModel = Model.Create(fixedInput, fixedOutput, seed: 99);
        CopyWeights(model, fixedModel);
        var expected = fixedModel.Predict(x13).ToArray();
        Assert.Equal(expected, model.Predict(x13).ToArray());
        Assert.Equal(new TensorShape(10, 1), model.Predict(x13).Shape);

        // Back at eight steps (buffers re-sized again), and at eight against a fixed graph of eight.
        var (fixed8Input, fixed8Output) = LstmSkipGraph<float>(8);
        var fixed8 = Model.Create(fixed8Input, fixed8Output, seed: 98);
        CopyWeights(model, fixed8);
        Assert.Equal(fixed8.Predict(x8).ToArray(), model.Predict(x8).ToArray());
        // Evaluate and a training step at yet another length run too.
        var (x5, y5) = Windows(16, 5, 3);
        Assert.True(double.IsFinite(model.Evaluate(x5, y5)["loss"]));
        Assert.True(double.IsFinite(model.TrainOnBatch(x5, y5)["loss"]));
    }

    [Fact]
    public void NoneGraph_WithASequenceOutput_ReturnsEveryStepAtAnyLength()
    {
        Sequential Build(int steps, int seed)
        {
            var x = new Input<float>(steps, 3);
            var sum = new Add<float>().Call(new Lstm<float>(4, returnSequences: true).Call(x), new Dense<float>(4).Call(x));
            return Model.Create(x, new Dense<float>(2).Call(sum), seed: seed);
        }
        var model = Build(Input<float>.None, 2);
        var fixedModel = Build(13, 1);
        CopyWeights(model, fixedModel);
        var (x13, _) = Windows(3, 13, 4);
        var y = model.Predict(x13);
        Assert.Equal(new TensorShape(3, 13, 2), y.Shape);
        Assert.Equal(fixedModel.Predict(x13).ToArray(), y.ToArray());
        var destination = new Tensor<float>(new TensorShape(3, 13, 2));
        model.PredictOnBatch(x13, destination);
        Assert.Equal(y.ToArray(), destination.ToArray());
    }

    [Fact]
    public void NoneGraph_Summary_AndSymbolicShapes_PrintNone()
    {
        var (input, output) = LstmSkipGraph<float>(Input<float>.None);
        Assert.Equal("<SymbolicTensor shape=(None, None, 3) from " + input.Name + ">", input.ToString());
        Assert.Equal([Input<float>.None, 3], input.Dimensions);
        Assert.True(input.IsNone(0));
        Assert.False(input.IsNone(1));
        Assert.Equal([1], output.Dimensions);
        Assert.False(output.HasNone);
        var model = Model.Create(input, output, seed: 1);
        string summary = model.Summary();
        Assert.Contains("(input (None, None, 3))", summary);
        Assert.Contains("(None, None, 5)", summary);   // the LSTM's sequences and the sum
        Assert.Contains("(None, 1)", summary);
    }

    [Fact]
    public void NoneGraph_InsideASequential_LayersAfterItPrintNoneToo()
    {
        var x = new Input<float>(Input<float>.None, 3);
        var graph = Model.Create(x, new Lstm<float>(5, returnSequences: true) { Name = "seq" }.Call(x), seed: 1).Layers[0];
        var model = new Sequential(graph, new Dense<float>(2) { Name = "per_step" }, new Lstm<float>(4) { Name = "last" }) { Seed = 1 };
        model.Compile("mse", "adam");
        model.Fit(Tensor<float>.RandomNormal(new TensorShape(4, 6, 3), 1), Tensor<float>.RandomNormal(new TensorShape(4, 4), 2), epochs: 1);
        string summary = model.Summary();
        string Row(string name) => summary.Split('\n').Single(l => l.StartsWith(name, StringComparison.Ordinal));
        Assert.Contains("(None, None, 2)", Row("per_step"));
        Assert.Contains("(None, 4)", Row("last"));
        Assert.Equal(new TensorShape(3, 4), model.Predict(Tensor<float>.RandomNormal(new TensorShape(3, 9, 3), 3)).Shape);
    }

    [Fact]
    public void NoneGraph_GradientsMatchFiniteDifferences_AtASecondLength()
    {
        var (input, output) = LstmSkipGraph<double>(Input<double>.None);
        var graph = new Functional<double>(input, output);
        graph.Build(new TensorShape(2, 3, 3), seed: 4);
        foreach (var p in graph.Parameters.Where(p => p.Name == "bias")) p.Value.Span.Fill(0.1);
        graph.Forward(Tensor<double>.RandomNormal(new TensorShape(2, 3, 3), seed: 5), training: false);
        var x = Tensor<double>.RandomNormal(new TensorShape(2, 6, 3), seed: 6);
        var report = GradientCheck.Check(graph, x);
        Assert.True(report.Passed, report.ToString());
    }

    [Fact]
    public void NoneGraph_SteadyStateTrainingAtOneLength_DoesNotAllocate()
    {
        long Allocated(int n)
        {
            var (input, output) = LstmSkipGraph<float>(Input<float>.None);
            var model = Model.Create(input, output, seed: 1);
            model.Threads = 1;
            model.Compile("mse", new Adam(0.01));
            var (x, y) = Windows(n, 11, 1);
            model.Fit(x, y, epochs: 1, batchSize: 16);   // warm-up at 11 steps: workspaces, optimizer state, JIT
            long before = GC.GetAllocatedBytesForCurrentThread();
            model.Fit(x, y, epochs: 1, batchSize: 16);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        SteadyStateFit.AssertNoPerStepAllocation(Allocated);
    }

    [Fact]
    public void NoneGraph_SavesAndLoads_KeepingTheNoneAxis()
    {
        var (input, output) = LstmSkipGraph<float>(Input<float>.None);
        var model = Model.Create(input, output, seed: 5);
        model.Compile("mse", new Adam(0.01));
        var (x8, y8) = Windows(32, 8, 1);
        model.Fit(x8, y8, epochs: 1, batchSize: 16);
        var graph = Assert.IsType<Functional<float>>(Assert.Single(model.Layers));
        Assert.Equal("None,3", graph.GetConfig()["input_shape"]);

        string path = Path.Combine(_dir, "none.safetensors");
        model.Save(path);
        var loaded = Model.Load(path);
        var loadedGraph = Assert.IsType<Functional<float>>(Assert.Single(loaded.Layers));
        Assert.True(loadedGraph.Input.IsNone(0));
        var (x13, _) = Windows(7, 13, 2);
        Assert.Equal(model.Predict(x13).ToArray(), loaded.Predict(x13).ToArray());
        var (x21, _) = Windows(3, 21, 3);
        Assert.Equal(model.Predict(x21).ToArray(), loaded.Predict(x21).ToArray());
    }

    [Fact]
    public void TwoInputs_OneWithANoneAxis_RunAtAnyLength()
    {
        Sequential Build(int steps, int seed)
        {
            var seq = new Input<float>(steps, 3) { Name = "seq" };
            var side = new Input<float>(2) { Name = "side" };
            var joined = new Concatenate<float>().Call(new Lstm<float>(4).Call(seq), new Dense<float>(3, "tanh").Call(side));
            return Model.Create([seq, side], new Dense<float>(1).Call(joined), seed: seed);
        }
        var model = Build(Input<float>.None, 7);
        model.Compile("mse", new Adam(0.01));
        var (x6, y6) = Windows(32, 6, 1);
        var s6 = Tensor<float>.RandomNormal(new TensorShape(32, 2), 2);
        model.Fit([x6, s6], y6, epochs: 1, batchSize: 16);
        var (x9, _) = Windows(5, 9, 3);
        var s9 = Tensor<float>.RandomNormal(new TensorShape(5, 2), 4);
        var fixedModel = Build(9, 1);
        CopyWeights(model, fixedModel);
        Assert.Equal(fixedModel.Predict([x9, s9]).ToArray(), model.Predict([x9, s9]).ToArray());
        // The fixed axis stays fixed.
        var bad = Tensor<float>.RandomNormal(new TensorShape(5, 3), 5);
        var e = Assert.Throws<ArgumentException>(() => model.Predict([x9, bad]));
        Assert.Contains("[5, 3]", e.Message);
    }

    [Fact]
    public void DenseOverTheNoneAxis_IsRefusedAtCreate()
    {
        // Permute puts the None time axis last, where a Dense's kernel would need a fixed size.
        var x = new Input<float>(Input<float>.None, 3);
        var swapped = new Permute<float>(2, 1).Call(x);
        Assert.Equal([3, Input<float>.None], swapped.Dimensions);
        var output = new Dense<float>(1) { Name = "head" }.Call(swapped);
        var e = Assert.Throws<ArgumentException>(() => Model.Create(x, output, seed: 1));
        Assert.Contains("'head'", e.Message);
        Assert.Contains("None axis", e.Message);
        Assert.Contains($"[1, 3, {Input<float>.ReferenceLength}]", e.Message);
        Assert.Contains($"[1, 3, {Input<float>.ProbeLength}]", e.Message);
        Assert.Contains("weights depend on the last axis", e.Message);

        // Flatten over time is refused at Flatten itself, which (as in a Sequential) takes one sample size.
        var y = new Input<float>(Input<float>.None, 3);
        var flat = new Flatten<float> { Name = "flat" }.Call(y);
        Assert.Equal([Input<float>.None], flat.Dimensions);
        e = Assert.Throws<ArgumentException>(() => Model.Create(y, new Dense<float>(1).Call(flat), seed: 1));
        Assert.Contains("'flat'", e.Message);
        Assert.Contains($"[1, {Input<float>.ProbeLength}, 3]", e.Message);
    }

    [Fact]
    public void FixedShapeGraph_StillTakesOnlyItsLength_AndBadNoneShapesAreRefused()
    {
        var (input, output) = LstmSkipGraph<float>(8);
        var model = Model.Create(input, output, seed: 1);
        var (x13, _) = Windows(2, 13, 1);
        var e = Assert.Throws<ArgumentException>(() => model.Predict(x13));
        Assert.Contains("[2, 13, 3]", e.Message);

        var (noneInput, noneOutput) = LstmSkipGraph<float>(Input<float>.None);
        var noneModel = Model.Create(noneInput, noneOutput, seed: 1);
        e = Assert.Throws<ArgumentException>(() => noneModel.Predict(Tensor<float>.RandomNormal(new TensorShape(2, 13, 4), 1)));
        Assert.Contains("(None, None, 3)", e.Message);
        Assert.Contains("[2, 13, 4]", e.Message);

        e = Assert.Throws<ArgumentException>(() => new Input<float>(0, 3));
        Assert.Contains("Input.None", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Input<float>(-2, 3));
        Assert.Contains("[-2, 3]", e.Message);
    }
}
