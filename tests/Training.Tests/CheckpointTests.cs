using System.Text.Json;
using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using Nn.Simd.Training.Losses;
using Nn.Simd.Training.Optimizers;
using Nn.Simd.Training.Serialization;

namespace Nn.Simd.Training.Tests;

/// <summary>Saving and loading the training setup and optimizer state (resuming a run), and frozen parameters.</summary>
public sealed class CheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nn-ckpt").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    private static readonly (Tensor<float> X, Tensor<float> Labels, Tensor<float> OneHot) Data = TestData.Blobs(80, 5);

    private static Sequential Compiled(Func<Optimizer> optimizer, int seed = 4)
    {
        var m = TestData.SmallMlp(seed);
        m.Compile("sparse_categorical_crossentropy", optimizer(), "accuracy");
        return m;
    }

    private static float[][] Weights(Sequential<float> m) => m.Parameters.Select(p => p.Value.ToArray()).ToArray();

    public static TheoryData<string> OptimizerNames => ["adam", "adamw", "sgd_momentum", "rmsprop_centered_momentum", "adam_schedule_clip", "adagrad", "adam_amsgrad", "nadam", "adamax", "adadelta", "lion_schedule_clip",
        "sgd_decay_accumulate", "rmsprop_decay_restarts", "adam_accumulate_polynomial", "nadam_piecewise", "adam_warmup"];

    private static Optimizer Make(string name) => name switch
    {
        "adam" => new Adam(0.01),
        "adamw" => new AdamW(0.01, weightDecay: 0.01),
        "sgd_momentum" => new Sgd(0.05, momentum: 0.9, nesterov: true),
        "rmsprop_centered_momentum" => new RmsProp(0.01, rho: 0.8, momentum: 0.5, centered: true),
        "adam_schedule_clip" => new Adam(0.02) { Schedule = new ExponentialDecay(3, 0.5), ClipNorm = 0.5 },
        "adagrad" => new Adagrad(0.1),
        "adam_amsgrad" => new AdamW(0.01) { AmsGrad = true },
        "nadam" => new Nadam(0.01),
        "adamax" => new Adamax(0.02),
        "adadelta" => new Adadelta(1.0),
        "lion_schedule_clip" => new Lion(0.003) { Schedule = new CosineDecay(20, 0.1), GlobalClipNorm = 1 },
        // 5 batches an epoch and the save after 10: a third of the way into an accumulation, so the accumulators are live.
        "sgd_decay_accumulate" => new Sgd(0.05, momentum: 0.9) { WeightDecay = 0.01, GradientAccumulationSteps = 3 },
        "rmsprop_decay_restarts" => new RmsProp(0.01) { WeightDecay = 0.05, Schedule = new CosineDecayRestarts(3, 2, 0.9, 0.1) },
        "adam_accumulate_polynomial" => new Adam(0.02) { GradientAccumulationSteps = 4, Schedule = new PolynomialDecay(15, 1e-3, 2, cycle: true) },
        "nadam_piecewise" => new Nadam(0.01) { Schedule = new PiecewiseConstantDecay([4, 9, 13], [0.02, 0.01, 0.005, 0.001]) },
        "adam_warmup" => new AdamW(0.001, 0.01) { Schedule = new CosineDecay(12, 0.1, warmupTarget: 0.02, warmupSteps: 5) },
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(OptimizerNames))]
    public void SaveThenLoad_ResumesTraining_BitwiseAsAnUninterruptedRun(string optimizer)
    {
        var straight = Compiled(() => Make(optimizer));
        straight.Fit(Data.X, Data.Labels, epochs: 4, batchSize: 16, shuffle: false);

        var first = Compiled(() => Make(optimizer));
        first.Fit(Data.X, Data.Labels, epochs: 2, batchSize: 16, shuffle: false);
        string path = PathOf("ckpt.safetensors");
        first.Save(path);

        var resumed = Sequential.Load(path);
        Assert.NotNull(resumed.Optimizer);
        Assert.Equal(first.Optimizer!.Iterations, resumed.Optimizer!.Iterations);
        Assert.Equal(first.Optimizer.GetConfig(), resumed.Optimizer.GetConfig());
        Assert.Equal("sparse_categorical_crossentropy", resumed.Loss!.Name);
        resumed.Fit(Data.X, Data.Labels, epochs: 2, batchSize: 16, shuffle: false);

        Assert.Equal(Weights(straight), Weights(resumed));
        Assert.Equal(straight.Evaluate(Data.X, Data.Labels)["accuracy"], resumed.Evaluate(Data.X, Data.Labels)["accuracy"]);

        // Without the state the same resume differs, so the comparison above can fail.
        first.Save(path, includeOptimizer: false);
        var fresh = Sequential.Load(path);
        Assert.Equal(0, fresh.Optimizer!.Iterations);
        fresh.Fit(Data.X, Data.Labels, epochs: 2, batchSize: 16, shuffle: false);
        Assert.NotEqual(Weights(straight), Weights(fresh));
    }

    [Fact]
    public void SaveThenLoad_KeepsTheEmaAveragesAndAccumulators()
    {
        // Fit ends by copying the averages into the weights (Keras' finalize_variable_values), so a resumed EMA run is
        // not an uninterrupted one; the saved state itself must come back exactly.
        var m = Compiled(() => new Adam(0.01) { UseEma = true, EmaOverwriteFrequency = 4, GradientAccumulationSteps = 2 });
        m.Fit(Data.X, Data.Labels, epochs: 1, batchSize: 16, shuffle: false);   // 5 calls: the accumulators hold a gradient
        string path = PathOf("ema.safetensors");
        m.Save(path);
        var loaded = Sequential.Load(path);
        Assert.Equal(m.Optimizer!.GetConfig(), loaded.Optimizer!.GetConfig());
        Assert.Equal(5, loaded.Optimizer.Iterations);
        for (int i = 0; i < m.Parameters.Count; i++)
        {
            var a = m.Optimizer.GetStateOf(m.Parameters[i])!;
            var b = loaded.Optimizer.GetStateOf(loaded.Parameters[i])!;
            Assert.Equal(4, b.Count);
            for (int s = 0; s < 4; s++) Assert.Equal(a[s].ToArray(), b[s].ToArray());
            Assert.Contains(a[2].ToArray(), v => v != 0);   // the accumulator is live
        }
    }

    [Fact]
    public void InitialEpoch_ContinuesTheEpochNumbers_ForCallbacksAndSchedules()
    {
        var m = Compiled(() => new Sgd(0.1));
        var seen = new List<int>();
        var history = m.Fit(Data.X, Data.Labels, epochs: 5, batchSize: 40, initialEpoch: 3, callbacks:
            [new Callbacks.LambdaCallback { EpochBegin = seen.Add }, new Callbacks.LearningRateScheduler((epoch, lr) => 0.1 / (1 + epoch))]);
        Assert.Equal([3, 4], seen);
        Assert.Equal(2, history.Epochs);
        Assert.Equal(0.1 / 5, m.Optimizer!.LearningRate, 15);
        Assert.Equal(0, m.Fit(Data.X, Data.Labels, epochs: 2, initialEpoch: 2).Epochs);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => m.Fit(Data.X, Data.Labels, epochs: 2, initialEpoch: 3));
        Assert.Contains("initialEpoch", e.Message);
    }

    [Fact]
    public void Load_WithCompileFalse_OrAnUncompiledFile_GivesAnUncompiledModel()
    {
        var m = Compiled(() => new Adam());
        m.Fit(Data.X, Data.Labels, epochs: 1, batchSize: 32);
        string path = PathOf("m.safetensors");
        m.Save(path);
        var loaded = Sequential.Load(path, compile: false);
        Assert.Null(loaded.Optimizer);
        Assert.Null(loaded.Loss);
        Assert.Equal(m.Predict(Data.X).ToArray(), loaded.Predict(Data.X).ToArray());

        var bare = TestData.SmallMlp(1);
        bare.Build(2);
        bare.Save(path);
        Assert.Null(Sequential.Load(path).Optimizer);
        Assert.DoesNotContain("training_config", SafeTensors.ReadHeader(path).Metadata.Keys);
    }

    [Fact]
    public void LoadWeights_IgnoresOptimizerState_AndStateTensorsAreNamedPerParameterAndSlot()
    {
        var m = Compiled(() => new Adam());
        m.Fit(Data.X, Data.Labels, epochs: 1, batchSize: 32);
        string path = PathOf("m.safetensors");
        m.Save(path);
        var names = SafeTensors.ReadHeader(path).Tensors.Select(t => t.Name).ToList();
        var dense0 = m.Layers[0].Name;
        Assert.Contains($"__optimizer__/{dense0}.kernel/0", names);
        Assert.Contains($"__optimizer__/{dense0}.kernel/1", names);
        Assert.Equal(2 * 2 * 2 + 4, names.Count); // 4 parameters, 2 Adam slots each, plus the weights

        var other = TestData.SmallMlp(9);
        for (int i = 0; i < 2; i++) other.Layers[i].Name = m.Layers[i].Name;
        other.Build(2);
        other.LoadWeights(path);
        Assert.Equal(Weights(m), Weights(other));
    }

    private sealed class MyLoss : ILoss<float>
    {
        private readonly MeanSquaredError<float> _inner = new();
        public string Name => "my_mse";
        public float Compute(Tensor<float> prediction, Tensor<float> target) => _inner.Compute(prediction, target);
        public void Gradient(Tensor<float> prediction, Tensor<float> target, Tensor<float> dPrediction) => _inner.Gradient(prediction, target, dPrediction);
    }

    private sealed class HalvingSchedule : ILearningRateSchedule
    {
        public double GetLearningRate(double initialLearningRate, long step) => initialLearningRate / (1 + step / 2);
    }

    [Fact]
    public void CustomParts_LoadUncompiled_ThenLoadOptimizerState_Resumes()
    {
        Optimizer Opt() => new Adam(0.01) { Schedule = new HalvingSchedule() };
        Sequential Make()
        {
            var m = TestData.SmallMlp(2);
            m.Compile(new MyLoss(), Opt());
            return m;
        }
        var straight = Make();
        straight.Fit(Data.X, Data.OneHot, epochs: 3, batchSize: 20, shuffle: false);
        var first = Make();
        first.Fit(Data.X, Data.OneHot, epochs: 1, batchSize: 20, shuffle: false);
        string path = PathOf("custom.safetensors");
        first.Save(path);

        var setup = JsonDocument.Parse(SafeTensors.ReadHeader(path).Metadata["training_config"]).RootElement;
        Assert.EndsWith("MyLoss", setup.GetProperty("custom_loss").GetString());
        Assert.StartsWith("custom:", setup.GetProperty("optimizer_config").GetProperty("schedule").GetString());

        var resumed = Sequential.Load(path);
        Assert.Null(resumed.Optimizer);
        resumed.Compile(new MyLoss(), Opt());
        resumed.LoadOptimizerState(path);
        Assert.Equal(first.Optimizer!.Iterations, resumed.Optimizer!.Iterations);
        resumed.Fit(Data.X, Data.OneHot, epochs: 2, batchSize: 20, shuffle: false);
        Assert.Equal(Weights(straight), Weights(resumed));
    }

    [Fact]
    public void LoadOptimizerState_RejectsAMismatch_AndChangesNothing()
    {
        var m = Compiled(() => new Adam());
        m.Fit(Data.X, Data.Labels, epochs: 1, batchSize: 32);
        string path = PathOf("m.safetensors");
        m.Save(path);

        var target = Sequential.Load(path, compile: false);
        Assert.Throws<InvalidOperationException>(() => target.LoadOptimizerState(path));

        target.Compile("sparse_categorical_crossentropy", new Sgd(momentum: 0.9));
        var e = Assert.Throws<InvalidDataException>(() => target.LoadOptimizerState(path));
        Assert.Contains("'adam'", e.Message);
        Assert.Contains("'sgd'", e.Message);

        // The right optimizer, but one state tensor has the wrong shape: reported, and the optimizer keeps its state.
        var adam = new Adam();
        target.Compile("sparse_categorical_crossentropy", adam);
        target.Fit(Data.X, Data.Labels, epochs: 1, batchSize: 40);
        var before = adam.GetStateOf(target.Parameters[0])![0].ToArray();
        long iterations = adam.Iterations;
        string bad = PathOf("bad.safetensors");
        var tensors = new List<KeyValuePair<string, Tensor<float>>>();
        var header = SafeTensors.ReadHeader(path);
        using (var fs = File.OpenRead(path))
        {
            foreach (var t in header.Tensors)
            {
                var shape = t.Name.EndsWith(".kernel/1", StringComparison.Ordinal) && t.Name.Contains(target.Layers[1].Name)
                    ? new TensorShape(1, (int)t.ElementCount) : new TensorShape(t.Shape);
                var v = new Tensor<float>(shape);
                SafeTensors.ReadInto(fs, header, t, v.Span);
                tensors.Add(new(t.Name, v));
            }
        }
        SafeTensors.Write(bad, tensors, header.Metadata);
        e = Assert.Throws<InvalidDataException>(() => target.LoadOptimizerState(bad));
        Assert.Contains($"{target.Layers[1].Name}.kernel/1", e.Message);
        Assert.Contains("[1, 48]", e.Message);
        Assert.Equal(before, adam.GetStateOf(target.Parameters[0])![0].ToArray());
        Assert.Equal(iterations, adam.Iterations);
        Assert.Throws<InvalidDataException>(() => Sequential.Load(bad));

        m.Save(path, includeOptimizer: false);
        e = Assert.Throws<InvalidDataException>(() => target.LoadOptimizerState(path));
        Assert.Contains("no optimizer state", e.Message);
    }

    [Fact]
    public void Load_ReportsAnInvalidTrainingSetup()
    {
        var m = Compiled(() => new Adam());
        m.Build(2);
        string path = PathOf("m.safetensors");
        m.Save(path);
        var header = SafeTensors.ReadHeader(path);
        var md = header.Metadata.ToDictionary(kv => kv.Key, kv => kv.Value);
        md["training_config"] = md["training_config"].Replace("\"beta_1\":\"0.9\"", "\"beta_1\":\"2\"", StringComparison.Ordinal);
        var tensors = m.Parameters.Select((p, i) => new KeyValuePair<string, Tensor<float>>(header.Tensors[i].Name, p.Value)).ToList();
        SafeTensors.Write(path, tensors, md);
        var e = Assert.Throws<InvalidDataException>(() => Sequential.Load(path));
        Assert.Contains("beta1", e.Message);
        Assert.Null(Sequential.Load(path, compile: false).Optimizer);

        md["training_config"] = "{\"loss\": 3}";
        SafeTensors.Write(path, tensors, md);
        e = Assert.Throws<InvalidDataException>(() => Sequential.Load(path));
        Assert.Contains("training_config.loss", e.Message);
    }

    public static TheoryData<string> ConfigCases => ["sgd", "sgd_nesterov", "adam", "adamw", "rmsprop", "adagrad", "amsgrad", "clipvalue", "global_clip", "inverse", "exponential", "step", "cosine", "nadam", "adamax", "adadelta", "lion", "cosine_warmup", "piecewise", "polynomial", "restarts"];

    [Theory]
    [MemberData(nameof(ConfigCases))]
    public void OptimizerConfig_RoundTrips(string which)
    {
        Optimizer o = which switch
        {
            "sgd" => new Sgd(0.3),
            "sgd_nesterov" => new Sgd(0.1, 0.9, nesterov: true),
            "adam" => new Adam(0.002, 0.8, 0.99, 1e-6),
            "adamw" => new AdamW(0.002, 0.1, 0.8, 0.99, 1e-6),
            "rmsprop" => new RmsProp(0.002, 0.7, 0.3, 1e-5, centered: true),
            "adagrad" => new Adagrad(0.5, 0.2, 1e-6),
            "amsgrad" => new Adam(0.003) { AmsGrad = true },
            "clipvalue" => new Adam { ClipValue = 0.25 },
            "global_clip" => new Sgd { GlobalClipNorm = 3 },
            "inverse" => new Sgd { Schedule = new InverseTimeDecay(0.5, 10, staircase: true) },
            "exponential" => new Adam { Schedule = new ExponentialDecay(100, 0.96, staircase: true) },
            "step" => new RmsProp { Schedule = new StepDecay(7, 0.3) },
            "cosine" => new AdamW { Schedule = new CosineDecay(1000, 0.1) },
            "nadam" => new Nadam(0.002, 0.8, 0.99, 1e-6) { ClipNorm = 2 },
            "adamax" => new Adamax(0.003, 0.85, 0.95, 1e-5) { ClipValue = 0.3 },
            "adadelta" => new Adadelta(0.5, 0.9, 1e-6) { Schedule = new StepDecay(7, 0.3) },
            "lion" => new Lion(3e-4, 0.95, 0.98) { GlobalClipNorm = 2, Schedule = new InverseTimeDecay(0.5, 10) },
            "cosine_warmup" => new Sgd { Schedule = new CosineDecay(1000, 0.1, warmupTarget: 0.5, warmupSteps: 100) },
            "piecewise" => new Adam { Schedule = new PiecewiseConstantDecay([100, 500, 1500], [0.1, 0.05, 0.01, 1e-3]) },
            "polynomial" => new Adam { Schedule = new PolynomialDecay(700, 1e-5, 0.5, cycle: true) },
            "restarts" => new Sgd { Schedule = new CosineDecayRestarts(50, 1.5, 0.8, 0.05) },
            _ => throw new ArgumentException(which),
        };
        Assert.True(o.IsBuiltIn);
        var back = Optimizer.FromConfig(o.Name, o.GetConfig());
        Assert.Equal(o.GetType(), back.GetType());
        Assert.Equal(o.GetConfig(), back.GetConfig());
        for (long step = 0; step < 2000; step += 37)
        {
            o.Iterations = back.Iterations = step;
            Assert.Equal(o.CurrentLearningRate, back.CurrentLearningRate);
        }
    }

    [Fact]
    public void OptimizerConfig_RejectsUnknownAndMalformedSettings()
    {
        var e = Assert.Throws<ArgumentException>(() => Optimizer.FromConfig("adam", new Dictionary<string, string> { ["momentum"] = "0.9" }));
        Assert.Contains("momentum", e.Message);
        e = Assert.Throws<ArgumentException>(() => Optimizer.FromConfig("sgd", new Dictionary<string, string> { ["learning_rate"] = "fast" }));
        Assert.Contains("learning_rate", e.Message);
        Assert.Contains("fast", e.Message);
        Assert.Throws<ArgumentException>(() => Optimizer.FromConfig("lamb", new Dictionary<string, string>()));
        Assert.Throws<ArgumentException>(() => Optimizer.FromConfig("sgd", new Dictionary<string, string> { ["schedule"] = "custom:X" }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Optimizer.FromConfig("sgd", new Dictionary<string, string> { ["learning_rate"] = "-1" }));
        Assert.False(new Adam { Schedule = new HalvingSchedule() }.IsBuiltIn);
    }

    [Fact]
    public void FrozenLayer_IsNotUpdated_IsCountedInSummary_AndSurvivesSaveLoad()
    {
        var m = TestData.SmallMlp(3);
        var first = (Layer<float>)m.Layers[0];
        first.Trainable = false; // before build: applies to the parameters Build creates
        m.Compile("sparse_categorical_crossentropy", new Adam(0.05));
        m.Build(2);
        Assert.All(first.Parameters, p => Assert.False(p.Trainable));
        var frozenBefore = first.Parameters.Select(p => p.Value.ToArray()).ToList();
        var headBefore = m.Layers[1].Parameters[0].Value.ToArray();
        m.Fit(Data.X, Data.Labels, epochs: 2, batchSize: 16);
        Assert.Equal(frozenBefore, first.Parameters.Select(p => p.Value.ToArray()).ToList());
        Assert.NotEqual(headBefore, m.Layers[1].Parameters[0].Value.ToArray());
        Assert.All(first.Parameters, p => Assert.Null(m.Optimizer!.GetStateOf(p)));

        string summary = m.Summary();
        Assert.Contains("Total params: 99 (396.00 B)", summary);       // 2·16 + 16 + 16·3 + 3
        Assert.Contains("Trainable params: 51 (204.00 B)", summary);
        Assert.Contains("Non-trainable params: 48 (192.00 B)", summary);

        string path = PathOf("frozen.safetensors");
        m.Save(path);
        var loaded = Sequential.Load(path);
        Assert.False(((Layer<float>)loaded.Layers[0]).Trainable);
        Assert.True(((Layer<float>)loaded.Layers[1]).Trainable);
        Assert.Equal(summary, loaded.Summary());

        // Unfreezing lets the optimizer update it again.
        first.Trainable = true;
        m.Fit(Data.X, Data.Labels, epochs: 1, batchSize: 16);
        Assert.NotEqual(frozenBefore[0], first.Parameters[0].Value.ToArray());
    }
}
