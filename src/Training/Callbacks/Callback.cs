using Nn.Simd.Training.Metrics;
using Nn.Simd.Training.Optimizers;

namespace Nn.Simd.Training.Callbacks;

/// <summary>What callbacks may do with the model being trained, independent of its element type.</summary>
public interface IModel
{
    /// <summary>Set to true to stop <c>Fit</c> after the current step.</summary>
    bool StopTraining { get; set; }

    /// <summary>The compiled optimizer, or null before <c>Compile</c>.</summary>
    Optimizer? Optimizer { get; }

    /// <summary>A copy of all parameter values.</summary>
    WeightsSnapshot GetWeights();

    /// <summary>Restores values captured by <see cref="GetWeights"/>.</summary>
    /// <exception cref="ArgumentException">The snapshot is from a model with other parameters.</exception>
    void SetWeights(WeightsSnapshot weights);

    /// <summary>Saves architecture and weights to a safetensors file (atomically).</summary>
    void Save(string path);
}

/// <summary>An opaque copy of a model's parameter values.</summary>
public sealed class WeightsSnapshot
{
    internal WeightsSnapshot(Array[] values) => Values = values;

    internal Array[] Values { get; }
}

/// <summary>Progress within an epoch, passed to <see cref="Callback.OnBatchEnd"/>.</summary>
/// <param name="Epoch">The 0-based epoch.</param>
/// <param name="Epochs">The number of epochs requested.</param>
/// <param name="Step">The 0-based step within the epoch.</param>
/// <param name="Steps">The steps per epoch.</param>
/// <param name="Samples">Samples seen so far this epoch.</param>
/// <param name="Loss">The running mean loss this epoch (weighted by batch size).</param>
/// <param name="Metrics">The metrics' running values this epoch.</param>
/// <param name="ElapsedSeconds">Seconds since the epoch began.</param>
public readonly record struct BatchInfo(int Epoch, int Epochs, int Step, int Steps, int Samples, double Loss,
    IReadOnlyList<IMetric> Metrics, double ElapsedSeconds)
{
    /// <summary>Samples per second this epoch so far.</summary>
    public double SamplesPerSecond => ElapsedSeconds > 0 ? Samples / ElapsedSeconds : 0;
}

/// <summary>The start of training, passed to <see cref="Callback.OnTrainBegin"/>.</summary>
/// <param name="Epochs">The number of epochs requested.</param>
/// <param name="StepsPerEpoch">Batches per epoch.</param>
/// <param name="TrainSamples">Training samples.</param>
/// <param name="ValidationSamples">Validation samples (0 without validation).</param>
public readonly record struct TrainBeginInfo(int Epochs, int StepsPerEpoch, int TrainSamples, int ValidationSamples);

/// <summary>
/// A hook into <c>Fit</c>, as Keras' <c>Callback</c>. Override what you need; epochs and steps are 0-based as in Keras.
/// </summary>
public abstract class Callback
{
    /// <summary>The model being trained; set before <see cref="OnTrainBegin"/>.</summary>
    public IModel Model { get; internal set; } = null!;

    /// <summary>Called once before the first epoch.</summary>
    public virtual void OnTrainBegin(TrainBeginInfo info) { }

    /// <summary>Called at the start of each epoch.</summary>
    public virtual void OnEpochBegin(int epoch) { }

    /// <summary>Called after each training step.</summary>
    public virtual void OnBatchEnd(in BatchInfo info) { }

    /// <summary>Called at the end of each epoch with its logs (<c>loss</c>, metrics, <c>val_</c> values).</summary>
    public virtual void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs) { }

    /// <summary>Called once after training, with the last epoch's logs (empty when no epoch ran).</summary>
    public virtual void OnTrainEnd(IReadOnlyDictionary<string, double> logs) { }
}

/// <summary>Whether a monitored quantity should go down or up.</summary>
public enum MonitorMode
{
    /// <summary>Down for losses and errors, up for accuracies (decided from the name).</summary>
    Auto,

    /// <summary>Lower is better.</summary>
    Min,

    /// <summary>Higher is better.</summary>
    Max,
}

/// <summary>Shared logic for callbacks that watch one logged value.</summary>
public abstract class MonitorCallback : Callback
{
    /// <summary>Creates the callback.</summary>
    /// <param name="monitor">The logged key to watch, e.g. <c>val_loss</c>.</param>
    /// <param name="mode">Whether lower or higher is better.</param>
    /// <param name="minDelta">The smallest change that counts as an improvement; its sign is ignored.</param>
    protected MonitorCallback(string monitor, MonitorMode mode, double minDelta)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(monitor);
        Monitor = monitor;
        MinDelta = Math.Abs(minDelta);
        string bare = monitor.StartsWith("val_", StringComparison.Ordinal) ? monitor[4..] : monitor;
        HigherIsBetter = mode switch
        {
            MonitorMode.Min => false,
            MonitorMode.Max => true,
            _ => bare.Contains("acc", StringComparison.OrdinalIgnoreCase),
        };
        Best = HigherIsBetter ? double.NegativeInfinity : double.PositiveInfinity;
    }

    /// <summary>The watched key.</summary>
    public string Monitor { get; }

    /// <summary>The smallest change that counts as an improvement.</summary>
    public double MinDelta { get; }

    /// <summary>Whether higher values are better.</summary>
    public bool HigherIsBetter { get; }

    /// <summary>The best value seen.</summary>
    public double Best { get; protected set; }

    /// <summary>Whether <paramref name="current"/> beats <paramref name="reference"/> by more than <see cref="MinDelta"/>.</summary>
    protected bool IsImprovement(double current, double reference) =>
        HigherIsBetter ? current - MinDelta > reference : current + MinDelta < reference;

    /// <summary>Resets <see cref="Best"/>.</summary>
    protected void ResetBest() => Best = HigherIsBetter ? double.NegativeInfinity : double.PositiveInfinity;

    /// <summary>The watched value from <paramref name="logs"/>.</summary>
    /// <exception cref="InvalidOperationException">The key is not logged; the message lists what is (e.g. <c>val_loss</c> without validation data).</exception>
    protected double Read(IReadOnlyDictionary<string, double> logs) =>
        logs.TryGetValue(Monitor, out var v) ? v
        : throw new InvalidOperationException($"{GetType().Name} monitors '{Monitor}', which is not logged. Available: {string.Join(", ", logs.Keys)}. (val_ values need validationSplit or validationData.)");
}
