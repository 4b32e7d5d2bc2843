using System.Globalization;
using System.Text;

namespace Nn.Simd.Training.Callbacks;

/// <summary>
/// Keras' <c>LearningRateScheduler</c>: before each epoch, sets the optimizer's base learning rate to
/// <c>schedule(epoch, currentRate)</c> (epoch counted from 0).
/// </summary>
/// <param name="schedule">The rate for an epoch, given the epoch and the current rate; must be positive and finite.</param>
public sealed class LearningRateScheduler(Func<int, double, double> schedule) : Callback
{
    private readonly Func<int, double, double> _schedule = schedule ?? throw new ArgumentNullException(nameof(schedule));

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The model has no optimizer, or the schedule returned a rate
    /// that is not positive and finite (the message names the epoch and the value).</exception>
    public override void OnEpochBegin(int epoch)
    {
        var optimizer = Model.Optimizer ?? throw new InvalidOperationException("LearningRateScheduler needs a compiled optimizer.");
        double rate = _schedule(epoch, optimizer.LearningRate);
        if (!(rate > 0) || !double.IsFinite(rate))
            throw new InvalidOperationException($"LearningRateScheduler: the schedule returned {rate} for epoch {epoch}; a learning rate must be positive and finite.");
        optimizer.LearningRate = rate;
    }
}

/// <summary>
/// Keras' <c>CSVLogger</c>: writes one row per epoch, <c>epoch</c> (from 0) and every log value (loss, metrics,
/// validation values, in name order), to a CSV file. Each row is appended and the file closed at once, so a crash
/// loses at most the epoch in progress and no handle is left open. A new run truncates the file unless
/// <paramref name="append"/> is set, in which case the header is written only when the file is empty.
/// </summary>
/// <param name="path">The file.</param>
/// <param name="separator">The field separator.</param>
/// <param name="append">Whether to append to an existing file.</param>
public sealed class CsvLogger(string path, char separator = ',', bool append = false) : Callback
{
    private static readonly UTF8Encoding Utf8 = new(false);
    private string[]? _keys;

    /// <summary>The file written.</summary>
    public string Path { get; } = !string.IsNullOrWhiteSpace(path) ? path : throw new ArgumentException("path must not be empty.", nameof(path));

    /// <inheritdoc/>
    public override void OnTrainBegin(TrainBeginInfo info)
    {
        _keys = null;
        if (!append) File.WriteAllText(Path, "", Utf8);
    }

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The logged names changed from the first epoch's.</exception>
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        var text = new StringBuilder();
        if (_keys is null)
        {
            _keys = logs.Keys.Order(StringComparer.Ordinal).ToArray();
            if (!File.Exists(Path) || new FileInfo(Path).Length == 0)
                text.AppendLine(string.Join(separator, _keys.Prepend("epoch").Select(Quote)));
        }
        else if (logs.Count != _keys.Length || _keys.Any(k => !logs.ContainsKey(k)))
        {
            throw new InvalidOperationException($"CsvLogger: epoch {epoch} logged [{string.Join(", ", logs.Keys)}] but the header is [{string.Join(", ", _keys)}].");
        }
        text.Append(epoch.ToString(CultureInfo.InvariantCulture));
        foreach (var k in _keys) text.Append(separator).Append(logs[k].ToString("R", CultureInfo.InvariantCulture));
        text.AppendLine();
        File.AppendAllText(Path, text.ToString(), Utf8);
    }

    private string Quote(string field) =>
        field.Contains(separator) || field.Contains('"') || field.Contains('\n') ? "\"" + field.Replace("\"", "\"\"") + "\"" : field;
}

/// <summary>Keras' <c>LambdaCallback</c>: a callback from delegates, each optional.</summary>
public sealed class LambdaCallback : Callback
{
    /// <summary>Called when training begins.</summary>
    public Action<TrainBeginInfo>? TrainBegin { get; init; }

    /// <summary>Called before each epoch.</summary>
    public Action<int>? EpochBegin { get; init; }

    /// <summary>Called after each training step.</summary>
    public Action<BatchInfo>? BatchEnd { get; init; }

    /// <summary>Called after each epoch with its logs.</summary>
    public Action<int, IReadOnlyDictionary<string, double>>? EpochEnd { get; init; }

    /// <summary>Called when training ends with the last logs.</summary>
    public Action<IReadOnlyDictionary<string, double>>? TrainEnd { get; init; }

    /// <inheritdoc/>
    public override void OnTrainBegin(TrainBeginInfo info) => TrainBegin?.Invoke(info);

    /// <inheritdoc/>
    public override void OnEpochBegin(int epoch) => EpochBegin?.Invoke(epoch);

    /// <inheritdoc/>
    public override void OnBatchEnd(in BatchInfo info) => BatchEnd?.Invoke(info);

    /// <inheritdoc/>
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs) => EpochEnd?.Invoke(epoch, logs);

    /// <inheritdoc/>
    public override void OnTrainEnd(IReadOnlyDictionary<string, double> logs) => TrainEnd?.Invoke(logs);
}
