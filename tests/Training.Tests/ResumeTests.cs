using System.Text.Json.Nodes;
using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using Nn.Simd.Training.Callbacks;
using Nn.Simd.Training.Optimizers;
using Nn.Simd.Training.Serialization;

namespace Nn.Simd.Training.Tests;

/// <summary>Resuming shuffled and dropout runs bit for bit (Save/Load with rng_state, a second Fit, BackupAndRestore),
/// files without rng_state, damaged or mismatched state, and ordinary runs keeping their orders.</summary>
public sealed class ResumeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nn-resume").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    private static readonly (Tensor<float> X, Tensor<float> Labels, Tensor<float> OneHot) Data = TestData.Blobs(60, 11);

    /// <summary>Every noise layer between two dense layers; 60 samples in batches of 16 (a partial last batch).</summary>
    private static Sequential<T> NoisyMlp<T>(int seed) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var m = new Sequential<T>(new Dense<T>(12, "relu"), new Dropout<T>(0.3), new GaussianNoise<T>(0.2), new GaussianDropout<T>(0.2),
            new Dense<T>(3, "softmax")) { Seed = seed };
        m.Compile("sparse_categorical_crossentropy", new Adam(0.02), "accuracy");
        return m;
    }

    /// <summary>Recurrent dropout in an LSTM, both directions of a Bidirectional GRU, SpatialDropout1D, and a Dropout
    /// wrapped in TimeDistributed (seeded by the model and saved like a top-level one).</summary>
    private static Sequential RecurrentModel(int seed)
    {
        var m = new Sequential(new Lstm<float>(6, returnSequences: true) { Dropout = 0.2, RecurrentDropout = 0.3 },
            new SpatialDropout1D<float>(0.25), new TimeDistributed<float>(new Dropout<float>(0.2)), new Bidirectional<float>(new Gru<float>(4) { Dropout = 0.1, RecurrentDropout = 0.2 }),
            new Dense<float>(3, "softmax")) { Seed = seed };
        m.Compile("sparse_categorical_crossentropy", new RmsProp(0.01), "accuracy");
        return m;
    }

    private static readonly Tensor<float> Sequences = Tensor<float>.RandomNormal(new TensorShape(24, 5, 3), seed: 3);
    private static readonly Tensor<float> SequenceLabels = Tensor<float>.FromArray(Enumerable.Range(0, 24).Select(i => (float)(i % 3)).ToArray());

    private static Tensor<T> Cast<T>(Tensor<float> t) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var r = new Tensor<T>(t.Shape);
        for (int i = 0; i < t.Length; i++) r.Span[i] = T.CreateChecked(t.ReadOnlySpan[i]);
        return r;
    }

    private static T[][] Weights<T>(Sequential<T> m) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> =>
        m.Parameters.Select(p => p.Value.ToArray()).ToArray();

    /// <summary>The order after <paramref name="epochs"/> shuffles of 0 … n − 1, as Fit always drew it: Fisher–Yates from
    /// the last index down with <c>j = Next(i + 1)</c> on <c>new System.Random(seed · 1103515245 + 12345)</c>.</summary>
    private static int[] ExpectedOrder(int seed, int n, int epochs)
    {
        var rng = new Random(unchecked(seed * 1103515245 + 12345));
        var order = Enumerable.Range(0, n).ToArray();
        for (int e = 0; e < epochs; e++)
            for (int i = n - 1; i > 0; i--)
            {
                int j = rng.Next(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }
        return order;
    }

    [Fact]
    public void OrdinaryRun_ShufflesAsSystemRandomAlwaysDid_AndDrawsTheSameMasks()
    {
        // One batch per epoch and a recording first layer: each epoch's batch is the order itself.
        var rec = new RecordingLayer<float>();
        var dropout = new Dropout<float>(0.5);
        var m = new Sequential(rec, new Dense<float>(4, "relu"), dropout, new Dense<float>(3, "softmax")) { Seed = 21 };
        m.Compile("sparse_categorical_crossentropy", new Sgd(0.1));
        var x = new Tensor<float>(30, 2);
        for (int i = 0; i < 30; i++) x[i, 0] = i;
        m.Fit(x, Tensor<float>.FromArray(Enumerable.Range(0, 30).Select(i => (float)(i % 3)).ToArray()), epochs: 3, batchSize: 30);
        for (int e = 0; e < 3; e++)
            Assert.Equal(ExpectedOrder(m.EffectiveSeed, 30, e + 1).Select(i => (double)i), rec.Batches[e]);
        // The third epoch's mask: the third batch of draws of new Random(seed + 2) (the dropout is layer 2).
        var rng = new Random(21 + 2);
        for (int k = 0; k < 2 * 30 * 4; k++) rng.NextDouble();
        Assert.Equal(Enumerable.Range(0, 30 * 4).Select(_ => rng.NextDouble() < 0.5 ? 0f : 2f), dropout.Mask!.ToArray());
    }

    [Fact]
    public void ShuffledRun_SplitOverTwoFits_IsTheUninterruptedRun()
    {
        var straight = TestData.SmallMlp(5);
        straight.Compile("sparse_categorical_crossentropy", new Adam(0.02));
        straight.Fit(Data.X, Data.Labels, epochs: 4, batchSize: 16);

        var split = TestData.SmallMlp(5);
        split.Compile("sparse_categorical_crossentropy", new Adam(0.02));
        split.Fit(Data.X, Data.Labels, epochs: 2, batchSize: 16);
        split.Fit(Data.X, Data.Labels, epochs: 4, batchSize: 16, initialEpoch: 2);
        Assert.Equal(Weights(straight), Weights(split));
        Assert.Equal(ExpectedOrder(straight.EffectiveSeed, 60, 4), split.ShuffleOrder);
    }

    private static void AssertResumeIsBitwise<T>(string path) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var x = Cast<T>(Data.X);
        var y = Cast<T>(Data.Labels);
        var straight = NoisyMlp<T>(8);
        straight.Fit(x, y, epochs: 4, batchSize: 16);

        var first = NoisyMlp<T>(8);
        first.Fit(x, y, epochs: 2, batchSize: 16);
        first.Save(path);
        var resumed = Sequential<T>.Load(path);
        Assert.Equal(first.ShuffleOrder, resumed.ShuffleOrder);
        var history = resumed.Fit(x, y, epochs: 4, batchSize: 16, initialEpoch: 2);
        Assert.Equal(Weights(straight), Weights(resumed));
        Assert.Equal(2, history.Epochs);
    }

    [Fact]
    public void ShuffledNoisyRun_ResumedFromAFile_IsBitwiseTheUninterruptedRun_Float() => AssertResumeIsBitwise<float>(PathOf("f.safetensors"));

    [Fact]
    public void ShuffledNoisyRun_ResumedFromAFile_IsBitwiseTheUninterruptedRun_Double() => AssertResumeIsBitwise<double>(PathOf("d.safetensors"));

    [Fact]
    public void RecurrentAndSpatialDropout_ResumedFromAFile_AreBitwiseTheUninterruptedRun()
    {
        var straight = RecurrentModel(4);
        straight.Fit(Sequences, SequenceLabels, epochs: 3, batchSize: 8);
        var first = RecurrentModel(4);
        first.Fit(Sequences, SequenceLabels, epochs: 1, batchSize: 8);
        string path = PathOf("rnn.safetensors");
        first.Save(path);
        var resumed = Sequential.Load(path);
        resumed.Fit(Sequences, SequenceLabels, epochs: 3, batchSize: 8, initialEpoch: 1);
        Assert.Equal(Weights(straight), Weights(resumed));
    }

    /// <summary>Rewrites a saved file with its tensors and metadata, the metadata changed by <paramref name="edit"/>.</summary>
    private static void RewriteMetadata(string path, Action<Dictionary<string, string>> edit)
    {
        var header = SafeTensors.ReadHeader(path);
        var tensors = new List<KeyValuePair<string, Tensor<float>>>();
        using (var fs = File.OpenRead(path))
        {
            foreach (var e in header.Tensors)
            {
                var t = new Tensor<float>(new TensorShape(e.Shape));
                SafeTensors.ReadInto(fs, header, e, t.Span);
                tensors.Add(new(e.Name, t));
            }
        }
        var md = header.Metadata.ToDictionary(kv => kv.Key, kv => kv.Value);
        edit(md);
        SafeTensors.Write(path, tensors, md);
    }

    [Fact]
    public void FileWithoutRngState_LoadsAsBefore_WithFreshGeneratorsAndOrder()
    {
        var m = NoisyMlp<float>(8);
        m.Fit(Data.X, Data.Labels, epochs: 2, batchSize: 16);
        string path = PathOf("old.safetensors");
        m.Save(path);
        Assert.Contains("rng_state", SafeTensors.ReadHeader(path).Metadata.Keys);
        RewriteMetadata(path, md => md.Remove("rng_state"));   // what the format wrote before the entry existed

        var loaded = Sequential.Load(path);
        Assert.Equal(Weights(m), Weights(loaded));
        Assert.Equal(m.Optimizer!.Iterations, loaded.Optimizer!.Iterations);
        Assert.Null(loaded.ShuffleOrder);
        // It trains as a just-built model with this seed would: its first shuffle is the first of a fresh generator.
        loaded.Fit(Data.X, Data.Labels, epochs: 3, batchSize: 16, initialEpoch: 2);
        Assert.Equal(ExpectedOrder(8, 60, 1), loaded.ShuffleOrder);
        var dropout = (Dropout<float>)loaded.Layers[1];
        var fresh = new Random(8 + 1);
        for (int k = 0; k < 48 * 12; k++) fresh.NextDouble();   // 3 full batches of 16 rows × 12 units
        Assert.Equal(Enumerable.Range(0, 12 * 12).Select(_ => fresh.NextDouble() < 0.3 ? 0f : (float)(1 / 0.7)), dropout.Mask!.ToArray());
    }

    [Fact]
    public void SaveWithoutOptimizer_LeavesOutTheRandomState_AndAnOverlongOrderIsLeftOut()
    {
        var m = NoisyMlp<float>(8);
        m.Fit(Data.X, Data.Labels, epochs: 1, batchSize: 16);
        string path = PathOf("small.safetensors");
        m.Save(path, includeOptimizer: false);
        Assert.DoesNotContain("rng_state", SafeTensors.ReadHeader(path).Metadata.Keys);

        m.MaxSavedOrderLength = 59;
        m.Save(path);
        var rng = JsonNode.Parse(SafeTensors.ReadHeader(path).Metadata["rng_state"])!.AsObject();
        Assert.False(rng.ContainsKey("order"));
        Assert.True(rng.ContainsKey("shuffle"));
        Assert.Null(Sequential.Load(path).ShuffleOrder);
        m.MaxSavedOrderLength = 60;
        m.Save(path);
        Assert.Equal(m.ShuffleOrder, Sequential.Load(path).ShuffleOrder);
    }

    public static TheoryData<string, string> DamagedStates => new()
    {
        { "not json", "rng_state is invalid" },
        { """{"layers":{}}""", "no shuffle generator" },
        { "SHORT_SHUFFLE", "shuffle state is wrong" },
        { "ORDER_REPEATS", "not a permutation" },
        { "LAYER_MISSING", "layer 1" },
        { "LAYER_OUT_OF_RANGE", "names layer '9'" },
    };

    [Theory]
    [MemberData(nameof(DamagedStates))]
    public void DamagedRngState_IsReportedClearly(string damage, string expected)
    {
        var m = NoisyMlp<float>(8);
        m.Fit(Data.X, Data.Labels, epochs: 1, batchSize: 16);
        string path = PathOf("bad.safetensors");
        m.Save(path);
        RewriteMetadata(path, md =>
        {
            var node = JsonNode.Parse(md["rng_state"])!.AsObject();
            switch (damage)
            {
                case "SHORT_SHUFFLE": node["shuffle"] = Convert.ToBase64String(new byte[40]); break;
                case "ORDER_REPEATS": node["order"] = Convert.ToBase64String(new byte[8 * 4]); break;
                case "LAYER_MISSING": node["layers"]!.AsObject().Remove("1"); break;
                case "LAYER_OUT_OF_RANGE": node["layers"]!.AsObject()["9"] = new JsonArray(); break;
                default: md["rng_state"] = damage; return;
            }
            md["rng_state"] = node.ToJsonString();
        });
        var e = Assert.Throws<InvalidDataException>(() => Sequential.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(expected, e.Message);
    }

    /// <summary>Stops Fit by throwing at the start of an epoch, as a crash would.</summary>
    private sealed class Crash(int atEpoch) : Callback
    {
        public override void OnEpochBegin(int epoch)
        {
            if (epoch == atEpoch) throw new InvalidOperationException("simulated crash");
        }
    }

    [Fact]
    public void BackupAndRestore_AfterACrash_ContinuesBitwise_AndDeletesTheBackupAtTheEnd_Float()
    {
        var straight = NoisyMlp<float>(3);
        var straightHistory = straight.Fit(Data.X, Data.Labels, epochs: 5, batchSize: 16);

        string dir = PathOf("backup");
        var first = NoisyMlp<float>(3);
        Assert.Throws<InvalidOperationException>(() =>
            first.Fit(Data.X, Data.Labels, epochs: 5, batchSize: 16, callbacks: [new BackupAndRestore(dir), new Crash(3)]));
        Assert.True(File.Exists(Path.Combine(dir, BackupAndRestore.FileName)));

        // A new model object (other default layer names) and the same Fit call.
        var again = NoisyMlp<float>(3);
        var backup = new BackupAndRestore(dir);
        var seen = new List<int>();
        var history = again.Fit(Data.X, Data.Labels, epochs: 5, batchSize: 16, callbacks: [backup, new LambdaCallback { EpochBegin = seen.Add }]);
        Assert.Equal(3, backup.RestoredEpoch);
        Assert.Equal([3, 4], seen);
        Assert.Equal(Weights(straight), Weights(again));
        Assert.Equal(straightHistory["loss"].Skip(3), history["loss"]);
        Assert.False(Directory.Exists(dir));   // deleteCheckpoint: the file, then the emptied directory

        // With no backup left, the next Fit starts afresh.
        var third = NoisyMlp<float>(3);
        var fresh = new BackupAndRestore(dir);
        third.Fit(Data.X, Data.Labels, epochs: 1, batchSize: 16, callbacks: [fresh]);
        Assert.Null(fresh.RestoredEpoch);
    }

    [Fact]
    public void BackupAndRestore_AfterStopTraining_ContinuesBitwise_Double()
    {
        var x = Cast<double>(Data.X);
        var y = Cast<double>(Data.Labels);
        var straight = NoisyMlp<double>(6);
        straight.Fit(x, y, epochs: 4, batchSize: 16, validationSplit: 0.2);

        string dir = PathOf("backup_d");
        var first = NoisyMlp<double>(6);
        var stop = new LambdaCallback { EpochEnd = (epoch, _) => { if (epoch == 1) first.StopTraining = true; } };
        first.Fit(x, y, epochs: 4, batchSize: 16, validationSplit: 0.2, callbacks: [new BackupAndRestore(dir, deleteCheckpoint: false), stop]);
        Assert.True(File.Exists(Path.Combine(dir, BackupAndRestore.FileName)));

        var again = NoisyMlp<double>(6);
        var backup = new BackupAndRestore(dir, deleteCheckpoint: false);
        again.Fit(x, y, epochs: 4, batchSize: 16, validationSplit: 0.2, callbacks: [backup]);
        Assert.Equal(2, backup.RestoredEpoch);
        Assert.Equal(Weights(straight), Weights(again));
        Assert.True(File.Exists(Path.Combine(dir, BackupAndRestore.FileName)));   // kept
    }

    [Fact]
    public void BackupAndRestore_DamagedOrForeignBackup_IsReported_AndTheModelIsUnchanged()
    {
        string dir = PathOf("bad_backup");
        var first = NoisyMlp<float>(3);
        first.Fit(Data.X, Data.Labels, epochs: 1, batchSize: 16, callbacks: [new BackupAndRestore(dir, deleteCheckpoint: false)]);
        string file = Path.Combine(dir, BackupAndRestore.FileName);
        byte[] good = File.ReadAllBytes(file);

        void AssertRejected(Sequential<float> model, string expected)
        {
            model.Build(2);
            var before = Weights(model);
            var e = Assert.Throws<InvalidDataException>(() => model.Fit(Data.X, Data.Labels, epochs: 2, batchSize: 16, callbacks: [new BackupAndRestore(dir)]));
            Assert.Contains(file, e.Message);
            Assert.Contains(expected, e.Message);
            Assert.Equal(before, Weights(model));
            Assert.Equal(0, model.Optimizer!.Iterations);
            Assert.Null(model.ShuffleOrder);
        }

        File.WriteAllBytes(file, good[..^8]);   // truncated: the last weights are missing
        AssertRejected(NoisyMlp<float>(3), "past the end");
        File.WriteAllBytes(file, good);
        RewriteMetadata(file, md => md["rng_state"] = md["rng_state"].Replace("\"1\":", "\"7\":", StringComparison.Ordinal));
        AssertRejected(NoisyMlp<float>(3), "rng_state is invalid");
        File.WriteAllBytes(file, good);
        var other = new Sequential(new Dense<float>(12, "relu"), new Dropout<float>(0.5), new GaussianNoise<float>(0.2), new GaussianDropout<float>(0.2),
            new Dense<float>(3, "softmax")) { Seed = 3 };
        other.Compile("sparse_categorical_crossentropy", new Adam(0.02));
        AssertRejected(other, "layer 1 is dropout {rate: 0.3} in the backup but dropout {rate: 0.5}");
        var sgd = NoisyMlp<float>(3);
        sgd.Compile("sparse_categorical_crossentropy", new Sgd(0.1));
        AssertRejected(sgd, "optimizer 'adam' but the model's optimizer is 'sgd'");
        Assert.Equal(good, File.ReadAllBytes(file));   // a failed restore leaves the backup for inspection

        Assert.Throws<ArgumentException>(() => new BackupAndRestore(dir, saveFreq: "batch"));
        Assert.Throws<ArgumentException>(() => new BackupAndRestore(" "));
    }
}
