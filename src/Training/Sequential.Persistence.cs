using System.Buffers;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using Nn.Simd.Training.Serialization;

namespace Nn.Simd.Training;

public partial class Sequential<T>
{
    private const string FormatName = "nn.simd.sequential";
    private const string FormatVersion = "1";

    /// <summary>
    /// Saves architecture and weights to a safetensors file, atomically (a temporary file in the same directory,
    /// flushed, then renamed over <paramref name="path"/>). Tensors are named <c>{layer}.{parameter}</c>; the
    /// <c>__metadata__</c> map holds the format, dtype, seed, input shape and each layer's type, name and options.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model is not built.</exception>
    /// <exception cref="IOException">Writing failed; any previous file is left as it was.</exception>
    public void Save(string path) => Save(path, null);

    internal void Save(string path, Action? beforeCommit)
    {
        if (!IsBuilt) throw new InvalidOperationException("The model is not built yet; there are no weights to save. Call Build or Fit first.");
        var tensors = NamedParameters().Select(kv => new KeyValuePair<string, Tensor<T>>(kv.Key, kv.Value.Value)).ToList();
        SafeTensors.Write(path, tensors, BuildMetadata(), beforeCommit);
    }

    /// <summary>Loads a model saved with <see cref="Save(string)"/>: architecture and weights, with layer names restored.</summary>
    /// <exception cref="InvalidDataException">The file is invalid or does not describe a model; the message says why.</exception>
    /// <exception cref="KeyNotFoundException">A layer type has no registered factory (see <see cref="LayerRegistry"/>).</exception>
    public static Sequential<T> Load(string path)
    {
        var m = new Sequential<T>();
        m.LoadFrom(path);
        return m;
    }

    /// <summary>Fills an empty model from a saved file.</summary>
    protected void LoadFrom(string path)
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
        try
        {
            inputShape = new TensorShape(ParseShape(md.GetValueOrDefault("input_shape")));
            seed = int.Parse(md.GetValueOrDefault("seed") ?? "0", CultureInfo.InvariantCulture);
            specs = ParseLayers(layersJson);
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
        Build(inputShape);
        LoadWeights(fs, header, path);
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

    private void LoadWeights(Stream fs, SafeTensorsHeader header, string path)
    {
        var named = NamedParameters();
        var expected = new HashSet<string>(named.Select(n => n.Key), StringComparer.Ordinal);
        // Check everything before changing any weight, so a bad file leaves the model as it was.
        foreach (var (key, p) in named)
        {
            var e = header.Find(key) ?? throw new InvalidDataException(
                $"'{path}' has no tensor '{key}' (expected shape {p.Value.Shape}). It holds: {string.Join(", ", header.Tensors.Select(t => $"{t.Name} [{string.Join(", ", t.Shape)}]"))}.");
            if (!e.Shape.AsSpan().SequenceEqual(p.Value.Shape.ToArray()))
                throw new InvalidDataException($"'{path}': tensor '{key}' has shape [{string.Join(", ", e.Shape)}] but the model's parameter is {p.Value.Shape}.");
        }
        var extra = header.Tensors.Where(t => !expected.Contains(t.Name)).Select(t => t.Name).ToList();
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
        foreach (var (p, data) in loaded)
        {
            data.CopyTo(p.Value.Span);
            p.MarkChanged();
        }
    }

    /// <summary>The parameters keyed <c>{layer}.{parameter}</c> (with <c>_{index}</c> appended if a layer repeats a parameter name).</summary>
    private List<KeyValuePair<string, Parameter<T>>> NamedParameters()
    {
        var list = new List<KeyValuePair<string, Parameter<T>>>();
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var l in _layers)
        {
            for (int j = 0; j < l.Parameters.Count; j++)
            {
                string key = $"{l.Name}.{l.Parameters[j].Name}";
                if (!used.Add(key)) { key = $"{key}_{j}"; used.Add(key); }
                list.Add(new(key, l.Parameters[j]));
            }
        }
        return list;
    }

    private Dictionary<string, string> BuildMetadata()
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
                w.WriteString("type", l is Layer<T> typed ? typed.TypeName : l.GetType().Name.Split('`')[0].ToLowerInvariant());
                w.WriteString("name", l.Name);
                w.WriteStartObject("config");
                foreach (var (key, value) in l.GetConfig()) w.WriteString(key, value);
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
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = FormatName,
            ["format_version"] = FormatVersion,
            ["dtype"] = typeof(T) == typeof(float) ? "float32" : "float64",
            ["seed"] = EffectiveSeed.ToString(CultureInfo.InvariantCulture),
            ["input_shape"] = Encoding.UTF8.GetString(shape.WrittenSpan),
            ["layers"] = Encoding.UTF8.GetString(layers.WrittenSpan),
        };
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
