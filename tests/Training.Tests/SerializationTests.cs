using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using Nn.Simd.Training.Serialization;

namespace Nn.Simd.Training.Tests;

public sealed class SerializationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nn-ser").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    private static Sequential Trained(int seed)
    {
        var (x, y, _) = TestData.Blobs(60, seed);
        var model = TestData.SmallMlp(seed);
        model.Compile("sparse_categorical_crossentropy", "adam", "accuracy");
        model.Fit(x, y, epochs: 2, batchSize: 16);
        return model;
    }

    [Fact]
    public void SaveLoad_RoundTrip_GivesIdenticalPredictions()
    {
        var model = Trained(1);
        string path = PathOf("m.safetensors");
        model.Save(path);
        var x = TestData.Blobs(25, 99).X;
        var loaded = Sequential.Load(path);
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
        Assert.Equal(model.Layers.Select(l => l.Name), loaded.Layers.Select(l => l.Name));
        Assert.Equal(model.Summary(), loaded.Summary());
        Assert.Equal(model.EffectiveSeed, loaded.EffectiveSeed);
        Assert.Equal(model.Predict(x).ToArray(), Model.Load(path).Predict(x).ToArray());
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    [Fact]
    public void SaveLoad_Double_AndLoadWeightsAcrossDtypes()
    {
        var model = new Sequential<double>(new Dense<double>(5, "tanh"), new Dense<double>(2)) { Seed = 3 };
        model.Build(4);
        string path = PathOf("d.safetensors");
        model.Save(path);
        Assert.Equal("F64", SafeTensors.ReadHeader(path).Tensors[0].DType);
        var x = Tensor<double>.RandomNormal(new TensorShape(6, 4), 1);
        Assert.Equal(model.Predict(x).ToArray(), Sequential<double>.Load(path).Predict(x).ToArray());

        // A float model with the same names and shapes can take the F64 weights (converted).
        var f = new Sequential(new Dense<float>(5, "tanh") { Name = model.Layers[0].Name }, new Dense<float>(2) { Name = model.Layers[1].Name });
        f.Build(4);
        f.LoadWeights(path);
        Assert.Equal(model.Parameters[0].Value.ToArray().Select(v => (float)v), f.Parameters[0].Value.ToArray());
    }

    [Fact]
    public void File_Layout_IsSafetensors()
    {
        var model = TestData.SmallMlp(2);
        model.Build(2);
        string path = PathOf("layout.safetensors");
        model.Save(path);
        var bytes = File.ReadAllBytes(path);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0UL, (8 + n) % 8);
        using var doc = JsonDocument.Parse(bytes.AsMemory(8, (int)n));
        var kernel = doc.RootElement.GetProperty($"{model.Layers[0].Name}.kernel");
        Assert.Equal("F32", kernel.GetProperty("dtype").GetString());
        Assert.Equal([2, 16], kernel.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        var offsets = kernel.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        Assert.Equal(2 * 16 * 4, offsets[1] - offsets[0]);
        // The raw little-endian floats are where the offsets say.
        float first = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(8 + (int)n + (int)offsets[0]));
        Assert.Equal(model.Layers[0].Parameters[0].Value[0], first);
        var meta = doc.RootElement.GetProperty("__metadata__");
        Assert.Contains("\"dense\"", meta.GetProperty("layers").GetString());
        Assert.Equal("[2]", meta.GetProperty("input_shape").GetString());
        Assert.Equal(8 + (long)n + 99 * 4, bytes.Length);
    }

    [Fact]
    public void FailedSave_LeavesTheOldFileIntact()
    {
        var model = Trained(2);
        string path = PathOf("keep.safetensors");
        model.Save(path);
        var x = TestData.Blobs(10, 5).X;
        var expected = model.Predict(x).ToArray();
        var oldBytes = File.ReadAllBytes(path);

        model.Parameters[0].Value.Fill(7);
        Assert.Throws<IOException>(() => model.Save(path, includeOptimizer: true, beforeCommit: () => throw new IOException("disk full")));
        Assert.Equal(oldBytes, File.ReadAllBytes(path));
        Assert.Equal(expected, Sequential.Load(path).Predict(x).ToArray());
        Assert.Single(Directory.GetFiles(_dir));   // no temporary file left behind
    }

    // ***** bad files *****

    private string Raw(string name, string header, int dataBytes, ulong? declaredLength = null)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength ?? (ulong)h.Length);
        h.CopyTo(bytes, 8);
        string path = PathOf(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Theory]
    [InlineData("truncated", "truncated")]
    [InlineData("length_beyond_file", "exceeds")]
    [InlineData("invalid_json", "not valid JSON")]
    [InlineData("offsets_out_of_range", "run past the end")]
    [InlineData("overlap", "overlap")]
    [InlineData("size_mismatch", "needs 24 bytes")]
    [InlineData("unsupported_dtype", "F16")]
    [InlineData("negative_shape", "non-negative")]
    [InlineData("not_object", "JSON object")]
    public void BadFile_ThrowsNamingTheProblem(string kind, string expected)
    {
        string path = kind switch
        {
            "truncated" => WriteBytes("t.safetensors", [1, 2, 3]),
            "length_beyond_file" => Raw("l.safetensors", "{}", 0, declaredLength: 1UL << 50),
            "invalid_json" => Raw("j.safetensors", "{\"a\": {\"dtype\": ", 0),
            "offsets_out_of_range" => Raw("o.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4),
            "overlap" => Raw("v.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12),
            "size_mismatch" => Raw("s.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,16]}}", 16),
            "unsupported_dtype" => Raw("d.safetensors", "{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4),
            "negative_shape" => Raw("n.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,4]}}", 4),
            "not_object" => Raw("a.safetensors", "[1, 2]", 0),
            _ => throw new ArgumentException(kind),
        };
        var ex = Assert.Throws<InvalidDataException>(() => Sequential.Load(path));
        Assert.Contains(expected, ex.Message);
    }

    private string WriteBytes(string name, byte[] bytes)
    {
        string path = PathOf(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void TruncatedDataSection_IsRejected()
    {
        var model = TestData.SmallMlp(4);
        model.Build(2);
        string path = PathOf("cut.safetensors");
        model.Save(path);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^10]);
        var ex = Assert.Throws<InvalidDataException>(() => Sequential.Load(path));
        Assert.Contains("run past the end", ex.Message);
    }

    [Fact]
    public void LoadWeights_MismatchedNamesOrShapes_Throw_AndLeaveWeightsUnchanged()
    {
        var model = TestData.SmallMlp(5);
        model.Build(2);
        string path = PathOf("w.safetensors");
        model.Save(path);

        var renamed = new Sequential(new Dense<float>(16, "relu") { Name = "other" }, new Dense<float>(3, "softmax") { Name = model.Layers[1].Name });
        renamed.Build(2);
        var before = renamed.Parameters[0].Value.ToArray();
        var ex = Assert.Throws<InvalidDataException>(() => renamed.LoadWeights(path));
        Assert.Contains("no tensor 'other.kernel'", ex.Message);
        Assert.Equal(before, renamed.Parameters[0].Value.ToArray());

        var wider = new Sequential(new Dense<float>(17, "relu") { Name = model.Layers[0].Name }, new Dense<float>(3) { Name = model.Layers[1].Name });
        wider.Build(2);
        ex = Assert.Throws<InvalidDataException>(() => wider.LoadWeights(path));
        Assert.Contains("[2, 16]", ex.Message);
        Assert.Contains("[2, 17]", ex.Message);

        var shorter = new Sequential(new Dense<float>(16, "relu") { Name = model.Layers[0].Name });
        shorter.Build(2);
        ex = Assert.Throws<InvalidDataException>(() => shorter.LoadWeights(path));
        Assert.Contains("does not", ex.Message);
        Assert.Contains($"{model.Layers[1].Name}.kernel", ex.Message);
    }

    [Fact]
    public void WeightsOnlyFile_CannotBeLoadedAsAModel()
    {
        string path = PathOf("plain.safetensors");
        SafeTensors.Write<float>(path, [new("x", Tensor<float>.Ones(2))]);
        var ex = Assert.Throws<InvalidDataException>(() => Sequential.Load(path));
        Assert.Contains("no model architecture", ex.Message);
    }

    [Fact]
    public void UnknownLayerType_ListsKnownTypes_AndRegistryMakesItLoadable()
    {
        var rec = new RecordingLayer<float> { Name = "rec" };
        var model = new Sequential(new Dense<float>(4, "relu"), rec, new Dense<float>(2)) { Seed = 1 };
        model.Build(3);
        string path = PathOf("custom.safetensors");
        model.Save(path);
        var ex = Assert.Throws<KeyNotFoundException>(() => Sequential.Load(path));
        Assert.Contains("recording_test", ex.Message);
        Assert.Contains("dense", ex.Message);

        LayerRegistry.Register("recording_test", c => new RecordingLayer<float> { PoisonBackward = LayerConfig.GetBool(c, "poison") });
        var loaded = Sequential.Load(path);
        Assert.IsType<RecordingLayer<float>>(loaded.Layers[1]);
        Assert.Equal("rec", loaded.Layers[1].Name);
        var x = Tensor<float>.RandomNormal(new TensorShape(5, 3), 2);
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
    }

    [Fact]
    public void LayerRegistry_BadOptions_NameTheType()
    {
        var ex = Assert.Throws<InvalidDataException>(() => LayerRegistry<float>.Create("dense", new Dictionary<string, string> { ["units"] = "-3" }));
        Assert.Contains("'dense'", ex.Message);
        Assert.True(LayerRegistry.IsRegistered<double>("DENSE"));
    }

    [Fact]
    public void SaveLoad_RecurrentStack_WithDropoutAndBidirectional()
    {
        var model = new Sequential(
            new Lstm<float>(6, returnSequences: true),
            new Dropout<float>(0.25),
            new Bidirectional<float>(new Gru<float>(4, returnSequences: true), mergeMode: "sum"),
            new Gru<float>(3, resetAfter: false),
            new Dense<float>(2)) { Seed = 9 };
        var x = Tensor<float>.RandomNormal(new TensorShape(12, 5, 3), 1);
        var y = Tensor<float>.RandomNormal(new TensorShape(12, 2), 2);
        model.Compile("mse", "adam");
        model.Fit(x, y, epochs: 1, batchSize: 4);
        string path = PathOf("rnn.safetensors");
        model.Save(path);
        var loaded = Sequential.Load(path);
        Assert.Equal(model.Layers.Select(l => l.GetType()), loaded.Layers.Select(l => l.GetType()));
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
        Assert.Equal("sum", ((Bidirectional<float>)loaded.Layers[2]).MergeMode);
        Assert.False(((Gru<float>)loaded.Layers[3]).ResetAfter);
        Assert.Equal(new TensorShape(9), ((Gru<float>)loaded.Layers[3]).Bias!.Value.Shape);

        var rnn = new Sequential<double>(new SimpleRnn<double>(3, goBackwards: true), new Dense<double>(1)) { Seed = 1 };
        rnn.Build(4, 2);
        rnn.Save(PathOf("srnn.safetensors"));
        var xd = Tensor<double>.RandomNormal(new TensorShape(3, 4, 2), 3);
        Assert.Equal(rnn.Predict(xd).ToArray(), Sequential<double>.Load(PathOf("srnn.safetensors")).Predict(xd).ToArray());
    }
}
