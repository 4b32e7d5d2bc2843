using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Nn.Simd.Layers;
using Nn.Simd.Training.Callbacks;
using Nn.Simd.Training.Serialization;

namespace Nn.Simd.Training;

public partial class Sequential<T> : IBackupTarget
{
    private const string RandomStateKey = "rng_state";
    private const string BackupEpochKey = "backup_epoch";

    /// <summary>
    /// The <c>rng_state</c> metadata entry: <c>{"shuffle": s, "order": o, "layers": {"i": [s, …], …}}</c>, where each s
    /// is a generator state (<see cref="ResumableRandom.StateLength"/> little-endian int32 words, base64), o the current
    /// sample order (little-endian int32, base64; absent before the first shuffled Fit or above
    /// <see cref="MaxSavedOrderLength"/>) and <c>i</c> the index of each layer that draws while training, with its
    /// generators in the layer's order. Layers are keyed by position, not name, so that a model built anew in the same
    /// process (whose default layer names differ) can take a backup.
    /// </summary>
    private string RandomStateJson()
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteBase64String("shuffle", _shuffleRng!.GetState());
            if (_order is { } order && order.Length <= MaxSavedOrderLength)
            {
                var bytes = new byte[4 * order.Length];
                for (int i = 0; i < order.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4 * i), order[i]);
                w.WriteBase64String("order", bytes);
            }
            w.WriteStartObject("layers");
            for (int i = 0; i < _layers.Count; i++)
            {
                var generators = GeneratorsOf(_layers[i]);
                if (generators.Count == 0) continue;
                w.WriteStartArray(i.ToString(CultureInfo.InvariantCulture));
                foreach (var g in generators) w.WriteBase64StringValue(g.GetState());
                w.WriteEndArray();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static List<ResumableRandom> GeneratorsOf(ILayer<T> layer)
    {
        var list = new List<ResumableRandom>();
        if (layer is Layer<T> l) l.AddGenerators(list);
        return list;
    }

    /// <summary>A checked random state read from a file, applied by <see cref="Apply"/>.</summary>
    private sealed class RandomState(Sequential<T> model, byte[] shuffle, int[]? order, List<(ResumableRandom Generator, byte[] State)> layers)
    {
        public void Apply()
        {
            model._shuffleRng!.SetState(shuffle);
            model._order = order;
            foreach (var (g, state) in layers) g.SetState(state);
        }
    }

    /// <summary>Reads and checks the <c>rng_state</c> entry against this built model, changing nothing; null when the
    /// file has none (saved without optimizer state, or before the entry existed).</summary>
    /// <exception cref="InvalidDataException">The entry is malformed or does not fit this model's layers.</exception>
    private RandomState? ReadRandomState(IReadOnlyDictionary<string, string> metadata, string path)
    {
        if (!metadata.TryGetValue(RandomStateKey, out var json)) return null;
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException("it is not a JSON object");
            byte[] shuffle = root.TryGetProperty("shuffle", out var s) ? GeneratorState(s, "shuffle") : throw new InvalidDataException("it has no shuffle generator");
            int[]? order = null;
            if (root.TryGetProperty("order", out var o))
            {
                byte[] bytes = o.ValueKind == JsonValueKind.String && o.TryGetBytesFromBase64(out var b) && b.Length % 4 == 0
                    ? b : throw new InvalidDataException("order is not base64 of int32 words");
                order = new int[bytes.Length / 4];
                var seen = new bool[order.Length];
                for (int i = 0; i < order.Length; i++)
                {
                    int v = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4 * i));
                    if ((uint)v >= (uint)order.Length || seen[v])
                        throw new InvalidDataException($"order is not a permutation of 0 … {order.Length - 1} (entry {i} is {v})");
                    seen[v] = true;
                    order[i] = v;
                }
            }
            if (!root.TryGetProperty("layers", out var ls) || ls.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException("it has no layers object");
            var saved = new Dictionary<int, JsonElement>();
            foreach (var p in ls.EnumerateObject())
            {
                if (!int.TryParse(p.Name, NumberStyles.None, CultureInfo.InvariantCulture, out int index) || index >= _layers.Count)
                    throw new InvalidDataException($"it names layer '{p.Name}', but the model has layers 0 … {_layers.Count - 1}");
                if (p.Value.ValueKind != JsonValueKind.Array) throw new InvalidDataException($"layer {index}'s generators are not an array");
                saved[index] = p.Value;
            }
            var layers = new List<(ResumableRandom, byte[])>();
            for (int i = 0; i < _layers.Count; i++)
            {
                var generators = GeneratorsOf(_layers[i]);
                int count = saved.TryGetValue(i, out var a) ? a.GetArrayLength() : 0;
                if (count != generators.Count)
                    throw new InvalidDataException($"it holds {count} generator state(s) for layer {i} '{_layers[i].Name}', which draws from {generators.Count}");
                for (int j = 0; j < count; j++) layers.Add((generators[j], GeneratorState(a[j], $"layer {i} generator {j}")));
            }
            return new RandomState(this, shuffle, order, layers);
        }
        catch (Exception e) when (e is JsonException or InvalidDataException)
        {
            throw new InvalidDataException($"'{path}': {RandomStateKey} is invalid: {e.Message}.", e);
        }
    }

    private static byte[] GeneratorState(JsonElement e, string what)
    {
        if (e.ValueKind != JsonValueKind.String || !e.TryGetBytesFromBase64(out var bytes))
            throw new InvalidDataException($"the {what} state is not a base64 string");
        return ResumableRandom.CheckState(bytes) is { } why ? throw new InvalidDataException($"the {what} state is wrong: {why}") : bytes;
    }

    void IBackupTarget.WriteBackup(string path, int epoch) => Save(path, includeOptimizer: true, beforeCommit: null, backupEpoch: epoch);

    /// <summary>
    /// Restores a backup written by <see cref="IBackupTarget.WriteBackup"/> into this built, compiled model and makes the
    /// running <c>Fit</c> continue at the backed-up epoch. Layers are matched by position (type and options must agree;
    /// names may differ), so a model constructed anew with the same layers can take it. Everything is read and checked
    /// before anything changes.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not a backup of a model like this one, or it is damaged; the
    /// message says what differs; the model is unchanged.</exception>
    int IBackupTarget.RestoreBackup(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        var header = SafeTensors.ReadHeader(fs, path);
        var md = header.Metadata;
        if (!md.TryGetValue("format", out var format) || format != FormatName || !md.TryGetValue("layers", out var layersJson)
            || !md.TryGetValue(BackupEpochKey, out var epochText))
            throw new InvalidDataException($"'{path}' is not a BackupAndRestore backup (its __metadata__ needs format = {FormatName}, layers and {BackupEpochKey}).");
        int epoch;
        List<(string Type, string Name, Dictionary<string, string> Config)> specs;
        TrainingSetup? setup;
        try
        {
            epoch = int.Parse(epochText, NumberStyles.None, CultureInfo.InvariantCulture);
            specs = ParseLayers(layersJson);
            setup = md.TryGetValue("training_config", out var tc) ? TrainingSetup.Parse(tc) : null;
        }
        catch (Exception e) when (e is JsonException or FormatException or ArgumentException or OverflowException or InvalidDataException)
        {
            throw new InvalidDataException($"'{path}': the backup metadata is invalid: {e.Message}", e);
        }
        if (specs.Count != _layers.Count)
            throw new InvalidDataException($"'{path}' backs up a model of {specs.Count} layers ({string.Join(", ", specs.Select(x => x.Type))}), but this one has {_layers.Count} ({string.Join(", ", _layers.Select(TypeNameOf))}).");
        for (int i = 0; i < specs.Count; i++)
        {
            var mine = _layers[i].GetConfig().Where(kv => kv.Key != "seed").OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
            var theirs = specs[i].Config.Where(kv => kv.Key != "seed").OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
            if (specs[i].Type != TypeNameOf(_layers[i]) || !mine.SequenceEqual(theirs))
                throw new InvalidDataException($"'{path}': layer {i} is {specs[i].Type} {{{Describe(theirs)}}} in the backup but {TypeNameOf(_layers[i])} {{{Describe(mine)}}} in this model.");
        }
        if (setup is null || setup.Iterations < 0 || !md.ContainsKey(RandomStateKey))
            throw new InvalidDataException($"'{path}' holds no optimizer or random state, so it cannot resume a run.");
        var named = NamedParameters(specs.Select(x => x.Name).ToList());
        var weights = ReadWeights(fs, header, path, named);
        var state = ReadOptimizerState(fs, header, path, setup.OptimizerName ?? setup.CustomOptimizer ?? "?", named);
        var rng = ReadRandomState(md, path)!;
        ApplyWeights(weights);
        ApplyOptimizerState(state, setup.Iterations);
        rng.Apply();
        _resumeEpoch = epoch;
        return epoch;

        static string Describe(List<KeyValuePair<string, string>> config) => string.Join(", ", config.Select(kv => $"{kv.Key}: {kv.Value}"));
    }

    private static string TypeNameOf(ILayer<T> l) => l is Layer<T> typed ? typed.TypeName : l.GetType().Name.Split('`')[0].ToLowerInvariant();
}
