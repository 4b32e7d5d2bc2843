using System.Numerics;
using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using Nn.Simd.Training.Losses;
using Nn.Simd.Training.Optimizers;

namespace Nn.Simd.Training.Tests;

/// <summary>Models of several outputs (Keras' <c>keras.Model(inputs, [a, b])</c>): the graph's gradients against finite
/// differences, the model's loss and gradients against a float64 reference from the formula, training bit for bit like
/// one head alone, log keys, predict, save/load and bitwise resume, and every refusal.</summary>
[Collection(nameof(GlobalParallelism))]
public sealed class MultiOutputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nn-multiout").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>x [4] → trunk (tanh 5) → reg (linear 2) and cls (softmax 3 of concat(trunk, reg)): the output reg is
    /// also read by another call, so its gradient is the sum of its loss's and cls's.</summary>
    private static (Input<T> X, SymbolicTensor<T> Reg, SymbolicTensor<T> Cls) TwoHeads<T>(double dropout = 0) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var x = new Input<T>(4);
        var t = new Dense<T>(5, "tanh") { Name = "trunk" }.Call(x);
        if (dropout > 0) t = new Dropout<T>(dropout) { Name = "drop" }.Call(t);
        var reg = new Dense<T>(2) { Name = "reg" }.Call(t);
        var cat = new Concatenate<T> { Name = "cat" }.Call(t, reg);
        var cls = new Dense<T>(3, "softmax") { Name = "cls" }.Call(cat);
        return (x, reg, cls);
    }

    private static Tensor<T> Random<T>(int seed, params int[] shape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var f = Tensor<float>.RandomNormal(new TensorShape(shape), seed: seed);
        var r = new Tensor<T>(f.Shape);
        for (int i = 0; i < f.Length; i++) r.Span[i] = T.CreateChecked(f.ReadOnlySpan[i]);
        return r;
    }

    private static Tensor<T> OneHot<T>(int n, int classes, int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(seed);
        var y = new Tensor<T>(n, classes);
        for (int i = 0; i < n; i++) y.Span[i * classes + rng.Next(classes)] = T.One;
        return y;
    }

    // ***** gradients ****

    [Fact]
    public void Graph_FourOutputs_GradientsMatchFiniteDifferences()
    {
        // reg is an output read by cat; the shared layer's two calls are two outputs of one node, and s1 is read by cat too.
        var x = new Input<double>(4);
        var t = new Dense<double>(5, "tanh") { Name = "trunk" }.Call(x);
        var reg = new Dense<double>(2) { Name = "reg" }.Call(t);
        var u = new Dense<double>(5, "tanh") { Name = "u" }.Call(t);
        var shared = new Dense<double>(3, "sigmoid") { Name = "shared" };
        var s1 = shared.Call(t);
        var s2 = shared.Call(u);
        var cls = new Dense<double>(3, "softmax") { Name = "cls" }.Call(new Concatenate<double> { Name = "cat" }.Call(reg, s1));
        var graph = new Functional<double>(x, [reg, cls, s2, s1]);
        Assert.Equal(["reg", "cls", "shared", "shared_1"], graph.OutputNames);

        const int B = 3;
        var input = Random<double>(5, B, 4);
        graph.Build(input.Shape, seed: 2);
        foreach (var p in graph.Parameters.Where(p => p.Name == "bias")) p.Value.Span.Fill(0.1);
        ILoss<double>[] losses = [new MeanSquaredError<double>(), new CategoricalCrossEntropy<double>(), new MeanSquaredError<double>(), new BinaryCrossEntropy<double>()];
        double[] weights = [0.5, 2.0, 1.0, 0.7];
        Tensor<double>[] targets = [Random<double>(6, B, 2), OneHot<double>(B, 3, 7), Random<double>(8, B, 3), Sigmoid(Random<double>(9, B, 3))];

        double Objective()
        {
            var ys = graph.ForwardOutputs([input], training: false);
            double j = 0;
            for (int k = 0; k < ys.Count; k++) j += weights[k] * losses[k].Compute(ys[k], targets[k]);
            return j;
        }

        var outputs = graph.ForwardOutputs([input], training: false);
        var d = new Tensor<double>[outputs.Count];
        for (int k = 0; k < d.Length; k++)
        {
            d[k] = new Tensor<double>(outputs[k].Shape);
            losses[k].Gradient(outputs[k], targets[k], d[k]);
            for (int i = 0; i < d[k].Length; i++) d[k].Span[i] *= weights[k];
        }
        foreach (var p in graph.Parameters) p.Grad.Clear();
        var dx = graph.BackwardOutputs(d)[0].ToArray();

        var checks = graph.Parameters.Select(p => (p.Name, Value: p.Value, Grad: p.Grad.ToArray())).Append(("input", input, dx));
        foreach (var (name, value, analytic) in checks)
            for (int i = 0; i < value.Length; i++)
            {
                double saved = value.Span[i], h = 1e-6;
                value.Span[i] = saved + h;
                double plus = Objective();
                value.Span[i] = saved - h;
                double minus = Objective();
                value.Span[i] = saved;
                double numeric = (plus - minus) / (2 * h);
                // Central differences at h = 1e-6 carry about 1e-10 of rounding: an absolute floor beside the relative tolerance.
                double error = Math.Abs(numeric - analytic[i]) / (1e-4 + Math.Abs(numeric) + Math.Abs(analytic[i]));
                Assert.True(error < 1e-6, $"{name}[{i}]: analytic {analytic[i]:G10}, numeric {numeric:G10}, relative error {error:G3}");
            }
    }

    private static Tensor<double> Sigmoid(Tensor<double> t)
    {
        for (int i = 0; i < t.Length; i++) t.Span[i] = 1 / (1 + Math.Exp(-t.Span[i]));
        return t;
    }

    [Fact]
    public void Model_LossAndGradients_MatchTheFormulaInFloat64()
    {
        // L = 0.3 · mean((reg − ya)²) + 1.7 · mean over samples of −Σ yb·log(cls), the two heads' losses written out.
        var (x, reg, cls) = TwoHeads<double>();
        var model = Model.Create(x, [reg, cls], seed: 4);
        model.Compile(["mse", "categorical_crossentropy"], new Sgd(1.0), lossWeights: [0.3, 1.7]);
        const int B = 5;
        var input = Random<double>(11, B, 4);
        Tensor<double> ya = Random<double>(12, B, 2), yb = OneHot<double>(B, 3, 13);

        (double Total, double A, double B) Reference()
        {
            var outs = model.PredictOnBatchOutputs(input);
            double a = 0, b = 0;
            for (int i = 0; i < B * 2; i++) a += Math.Pow(outs[0].ReadOnlySpan[i] - ya.ReadOnlySpan[i], 2);
            for (int i = 0; i < B * 3; i++) b -= yb.ReadOnlySpan[i] * Math.Log(outs[1].ReadOnlySpan[i]);
            a /= B * 2;
            b /= B;
            return (0.3 * a + 1.7 * b, a, b);
        }

        var expected = Reference();
        var numeric = model.Parameters.Select(p => Enumerable.Range(0, p.Value.Length).Select(i =>
        {
            double saved = p.Value.Span[i], h = 1e-6;
            p.Value.Span[i] = saved + h;
            double plus = Reference().Total;
            p.Value.Span[i] = saved - h;
            double minus = Reference().Total;
            p.Value.Span[i] = saved;
            return (plus - minus) / (2 * h);
        }).ToArray()).ToArray();

        var logs = model.TrainOnBatch(input, [ya, yb]);
        Assert.Equal(expected.Total, logs["loss"], 1e-12);
        // Keras 3 logs each output's loss after its weight.
        Assert.Equal(0.3 * expected.A, logs["reg_loss"], 1e-12);
        Assert.Equal(1.7 * expected.B, logs["cls_loss"], 1e-12);
        for (int j = 0; j < model.Parameters.Count; j++)
        {
            var p = model.Parameters[j];
            for (int i = 0; i < p.Value.Length; i++)
            {
                double analytic = p.Grad.ReadOnlySpan[i];
                // Rounding in the central differences (about 1e-10 at h = 1e-6): an absolute floor beside the relative tolerance.
                double error = Math.Abs(numeric[j][i] - analytic) / (1e-4 + Math.Abs(numeric[j][i]) + Math.Abs(analytic));
                Assert.True(error < 1e-5, $"{p.Name} (parameter {j})[{i}]: analytic {analytic:G10}, numeric {numeric[j][i]:G10}");
            }
        }
    }

    // ***** training ****

    /// <summary>With weight 0 on the other head, a two-output model trains bit for bit like the graph of one head: its
    /// gradient adds exact zeros, and its target is gathered with the same permutation as the inputs. With sample
    /// weights, each head's loss is weighed as one output's is (the validation split's tail weighs validation).</summary>
    [Theory]
    [InlineData(0, false)]
    [InlineData(1, false)]
    [InlineData(0, true)]
    [InlineData(1, true)]
    public void ZeroWeightOnOneHead_TrainsBitForBitLikeTheOtherHeadAlone(int kept, bool sampleWeights)
    {
        var (xs, labels, onehot) = TestData.Blobs(70, 5);
        var x = new Tensor<float>(70, 4);
        for (int i = 0; i < 70; i++)
            for (int j = 0; j < 4; j++) x[i, j] = xs[i, j % 2] * (j + 1) * 0.5f;
        var ya = Random<float>(21, 70, 2);

        var (input, reg, cls) = TwoHeads<float>();
        var both = Model.Create(input, [reg, cls], seed: 9);
        var (input1, reg1, cls1) = TwoHeads<float>();
        var single = Model.Create(input1, kept == 0 ? reg1 : cls1, seed: 9);
        // The same starting weights, layer by layer.
        var graph = (Functional<float>)both.Layers[0];
        var graph1 = (Functional<float>)single.Layers[0];
        foreach (var l in graph1.Layers)
            for (int p = 0; p < l.Parameters.Count; p++)
                graph.GetLayer(l.Name).Parameters[p].Value.ReadOnlySpan.CopyTo(l.Parameters[p].Value.Span);

        both.Compile(["mse", "categorical_crossentropy"], new Adam(0.01), lossWeights: kept == 0 ? [1.0, 0.0] : [0.0, 1.0],
            metrics: [["mae"], ["accuracy"]]);
        single.Compile(kept == 0 ? "mse" : "categorical_crossentropy", new Adam(0.01), kept == 0 ? "mae" : "accuracy");
        Tensor<float>? sw = null;
        if (sampleWeights)
        {
            sw = new Tensor<float>(70);
            for (int i = 0; i < 70; i++) sw[i] = i % 5 == 0 ? 0f : 0.25f * (i % 7);
        }
        var h2 = both.Fit(x, [ya, onehot], epochs: 3, batchSize: 16, validationSplit: 0.2, sampleWeight: sw);
        var h1 = single.Fit(x, kept == 0 ? ya : onehot, epochs: 3, batchSize: 16, validationSplit: 0.2, sampleWeight: sw);

        string head = kept == 0 ? "reg" : "cls", metric = kept == 0 ? "mae" : "accuracy";
        Assert.Equal(h1["loss"], h2["loss"]);
        Assert.Equal(h1["loss"], h2[head + "_loss"]);
        Assert.Equal(h1["val_loss"], h2["val_loss"]);
        Assert.Equal(h1["val_loss"], h2["val_" + head + "_loss"]);
        Assert.Equal(h1[metric], h2[head + "_" + metric]);
        Assert.Equal(h1["val_" + metric], h2["val_" + head + "_" + metric]);
        foreach (var l in graph1.Layers)
            for (int p = 0; p < l.Parameters.Count; p++)
                Assert.Equal(l.Parameters[p].Value.ToArray(), graph.GetLayer(l.Name).Parameters[p].Value.ToArray());
    }

    [Fact]
    public void History_HasKeras3Keys_AndTotalIsTheWeightedSum()
    {
        var (input, reg, cls) = TwoHeads<float>();
        var model = Model.Create(input, [reg, cls], seed: 3);
        model.Compile(new Dictionary<string, string> { ["cls"] = "categorical_crossentropy", ["reg"] = "mse" }, new Adam(0.01),
            lossWeights: new Dictionary<string, double> { ["cls"] = 0.25 },
            metrics: new Dictionary<string, IReadOnlyList<string>> { ["reg"] = ["mae"], ["cls"] = ["accuracy"] });
        Assert.Equal([1.0, 0.25], model.LossWeights);
        Assert.Equal(["mean_squared_error", "categorical_crossentropy"], model.OutputLosses.Select(l => l.Name));
        var x = Random<float>(1, 40, 4);
        Tensor<float> ya = Random<float>(2, 40, 2), yb = OneHot<float>(40, 3, 3);
        Tensor<float> vx = Random<float>(4, 10, 4), va = Random<float>(5, 10, 2), vb = OneHot<float>(10, 3, 6);
        var history = model.Fit(x, [ya, yb], epochs: 2, batchSize: 8, validationData: (vx, [va, vb]));
        Assert.Equal(
            new[] { "loss", "reg_loss", "cls_loss", "reg_mae", "cls_accuracy", "val_loss", "val_reg_loss", "val_cls_loss", "val_reg_mae", "val_cls_accuracy" }.Order(),
            history.Keys.Order());
        var eval = model.Evaluate(vx, [va, vb], batchSize: 3);
        Assert.Equal(history["val_loss"][^1], eval["loss"], 1e-6);
        Assert.Equal(eval["reg_loss"] + eval["cls_loss"], eval["loss"], 1e-6);   // each already weighted, as in Keras 3
        var test = model.TestOnBatch(vx, [va, vb]);
        Assert.Equal(eval["loss"], test["loss"], 1e-6);
        Assert.Equal(eval["cls_accuracy"], test["cls_accuracy"]);
    }

    [Fact]
    public void SampleWeights_WeighEveryOutputsLoss_AsTheFormula()
    {
        var (input, reg, cls) = TwoHeads<double>();
        var model = Model.Create(input, [reg, cls], seed: 3);
        model.Compile(["mse", "categorical_crossentropy"], new Sgd(0.1), lossWeights: [0.5, 2.0]);
        const int n = 9;
        var x = Random<double>(1, n, 4);
        var ya = Random<double>(2, n, 2);
        var yb = OneHot<double>(n, 3, 3);
        var sw = new Tensor<double>(n);
        for (int i = 0; i < n; i++) sw[i] = i == 4 ? 0 : 0.5 + i;
        var p = model.PredictOutputs(x);
        double mse = 0, cce = 0;
        for (int i = 0; i < n; i++)
        {
            double se = 0, ce = 0;
            for (int j = 0; j < 2; j++) se += (p[0][i, j] - ya[i, j]) * (p[0][i, j] - ya[i, j]);
            for (int j = 0; j < 3; j++) ce -= yb[i, j] * Math.Log(p[1][i, j]);
            mse += sw[i] * se / 2;
            cce += sw[i] * ce;
        }
        mse /= n;
        cce /= n;
        var logs = model.Evaluate(x, [ya, yb], batchSize: 4, sampleWeight: sw);
        Assert.Equal(0.5 * mse, logs["reg_loss"], 1e-12);
        Assert.Equal(2.0 * cce, logs["cls_loss"], 1e-12);
        Assert.Equal(0.5 * mse + 2.0 * cce, logs["loss"], 1e-12);
        Assert.NotEqual(logs["loss"], model.Evaluate(x, [ya, yb], batchSize: 4)["loss"], 1e-6);
        Assert.Equal(logs["loss"], model.TestOnBatch(x, [ya, yb], sw)["loss"], 1e-12);
        // A training step reports the same weighted loss (before its update).
        Assert.Equal(logs["loss"], model.TrainOnBatch(x, [ya, yb], sw)["loss"], 1e-12);

        var e = Assert.Throws<ArgumentException>(() => model.Fit(x, [ya, yb], sampleWeight: new Tensor<double>(n - 1)));
        Assert.Equal("sampleWeight", e.ParamName);
        Assert.Contains($"[{n}]", e.Message);
        sw[2] = -1;
        e = Assert.Throws<ArgumentException>(() => model.Evaluate(x, [ya, yb], sampleWeight: sw));
        Assert.Contains("sampleWeight[2]", e.Message);
    }

    [Fact]
    public void OneLoss_AppliesToEveryOutput()
    {
        var x = new Input<float>(3);
        var t = new Dense<float>(4, "relu") { Name = "t" }.Call(x);
        var a = new Dense<float>(2) { Name = "a" }.Call(t);
        var b = new Dense<float>(1) { Name = "b" }.Call(t);
        var model = Model.Create(x, [a, b], seed: 1);
        model.Compile("mse", new Sgd(0.1));
        Assert.Equal(["mean_squared_error", "mean_squared_error"], model.OutputLosses.Select(l => l.Name));
        var logs = model.Evaluate(Random<float>(1, 6, 3), [Random<float>(2, 6, 2), Random<float>(3, 6, 1)]);
        Assert.Equal(logs["a_loss"] + logs["b_loss"], logs["loss"], 1e-6);
    }

    [Fact]
    public void PredictOutputs_AreTheHeadsFormulas_AtAnyBatchSize()
    {
        var (input, reg, cls) = TwoHeads<float>();
        var model = Model.Create(input, [reg, cls], seed: 8);
        var x = Random<float>(3, 9, 4);
        var outs = model.PredictOutputs(x, batchSize: 4);
        var once = model.PredictOnBatchOutputs(x);
        Assert.Equal([new TensorShape(9, 2), new TensorShape(9, 3)], outs.Select(o => o.Shape));
        Assert.Equal(once[0].ToArray(), outs[0].ToArray());
        Assert.Equal(once[1].ToArray(), outs[1].ToArray());

        var graph = (Functional<float>)model.Layers[0];
        double[] Apply(string name, double[] v, Func<double, double> f)
        {
            var d = (Dense<float>)graph.GetLayer(name);
            var r = new double[d.Units];
            for (int j = 0; j < d.Units; j++)
            {
                double s = d.Bias!.Value[j];
                for (int i = 0; i < v.Length; i++) s += v[i] * d.Kernel.Value[i, j];
                r[j] = f(s);
            }
            return r;
        }
        for (int n = 0; n < 9; n++)
        {
            var t = Apply("trunk", Enumerable.Range(0, 4).Select(i => (double)x[n, i]).ToArray(), Math.Tanh);
            var r = Apply("reg", t, v => v);
            var z = Apply("cls", [.. t, .. r], v => v);
            double max = z.Max(), sum = z.Sum(v => Math.Exp(v - max));
            for (int j = 0; j < 2; j++) Assert.Equal(r[j], outs[0][n, j], 1e-5);
            for (int j = 0; j < 3; j++) Assert.Equal(Math.Exp(z[j] - max) / sum, outs[1][n, j], 1e-5);
        }
    }

    [Fact]
    public void Summary_ShowsTheOutputs()
    {
        var (input, reg, cls) = TwoHeads<float>();
        var summary = Model.Create(input, [reg, cls], seed: 1).Summary();
        Assert.Contains("Outputs: reg (None, 2), cls (None, 3)", summary);
    }

    [Fact]
    public void FitSteps_DoNotAllocate()
    {
        static long AllocatedByFit(int n)
        {
            var (input, reg, cls) = TwoHeads<float>();
            var model = Model.Create(input, [reg, cls], seed: 1);
            model.Threads = 1;
            model.Compile(["mse", "categorical_crossentropy"], new Adam(0.01), [0.5, 1.0], [["mae"], ["accuracy"]]);
            var x = Random<float>(1, n, 4);
            Tensor<float> ya = Random<float>(2, n, 2), yb = OneHot<float>(n, 3, 3);
            model.Fit(x, [ya, yb], epochs: 1, batchSize: 16);   // warm-up
            long before = GC.GetAllocatedBytesForCurrentThread();
            model.Fit(x, [ya, yb], epochs: 1, batchSize: 16);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        SteadyStateFit.AssertNoPerStepAllocation(AllocatedByFit);
    }

    // ***** save, load, resume ****

    private Sequential<float> Compiled(int seed)
    {
        var (input, reg, cls) = TwoHeads<float>(dropout: 0.2);
        var model = Model.Create(input, [reg, cls], seed: seed);
        model.Compile(["huber", "categorical_crossentropy"], new Adam(0.01), [0.5, 2.0], [["mae"], ["accuracy", "auc"]]);
        return model;
    }

    [Fact]
    public void SaveLoad_RoundTripsArchitectureAndSetup_AndResumesBitForBit()
    {
        var x = Random<float>(1, 50, 4);
        Tensor<float> ya = Random<float>(2, 50, 2), yb = OneHot<float>(50, 3, 3);
        var straight = Compiled(6);
        var hs = straight.Fit(x, [ya, yb], epochs: 4, batchSize: 16, validationSplit: 0.2);

        var first = Compiled(6);
        first.Fit(x, [ya, yb], epochs: 2, batchSize: 16, validationSplit: 0.2);
        string path = Path.Combine(_dir, "two.safetensors");
        first.Save(path);
        var loaded = Sequential<float>.Load(path);
        Assert.Equal(["reg", "cls"], loaded.OutputNames);
        Assert.Equal([new TensorShape(2), new TensorShape(3)], loaded.OutputShapes!);
        Assert.Equal(["huber", "categorical_crossentropy"], loaded.OutputLosses.Select(l => l.Name));
        Assert.Equal([0.5, 2.0], loaded.LossWeights);
        Assert.Equal(first.PredictOutputs(x)[1].ToArray(), loaded.PredictOutputs(x)[1].ToArray());
        var hr = loaded.Fit(x, [ya, yb], epochs: 4, batchSize: 16, validationSplit: 0.2, initialEpoch: 2);
        Assert.Equal(hs.Keys.Order(), hr.Keys.Order());
        foreach (var key in hs.Keys) Assert.Equal(hs[key].Skip(2), hr[key]);
        for (int i = 0; i < straight.Parameters.Count; i++)
            Assert.Equal(straight.Parameters[i].Value.ToArray(), loaded.Parameters[i].Value.ToArray());
    }

    [Fact]
    public void SaveLoad_OutputsThatAreNotTheLastCall_AndSharedCalls()
    {
        var x = new Input<float>(3);
        var shared = new Dense<float>(2, "tanh") { Name = "shared" };
        var a = shared.Call(x);
        var u = new Dense<float>(3) { Name = "u" }.Call(x);
        var b = shared.Call(u);
        var last = new Dense<float>(1) { Name = "last" }.Call(new Add<float> { Name = "sum" }.Call(a, b));
        var model = Model.Create(x, [b, last, a], seed: 2);
        Assert.Equal(["shared", "last", "shared_1"], model.OutputNames);
        string path = Path.Combine(_dir, "shared.safetensors");
        model.Save(path);
        var loaded = Sequential<float>.Load(path);
        Assert.Equal(model.OutputNames, loaded.OutputNames);
        var input = Random<float>(4, 5, 3);
        var expected = model.PredictOutputs(input);
        var actual = loaded.PredictOutputs(input);
        for (int k = 0; k < 3; k++) Assert.Equal(expected[k].ToArray(), actual[k].ToArray());
    }

    // ***** refusals ****

    private static Sequential<float> TwoHeadModel()
    {
        var (input, reg, cls) = TwoHeads<float>();
        var model = Model.Create(input, [reg, cls], seed: 1);
        model.Compile(["mse", "categorical_crossentropy"], new Sgd(0.1));
        return model;
    }

    [Fact]
    public void WrongTargets_AreRefusedWithCountsAndShapes()
    {
        var model = TwoHeadModel();
        var x = Random<float>(1, 6, 4);
        Tensor<float> ya = Random<float>(2, 6, 2), yb = OneHot<float>(6, 3, 3);

        var e = Assert.Throws<ArgumentException>(() => model.Fit(x, [ya]));
        Assert.Equal("y", e.ParamName);
        Assert.Contains("holds 1 target tensor(s) [[6, 2]]", e.Message);
        Assert.Contains("'cls' (None, 3)", e.Message);

        e = Assert.Throws<ArgumentException>(() => model.Fit(x, [ya, OneHot<float>(5, 3, 3)]));
        Assert.Contains("y[1] (output 'cls') is shaped [5, 3]", e.Message);
        Assert.Contains("6 samples", e.Message);

        e = Assert.Throws<ArgumentException>(() => model.Evaluate(x, [ya, OneHot<float>(6, 4, 3)]));
        Assert.Equal("y", e.ParamName);
        Assert.Contains("y[1] (shape [6, 4]) is invalid for output 'cls' [6, 3]", e.Message);

        e = Assert.Throws<ArgumentException>(() => model.Fit(x, [ya, yb], validationData: (x, [ya])));
        Assert.Equal("validationData.Y", e.ParamName);

        // The single-target calls.
        e = Assert.Throws<ArgumentException>(() => model.Fit(x, ya));
        Assert.Equal("y", e.ParamName);
        Assert.Contains("2 outputs ['reg', 'cls']", e.Message);
        Assert.Throws<ArgumentException>(() => model.TrainOnBatch(x, ya));
        Assert.Throws<ArgumentException>(() => model.TestOnBatch(x, ya));
        Assert.Throws<ArgumentException>(() => model.Evaluate(x, ya));
        Assert.Contains("PredictOutputs", Assert.Throws<InvalidOperationException>(() => model.Predict(x)).Message);
        Assert.Throws<InvalidOperationException>(() => model.PredictOnBatch(x));
    }

    [Fact]
    public void PerOutputCalls_OnAModelOfOneOutput_AreRefused()
    {
        var (input, reg, _) = TwoHeads<float>();
        var model = Model.Create(input, [reg], seed: 1);   // one output in a list: an ordinary model
        Assert.Equal(1, model.OutputCount);
        var x = Random<float>(1, 6, 4);
        var ya = Random<float>(2, 6, 2);
        var e = Assert.Throws<InvalidOperationException>(() => model.Compile(["mse"], new Sgd(0.1)));
        Assert.Contains("one output ('reg')", e.Message);
        model.Compile("mse", new Sgd(0.1));
        Assert.Throws<InvalidOperationException>(() => model.Fit(x, [ya]));
        Assert.Throws<InvalidOperationException>(() => model.Evaluate(x, [ya]));
        Assert.Throws<InvalidOperationException>(() => model.PredictOutputs(x));
        Assert.Equal(model.Predict(x).ToArray(), model.PredictOnBatch(x).ToArray());
    }

    [Fact]
    public void BadCompileArguments_NameTheOutputs()
    {
        var (input, reg, cls) = TwoHeads<float>();
        var model = Model.Create(input, [reg, cls], seed: 1);
        var e = Assert.Throws<ArgumentException>(() => model.Compile(["mse"], new Sgd(0.1)));
        Assert.Equal("losses", e.ParamName);
        Assert.Contains("1 entries, but the model has 2 outputs [reg, cls]", e.Message);
        e = Assert.Throws<ArgumentException>(() => model.Compile(["mse", "mse"], new Sgd(0.1), lossWeights: [1.0]));
        Assert.Equal("lossWeights", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => model.Compile(["mse", "mse"], new Sgd(0.1), lossWeights: [1.0, -2.0]));
        Assert.Contains("output 'cls' is -2", e.Message);
        e = Assert.Throws<ArgumentException>(() => model.Compile(["mse", "mse"], new Sgd(0.1), metrics: [["mae"]]));
        Assert.Equal("metrics", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => model.Compile(new Dictionary<string, string> { ["reg"] = "mse", ["head"] = "mse" }, new Sgd(0.1)));
        Assert.Contains("key 'head', which is not an output name; the model's outputs are [reg, cls]", e.Message);
        e = Assert.Throws<ArgumentException>(() => model.Compile(new Dictionary<string, string> { ["reg"] = "mse" }, new Sgd(0.1)));
        Assert.Contains("no loss for output(s) [cls]", e.Message);
        e = Assert.Throws<ArgumentException>(() => model.Compile(new Dictionary<string, string> { ["reg"] = "mse", ["cls"] = "mse" }, new Sgd(0.1),
            lossWeights: new Dictionary<string, double> { ["Reg"] = 1 }));
        Assert.Equal("lossWeights", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => model.Compile("mse", "adam", "mae"));
        Assert.Contains("give metrics per output", e.Message);
        Assert.Throws<NotSupportedException>(() => model.Compile("mse", "adam", ["mae"], ["mae"]));
        Assert.Throws<InvalidOperationException>(() => model.Fit(Random<float>(1, 4, 4), [Random<float>(2, 4, 2), OneHot<float>(4, 3, 1)]));
    }

    [Fact]
    public void AGraphAddedToAModelCompiledEmpty_TrainsAsIfCompiledAfter()
    {
        var (input, reg, cls) = TwoHeads<float>();
        var late = new Sequential { Seed = 4 };
        late.Compile("mse", new Sgd(0.1));
        late.Add(new Functional<float>(input, [reg, cls]));
        var (input2, reg2, cls2) = TwoHeads<float>();
        var usual = new Sequential(new Functional<float>(input2, [reg2, cls2])) { Seed = 4 };
        usual.Compile("mse", new Sgd(0.1));
        var x = Random<float>(1, 6, 4);
        Tensor<float>[] y = [Random<float>(2, 6, 2), OneHot<float>(6, 3, 3)];
        var a = late.Fit(x, y, epochs: 2, batchSize: 3);
        var b = usual.Fit(x, y, epochs: 2, batchSize: 3);
        Assert.Equal(b.Values.Keys.Order(), a.Values.Keys.Order());
        Assert.Equal(b["loss"], a["loss"]);
        Assert.Equal(["mean_squared_error", "mean_squared_error"], late.OutputLosses.Select(l => l.Name));

        // Metrics compiled as one list cannot be split over the outputs: refused at Add, the model left as it was.
        var (input3, reg3, cls3) = TwoHeads<float>();
        var withMetrics = new Sequential { Seed = 4 };
        withMetrics.Compile("mse", new Sgd(0.1), "mae");
        var e = Assert.Throws<ArgumentException>(() => withMetrics.Add(new Functional<float>(input3, [reg3, cls3])));
        Assert.Contains("per output", e.Message);
        Assert.Empty(withMetrics.Layers);
    }

    [Fact]
    public void UnsupportedUses_ThrowNotSupported()
    {
        var (input, reg, cls) = TwoHeads<float>();
        var graph = new Functional<float>(input, [reg, cls]);
        Assert.Throws<NotSupportedException>(() => new Sequential(graph, new Dense<float>(1)));
        Assert.Throws<NotSupportedException>(() => new Sequential(new Dense<float>(4), graph));
        var outer = new Input<float>(4);
        var nested = ((ILayer<float>)graph).Call(outer);
        Assert.Throws<NotSupportedException>(() => new Functional<float>(outer, nested));
        Assert.Throws<NotSupportedException>(() => Model.Create(input, [reg, cls], seed: 1).Pop());

        var tokens = new Input<float>(5);
        var e = new Embedding<float>(10, 4, maskZero: true) { Name = "emb" }.Call(tokens);
        var h = new Lstm<float>(3) { Name = "lstm" }.Call(e);
        Assert.Throws<NotSupportedException>(() => new Functional<float>(tokens, [h, new Dense<float>(1) { Name = "d" }.Call(h)]));
    }

    [Fact]
    public void Graph_SingleTensorCalls_AndWrongGradients_AreRefused()
    {
        var (input, reg, cls) = TwoHeads<double>();
        var graph = new Functional<double>(input, [reg, cls]);
        var x = Random<double>(1, 2, 4);
        Assert.Contains("ForwardOutputs", Assert.Throws<InvalidOperationException>(() => graph.Forward(x, training: false)).Message);
        var outs = graph.ForwardOutputs([x], training: true);
        var e = Assert.Throws<ArgumentException>(() => graph.BackwardOutputs([new Tensor<double>(outs[0].Shape)]));
        Assert.Contains("2 outputs [reg, cls]; got 1", e.Message);
        e = Assert.Throws<ArgumentException>(() => graph.BackwardOutputs([new Tensor<double>(outs[0].Shape), new Tensor<double>(2, 4)]));
        Assert.Contains("dOutputs[1] (output 'cls') is shaped [2, 4], but that output was [2, 3]", e.Message);
        Assert.Throws<ArgumentException>(() => new Functional<double>(input, Array.Empty<SymbolicTensor<double>>()));
        Assert.Throws<ArgumentException>(() => new Functional<double>(input, [reg, input]));
    }
}
