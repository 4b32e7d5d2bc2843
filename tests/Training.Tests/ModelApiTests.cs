using System.Diagnostics;
using Nn.Simd.Layers;
using Nn.Simd.Layers.Regularizers;
using Nn.Simd.Tensors;
using Nn.Simd.Training.Losses;
using Nn.Simd.Training.Metrics;
using Nn.Simd.Training.Optimizers;

namespace Nn.Simd.Training.Tests;

/// <summary>Keras' small model API: <c>test_on_batch</c>, <c>predict_on_batch</c>, <c>Sequential.pop</c> and
/// <c>get_layer</c>, against Evaluate/Predict, a float64 reference from the formulas, and bad inputs.</summary>
public class ModelApiTests
{
    /// <summary>Dense(8, relu, L2 kernel penalty) → Dropout(0.5) → Dense(3, softmax): a dropout layer makes a forward
    /// pass in training mode visibly different, a penalty makes the regularisation term visible in the loss.</summary>
    private static Sequential Model(int seed) =>
        new(new Dense<float>(8, "relu") { Name = "hidden", KernelRegularizer = Regularizer.Ridge(0.01) },
            new Dropout<float>(0.5) { Name = "drop" },
            new Dense<float>(3, "softmax") { Name = "head" }) { Seed = seed };

    private static Tensor<float> Weights(int n, int seed)
    {
        var rng = new Random(seed);
        var w = new Tensor<float>(n);
        for (int i = 0; i < n; i++) w[i] = (float)(0.25 + 1.5 * rng.NextDouble());
        return w;
    }

    // ---------------------------------------------------------------- TestOnBatch

    [Fact]
    public void TestOnBatch_IsEvaluateWithTheWholeBatch_Bitwise_AndUpdatesNothing()
    {
        var (x, y, _) = TestData.Blobs(24, 1);
        var (xOther, yOther, _) = TestData.Blobs(16, 2);
        var sw = Weights(24, 3);
        var model = Model(5);
        var adam = new Adam(0.01);
        model.Compile(LossFactory.Get<float>("sparse_categorical_crossentropy"), adam, ["accuracy"], ["accuracy"]);
        model.TrainOnBatch(xOther, yOther);
        model.TrainOnBatch(xOther, yOther);
        var before = model.GetWeights();
        long iterations = adam.Iterations;

        var test = model.TestOnBatch(x, y, sw);
        var after = model.GetWeights();
        for (int i = 0; i < before.Values.Length; i++) Assert.Equal((float[])before.Values[i], (float[])after.Values[i]);
        Assert.Equal(iterations, adam.Iterations);

        var evaluated = model.Evaluate(x, y, batchSize: 24, sampleWeight: sw);
        Assert.Equal(["accuracy", "loss", "weighted_accuracy"], test.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(evaluated.Keys.Order(StringComparer.Ordinal), test.Keys.Order(StringComparer.Ordinal));
        foreach (var (k, v) in evaluated) Assert.Equal(v, test[k]);
        Assert.Equal(model.TrainOnBatch(x, y, sw).Keys.Order(StringComparer.Ordinal), test.Keys.Order(StringComparer.Ordinal));
    }

    /// <summary>The loss is Σ wᵢ·(−log p[i, yᵢ]) / B (Keras' sum_over_batch_size) plus the L2 penalty 0.01·Σ k², the
    /// accuracy the fraction of arg-max hits and the weighted accuracy Σ wᵢ·hitᵢ / Σ wᵢ, from the inference-mode
    /// probabilities, all in float64. Metrics from an earlier call must not leak in (Keras resets them first).</summary>
    [Fact]
    public void TestOnBatch_MatchesTheFormula_InInferenceMode_WithMetricsReset()
    {
        var (x, y, _) = TestData.Blobs(20, 7);
        var (xOther, yOther, _) = TestData.Blobs(13, 8);
        var sw = Weights(20, 9);
        var model = Model(11);
        model.Compile(LossFactory.Get<float>("sparse_categorical_crossentropy"), new Adam(0.02), ["accuracy"], ["accuracy"]);
        for (int i = 0; i < 3; i++) model.TrainOnBatch(xOther, yOther);
        model.Evaluate(xOther, yOther);   // leaves the metrics holding other data

        var logs = model.TestOnBatch(x, y, sw);

        var p = model.PredictOnBatch(x);
        double loss = 0, hits = 0, weightedHits = 0, weightSum = 0;
        for (int i = 0; i < 20; i++)
        {
            int label = (int)y[i], best = 0;
            for (int c = 1; c < 3; c++) if (p[i, c] > p[i, best]) best = c;
            double w = sw[i];
            loss += w * -Math.Log(p[i, label]);
            hits += best == label ? 1 : 0;
            weightedHits += best == label ? w : 0;
            weightSum += w;
        }
        loss /= 20;
        double penalty = 0;
        foreach (var k in model.GetLayer("hidden").Parameters[0].Value.ToArray()) penalty += 0.01 * (double)k * k;
        Assert.True(penalty > 1e-3, $"penalty {penalty} too small to be seen");
        Assert.Equal(loss + penalty, logs["loss"], 1e-5 * (loss + penalty));
        Assert.Equal(hits / 20, logs["accuracy"], 1e-12);
        Assert.Equal(weightedHits / weightSum, logs["weighted_accuracy"], 1e-6);
    }

    [Fact]
    public void TestOnBatch_BadInputs_AreRejected()
    {
        var (x, y, _) = TestData.Blobs(10, 1);
        var model = Model(1);
        Assert.Throws<InvalidOperationException>(() => model.TestOnBatch(x, y));
        model.Compile("sparse_categorical_crossentropy", "adam");
        var e = Assert.Throws<ArgumentException>(() => model.TestOnBatch(x, y.Slice(0, 9)));
        Assert.Equal("y", e.ParamName);
        Assert.Contains("[10, 2]", e.Message);
        e = Assert.Throws<ArgumentException>(() => model.TestOnBatch(x, y, new Tensor<float>(9)));
        Assert.Equal("sampleWeight", e.ParamName);
        Assert.Contains("[9]", e.Message);
        var bad = new Tensor<float>(10);
        bad[4] = 3;   // class 3 of 3 outputs
        e = Assert.Throws<ArgumentException>(() => model.TestOnBatch(x, bad));
        Assert.Equal("y", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => model.TestOnBatch(new Tensor<float>(10, 5), y));
        Assert.Equal("x", e.ParamName);
    }

    // ---------------------------------------------------------------- PredictOnBatch

    [Fact]
    public void PredictOnBatch_IsPredictWithTheWholeBatch_Bitwise_InInferenceMode()
    {
        var (x, y, _) = TestData.Blobs(19, 3);
        var model = Model(2);
        model.Compile("sparse_categorical_crossentropy", new Adam(0.01));
        model.TrainOnBatch(x, y);
        var p = model.PredictOnBatch(x);
        Assert.Equal(new TensorShape(19, 3), p.Shape);
        Assert.Equal(model.Predict(x, batchSize: 19).ToArray(), p.ToArray());
        Assert.Equal(model.Predict(x, batchSize: 64).ToArray(), p.ToArray());
        Assert.Equal(p.ToArray(), model.PredictOnBatch(x).ToArray());   // no dropout: the same again

        var into = new Tensor<float>(19, 3);
        model.PredictOnBatch(x, into);
        Assert.Equal(p.ToArray(), into.ToArray());
        Assert.Empty(model.PredictOnBatch(new Tensor<float>(0, 2)).ToArray());
    }

    [Fact]
    public void PredictOnBatch_IntoADestination_AllocatesNothing()
    {
        var (x, _, _) = TestData.Blobs(16, 4);
        var model = Model(3);
        var into = new Tensor<float>(16, 3);
        var warm = Stopwatch.StartNew();
        for (int i = 0; i < 3 || (warm.ElapsedMilliseconds < 250 && i < 10_000); i++) model.PredictOnBatch(x, into);
        long before = GC.GetAllocatedBytesForCurrentThread();
        model.PredictOnBatch(x, into);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void PredictOnBatch_BadShapes_NameTheArgument()
    {
        var model = Model(1);
        model.Build(2);
        var e = Assert.Throws<ArgumentException>(() => model.PredictOnBatch(new Tensor<float>(4, 5)));
        Assert.Equal("x", e.ParamName);
        Assert.Contains("[4, 5]", e.Message);
        e = Assert.Throws<ArgumentException>(() => model.PredictOnBatch(new Tensor<float>(4, 2), new Tensor<float>(4, 2)));
        Assert.Equal("destination", e.ParamName);
        Assert.Contains("[4, 3]", e.Message);
        Assert.Throws<ArgumentNullException>(() => model.PredictOnBatch((Tensor<float>)null!));
    }

    // ---------------------------------------------------------------- Pop

    [Fact]
    public void Pop_BuiltModel_StaysBuilt_ForTheRemainingLayers()
    {
        var (x, _, _) = TestData.Blobs(9, 5);
        var model = new Sequential(new Dense<float>(6, "tanh") { Name = "a" }, new Dense<float>(5, "relu") { Name = "b" },
            new Dense<float>(3, "softmax") { Name = "c" }) { Seed = 4 };
        model.Build(2);
        var kept = model.GetWeights();
        var c = model.Layers[2];

        Assert.Same(c, model.Pop());
        Assert.True(model.IsBuilt);
        Assert.Equal(new TensorShape(2), model.InputShape);
        Assert.Equal(new TensorShape(5), model.OutputShape);
        Assert.Equal(["a", "b"], model.Layers.Select(l => l.Name));
        Assert.Equal(model.Layers[0].Parameters.Concat(model.Layers[1].Parameters), model.Parameters);
        for (int i = 0; i < 4; i++) Assert.Equal((float[])kept.Values[i], model.Parameters[i].Value.ToArray());

        // The output is the remaining layers' (run by hand), and Summary ends at b.
        var reference = model.Layers[1].Forward(model.Layers[0].Forward(x, training: false), training: false).ToArray();
        Assert.Equal(reference, model.Predict(x).ToArray());
        Assert.Contains("b (Dense)", model.Summary());
        Assert.DoesNotContain("c (Dense)", model.Summary());
        // Still built, so Add is refused (Pop(rebuild: false) is the way to replace a layer).
        Assert.Throws<InvalidOperationException>(() => model.Add(new Dense<float>(2)));
    }

    /// <summary>The optimizer keeps its state per parameter: Pop drops the removed layer's (nothing would ever use it)
    /// and leaves the others' and the step count alone.</summary>
    [Fact]
    public void Pop_DropsTheOptimizerStateOfTheRemovedWeights_Only()
    {
        var (x, y, _) = TestData.Blobs(12, 6);
        var model = TestData.SmallMlp(3);
        var adam = new Adam(0.01);
        model.Compile("sparse_categorical_crossentropy", adam);
        model.TrainOnBatch(x, y);
        model.TrainOnBatch(x, y);
        var first = model.Layers[0].Parameters;
        var removed = model.Layers[1].Parameters;
        var firstState = first.Select(p => adam.GetStateOf(p)!).ToArray();
        var firstValues = firstState.Select(s => s.Select(t => t.ToArray()).ToArray()).ToArray();
        Assert.All(removed, p => Assert.NotNull(adam.GetStateOf(p)));

        model.Pop();
        Assert.All(removed, p => Assert.Null(adam.GetStateOf(p)));
        for (int i = 0; i < first.Count; i++)
        {
            Assert.Same(firstState[i], adam.GetStateOf(first[i]));
            for (int s = 0; s < firstValues[i].Length; s++) Assert.Equal(firstValues[i][s], firstState[i][s].ToArray());
        }
        Assert.Equal(2, adam.Iterations);
        Assert.Same(adam, model.Optimizer);
    }

    /// <summary>Keras' pop(rebuild=False) then add: the kept layers keep their weights and optimizer state, the new
    /// head is built with the seed the model drew when first built (checked against that seed, so the test does not
    /// depend on its value), and "accuracy" is resolved again for the new output width (binary for one
    /// column before, categorical for three after).</summary>
    [Fact]
    public void Pop_WithoutRebuild_ThenAdd_ReplacesTheHead()
    {
        var (x, _, onehot) = TestData.Blobs(15, 7);
        var model = new Sequential(new Dense<float>(4, "relu") { Name = "body" }, new Dense<float>(1) { Name = "old_head" });   // no Seed: the drawn one must carry on
        var adam = new Adam(0.01);
        model.Compile("mse", adam, "accuracy");
        var first = new Tensor<float>(15, 1);
        for (int i = 0; i < 15; i++) first[i, 0] = onehot[i, 0];
        model.TrainOnBatch(x, first);
        Assert.IsType<BinaryAccuracy<float>>(model.Metrics[0]);
        var body = model.Layers[0];
        var bodyWeights = body.Parameters.Select(p => p.Value.ToArray()).ToArray();
        var bodyState = adam.GetStateOf(body.Parameters[0]);
        int seed = model.EffectiveSeed;

        model.Pop(rebuild: false);
        Assert.False(model.IsBuilt);
        Assert.Null(model.InputShape);
        Assert.Null(model.OutputShape);
        model.Add(new Dense<float>(3, "softmax") { Name = "new_head" });
        var logs = model.TestOnBatch(x, onehot);
        Assert.True(model.IsBuilt);
        Assert.Equal(new TensorShape(3), model.OutputShape);
        Assert.Equal(seed, model.EffectiveSeed);
        Assert.IsType<CategoricalAccuracy<float>>(model.Metrics[0]);
        for (int i = 0; i < bodyWeights.Length; i++) Assert.Equal(bodyWeights[i], body.Parameters[i].Value.ToArray());
        Assert.Same(bodyState, adam.GetStateOf(body.Parameters[0]));
        Assert.Equal(4, model.Parameters.Count);

        // The new head is what a fresh model with this seed would build at index 1.
        var fresh = new Dense<float>(3, "softmax");
        fresh.Build(new TensorShape(1, 4), unchecked(seed + 1));
        Assert.Equal(fresh.Parameters[0].Value.ToArray(), model.Layers[1].Parameters[0].Value.ToArray());
        Assert.True(double.IsFinite(logs["loss"]));
        model.TrainOnBatch(x, onehot);
        Assert.NotNull(adam.GetStateOf(model.Layers[1].Parameters[0]));
    }

    [Fact]
    public void Pop_TheLastLayerLeft_UnbuildsAndGivesTheLayerBackWhole_ThenAnEmptyModelThrows()
    {
        var (x, y, _) = TestData.Blobs(6, 8);
        var dense = new Dense<float>(3, "softmax");
        var model = new Sequential(dense) { Seed = 1 };
        model.Compile("sparse_categorical_crossentropy", "sgd");
        model.TrainOnBatch(x, y);
        Assert.False(dense.ComputeInputGradient);   // the model's first layer skips its input gradient

        Assert.Same(dense, model.Pop());
        Assert.False(model.IsBuilt);
        Assert.Empty(model.Layers);
        Assert.Empty(model.Parameters);
        Assert.True(dense.ComputeInputGradient);    // on its own (or later in another model) it computes it again
        var e = Assert.Throws<InvalidOperationException>(() => model.Pop());
        Assert.Contains("no layers", e.Message);
    }

    [Fact]
    public void Pop_ThenSaveAndLoad_RoundTrips()
    {
        var (x, y, _) = TestData.Blobs(10, 9);
        var model = new Sequential(new Dense<float>(5, "relu"), new Dense<float>(3, "softmax"), new Dense<float>(3, "softmax")) { Seed = 2 };
        model.Compile("sparse_categorical_crossentropy", "adam");
        model.TrainOnBatch(x, y);
        model.Pop();
        model.TrainOnBatch(x, y);
        string path = Path.Combine(Path.GetTempPath(), $"nn-simd-pop-{Guid.NewGuid():N}.safetensors");
        try
        {
            model.Save(path);
            var loaded = Sequential.Load(path);
            Assert.Equal(2, loaded.Layers.Count);
            Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
            Assert.Equal(model.TrainOnBatch(x, y)["loss"], loaded.TrainOnBatch(x, y)["loss"]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    // ---------------------------------------------------------------- GetLayer

    [Fact]
    public void GetLayer_ByNameAndIndex_AsKeras()
    {
        var model = Model(1);
        Assert.Same(model.Layers[1], model.GetLayer("drop"));
        Assert.Same(model.Layers[0], model.GetLayer(0));
        Assert.Same(model.Layers[2], model.GetLayer(2));
        Assert.Same(model.Layers[2], model.GetLayer(-1));
        Assert.Same(model.Layers[0], model.GetLayer(-3));

        var e = Assert.Throws<ArgumentException>(() => model.GetLayer("dense"));
        Assert.Equal("name", e.ParamName);
        Assert.StartsWith("No such layer: dense. Existing layers are: ['hidden', 'drop', 'head'].", e.Message);
        var r = Assert.Throws<ArgumentOutOfRangeException>(() => model.GetLayer(3));
        Assert.Equal("index", r.ParamName);
        Assert.StartsWith("Was asked to retrieve layer at index 3 but model only has 3 layers.", r.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.GetLayer(-4));
        Assert.Throws<ArgumentNullException>(() => model.GetLayer(null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sequential().GetLayer(0));
    }
}
