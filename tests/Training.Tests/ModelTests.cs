using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using Nn.Simd.Training.Callbacks;
using Nn.Simd.Training.Losses;
using Nn.Simd.Training.Metrics;
using Nn.Simd.Training.Optimizers;

namespace Nn.Simd.Training.Tests;

public class ModelTests
{
    [Fact]
    public void Fit_SmallMlp_LearnsSeparableBlobs()
    {
        var (x, y, _) = TestData.Blobs(300, 1);
        var model = TestData.SmallMlp(7);
        model.Compile("sparse_categorical_crossentropy", new Adam(0.01), "accuracy");
        var h = model.Fit(x, y, epochs: 15, batchSize: 32, validationSplit: 0.2);
        Assert.Equal(15, h.Epochs);
        Assert.True(h["loss"][^1] < 0.5 * h["loss"][0], h.ToString());
        Assert.True(h["accuracy"][^1] >= 0.95, h.ToString());
        Assert.True(h["val_accuracy"][^1] >= 0.95, h.ToString());
        Assert.Equal(["loss", "accuracy", "val_loss", "val_accuracy"], h.Keys.ToArray());
        var eval = model.Evaluate(x, y);
        Assert.True(eval["accuracy"] >= 0.95);
        Assert.IsType<SparseCategoricalAccuracy<float>>(model.Metrics[0]);
    }

    [Fact]
    public void Fit_OneHotTargets_CategoricalAccuracy()
    {
        var (x, _, y) = TestData.Blobs(200, 2);
        var model = TestData.SmallMlp(3);
        model.Compile(new CategoricalCrossEntropy<float>(), new Adam(0.01), "accuracy");
        var h = model.Fit(x, y, epochs: 10);
        Assert.IsType<CategoricalAccuracy<float>>(model.Metrics[0]);
        Assert.True(h["accuracy"][^1] >= 0.95, h.ToString());
    }

    [Fact]
    public void Fit_ValidationSplitFromTail_ShufflesEveryEpoch_IncludesPartialBatch()
    {
        int n = 20;
        var x = new Tensor<float>(n, 2);
        var y = new Tensor<float>(n);
        for (int i = 0; i < n; i++) { x[i, 0] = i; x[i, 1] = 1; y[i] = i % 3; }
        var rec = new RecordingLayer<float>();
        var model = new Sequential(rec, new Dense<float>(3, "softmax")) { Seed = 5 };
        model.Compile("sparse_categorical_crossentropy", "sgd", "accuracy");
        model.Fit(x, y, epochs: 2, batchSize: 6, validationSplit: 0.25);   // 15 train (3 batches: 6, 6, 3), 5 val
        Assert.Equal(6, rec.Batches.Count);
        Assert.Equal([6, 6, 3, 6, 6, 3], rec.Batches.Select(b => b.Count).ToArray());
        var epoch1 = rec.Batches.Take(3).SelectMany(b => b).ToArray();
        var epoch2 = rec.Batches.Skip(3).SelectMany(b => b).ToArray();
        var trainIds = Enumerable.Range(0, 15).Select(i => (double)i).ToArray();
        Assert.Equal(trainIds, epoch1.Order().ToArray()); // the validation tail (15..19) never trains
        Assert.Equal(trainIds, epoch2.Order().ToArray());
        Assert.NotEqual(epoch1, epoch2);                    // reshuffled
        Assert.NotEqual(trainIds, epoch1);

        rec.Batches.Clear();
        model.Fit(x, y, epochs: 1, batchSize: 8, shuffle: false);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (double)i), rec.Batches.SelectMany(b => b));
    }

    [Fact]
    public void Fit_ValidationLogs_EqualEvaluateOnTheTail()
    {
        var (x, y, _) = TestData.Blobs(50, 3);
        var model = TestData.SmallMlp(1);
        model.Compile("sparse_categorical_crossentropy", "adam", "accuracy");
        var h = model.Fit(x, y, epochs: 2, batchSize: 8, validationSplit: 0.2);
        var tail = model.Evaluate(x.Slice(40, 10), y.Slice(40, 10), batchSize: 8);
        Assert.Equal(tail["loss"], h["val_loss"][^1]);
        Assert.Equal(tail["accuracy"], h["val_accuracy"][^1]);
        var vd = model.Fit(x.Slice(0, 40), y.Slice(0, 40), epochs: 1, validationData: (x.Slice(40, 10), y.Slice(40, 10)));
        Assert.True(vd.Values.ContainsKey("val_loss"));
    }

    [Fact]
    public void Evaluate_And_Predict_AgreeWithTheLoss()
    {
        var (x, y, _) = TestData.Blobs(70, 4);
        var model = TestData.SmallMlp(2);
        model.Compile("sparse_categorical_crossentropy", "adam");
        var p1 = model.Predict(x, batchSize: 7);
        var p2 = model.Predict(x, batchSize: 1000);
        Assert.Equal(new TensorShape(70, 3), p1.Shape);
        var cmp = Tolerance.Compare(p2, p1, 1e-6, 1e-7);
        Assert.True(cmp.Passed, cmp.ToString());
        double loss = new SparseCategoricalCrossEntropy<float>().Compute(p2, y);
        Assert.Equal(loss, model.Evaluate(x, y, batchSize: 16)["loss"], 5);
    }

    [Fact]
    public void TrainOnBatch_ReducesLossOnThatBatch()
    {
        var (x, y, _) = TestData.Blobs(32, 5);
        var model = TestData.SmallMlp(4);
        model.Compile("sparse_categorical_crossentropy", new Adam(0.01), "accuracy");
        double first = model.TrainOnBatch(x, y)["loss"], last = first;
        for (int i = 0; i < 30; i++) last = model.TrainOnBatch(x, y)["loss"];
        Assert.True(last < 0.5 * first, $"{first} -> {last}");
    }

    [Fact]
    public void Summary_ListsLayersShapesAndCounts()
    {
        var model = TestData.SmallMlp(1);
        Assert.Throws<InvalidOperationException>(() => model.Summary());
        model.Build(2);
        string s = model.Summary();
        Assert.Contains($"{model.Layers[0].Name} (Dense)", s);
        Assert.Contains("(None, 16)", s);
        Assert.Contains("(None, 3)", s);
        Assert.Contains("48", s);          // 2·16 + 16
        Assert.Contains("51", s);          // 16·3 + 3
        Assert.Contains("Total params: 99", s);
        Assert.Contains("Trainable params: 99", s);
    }

    [Fact]
    public void Compile_Overloads()
    {
        var model = TestData.SmallMlp(1);
        model.Compile(new SparseCategoricalCrossEntropy<float>(), new Sgd());             // no metrics
        Assert.Empty(model.Metrics);
        model.Compile(new SparseCategoricalCrossEntropy<float>(), new Sgd(), new SparseCategoricalAccuracy<float>());
        Assert.Single(model.Metrics);
        model.Compile("mse", "rmsprop", "mae");
        Assert.IsType<RmsProp>(model.Optimizer);
        Assert.Throws<ArgumentException>(() => model.Compile("mse", "adam", "f1"));
        Assert.Throws<ArgumentException>(() => model.Compile("tversky"));
    }

    [Fact]
    public void FluentAdd_And_DuplicateNames()
    {
        var model = new Sequential().Add(new Dense<float>(4, "relu") { Name = "a" }).Add(new Dense<float>(1) { Name = "b" });
        Assert.Equal(2, model.Layers.Count);
        Assert.Throws<ArgumentException>(() => model.Add(new Dense<float>(1) { Name = "a" }));
        model.Build(3);
        Assert.Throws<InvalidOperationException>(() => model.Add(new Dense<float>(1)));
        Assert.Equal(new TensorShape(1), model.OutputShape);
    }

    // ***** bad input *****

    [Fact]
    public void Fit_DifferentLengths_ThrowsNamingShapes()
    {
        var model = TestData.SmallMlp(1);
        model.Compile("sparse_categorical_crossentropy", "adam");
        var ex = Assert.Throws<ArgumentException>(() => model.Fit(new Tensor<float>(10, 2), new Tensor<float>(9)));
        Assert.Contains("[10, 2]", ex.Message);
        Assert.Contains("[9]", ex.Message);
    }

    [Fact]
    public void Fit_LabelOutOfRange_ThrowsBeforeTraining()
    {
        var (x, y, _) = TestData.Blobs(40, 6);
        y[37] = 3;
        var model = TestData.SmallMlp(1);
        model.Compile("sparse_categorical_crossentropy", "adam");
        model.Build(2);
        var before = model.Parameters[0].Value.ToArray();
        var ex = Assert.Throws<ArgumentException>(() => model.Fit(x, y, epochs: 1));
        Assert.Contains("Label 3 at index 37", ex.Message);
        Assert.Equal(before, model.Parameters[0].Value.ToArray());
    }

    [Fact]
    public void Fit_WrongShapes_ThrowNamingShapes()
    {
        var model = TestData.SmallMlp(1);
        model.Compile("categorical_crossentropy", "adam");
        model.Build(2);
        var ex = Assert.Throws<ArgumentException>(() => model.Fit(new Tensor<float>(10, 5), new Tensor<float>(10, 3)));
        Assert.Contains("[10, 5]", ex.Message);
        Assert.Contains("[2]", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => model.Fit(new Tensor<float>(10, 2), new Tensor<float>(10, 4)));
        Assert.Contains("[10, 4]", ex.Message);
        Assert.Contains("[10, 3]", ex.Message);
        Assert.Throws<InvalidOperationException>(() => TestData.SmallMlp(1).Fit(new Tensor<float>(10, 2), new Tensor<float>(10)));
    }

    [Fact]
    public void Fit_NonFiniteOutput_ThrowsNamingEpochStepAndLayer()
    {
        var (x, y, _) = TestData.Blobs(64, 7);
        var model = TestData.SmallMlp(1);
        model.Compile("sparse_categorical_crossentropy", "adam");
        model.Build(2);
        model.Layers[1].Parameters[0].Value[0] = float.PositiveInfinity;
        var ex = Assert.Throws<NonFiniteException>(() => model.Fit(x, y, epochs: 2, batchSize: 32));
        Assert.Equal(1, ex.Info.Epoch);
        Assert.Equal(1, ex.Info.Step);
        Assert.Equal(1, ex.Info.LayerIndex);
        Assert.Contains($"'{model.Layers[1].Name}'", ex.Message);
        Assert.Contains("epoch 1, step 1", ex.Message);
    }

    [Fact]
    public void Fit_NonFiniteGradient_NamesTheLayer_AndWarnModeSkipsUpdates()
    {
        var (x, y, _) = TestData.Blobs(64, 8);
        var rec = new RecordingLayer<float> { PoisonBackward = true, Name = "poison" };
        var model = new Sequential(new Dense<float>(8, "relu"), rec, new Dense<float>(3, "softmax")) { Seed = 2 };
        model.Compile("sparse_categorical_crossentropy", "adam");
        var ex = Assert.Throws<NonFiniteException>(() => model.Fit(x, y, epochs: 1, batchSize: 16));
        Assert.Equal("poison", ex.Info.LayerName);
        Assert.Contains("input gradient", ex.Message);

        var before = model.Parameters[0].Value.ToArray();
        var seen = new List<NonFiniteInfo>();
        model.NonFinite = NonFiniteMode.Warn;
        model.NonFiniteDetected += (_, e) => seen.Add(e.Info);
        var h = model.Fit(x, y, epochs: 2, batchSize: 16);
        Assert.Equal(8, seen.Count);                                    // 4 steps × 2 epochs, all skipped
        Assert.Equal([1, 1, 1, 1, 2, 2, 2, 2], seen.Select(s => s.Epoch));
        Assert.Equal(before, model.Parameters[0].Value.ToArray());      // no update applied
        Assert.Equal(2, h.Epochs);
    }

    [Fact]
    public void IsFinite_DetectsNaNAndInfinityAnywhere()
    {
        for (int n = 1; n < 40; n++)
            for (int k = 0; k < n; k++)
            {
                var a = new float[n];
                a[k] = float.NaN;
                Assert.False(Sequential<float>.IsFinite(a));
                a[k] = float.NegativeInfinity;
                Assert.False(Sequential<float>.IsFinite(a));
                a[k] = 3e38f;
                Assert.True(Sequential<float>.IsFinite(a));
            }
    }

    // ***** callbacks *****

    [Fact]
    public void EarlyStopping_StopsAfterPatience_AndRestoresBestWeights()
    {
        var model = TestData.SmallMlp(1);
        model.Build(2);
        var es = new EarlyStopping("val_loss", patience: 2, restoreBestWeights: true) { Model = model };
        es.OnTrainBegin(default);
        double[] losses = [1.0, 0.9, 0.95, 0.97, 0.99];
        float[] weightAtBest = [];
        for (int epoch = 0; epoch < losses.Length && !model.StopTraining; epoch++)
        {
            model.Parameters[0].Value[0] = epoch;              // mark the weights with the epoch
            if (epoch == 1) weightAtBest = model.Parameters[0].Value.ToArray();
            es.OnEpochEnd(epoch, new Dictionary<string, double> { ["val_loss"] = losses[epoch] });
        }
        Assert.True(model.StopTraining);
        Assert.Equal(3, es.StoppedEpoch);
        Assert.Equal(1, es.BestEpoch);
        es.OnTrainEnd(new Dictionary<string, double>());
        Assert.Equal(weightAtBest, model.Parameters[0].Value.ToArray());
    }

    [Fact]
    public void EarlyStopping_InFit_StopsEarly_AndMissingMonitorThrows()
    {
        var (x, y, _) = TestData.Blobs(40, 9);
        var model = TestData.SmallMlp(1);
        model.Compile("sparse_categorical_crossentropy", "adam");
        var h = model.Fit(x, y, epochs: 10, callbacks: [new EarlyStopping("loss", patience: 0, minDelta: 100)]);
        Assert.Equal(2, h.Epochs);   // epoch 0 sets the best; epoch 1 fails to improve by 100 and stops
        var ex = Assert.Throws<InvalidOperationException>(() => model.Fit(x, y, epochs: 1, callbacks: [new EarlyStopping()]));
        Assert.Contains("val_loss", ex.Message);
    }

    [Fact]
    public void ReduceLROnPlateau_LowersTheRate()
    {
        var model = TestData.SmallMlp(1);
        model.Compile("sparse_categorical_crossentropy", new Adam(0.01));
        var cb = new ReduceLROnPlateau("loss", factor: 0.5, patience: 1, cooldown: 2, minLearningRate: 0.002) { Model = model };
        cb.OnTrainBegin(default);
        double[] lrs = new double[6];
        for (int e = 0; e < 6; e++)
        {
            cb.OnEpochEnd(e, new Dictionary<string, double> { ["loss"] = 1.0 });
            lrs[e] = model.Optimizer!.LearningRate;
        }
        // As Keras: e0 sets the best; e1 waits 1 → 0.005 (cooldown 2); e2 cooldown; e3 counts down the cooldown and, no
        // longer in it, waits 1 → 0.0025; e4 cooldown; e5 → max(0.00125, 0.002).
        Assert.Equal([0.01, 0.005, 0.005, 0.0025, 0.0025, 0.002], lrs);
    }

    [Fact]
    public void ModelCheckpoint_SavesBestOnly()
    {
        string dir = Directory.CreateTempSubdirectory("nn-ckpt").FullName;
        try
        {
            var model = TestData.SmallMlp(1);
            model.Build(2);
            var cb = new ModelCheckpoint(Path.Combine(dir, "m_{epoch}.safetensors"), "val_loss", saveBestOnly: true) { Model = model };
            cb.OnTrainBegin(default);
            double[] losses = [1, 2, 0.5];
            for (int e = 0; e < 3; e++) cb.OnEpochEnd(e, new Dictionary<string, double> { ["val_loss"] = losses[e] });
            Assert.Equal(2, cb.Saves);
            Assert.True(File.Exists(Path.Combine(dir, "m_1.safetensors")));
            Assert.False(File.Exists(Path.Combine(dir, "m_2.safetensors")));
            Assert.True(File.Exists(Path.Combine(dir, "m_3.safetensors")));
            Assert.NotNull(Sequential.Load(Path.Combine(dir, "m_3.safetensors")));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void ProgressCallback_ReportsStepsAndEpochs()
    {
        var (x, y, _) = TestData.Blobs(50, 10);
        var model = TestData.SmallMlp(1);
        model.Compile("sparse_categorical_crossentropy", "adam", "accuracy");
        var progress = new ListProgress<TrainingProgress>();
        model.Fit(x, y, epochs: 2, batchSize: 16, validationSplit: 0.2, callbacks: [new ProgressCallback(progress)]);
        // 40 training samples → 3 steps per epoch; 3 step reports + 1 epoch-end report per epoch.
        Assert.Equal(8, progress.Reports.Count);
        var r = progress.Reports[2];
        Assert.Equal((1, 2, 3, 3, false), (r.Epoch, r.Epochs, r.Step, r.Steps, r.EpochEnd));
        Assert.True(r.SamplesPerSecond > 0);
        Assert.True(r.Metrics.ContainsKey("accuracy"));
        var end = progress.Reports[3];
        Assert.True(end.EpochEnd);
        Assert.True(end.Metrics.ContainsKey("val_loss"));
    }
}

public class ModelSequenceInputTests
{
    [Fact]
    public void Fit_TimeDistributedDense_OnRank3Inputs()
    {
        // x [N, T, F] = [40, 4, 3]; y [N, T, 2] is a fixed linear map of x; Dense applies per time step.
        var x = Tensor<float>.RandomNormal(new TensorShape(40, 4, 3), 1);
        var y = new Tensor<float>(40, 4, 2);
        for (int r = 0; r < 160; r++)
        {
            y.Span[2 * r] = x.Span[3 * r] - 0.5f * x.Span[3 * r + 2];
            y.Span[2 * r + 1] = 0.25f * x.Span[3 * r + 1];
        }
        var model = new Sequential(new Dense<float>(2)) { Seed = 1 };
        model.Compile("mse", new Optimizers.Adam(0.05), "mae");
        var h = model.Fit(x, y, epochs: 30, batchSize: 8);
        Assert.Equal(new TensorShape(4, 2), model.OutputShape);
        Assert.True(h["loss"][^1] < 0.01 * h["loss"][0], h.ToString());
        Assert.Equal(new TensorShape(40, 4, 2), model.Predict(x).Shape);
    }
}
