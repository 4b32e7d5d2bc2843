using System.Buffers;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using Nn.Simd.Tensors;
using Nn.Simd.Training.Losses;
using Nn.Simd.Training.Metrics;
using Nn.Simd.Training.Optimizers;

namespace Nn.Simd.Training.Serialization;

/// <summary>
/// A compiled model's training setup as saved in a model file's <c>training_config</c> metadata (Keras saves the
/// same as <c>compile_config</c> and the optimizer's variables): the loss, the metric and weighted metric names, the optimizer's name and
/// <see cref="Optimizer.GetConfig"/>, and its step count. Parts a user wrote are recorded by type name only; a
/// setup with any of them is not rebuilt on load (<see cref="IsBuiltIn"/>).
/// </summary>
internal sealed class TrainingSetup
{
    public string? LossName { get; private init; }
    public string? CustomLoss { get; private init; }
    public bool FromLogits { get; private init; }
    public double? HuberDelta { get; private init; }
    /// <summary>The options of a loss that has more than <c>from_logits</c> (the focal losses, a cross-entropy's
    /// <c>label_smoothing</c>), by Keras' names.</summary>
    public Dictionary<string, string> LossConfig { get; } = new(StringComparer.Ordinal);
    public List<string> Metrics { get; } = [];
    public List<string> WeightedMetrics { get; } = [];
    public List<string> CustomMetrics { get; } = [];
    public string? OptimizerName { get; private init; }
    public string? CustomOptimizer { get; private init; }
    public Dictionary<string, string> OptimizerConfig { get; } = new(StringComparer.Ordinal);

    /// <summary>The optimizer's step count, or −1 when the file was saved without optimizer state.</summary>
    public long Iterations { get; private init; } = -1;

    /// <summary>A model of several outputs: each output's name, loss weight, and loss and metrics (as a setup of its own,
    /// saved under <c>outputs</c>); the top-level loss is then the first output's. Empty for one output.</summary>
    public List<(string Name, double Weight, TrainingSetup Setup)> Outputs { get; } = [];

    public bool IsBuiltIn => LossName is not null && CustomMetrics.Count == 0 && OptimizerName is not null && CustomOptimizer is null
        && Outputs.TrueForAll(o => o.Setup.IsBuiltIn);

    public static TrainingSetup Describe<T>(ILoss<T> loss, Optimizer optimizer, IReadOnlyList<IMetric<T>> metrics,
        string[]? metricNames, string[] weightedMetricNames, TensorShape outputShape, bool includeOptimizer) where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool fromLogits = loss switch
        {
            CategoricalCrossEntropy<T> c => c.FromLogits,
            SparseCategoricalCrossEntropy<T> c => c.FromLogits,
            BinaryCrossEntropy<T> c => c.FromLogits,
            BinaryFocalCrossEntropy<T> c => c.FromLogits,
            CategoricalFocalCrossEntropy<T> c => c.FromLogits,
            _ => false,
        };
        bool lossBuiltIn = LossFactory.Names.Contains(loss.Name) && LossFactory.Get<T>(loss.Name, fromLogits).GetType() == loss.GetType();
        var setup = new TrainingSetup
        {
            LossName = lossBuiltIn ? loss.Name : null,
            CustomLoss = lossBuiltIn ? null : loss.GetType().FullName,
            FromLogits = fromLogits,
            HuberDelta = loss is Huber<T> h ? h.Delta : null,
            OptimizerName = optimizer.Name,
            CustomOptimizer = optimizer.IsBuiltIn ? null : optimizer.GetType().FullName,
            Iterations = includeOptimizer ? optimizer.Iterations : -1,
        };
        foreach (var (k, v) in optimizer.GetConfig()) setup.OptimizerConfig[k] = v;
        var lossConfig = LossOptions.GetConfig(loss);
        if (lossConfig is not null) foreach (var (k, v) in lossConfig) setup.LossConfig[k] = v;
        setup.WeightedMetrics.AddRange(weightedMetricNames);
        if (metricNames is not null) setup.Metrics.AddRange(metricNames);
        else
        {
            foreach (var m in metrics)
            {
                if (IsRebuiltByName(m, loss, outputShape.Columns)) setup.Metrics.Add(m.Name);
                else setup.CustomMetrics.Add(m.GetType().FullName ?? m.Name);
            }
        }
        return setup;
    }

    /// <summary>Whether <see cref="MetricFactory.Get{T}"/> with the metric's name gives the same metric back.</summary>
    private static bool IsRebuiltByName<T>(IMetric<T> metric, ILoss<T> loss, int columns) where T : unmanaged, IFloatingPointIeee754<T>
    {
        IMetric<T> rebuilt;
        try { rebuilt = MetricFactory.Get(metric.Name, loss, columns); }
        catch (ArgumentException) { return false; }
        return (rebuilt, metric) switch
        {
            (BinaryAccuracy<T> a, BinaryAccuracy<T> b) => a.Threshold == b.Threshold,
            (R2Score<T> a, R2Score<T> b) => a.ClassAggregation == b.ClassAggregation && a.NumRegressors == b.NumRegressors,
            (LossMetric<T>, LossMetric<T>) => false, // its loss could be any loss; only names given to Compile are trusted
            _ => rebuilt.GetType() == metric.GetType(),
        };
    }

    public string ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            if (LossName is not null) w.WriteString("loss", LossName);
            if (CustomLoss is not null) w.WriteString("custom_loss", CustomLoss);
            w.WriteBoolean("from_logits", FromLogits);
            if (HuberDelta is double d) w.WriteNumber("huber_delta", d);
            if (LossConfig.Count > 0)
            {
                w.WriteStartObject("loss_config");
                foreach (var (k, v) in LossConfig) w.WriteString(k, v);
                w.WriteEndObject();
            }
            WriteArray(w, "metrics", Metrics);
            if (WeightedMetrics.Count > 0) WriteArray(w, "weighted_metrics", WeightedMetrics);
            if (CustomMetrics.Count > 0) WriteArray(w, "custom_metrics", CustomMetrics);
            if (OptimizerName is not null) w.WriteString("optimizer", OptimizerName);
            if (CustomOptimizer is not null) w.WriteString("custom_optimizer", CustomOptimizer);
            w.WriteStartObject("optimizer_config");
            foreach (var (k, v) in OptimizerConfig) w.WriteString(k, v);
            w.WriteEndObject();
            w.WriteNumber("iterations", Iterations);
            if (Outputs.Count > 0)
            {
                w.WriteStartArray("outputs");
                foreach (var (name, weight, setup) in Outputs)
                {
                    w.WriteStartObject();
                    w.WriteString("name", name);
                    w.WriteNumber("loss_weight", weight);
                    w.WritePropertyName("setup");
                    w.WriteRawValue(setup.ToJson());
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteArray(Utf8JsonWriter w, string name, List<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }

    /// <exception cref="InvalidDataException">The JSON does not have the expected form.</exception>
    public static TrainingSetup Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException("training_config must be a JSON object");
        var setup = new TrainingSetup
        {
            LossName = OptionalString(root, "loss"),
            CustomLoss = OptionalString(root, "custom_loss"),
            FromLogits = root.TryGetProperty("from_logits", out var fl) && (fl.ValueKind is JsonValueKind.True or JsonValueKind.False)
                ? fl.GetBoolean() : throw new InvalidDataException("training_config.from_logits must be true or false"),
            HuberDelta = root.TryGetProperty("huber_delta", out var hd)
                ? (hd.ValueKind == JsonValueKind.Number ? hd.GetDouble() : throw new InvalidDataException("training_config.huber_delta must be a number"))
                : null,
            OptimizerName = OptionalString(root, "optimizer"),
            CustomOptimizer = OptionalString(root, "custom_optimizer"),
            Iterations = root.TryGetProperty("iterations", out var it) && it.ValueKind == JsonValueKind.Number && it.TryGetInt64(out long n) && n >= -1
                ? n : throw new InvalidDataException("training_config.iterations must be an integer ≥ −1"),
        };
        if (setup.LossName is null && setup.CustomLoss is null) throw new InvalidDataException("training_config names no loss");
        if (setup.OptimizerName is null) throw new InvalidDataException("training_config names no optimizer");
        ReadArray(root, "metrics", setup.Metrics);
        ReadArray(root, "weighted_metrics", setup.WeightedMetrics);
        ReadArray(root, "custom_metrics", setup.CustomMetrics);
        if (root.TryGetProperty("loss_config", out var lc))
        {
            if (lc.ValueKind != JsonValueKind.Object) throw new InvalidDataException("training_config.loss_config must be an object");
            foreach (var p in lc.EnumerateObject())
                setup.LossConfig[p.Name] = p.Value.ValueKind == JsonValueKind.String
                    ? p.Value.GetString()! : throw new InvalidDataException($"training_config.loss_config.{p.Name} must be a string");
        }
        if (root.TryGetProperty("optimizer_config", out var oc))
        {
            if (oc.ValueKind != JsonValueKind.Object) throw new InvalidDataException("training_config.optimizer_config must be an object");
            foreach (var p in oc.EnumerateObject())
                setup.OptimizerConfig[p.Name] = p.Value.ValueKind == JsonValueKind.String
                    ? p.Value.GetString()! : throw new InvalidDataException($"training_config.optimizer_config.{p.Name} must be a string");
        }
        if (root.TryGetProperty("outputs", out var outputs))
        {
            if (outputs.ValueKind != JsonValueKind.Array) throw new InvalidDataException("training_config.outputs must be an array");
            foreach (var o in outputs.EnumerateArray())
            {
                if (o.ValueKind != JsonValueKind.Object
                    || !o.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String
                    || !o.TryGetProperty("loss_weight", out var weight) || weight.ValueKind != JsonValueKind.Number
                    || !o.TryGetProperty("setup", out var sub) || sub.ValueKind != JsonValueKind.Object)
                    throw new InvalidDataException("training_config.outputs holds objects with a string name, a number loss_weight and an object setup");
                setup.Outputs.Add((name.GetString()!, weight.GetDouble(), Parse(sub.GetRawText())));
            }
        }
        return setup;
    }

    private static string? OptionalString(JsonElement root, string name) =>
        !root.TryGetProperty(name, out var e) ? null
        : e.ValueKind == JsonValueKind.String ? e.GetString() : throw new InvalidDataException($"training_config.{name} must be a string");

    private static void ReadArray(JsonElement root, string name, List<string> into)
    {
        if (!root.TryGetProperty(name, out var a)) return;
        if (a.ValueKind != JsonValueKind.Array) throw new InvalidDataException($"training_config.{name} must be an array of strings");
        foreach (var e in a.EnumerateArray())
            into.Add(e.ValueKind == JsonValueKind.String ? e.GetString()! : throw new InvalidDataException($"training_config.{name} must be an array of strings"));
    }
}
