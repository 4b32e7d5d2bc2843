using System.Buffers;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using Nn.Simd.Training.Losses;
using Nn.Simd.Training.Optimizers;
using Nn.Simd.Training.Serialization;

namespace Nn.Simd.Training;

public partial class Sequential<T>
{
    private const string FormatName = "nn.simd.sequential";
    private const string FormatVersion = "1";

    /// <summary>
    /// Saves architecture, weights and, when the model is compiled, the training setup (loss, metrics, optimizer
    /// settings, its step count and state), as Keras' <c>model.save</c> does. The file is written atomically
    /// (a temporary file in the same directory, flushed, then renamed over <paramref name="path"/>). Tensors are
    /// named <c>{layer}.{parameter}</c>, optimizer state <c>__optimizer__/{layer}.{parameter}/{slot}</c>; the
    /// <c>__metadata__</c> map holds the format, dtype, seed, input shape, each layer's type, name and options,
    /// the frozen parameters, the training setup and, with the optimizer state, the random state training advances
    /// (<c>rng_state</c>: the shuffle generator, the current sample order, each noise or recurrent dropout layer's
    /// generator), so that <c>Load</c> then <c>Fit(…, initialEpoch: k)</c> is bit for bit the uninterrupted run, with
    /// shuffling and dropout too.
    /// </summary>
    /// <remarks>The sample order is left out above 2²³ (8,388,608) training samples (it is kept in the
    /// header, which readers cap at 100 MB); a run resumed from such a file reshuffles from 0 … N − 1 and is no longer
    /// bitwise the uninterrupted one.</remarks>
    /// <exception cref="InvalidOperationException">The model is not built.</exception>
    /// <exception cref="IOException">Writing failed; any previous file is left as it was.</exception>
    public void Save(string path) => Save(path, includeOptimizer: true, null);

    /// <summary>Saves as <see cref="Save(string)"/>; with <paramref name="includeOptimizer"/> false the optimizer's
    /// step count and state are left out (Keras' <c>include_optimizer=False</c>), for a smaller file to deploy.</summary>
    /// <exception cref="InvalidOperationException">The model is not built.</exception>
    /// <exception cref="IOException">Writing failed; any previous file is left as it was.</exception>
    public void Save(string path, bool includeOptimizer) => Save(path, includeOptimizer, null);

    internal void Save(string path, bool includeOptimizer, Action? beforeCommit) => Save(path, includeOptimizer, beforeCommit, backupEpoch: null);

    /// <summary>The most training samples whose order <see cref="Save(string)"/> stores (2²³: 45 MB of header).</summary>
    internal int MaxSavedOrderLength { get; set; } = 1 << 23;

    private void Save(string path, bool includeOptimizer, Action? beforeCommit, int? backupEpoch)
    {
        if (!IsBuilt) throw new InvalidOperationException("The model is not built yet; there are no weights to save. Call Build or Fit first.");
        var named = NamedParameters();
        var tensors = named.Select(kv => new KeyValuePair<string, Tensor<T>>(kv.Key, kv.Value.Value)).ToList();
        if (includeOptimizer && Optimizer is not null)
        {
            foreach (var (key, p) in named)
            {
                if (Optimizer.GetStateOf(p) is not { } state) continue;
                for (int s = 0; s < state.Count; s++) tensors.Add(new(OptimizerTensorName(key, s), state[s]));
            }
        }
        var metadata = BuildMetadata(named, includeOptimizer);
        if (backupEpoch is int epoch) metadata[BackupEpochKey] = epoch.ToString(CultureInfo.InvariantCulture);
        SafeTensors.Write(path, tensors, metadata, beforeCommit);
    }

    private const string OptimizerPrefix = "__optimizer__/";

    private static string OptimizerTensorName(string parameterKey, int slot) =>
        $"{OptimizerPrefix}{parameterKey}/{slot.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Loads a model saved with <see cref="Save(string)"/>: architecture, weights and frozen flags, the random
    /// state training advances (shuffle order and generators, dropout and noise generators), and, when
    /// the file holds a training setup made only of built-in parts, the compiled loss, metrics and optimizer with
    /// its step count and state, so that <c>Fit</c> continues where the saved run stopped (Keras' <c>load_model</c>).</summary>
    /// <remarks>A model compiled with a user-defined loss, metric, optimizer or schedule comes back uncompiled:
    /// compile it with the same objects, then call <see cref="LoadOptimizerState"/> to resume. A file without
    /// <c>rng_state</c> (saved with <c>includeOptimizer: false</c>, or by a version before it existed) loads as before:
    /// the generators start afresh from the seed and the first shuffle from 0 … N − 1, so a resumed run trains
    /// correctly but is not bitwise the uninterrupted one when it shuffles or has dropout or noise.</remarks>
    /// <exception cref="InvalidDataException">The file is invalid or does not describe a model; the message says why.</exception>
    /// <exception cref="KeyNotFoundException">A layer type has no registered factory (see <see cref="LayerRegistry"/>).</exception>
    public static Sequential<T> Load(string path) => Load(path, compile: true);

    /// <summary>Loads as <see cref="Load(string)"/>; with <paramref name="compile"/> false the training setup is
    /// ignored and the model comes back uncompiled (Keras' <c>compile=False</c>).</summary>
    /// <exception cref="InvalidDataException">The file is invalid or does not describe a model; the message says why.</exception>
    public static Sequential<T> Load(string path, bool compile)
    {
        var m = new Sequential<T>();
        m.LoadFrom(path, compile);
        return m;
    }

    /// <summary>Fills an empty model from a saved file.</summary>
    protected void LoadFrom(string path) => LoadFrom(path, compile: true);

    /// <summary>Fills an empty model from a saved file, compiling it from the file's training setup when
    /// <paramref name="compile"/> is true and the setup has only built-in parts.</summary>
    protected void LoadFrom(string path, bool compile)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (_layers.Count != 0) throw new InvalidOperationException("LoadFrom needs an empty model.");
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        var header = SafeTensors.ReadHeader(fs, path);
        var md = header.Metadata;
        if (!md.TryGetValue("format", out var format) || format != FormatName || !md.TryGetValue("layers", out var layersJson))
            throw new InvalidDataException($"'{path}' holds weights but no model architecture (__metadata__ needs format = {FormatName} and layers); build the model in code and call LoadWeights instead.");
        if (md.TryGetValue("format_version", out var version) && version != FormatVersion)
            throw new InvalidDataException($"'{path}' has model format version {version}; this library reads version {FormatVersion}.");
        TensorShape inputShape;
        int seed;
        List<(string Type, string Name, Dictionary<string, string> Config)> specs;
        HashSet<string> frozen;
        TrainingSetup? setup;
        try
        {
            inputShape = new TensorShape(ParseShape(md.GetValueOrDefault("input_shape")));
            seed = int.Parse(md.GetValueOrDefault("seed") ?? "0", CultureInfo.InvariantCulture);
            specs = ParseLayers(layersJson);
            frozen = md.TryGetValue("non_trainable", out var f) ? ParseStrings(f, "non_trainable").ToHashSet(StringComparer.Ordinal) : [];
            setup = md.TryGetValue("training_config", out var tc) ? TrainingSetup.Parse(tc) : null;
        }
        catch (Exception e) when (e is JsonException or FormatException or ArgumentException or OverflowException or InvalidDataException)
        {
            throw new InvalidDataException($"'{path}': the model metadata is invalid: {e.Message}", e);
        }
        foreach (var (type, name, config) in specs)
        {
            var layer = LayerRegistry<T>.Create(type, config);
            layer.Name = name;
            Add(layer);
        }
        Seed = seed;
        // A multi-input graph's inputs carry their shapes; the file's input_shape is the first one.
        if (_layers.Count > 0 && _layers[0] is Functional<T> { Inputs.Count: > 1 } graph) Build(graph.Inputs.Select(i => i.Shape).ToArray());
        else Build(inputShape);
        var named = NamedParameters();
        var unknownFrozen = frozen.Where(k => !named.Exists(n => n.Key == k)).ToList();
        if (unknownFrozen.Count > 0)
            throw new InvalidDataException($"'{path}': non_trainable names parameters the model does not have: {string.Join(", ", unknownFrozen)}.");
        foreach (var (key, p) in named) if (!p.IsBuffer) p.Trainable = !frozen.Contains(key);
        var rng = ReadRandomState(md, path);
        LoadWeights(fs, header, path);
        rng?.Apply();
        if (!compile || setup is null || !setup.IsBuiltIn) return;
        Optimizers.Optimizer optimizer;
        ILoss<T> loss;
        try
        {
            optimizer = Optimizers.Optimizer.FromConfig(setup.OptimizerName!, setup.OptimizerConfig);
            loss = LossOf(setup);
            if (setup.Outputs.Count == 0) Compile(loss, optimizer, setup.Metrics, setup.WeightedMetrics);
            else
            {
                var names = OutputNames;
                if (!setup.Outputs.Select(o => o.Name).SequenceEqual(names))
                    throw new InvalidDataException($"'{path}': the training setup has outputs [{string.Join(", ", setup.Outputs.Select(o => o.Name))}], but the model's are [{string.Join(", ", names)}].");
                Compile(setup.Outputs.Select(o => LossOf(o.Setup)).ToArray(), optimizer, setup.Outputs.Select(o => o.Weight).ToArray(),
                    setup.Outputs.Select(o => (IReadOnlyList<string>)o.Setup.Metrics).ToArray());
            }
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"'{path}': the training setup is invalid: {e.Message}", e);
        }
        if (setup.Iterations > 0) InstallOptimizerState(fs, header, path, setup.OptimizerName!, setup.Iterations);
    }

    /// <summary>The built-in loss a saved setup names, with its options.</summary>
    private static ILoss<T> LossOf(TrainingSetup setup)
    {
        var loss = LossFactory.Get<T>(setup.LossName!, setup.FromLogits);
        if (setup.HuberDelta is double delta) loss = new Huber<T>(delta);
        if (setup.LossConfig.Count > 0) loss = LossOptions.FromConfig<T>(setup.LossName!, setup.FromLogits, setup.LossConfig);
        return loss;
    }

    /// <summary>Loads the optimizer step count and state saved in <paramref name="path"/> into this compiled
    /// model's optimizer, for resuming a run whose setup <see cref="Load(string)"/> could not rebuild (a user-defined
    /// loss, metric, optimizer or schedule). The optimizer must have the saved optimizer's name and state layout.</summary>
    /// <exception cref="InvalidOperationException">The model is not built or not compiled.</exception>
    /// <exception cref="InvalidDataException">The file holds no optimizer state, or it does not fit this model's
    /// optimizer or parameters; nothing is changed.</exception>
    public void LoadOptimizerState(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!IsBuilt || Optimizer is null)
            throw new InvalidOperationException("Build and compile the model before loading optimizer state into it.");
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        var header = SafeTensors.ReadHeader(fs, path);
        TrainingSetup? setup;
        try
        {
            setup = header.Metadata.TryGetValue("training_config", out var tc) ? TrainingSetup.Parse(tc) : null;
        }
        catch (Exception e) when (e is JsonException or FormatException or ArgumentException or OverflowException or InvalidDataException)
        {
            throw new InvalidDataException($"'{path}': the training setup is invalid: {e.Message}", e);
        }
        if (setup is null || setup.Iterations < 0)
            throw new InvalidDataException($"'{path}' holds no optimizer state (saved uncompiled, or with includeOptimizer: false).");
        InstallOptimizerState(fs, header, path, setup.OptimizerName ?? setup.CustomOptimizer ?? "?", setup.Iterations);
    }

    /// <summary>Checks every saved state tensor against this model, reads them into new tensors, then installs them.</summary>
    private void InstallOptimizerState(Stream fs, SafeTensorsHeader header, string path, string savedName, long iterations) =>
        ApplyOptimizerState(ReadOptimizerState(fs, header, path, savedName, NamedParameters()), iterations);

    private void ApplyOptimizerState(List<(Parameter<T> P, Tensor<T>[] State)> loaded, long iterations)
    {
        var opt = Optimizer!;
        opt.Reset();
        foreach (var (p, state) in loaded) opt.SetStateOf(p, state);
        opt.Iterations = iterations;
    }

    /// <summary>Checks every saved state tensor against the parameters keyed as in the file and reads them into new
    /// tensors; changes nothing.</summary>
    private List<(Parameter<T> P, Tensor<T>[] State)> ReadOptimizerState(Stream fs, SafeTensorsHeader header, string path, string savedName,
        List<KeyValuePair<string, Parameter<T>>> named)
    {
        var opt = Optimizer!;
        if (savedName != opt.Name)
            throw new InvalidDataException($"'{path}' holds state of optimizer '{savedName}' but the model's optimizer is '{opt.Name}'.");
        var byKey = named.ToDictionary(n => n.Key, n => n.Value, StringComparer.Ordinal);
        var saved = header.Tensors.Where(t => t.Name.StartsWith(OptimizerPrefix, StringComparison.Ordinal)).ToList();
        var perParameter = new Dictionary<string, SafeTensorEntry?[]>(StringComparer.Ordinal);
        foreach (var e in saved)
        {
            string rest = e.Name[OptimizerPrefix.Length..];
            int slash = rest.LastIndexOf('/');
            if (slash < 0 || !int.TryParse(rest[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int slot))
                throw new InvalidDataException($"'{path}': optimizer tensor '{e.Name}' is not named __optimizer__/{{parameter}}/{{slot}}.");
            string key = rest[..slash];
            if (!byKey.TryGetValue(key, out var p))
                throw new InvalidDataException($"'{path}': optimizer tensor '{e.Name}' belongs to a parameter '{key}' the model does not have.");
            if (slot >= opt.SlotCount)
                throw new InvalidDataException($"'{path}': optimizer tensor '{e.Name}' is slot {slot}, but '{opt}' keeps {opt.SlotCount} state tensor(s) per parameter.");
            if (!e.Shape.AsSpan().SequenceEqual(p.Value.Shape.ToArray()))
                throw new InvalidDataException($"'{path}': optimizer tensor '{e.Name}' has shape [{string.Join(", ", e.Shape)}] but parameter '{key}' is {p.Value.Shape}.");
            if (!perParameter.TryGetValue(key, out var slots)) perParameter[key] = slots = new SafeTensorEntry?[opt.SlotCount];
            slots[slot] = e;
        }
        var loaded = new List<(Parameter<T> P, Tensor<T>[] State)>();
        foreach (var (key, entries) in perParameter)
        {
            int missing = Array.IndexOf(entries, null);
            if (missing >= 0)
                throw new InvalidDataException($"'{path}': parameter '{key}' has optimizer state but no slot {missing} (tensor '{OptimizerTensorName(key, missing)}').");
            var p = byKey[key];
            var state = new Tensor<T>[entries.Length];
            for (int s = 0; s < state.Length; s++)
            {
                state[s] = new Tensor<T>(p.Value.Shape);
                SafeTensors.ReadInto(fs, header, entries[s]!, state[s].Span);
            }
            loaded.Add((p, state));
        }
        return loaded;
    }

    /// <summary>Loads weights from a safetensors file into this built model. Every parameter must be present
    /// under its name (<c>{layer}.{parameter}</c>) with its shape; F32 and F64 files are both accepted.</summary>
    /// <exception cref="InvalidOperationException">The model is not built.</exception>
    /// <exception cref="InvalidDataException">The file is invalid, or a tensor is missing, unexpected or has the wrong shape.</exception>
    public void LoadWeights(string path)
    {
        if (!IsBuilt) throw new InvalidOperationException("Build the model before loading weights into it.");
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        LoadWeights(fs, SafeTensors.ReadHeader(fs, path), path);
    }

    private void LoadWeights(Stream fs, SafeTensorsHeader header, string path) => ApplyWeights(ReadWeights(fs, header, path, NamedParameters()));

    private static void ApplyWeights(List<(Parameter<T> P, T[] Data)> loaded)
    {
        foreach (var (p, data) in loaded)
        {
            data.CopyTo(p.Value.Span);
            p.MarkChanged();
        }
    }

    /// <summary>Checks that the file holds exactly the parameters keyed as in <paramref name="named"/>, with their
    /// shapes, and reads them into new arrays; changes nothing.</summary>
    private static List<(Parameter<T> P, T[] Data)> ReadWeights(Stream fs, SafeTensorsHeader header, string path, List<KeyValuePair<string, Parameter<T>>> named)
    {
        var expected = new HashSet<string>(named.Select(n => n.Key), StringComparer.Ordinal);
        // Check everything before changing any weight, so a bad file leaves the model as it was.
        foreach (var (key, p) in named)
        {
            var e = header.Find(key) ?? throw new InvalidDataException(
                $"'{path}' has no tensor '{key}' (expected shape {p.Value.Shape}). It holds: {string.Join(", ", header.Tensors.Select(t => $"{t.Name} [{string.Join(", ", t.Shape)}]"))}.");
            if (!e.Shape.AsSpan().SequenceEqual(p.Value.Shape.ToArray()))
                throw new InvalidDataException($"'{path}': tensor '{key}' has shape [{string.Join(", ", e.Shape)}] but the model's parameter is {p.Value.Shape}.");
        }
        var extra = header.Tensors.Where(t => !expected.Contains(t.Name) && !t.Name.StartsWith(OptimizerPrefix, StringComparison.Ordinal))
            .Select(t => t.Name).ToList();
        if (extra.Count > 0)
            throw new InvalidDataException($"'{path}' has tensors the model does not: {string.Join(", ", extra)}.");
        // Read into copies first: an I/O error half-way must not leave a mix of old and new weights.
        var loaded = new List<(Parameter<T> P, T[] Data)>();
        foreach (var (key, p) in named)
        {
            var data = new T[p.Value.Length];
            SafeTensors.ReadInto(fs, header, header.Find(key)!, data.AsSpan());
            loaded.Add((p, data));
        }
        return loaded;
    }

    /// <summary>The parameters keyed <c>{layer}.{parameter}</c> (with <c>_{index}</c> appended if a layer repeats a
    /// parameter name), with layer <c>i</c> called <c>layerNames[i]</c> when given (the names in another file).</summary>
    private List<KeyValuePair<string, Parameter<T>>> NamedParameters(IReadOnlyList<string>? layerNames = null)
    {
        var list = new List<KeyValuePair<string, Parameter<T>>>();
        var used = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < _layers.Count; i++)
        {
            var l = _layers[i];
            string layerName = layerNames?[i] ?? l.Name;
            for (int j = 0; j < l.Parameters.Count; j++)
            {
                // A graph's parameters carry the name of their layer inside it: functional_1.dense_2.kernel.
                string key = l is Functional<T> graph ? $"{layerName}.{graph.ParameterKeys[j]}" : $"{layerName}.{l.Parameters[j].Name}";
                if (!used.Add(key)) { key = $"{key}_{j}"; used.Add(key); }
                list.Add(new(key, l.Parameters[j]));
            }
        }
        return list;
    }

    private Dictionary<string, string> BuildMetadata(List<KeyValuePair<string, Parameter<T>>> named, bool includeOptimizer)
    {
        // Written with Utf8JsonWriter rather than JsonSerializer: no reflection, so Save works in trimmed and
        // NativeAOT applications (where reflection-based serialization is switched off).
        var layers = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(layers))
        {
            w.WriteStartArray();
            foreach (var l in _layers)
            {
                w.WriteStartObject();
                w.WriteString("type", TypeNameOf(l));
                w.WriteString("name", l.Name);
                w.WriteStartObject("config");
                var config = l.GetConfig();
                foreach (var (key, value) in config) w.WriteString(key, value);
                // Layers with weight regularizers list it in GetConfig as Keras does; any other layer's is saved here.
                if (l is Layer<T> { ActivityRegularizer: { } activity } && !config.ContainsKey("activity_regularizer"))
                    w.WriteString("activity_regularizer", activity.Name);
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        var shape = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(shape))
        {
            w.WriteStartArray();
            foreach (int d in InputShape!.Value.ToArray()) w.WriteNumberValue(d);
            w.WriteEndArray();
        }
        var md = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = FormatName,
            ["format_version"] = FormatVersion,
            ["dtype"] = typeof(T) == typeof(float) ? "float32" : "float64",
            ["seed"] = EffectiveSeed.ToString(CultureInfo.InvariantCulture),
            ["input_shape"] = Encoding.UTF8.GetString(shape.WrittenSpan),
            ["layers"] = Encoding.UTF8.GetString(layers.WrittenSpan),
        };
        var frozen = named.Where(n => !n.Value.Trainable && !n.Value.IsBuffer).Select(n => n.Key).ToList();
        if (frozen.Count > 0) md["non_trainable"] = JsonStrings(frozen);
        if (includeOptimizer) md[RandomStateKey] = RandomStateJson();
        if (Loss is not null && Optimizer is not null)
        {
            var setup = _heads is null
                ? TrainingSetup.Describe(Loss, Optimizer, _metrics, _compiledMetricNames, _compiledWeightedNames, OutputShape!.Value, includeOptimizer)
                : TrainingSetup.Describe(Loss, Optimizer, [], [], [], OutputShape!.Value, includeOptimizer);
            // A model of several outputs: each output's loss, weight and metric names.
            if (_heads is not null)
                for (int k = 0; k < _heads.Length; k++)
                    setup.Outputs.Add((_heads[k].Name, _heads[k].Weight,
                        TrainingSetup.Describe(_heads[k].Loss, Optimizer, [], _heads[k].MetricNames, [], OutputShapes![k], includeOptimizer: false)));
            md["training_config"] = setup.ToJson();
        }
        return md;
    }

    private static string JsonStrings(IEnumerable<string> values)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            foreach (var v in values) w.WriteStringValue(v);
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static List<string> ParseStrings(string json, string what)
    {
        using var doc = JsonDocument.Parse(json);
        if (doc.RootElement.ValueKind != JsonValueKind.Array) throw new InvalidDataException($"{what} must be a JSON array of strings");
        return doc.RootElement.EnumerateArray()
            .Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : throw new InvalidDataException($"{what} must be a JSON array of strings"))
            .ToList();
    }

    private static int[] ParseShape(string? json)
    {
        if (json is null) throw new InvalidDataException("input_shape is missing");
        using var doc = JsonDocument.Parse(json);
        if (doc.RootElement.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"input_shape must be a JSON array of integers; got {json}");
        var dims = new int[doc.RootElement.GetArrayLength()];
        int i = 0;
        foreach (var e in doc.RootElement.EnumerateArray())
            dims[i++] = e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int d)
                ? d : throw new InvalidDataException($"input_shape must be a JSON array of integers; got {json}");
        return dims;
    }

    private static List<(string Type, string Name, Dictionary<string, string> Config)> ParseLayers(string json)
    {
        using var doc = JsonDocument.Parse(json);
        if (doc.RootElement.ValueKind != JsonValueKind.Array) throw new InvalidDataException("layers must be a JSON array");
        var result = new List<(string, string, Dictionary<string, string>)>();
        int i = 0;
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            string type = e.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : throw new InvalidDataException($"layer {i} has no type");
            string name = e.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : throw new InvalidDataException($"layer {i} has no name");
            var config = new Dictionary<string, string>(StringComparer.Ordinal);
            if (e.TryGetProperty("config", out var c))
            {
                if (c.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"layer {i} config is not an object");
                foreach (var p in c.EnumerateObject())
                    config[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
            }
            result.Add((type, name, config));
            i++;
        }
        return result;
    }
}
