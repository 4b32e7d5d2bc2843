namespace Nn.Simd.Training;

/// <summary>Per-epoch values logged by <c>Fit</c>: <c>loss</c>, each metric by name, and <c>val_</c>-prefixed
/// validation values, as Keras' <c>History.history</c>.</summary>
public sealed class History
{
    private readonly Dictionary<string, List<double>> _values = new(StringComparer.Ordinal);

    /// <summary>The values per key, one per completed epoch.</summary>
    public IReadOnlyDictionary<string, List<double>> Values => _values;

    /// <summary>The number of completed epochs.</summary>
    public int Epochs { get; private set; }

    /// <summary>The values of <paramref name="key"/>, e.g. <c>history["val_loss"]</c>.</summary>
    /// <exception cref="KeyNotFoundException">The key was never logged; the message lists the keys.</exception>
    public IReadOnlyList<double> this[string key] => _values.TryGetValue(key, out var v) ? v
        : throw new KeyNotFoundException($"History has no '{key}'. Keys: {string.Join(", ", _values.Keys)}.");

    /// <summary>The logged keys.</summary>
    public IEnumerable<string> Keys => _values.Keys;

    /// <summary>Appends one epoch's logs.</summary>
    public void Append(IReadOnlyDictionary<string, double> logs)
    {
        ArgumentNullException.ThrowIfNull(logs);
        foreach (var (k, v) in logs)
        {
            if (!_values.TryGetValue(k, out var list)) _values[k] = list = [];
            list.Add(v);
        }
        Epochs++;
    }

    /// <inheritdoc/>
    public override string ToString() => string.Join("; ", _values.Select(kv => $"{kv.Key}: [{string.Join(", ", kv.Value.Select(x => x.ToString("G5", System.Globalization.CultureInfo.InvariantCulture)))}]"));
}
