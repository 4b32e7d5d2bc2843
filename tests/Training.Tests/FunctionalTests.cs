using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using Nn.Simd.Training.Optimizers;

namespace Nn.Simd.Training.Tests;

/// <summary>The functional API: graphs with branches and merges, against finite differences, a Sequential of the same
/// chain, save/load and resume, and every refusal.</summary>
[Collection(nameof(GlobalParallelism))]
public sealed class FunctionalTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nn-functional").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>x → a → b, add(a, b) (a skip connection), and x read a second time by a side branch that is
    /// concatenated at the end: every gradient path of a graph (a fork, a merge, the input read twice).</summary>
    private static (Input<T> Input, SymbolicTensor<T> Output) ResidualGraph<T>(int units = 5) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var x = new Input<T>(4);
        var a = new Dense<T>(units, "tanh") { Name = "a" }.Call(x);
        var b = new Dense<T>(units, "tanh") { Name = "b" }.Call(a);
        var sum = new Add<T> { Name = "sum" }.Call(a, b);
        var side = new Dense<T>(3, "sigmoid") { Name = "side" }.Call(x);
        var joined = new Concatenate<T> { Name = "joined" }.Call(sum, side);
        return (x, new Dense<T>(2) { Name = "head" }.Call(joined));
    }

    [Fact]
    public void ResidualGraph_GradientsMatchFiniteDifferences()
    {
        var (input, output) = ResidualGraph<double>();
        var graph = new Functional<double>(input, output);
        var x = Tensor<double>.RandomNormal(new TensorShape(3, 4), seed: 5);
        graph.Build(x.Shape, seed: 2);
        // Non-zero biases so that the check sees them.
        foreach (var p in graph.Parameters.Where(p => p.Name == "bias")) p.Value.Span.Fill(0.1);
        var report = GradientCheck.Check(graph, x);
        Assert.True(report.Passed, report.ToString());
    }

    [Fact]
    public void ResidualGraph_ForwardIsTheFormula()
    {
        var (input, output) = ResidualGraph<double>(units: 3);
        var graph = new Functional<double>(input, output);
        var x = Tensor<double>.RandomNormal(new TensorShape(2, 4), seed: 6);
        var y = graph.Forward(x, training: false);

        Dense<double> L(string name) => Assert.IsType<Dense<double>>(graph.GetLayer(name));
        double[] Apply(Dense<double> d, double[] v, Func<double, double> f)
        {
            var w = d.Kernel.Value;
            var r = new double[d.Units];
            for (int j = 0; j < d.Units; j++)
            {
                double s = d.Bias!.Value[j];
                for (int i = 0; i < v.Length; i++) s += v[i] * w[i, j];
                r[j] = f(s);
            }
            return r;
        }
        for (int n = 0; n < 2; n++)
        {
            var xv = Enumerable.Range(0, 4).Select(i => x[n, i]).ToArray();
            var a = Apply(L("a"), xv, Math.Tanh);
            var b = Apply(L("b"), a, Math.Tanh);
            var side = Apply(L("side"), xv, v => 1 / (1 + Math.Exp(-v)));
            var joined = a.Zip(b, (p, q) => p + q).Concat(side).ToArray();
            var head = Apply(L("head"), joined, v => v);
            for (int j = 0; j < 2; j++) Assert.Equal(head[j], y[n, j], 1e-12);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ChainGraph_TrainsBitForBitLikeSequential(bool activityPenalty)
    {
        var (x, y, _) = TestData.Blobs(96, 3);
        var input = new Input<float>(2);
        Dense<float> Hidden() => new(8, "relu") { ActivityRegularizer = activityPenalty ? new Layers.Regularizers.Regularizer(0.01, 0.02) : null };
        var h = Hidden().Call(input);
        var graphModel = Model.Create(input, new Dense<float>(3, "softmax").Call(h), seed: 3);
        var sequential = new Sequential(Hidden(), new Dense<float>(3, "softmax")) { Seed = 9 };
        sequential.Build(2);
        // The same starting weights: the graph's parameters are its layers' in run order, as a Sequential's.
        for (int i = 0; i < sequential.Parameters.Count; i++)
            graphModel.Parameters[i].Value.ReadOnlySpan.CopyTo(sequential.Parameters[i].Value.Span);
        graphModel.Compile("sparse_categorical_crossentropy", new Adam(0.01), "accuracy");
        sequential.Compile("sparse_categorical_crossentropy", new Adam(0.01), "accuracy");
        var hg = graphModel.Fit(x, y, epochs: 3, batchSize: 16, shuffle: false);
        var hs = sequential.Fit(x, y, epochs: 3, batchSize: 16, shuffle: false);
        Assert.Equal(hs["loss"], hg["loss"]);
        Assert.Equal(sequential.Predict(x).ToArray(), graphModel.Predict(x).ToArray());
        Assert.Equal(sequential.Evaluate(x, y)["loss"], graphModel.Evaluate(x, y)["loss"]);
        if (activityPenalty)
        {
            // The penalty is in the graph's loss: without it the loss drops.
            double with = graphModel.Evaluate(x, y)["loss"];
            ((Layer<float>)((Functional<float>)graphModel.Layers[0]).Layers.First()).ActivityRegularizer = null;
            Assert.True(graphModel.Evaluate(x, y)["loss"] < with - 1e-3);
        }
    }

    [Fact]
    public void GraphModel_Learns_Summarises_SavesAndResumesBitForBit()
    {
        var (x, y, _) = TestData.Blobs(128, 3);
        var input = new Input<float>(2);
        var a = new Dense<float>(16, "relu").Call(input);
        var b = new Dense<float>(16, "relu").Call(a);
        var d = new Dropout<float>(0.1).Call(new Add<float>().Call(a, b));
        var model = Model.Create(input, new Dense<float>(3, "softmax").Call(d), seed: 11);
        model.Compile("sparse_categorical_crossentropy", new Adam(0.01), "accuracy");

        string summary = model.Summary();
        Assert.Contains("(Functional)", summary);
        Assert.StartsWith("Model: \"functional\"", summary);
        Assert.Contains("(Add) ← ", summary);
        Assert.Contains("Total params: 371", summary);   // 2·16 + 16, 16·16 + 16, 16·3 + 3

        var history = model.Fit(x, y, epochs: 8, batchSize: 16);
        Assert.True(history["accuracy"][^1] > 0.9, $"accuracy {history["accuracy"][^1]}");

        string path = Path.Combine(_dir, "graph.safetensors");
        model.Save(path);
        var loaded = Model.Load(path);
        var graph = Assert.IsType<Functional<float>>(Assert.Single(loaded.Layers));
        Assert.Equal(["dense", "dense", "add", "dropout", "dense"], graph.Calls.Select(c => c.Type));
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
        // Optimizer state, shuffle order and the dropout generator came along: the next epoch is the same.
        var next = model.Fit(x, y, epochs: 1, batchSize: 16);
        var nextLoaded = loaded.Fit(x, y, epochs: 1, batchSize: 16);
        Assert.Equal(next["loss"][0], nextLoaded["loss"][0]);
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
    }

    [Fact]
    public void SelfAttentionOverAnLstm_Trains_SavesAndResumesBitForBit()
    {
        // y = mean over time of x[·, 0]·x[·, 1]: attention over the LSTM's states, then a pooled head.
        var x = Tensor<float>.RandomNormal(new TensorShape(64, 8, 3), 5);
        var y = new Tensor<float>(64, 1);
        for (int n = 0; n < 64; n++)
            for (int t = 0; t < 8; t++) y[n, 0] += x[n, t, 0] * x[n, t, 1] / 8;
        var input = new Input<float>(8, 3);
        var h = new Lstm<float>(8, returnSequences: true).Call(input);
        var attended = new Attention<float>(useScale: true, dropout: 0.1).Call(h, h);
        var pooled = new GlobalAveragePooling1D<float>().Call(new Add<float>().Call(h, attended));
        var model = Model.Create(input, new Dense<float>(1).Call(pooled), seed: 8);
        model.Compile("mse", new Adam(0.01));
        var history = model.Fit(x, y, epochs: 6, batchSize: 16);
        Assert.True(history["loss"][^1] < history["loss"][0], $"loss {history["loss"][0]} -> {history["loss"][^1]}");

        string path = Path.Combine(_dir, "attention.safetensors");
        model.Save(path);
        var loaded = Model.Load(path);
        var graph = Assert.IsType<Functional<float>>(Assert.Single(loaded.Layers));
        var attention = Assert.IsType<Attention<float>>(Assert.Single(graph.MergeLayers, m => m is Attention<float>));
        Assert.True(attention.UseScale);
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
        // The attention's dropout generator is saved with the rest of the random state.
        var next = model.Fit(x, y, epochs: 1, batchSize: 16);
        var nextLoaded = loaded.Fit(x, y, epochs: 1, batchSize: 16);
        Assert.Equal(next["loss"][0], nextLoaded["loss"][0]);
    }

    [Fact]
    public void MultiHeadSelfAttention_Trains_SavesAndResumesBitForBit()
    {
        // y = mean over time of x[·, 0]·x[·, 1]: causal multi-head self-attention with a residual, then a pooled head.
        var x = Tensor<float>.RandomNormal(new TensorShape(48, 6, 4), 7);
        var y = new Tensor<float>(48, 1);
        for (int n = 0; n < 48; n++)
            for (int t = 0; t < 6; t++) y[n, 0] += x[n, t, 0] * x[n, t, 1] / 6;
        var input = new Input<float>(6, 4);
        var attended = new MultiHeadAttention<float>(2, 3, dropout: 0.1, useCausalMask: true) { Name = "mha" }.Call(input, input);
        var pooled = new GlobalAveragePooling1D<float>().Call(new Add<float>().Call(input, attended));
        var model = Model.Create(input, new Dense<float>(1).Call(new Dense<float>(8, "tanh").Call(pooled)), seed: 9);
        model.Compile("mse", new Adam(0.01));
        var history = model.Fit(x, y, epochs: 5, batchSize: 16);
        Assert.True(history["loss"][^1] < history["loss"][0], $"loss {history["loss"][0]} -> {history["loss"][^1]}");

        string path = Path.Combine(_dir, "mha.safetensors");
        model.Save(path);
        var loaded = Model.Load(path);
        var graph = Assert.IsType<Functional<float>>(Assert.Single(loaded.Layers));
        var mha = Assert.IsType<MultiHeadAttention<float>>(Assert.Single(graph.MergeLayers, m => m is MultiHeadAttention<float>));
        Assert.Equal((2, 3, 0.1, true), (mha.NumHeads, mha.KeyDim, mha.Dropout, mha.UseCausalMask));
        string header = System.Text.Encoding.UTF8.GetString(File.ReadAllBytes(path));
        Assert.Contains($"\"{model.Layers[0].Name}.mha.attention_output.kernel\"", header);
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
        // The attention's dropout generator is saved with the rest of the random state.
        var next = model.Fit(x, y, epochs: 1, batchSize: 16);
        var nextLoaded = loaded.Fit(x, y, epochs: 1, batchSize: 16);
        Assert.Equal(next["loss"][0], nextLoaded["loss"][0]);
    }

    [Fact]
    public void SavedWeights_AreNamedAfterTheLayersInTheGraph()
    {
        var (input, output) = ResidualGraph<float>();
        var model = Model.Create(input, output, seed: 1);
        string path = Path.Combine(_dir, "names.safetensors");
        model.Save(path);
        var graphName = model.Layers[0].Name;
        var loaded = Model.Load(path);
        Assert.Equal(model.Predict(Tensor<float>.RandomNormal(new TensorShape(3, 4), 1)).ToArray(),
            loaded.Predict(Tensor<float>.RandomNormal(new TensorShape(3, 4), 1)).ToArray());
        string header = System.Text.Encoding.UTF8.GetString(File.ReadAllBytes(path));
        Assert.Contains($"\"{graphName}.a.kernel\"", header);
        Assert.Contains($"\"{graphName}.head.bias\"", header);
    }

    [Fact]
    public void SameSeed_SameModel()
    {
        Tensor<float> Run()
        {
            var (input, output) = ResidualGraph<float>();
            var model = Model.Create(input, output, seed: 21);
            model.Compile("mse", new Sgd(0.05));
            var x4 = Tensor<float>.RandomNormal(new TensorShape(32, 4), 2);
            model.Fit(x4, Tensor<float>.RandomNormal(new TensorShape(32, 2), 3), epochs: 2, batchSize: 8);
            return model.Predict(x4);
        }
        Assert.Equal(Run().ToArray(), Run().ToArray());
    }

    [Fact]
    public void FirstLayers_SkipTheInputGradient_AndTheGraphReturnsZeros()
    {
        var (input, output) = ResidualGraph<float>();
        var model = Model.Create(input, output, seed: 1);
        var graph = (Functional<float>)model.Layers[0];
        Assert.False(graph.ComputeInputGradient);
        Assert.False(((Dense<float>)graph.GetLayer("a")).ComputeInputGradient);
        Assert.False(((Dense<float>)graph.GetLayer("side")).ComputeInputGradient);
        Assert.True(((Dense<float>)graph.GetLayer("b")).ComputeInputGradient);
        var x = Tensor<float>.RandomNormal(new TensorShape(3, 4), 1);
        var y = graph.Forward(x, training: true);
        var dx = graph.Backward(Tensor<float>.RandomNormal(y.Shape, 2));
        Assert.All(dx.ToArray(), v => Assert.Equal(0f, v));
        // Popped (or used alone), it forms the input gradient again.
        model.Pop();
        Assert.True(graph.ComputeInputGradient);
        Assert.True(((Dense<float>)graph.GetLayer("a")).ComputeInputGradient);
    }

    [Fact]
    public void SteadyStateTraining_DoesNotAllocate()
    {
        long Allocated(int n)
        {
            var (input, output) = ResidualGraph<float>();
            var model = Model.Create(input, output, seed: 1);
            model.Threads = 1;
            model.Compile("mse", new Adam(0.01));
            var x = Tensor<float>.RandomNormal(new TensorShape(n, 4), 1);
            var y = Tensor<float>.RandomNormal(new TensorShape(n, 2), 2);
            model.Fit(x, y, epochs: 1, batchSize: 16);   // warm-up: workspaces, optimizer state, JIT
            long before = GC.GetAllocatedBytesForCurrentThread();
            model.Fit(x, y, epochs: 1, batchSize: 16);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        SteadyStateFit.AssertNoPerStepAllocation(Allocated);
    }

    [Fact]
    public void SteadyStateTraining_WithTwoInputsAndASharedLayer_DoesNotAllocate()
    {
        long Allocated(int n)
        {
            var a = new Input<float>(3);
            var b = new Input<float>(3);
            var shared = new Dense<float>(4, "tanh") { ActivityRegularizer = new Layers.Regularizers.Regularizer(0.01) };
            var model = Model.Create([a, b], new Dense<float>(2).Call(new Concatenate<float>().Call(shared.Call(a), shared.Call(b))), seed: 1);
            model.Threads = 1;
            model.Compile("mse", new Adam(0.01));
            var xa = Tensor<float>.RandomNormal(new TensorShape(n, 3), 1);
            var xb = Tensor<float>.RandomNormal(new TensorShape(n, 3), 2);
            var y = Tensor<float>.RandomNormal(new TensorShape(n, 2), 3);
            model.Fit([xa, xb], y, epochs: 1, batchSize: 16);   // warm-up
            long before = GC.GetAllocatedBytesForCurrentThread();
            model.Fit([xa, xb], y, epochs: 1, batchSize: 16);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        SteadyStateFit.AssertNoPerStepAllocation(Allocated);
    }

    [Fact]
    public void MaskedSequenceToSequence_TrainsBitForBitLikeSequential()
    {
        // Token sequences right-padded with 0, one target per step: the masks must reach the LSTM and the loss.
        var rng = new Random(3);
        var x = new Tensor<float>(48, 8);
        var y = new Tensor<float>(48, 8, 1);
        for (int n = 0; n < 48; n++)
        {
            int length = rng.Next(3, 9);
            for (int t = 0; t < length; t++)
            {
                x[n, t] = rng.Next(1, 20);
                y[n, t, 0] = (x[n, t] % 3) - 1;
            }
        }
        var input = new Input<float>(8);
        var graph = new Functional<float>(input,
            new Dense<float>(1).Call(new Lstm<float>(6, returnSequences: true).Call(new Embedding<float>(20, 4, maskZero: true).Call(input))));
        Assert.True(graph.IsMaskSource);
        var graphModel = new Sequential(graph) { Seed = 1 };
        var sequential = new Sequential(new Embedding<float>(20, 4, maskZero: true), new Lstm<float>(6, returnSequences: true), new Dense<float>(1)) { Seed = 2 };
        graphModel.Build(8);
        sequential.Build(8);
        for (int i = 0; i < sequential.Parameters.Count; i++)
            graphModel.Parameters[i].Value.ReadOnlySpan.CopyTo(sequential.Parameters[i].Value.Span);
        graphModel.Compile("mse", new Adam(0.01));
        sequential.Compile("mse", new Adam(0.01));
        var hg = graphModel.Fit(x, y, epochs: 3, batchSize: 16, shuffle: false);
        var hs = sequential.Fit(x, y, epochs: 3, batchSize: 16, shuffle: false);
        Assert.Equal(hs["loss"], hg["loss"]);
        Assert.NotNull(graph.OutputMask);
    }

    /// <summary>[2, 8, 2]: one random 5-step sequence padded with zeros on the right (sample 0) and on the left
    /// (sample 1).</summary>
    private static Tensor<float> RightAndLeftPadded()
    {
        var x = new Tensor<float>(2, 8, 2);
        var s = Tensor<float>.RandomNormal(new TensorShape(5, 2), 6);
        for (int t = 0; t < 5; t++)
            for (int f = 0; f < 2; f++)
            {
                x[0, t, f] = s[t, f];
                x[1, t + 3, f] = s[t, f];
            }
        return x;
    }

    [Fact]
    public void MasksMeetAtAMerge_PaddedStepsChangeNothing()
    {
        // Masking → (Dense, LSTM) → Add → LSTM: with the branches' masks combined at the Add, the last LSTM skips the
        // padding, so a sequence padded on the right and the same sequence padded on the left give the same output.
        var input = new Input<float>(8, 2);
        var masked = new Masking<float>().Call(input);
        var sum = new Add<float>().Call(new Dense<float>(3, "tanh").Call(masked), new Lstm<float>(3, returnSequences: true).Call(masked));
        var graph = new Functional<float>(input, new Dense<float>(1).Call(new Lstm<float>(4).Call(sum)));
        graph.Build(new TensorShape(2, 8, 2), seed: 5);
        var x = RightAndLeftPadded();
        var yOut = graph.Forward(x, training: false);
        Assert.Equal(yOut[0, 0], yOut[1, 0], 1e-6f);
        Assert.Null(graph.OutputMask);   // the last LSTM returns one step: no mask after it
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MasksReachAttention_AsKerasQueryAndValueMasks(bool multiHead)
    {
        // Masking → LSTM → self-attention: the padding is neither attended to nor, for Attention, output; a sequence
        // padded on the right and the same sequence padded on the left give the same rows at their kept steps.
        var input = new Input<float>(8, 2);
        var h = new Lstm<float>(4, returnSequences: true).Call(new Masking<float>().Call(input));
        var attended = multiHead ? new MultiHeadAttention<float>(2, 2, seed: 1).Call(h, h) : new Attention<float>(useScale: true).Call(h, h);
        var graph = new Functional<float>(input, attended);
        graph.Build(new TensorShape(2, 8, 2), seed: 4);
        var x = RightAndLeftPadded();
        var y = graph.Forward(x, training: false);
        int width = y.Shape[2];
        for (int t = 0; t < 5; t++)
            for (int c = 0; c < width; c++) Assert.Equal(y[0, t, c], y[1, t + 3, c], 1e-5f);
        if (!multiHead)
            for (int t = 5; t < 8; t++)
                for (int c = 0; c < width; c++) Assert.Equal(0f, y[0, t, c]);
        // The output keeps the query's mask.
        Assert.NotNull(graph.OutputMask);
        Assert.False(graph.OutputMask![0, 6]);
        Assert.True(graph.OutputMask[1, 6]);
    }

    /// <summary>A features input and a sequence input: the features feed a Dense, the sequence an LSTM; the features
    /// are also multiplied into the joined result (an input read twice).</summary>
    private static (Input<T> Features, Input<T> Sequence, SymbolicTensor<T> Output) TwoInputGraph<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var features = new Input<T>(3) { Name = "features" };
        var sequence = new Input<T>(5, 2) { Name = "sequence" };
        var f = new Dense<T>(4, "tanh") { Name = "f" }.Call(features);
        var h = new Lstm<T>(4) { Name = "h" }.Call(sequence);
        var joined = new Concatenate<T> { Name = "joined" }.Call(f, h);
        var gate = new Dense<T>(8, "sigmoid") { Name = "gate" }.Call(features);
        return (features, sequence, new Dense<T>(2) { Name = "head" }.Call(new Multiply<T>().Call(joined, gate)));
    }

    [Fact]
    public void TwoInputGraph_GradientsMatchFiniteDifferences_AlsoNestedInAnotherGraph()
    {
        var (features, sequence, output) = TwoInputGraph<double>();
        var graph = new Functional<double>([features, sequence], output);
        Assert.Equal(["features", "sequence"], graph.Inputs.Select(i => i.Name));
        var xf = Tensor<double>.RandomNormal(new TensorShape(3, 3), seed: 1);
        var xs = Tensor<double>.RandomNormal(new TensorShape(3, 5, 2), seed: 2);
        graph.Build([xf.Shape, xs.Shape], seed: 3);
        foreach (var p in graph.Parameters.Where(p => p.Name == "bias")) p.Value.Span.Fill(0.1);
        var report = GradientCheck.Check((IMergeLayer<double>)graph, [xf, xs]);
        Assert.True(report.Passed, report.ToString());

        // A two-input graph is a merge layer, so it can be a call in another graph.
        var x = new Input<double>(4);
        var p1 = new Dense<double>(3, "tanh").Call(x);
        var p2 = new Dense<double>(3, "tanh").Call(x);
        var a = new Input<double>(3);
        var b = new Input<double>(3);
        var inner = new Functional<double>([a, b], new Add<double>().Call(new Dense<double>(2).Call(a), new Dense<double>(2).Call(b)));
        var outer = new Functional<double>(x, new Dense<double>(1).Call(inner.Call(p1, p2)));
        var xo = Tensor<double>.RandomNormal(new TensorShape(3, 4), seed: 4);
        outer.Build(xo.Shape, seed: 5);
        report = GradientCheck.Check(outer, xo);
        Assert.True(report.Passed, report.ToString());
        // And it is saved and recreated with it.
        var copy = (Functional<double>)Serialization.LayerRegistry<double>.Create("functional", outer.GetConfig());
        Assert.Equal(outer.GetConfig(), copy.GetConfig());
    }

    [Fact]
    public void TwoInputModel_TrainsLikeOneModelOnTheJoinedFeatures()
    {
        // Concatenate(a, b) → Dense is a Dense on [a | b]: with the same weights and seed (same shuffles) the two-input
        // model must train bit for bit like the one-input model, which checks that every input's rows move together
        // through shuffling, batching and the validation split.
        var (xJoined, y, _) = TestData.Blobs(120, 3);
        var xa = new Tensor<float>(120, 1);
        var xb = new Tensor<float>(120, 1);
        for (int n = 0; n < 120; n++) { xa[n, 0] = xJoined[n, 0]; xb[n, 0] = xJoined[n, 1]; }
        var a = new Input<float>(1);
        var b = new Input<float>(1);
        var hidden = new Dense<float>(8, "relu").Call(new Concatenate<float>().Call(a, b));
        var two = Model.Create([a, b], new Dense<float>(3, "softmax").Call(hidden), seed: 7);
        var one = new Sequential(new Dense<float>(8, "relu"), new Dense<float>(3, "softmax")) { Seed = 7 };
        one.Build(2);
        for (int i = 0; i < one.Parameters.Count; i++) two.Parameters[i].Value.ReadOnlySpan.CopyTo(one.Parameters[i].Value.Span);
        Assert.Equal(2, two.InputCount);
        Assert.Equal([new TensorShape(1), new TensorShape(1)], two.InputShapes!);
        two.Compile("sparse_categorical_crossentropy", new Adam(0.01), "accuracy");
        one.Compile("sparse_categorical_crossentropy", new Adam(0.01), "accuracy");
        var h2 = two.Fit([xa, xb], y, epochs: 4, batchSize: 16, validationSplit: 0.25);
        var h1 = one.Fit(xJoined, y, epochs: 4, batchSize: 16, validationSplit: 0.25);
        Assert.Equal(h1["loss"], h2["loss"]);
        Assert.Equal(h1["val_loss"], h2["val_loss"]);
        Assert.Equal(one.Predict(xJoined).ToArray(), two.Predict([xa, xb]).ToArray());
        Assert.Equal(one.Evaluate(xJoined, y)["loss"], two.Evaluate([xa, xb], y)["loss"]);
        Assert.Equal(one.TestOnBatch(xJoined, y)["loss"], two.TestOnBatch([xa, xb], y)["loss"]);
        Assert.Equal(one.PredictOnBatch(xJoined).ToArray(), two.PredictOnBatch([xa, xb]).ToArray());
        var h2v = two.Fit([xa, xb], y, epochs: 1, batchSize: 16, validationData: ([xa, xb], y), shuffle: false);
        var h1v = one.Fit(xJoined, y, epochs: 1, batchSize: 16, validationData: (xJoined, y), shuffle: false);
        Assert.Equal(h1v["val_loss"], h2v["val_loss"]);
        Assert.Equal(one.TrainOnBatch(xJoined, y)["loss"], two.TrainOnBatch([xa, xb], y)["loss"]);
    }

    [Fact]
    public void TwoInputModel_Learns_SavesAndResumesBitForBit()
    {
        var (features, sequence, output) = TwoInputGraph<float>();
        var model = Model.Create([features, sequence], output, seed: 4);
        var xf = Tensor<float>.RandomNormal(new TensorShape(64, 3), 1);
        var xs = Tensor<float>.RandomNormal(new TensorShape(64, 5, 2), 2);
        var y = new Tensor<float>(64, 2);
        for (int n = 0; n < 64; n++) { y[n, 0] = xf[n, 0] * xs[n, 4, 1]; y[n, 1] = xf[n, 2] + xs[n, 0, 0]; }
        model.Compile("mse", new Adam(0.01));
        string summary = model.Summary();
        Assert.Contains("(None, 3), (None, 5, 2)", summary);
        var history = model.Fit([xf, xs], y, epochs: 20, batchSize: 16);
        Assert.True(history["loss"][^1] < 0.7 * history["loss"][0], $"loss {history["loss"][0]} -> {history["loss"][^1]}");
        string path = Path.Combine(_dir, "two.safetensors");
        model.Save(path);
        var loaded = Model.Load(path);
        Assert.Equal(2, loaded.InputCount);
        Assert.Equal(model.Predict([xf, xs]).ToArray(), loaded.Predict([xf, xs]).ToArray());
        var next = model.Fit([xf, xs], y, epochs: 1, batchSize: 16);
        var nextLoaded = loaded.Fit([xf, xs], y, epochs: 1, batchSize: 16);
        Assert.Equal(next["loss"][0], nextLoaded["loss"][0]);
    }

    [Fact]
    public void TwoInputModel_RefusesWrongInputs_NamingThem()
    {
        var (features, sequence, output) = TwoInputGraph<float>();
        var model = Model.Create([features, sequence], output, seed: 4);
        model.Compile("mse", new Sgd(0.1));
        var xf = new Tensor<float>(8, 3);
        var xs = new Tensor<float>(8, 5, 2);
        var y = new Tensor<float>(8, 2);
        var e = Assert.Throws<ArgumentException>(() => model.Fit(xf, y));
        Assert.Contains("takes 2 input tensors", e.Message);
        Assert.Contains("'features' [N, 3]", e.Message);
        e = Assert.Throws<ArgumentException>(() => model.Predict([xs, xf]));
        Assert.Contains("x[0] has shape [8, 5, 2]", e.Message);
        e = Assert.Throws<ArgumentException>(() => model.Evaluate([xf, new Tensor<float>(7, 5, 2)], y));
        Assert.Contains("different numbers of samples", e.Message);
        e = Assert.Throws<ArgumentException>(() => model.Fit([xf, xs, xs], y));
        Assert.Contains("got 3", e.Message);
        var graph = (Functional<float>)model.Layers[0];
        Assert.Throws<InvalidOperationException>(() => graph.Forward(xf, false));
        e = Assert.Throws<ArgumentException>(() => new Functional<float>([features, features], output));
        Assert.Contains("listed twice", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Functional<float>([features, sequence, new Input<float>(2) { Name = "unused" }], output));
        Assert.Contains("'unused'", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Functional<float>([features], output));
        Assert.Contains("'sequence'", e.Message);
        // A one-input model refuses two tensors.
        var single = new Sequential(new Dense<float>(2));
        e = Assert.Throws<ArgumentException>(() => single.Predict([xf, xf]));
        Assert.Contains("takes one input tensor", e.Message);
    }

    [Fact]
    public void SharedLayers_GradientsMatchFiniteDifferences()
    {
        // Keras' guide example: one LSTM encodes two sequences (a shared encoder), and one Dense is applied to two
        // branches of the same input; each shared layer's weight gradient is the sum over its calls.
        var left = new Input<double>(4, 2);
        var right = new Input<double>(4, 2);
        var encoder = new Lstm<double>(3) { Name = "encoder" };
        var projection = new Dense<double>(2, "tanh") { Name = "projection" };
        var a = encoder.Call(left);
        var b = encoder.Call(right);
        var joined = new Concatenate<double>().Call(projection.Call(a), projection.Call(b), a);
        var graph = new Functional<double>([left, right], new Dense<double>(1).Call(joined));
        Assert.Equal(["encoder", "projection"], graph.Calls.Take(2).Select(c => c.Name));
        Assert.Equal([left.Name, right.Name], graph.Calls[0].Inputs);
        var xl = Tensor<double>.RandomNormal(new TensorShape(3, 4, 2), seed: 1);
        var xr = Tensor<double>.RandomNormal(new TensorShape(3, 4, 2), seed: 2);
        graph.Build([xl.Shape, xr.Shape], seed: 3);
        Assert.Equal(3 + 2 + 2, graph.Parameters.Count);   // each shared layer's weights once: LSTM 3, Dense 2, head 2
        var report = GradientCheck.Check((IMergeLayer<double>)graph, [xl, xr]);
        Assert.True(report.Passed, report.ToString());

        // The stacked run is each call on its own input: the layers run one call at a time give the same output.
        var y = ((IMergeLayer<double>)graph).Forward([xl, xr], training: false).ToArray();
        static Tensor<double> Copy(Tensor<double> t) => Tensor<double>.FromArray(t.ToArray(), t.Shape.ToArray());
        var eL = Copy(encoder.Forward(xl, false));
        var eR = Copy(encoder.Forward(xr, false));
        var pL = Copy(projection.Forward(eL, false));
        var pR = Copy(projection.Forward(eR, false));
        var j = new Concatenate<double>().Forward([pL, pR, eL], false);
        var expected = graph.Layers.Last().Forward(j, false).ToArray();
        for (int k = 0; k < y.Length; k++) Assert.Equal(expected[k], y[k], 1e-12);
    }

    [Fact]
    public void SharedLayerModel_Trains_SavesAndResumesBitForBit()
    {
        var input = new Input<float>(4);
        var shared = new Dense<float>(6, "relu") { Name = "shared" };
        var p = new Dense<float>(5, "tanh").Call(input);
        var q = new Dense<float>(5, "sigmoid").Call(input);
        var sum = new Add<float>().Call(shared.Call(p), shared.Call(q));
        var model = Model.Create(input, new Dense<float>(1).Call(new Dropout<float>(0.1).Call(sum)), seed: 3);
        Assert.Contains("shared (Dense) ← ", model.Summary());
        var x = Tensor<float>.RandomNormal(new TensorShape(64, 4), 1);
        var y = new Tensor<float>(64, 1);
        for (int n = 0; n < 64; n++) y[n, 0] = x[n, 0] * x[n, 1] - x[n, 3];
        model.Compile("mse", new Adam(0.01));
        var history = model.Fit(x, y, epochs: 10, batchSize: 16);
        Assert.True(history["loss"][^1] < 0.7 * history["loss"][0], $"loss {history["loss"][0]} -> {history["loss"][^1]}");
        string path = Path.Combine(_dir, "shared.safetensors");
        model.Save(path);
        var loaded = Model.Load(path);
        var graph = Assert.IsType<Functional<float>>(Assert.Single(loaded.Layers));
        Assert.Equal(2, graph.Calls.Single(c => c.Name == "shared").Inputs.Count);
        // The model finds the graph's layers by name, as a Keras functional model does.
        Assert.Same(graph.GetLayer("shared"), loaded.GetLayer("shared"));
        var e = Assert.Throws<ArgumentException>(() => loaded.GetLayer("nope"));
        Assert.Contains($"'shared' (in {graph.Name})", e.Message);
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
        var next = model.Fit(x, y, epochs: 1, batchSize: 16);
        var nextLoaded = loaded.Fit(x, y, epochs: 1, batchSize: 16);
        Assert.Equal(next["loss"][0], nextLoaded["loss"][0]);
    }

    [Fact]
    public void BadGraphs_AreRefusedWithTheLayersNamed()
    {
        var x = new Input<float>(4);
        var other = new Input<float>(4) { Name = "other_input" };
        var a = new Dense<float>(3) { Name = "a" }.Call(x);

        var e = Assert.Throws<ArgumentException>(() => new Functional<float>(x, x));
        Assert.Contains("no layers", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Functional<float>(x, new Dense<float>(2).Call(other)));
        Assert.Contains("other_input", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Functional<float>(x, new Add<float>().Call(a, new Dense<float>(3).Call(other))));
        Assert.Contains("other_input", e.Message);

        // Layers that cannot be shared by stacking their calls.
        var norm = new BatchNormalization<float> { Name = "bn" };
        e = Assert.Throws<ArgumentException>(() => new Functional<float>(x, new Add<float>().Call(norm.Call(a), norm.Call(new Dense<float>(3).Call(x)))));
        Assert.Contains("'bn' is called 2 times", e.Message);
        var images = new Input<float>(6, 6, 1);
        var crop = new RandomCrop<float>(4, 4) { Name = "crop" };
        e = Assert.Throws<ArgumentException>(() => new Functional<float>(images, new Add<float>().Call(crop.Call(images), crop.Call(new Rescaling<float>(2).Call(images)))));
        Assert.Contains("'crop' is called 2 times", e.Message);
        var chain = new Dense<float>(3) { Name = "chain" };
        e = Assert.Throws<ArgumentException>(() => new Functional<float>(x, chain.Call(chain.Call(a))));
        Assert.Contains("'chain' is called on a tensor computed from its own output", e.Message);
        var wide = new Dense<float>(2) { Name = "wide" };
        e = Assert.Throws<ArgumentException>(() => new Functional<float>(x, new Concatenate<float>().Call(wide.Call(a), wide.Call(x))));
        Assert.Contains("(None, 3) and (None, 4)", e.Message);
        var add = new Add<float> { Name = "twice" };
        e = Assert.Throws<ArgumentException>(() => new Functional<float>(x, add.Call(add.Call(a, a), a)));
        Assert.Contains("merge layer 'twice'", e.Message);
        var tokens = new Input<float>(6);
        var embed = new Embedding<float>(10, 3, maskZero: true) { Name = "embed" };
        e = Assert.Throws<ArgumentException>(() => new Functional<float>(tokens, new Add<float>().Call(embed.Call(tokens), embed.Call(tokens))));
        Assert.Contains("'embed'", e.Message);
        Assert.Contains("timestep masks", e.Message);

        var twin = new Dense<float>(3) { Name = "a" }.Call(x);
        e = Assert.Throws<ArgumentException>(() => new Functional<float>(x, new Add<float>().Call(a, twin)));
        Assert.Contains("named 'a'", e.Message);

        // A call on a tensor of the wrong shape fails at the call, naming both.
        e = Assert.Throws<ArgumentException>(() => new Lstm<float>(3) { Name = "rnn" }.Call(x));
        Assert.Contains("rnn", e.Message);
        Assert.Contains("(None, 4)", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Add<float>().Call(a, new Dense<float>(5).Call(x)));
        Assert.Contains("(None, 3)", e.Message);
        Assert.Contains("(None, 5)", e.Message);

        Assert.Throws<ArgumentException>(() => new Input<float>());
        Assert.Throws<ArgumentException>(() => new Input<float>(2, 0));
        Assert.Throws<ArgumentException>(() => new Input<float>(2, 2, 2, 2));
    }

    [Fact]
    public void WrongInputShape_IsRefusedByTheModel()
    {
        var (input, output) = ResidualGraph<float>();
        var model = Model.Create(input, output, seed: 1);
        model.Compile("mse", new Sgd(0.1));
        var e = Assert.Throws<ArgumentException>(() => model.Predict(new Tensor<float>(3, 5)));
        Assert.Contains("[4]", e.Message);
        var graph = (Functional<float>)model.Layers[0];
        e = Assert.Throws<ArgumentException>(() => graph.Forward(new Tensor<float>(3, 5), false));
        Assert.Contains("(batch, 4)", e.Message);
        Assert.Contains("[3, 5]", e.Message);
        Assert.Throws<InvalidOperationException>(() => new Functional<float>(input, output).Backward(new Tensor<float>(3, 2)));
    }

    [Fact]
    public void CorruptGraphConfig_IsReported()
    {
        var (input, output) = ResidualGraph<float>();
        var config = new Functional<float>(input, output).GetConfig().ToDictionary();
        config["node.2.inputs"] = "0,4";   // a call that reads a later one
        var e = Assert.Throws<InvalidDataException>(() => Serialization.LayerRegistry<float>.Create("functional", config));
        Assert.Contains("does not run before it", e.Message);
    }
}
