using System.Diagnostics;
using System.Globalization;

namespace Nn.Simd.Training.Callbacks;

/// <summary>
/// Stops training when a monitored value stops improving, as Keras' <c>EarlyStopping</c>: after each epoch
/// the wait counter grows unless the value beats the best by more than <c>minDelta</c>; once it reaches
/// <c>patience</c> training stops. With <c>restoreBestWeights</c>, the weights of the best epoch are restored
/// when training ends (as Keras 3 does, also when it ran to the last epoch).
/// </summary>
public sealed class EarlyStopping : MonitorCallback
{
    private int _wait;
    private WeightsSnapshot? _bestWeights;

    /// <summary>Creates the callback.</summary>
    /// <param name="monitor">The logged key to watch.</param>
    /// <param name="patience">Epochs without improvement before stopping; non-negative.</param>
    /// <param name="minDelta">The smallest change that counts as an improvement.</param>
    /// <param name="restoreBestWeights">Whether to restore the best epoch's weights at the end.</param>
    /// <param name="mode">Whether lower or higher is better.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="patience"/> is negative.</exception>
    public EarlyStopping(string monitor = "val_loss", int patience = 0, double minDelta = 0, bool restoreBestWeights = false,
        MonitorMode mode = MonitorMode.Auto) : base(monitor, mode, minDelta)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(patience);
        Patience = patience;
        RestoreBestWeights = restoreBestWeights;
    }

    /// <summary>Epochs without improvement before stopping.</summary>
    public int Patience { get; }

    /// <summary>Whether the best weights are restored at the end.</summary>
    public bool RestoreBestWeights { get; }

    /// <summary>The 0-based epoch at which training was stopped, or -1.</summary>
    public int StoppedEpoch { get; private set; } = -1;

    /// <summary>The 0-based epoch with the best value.</summary>
    public int BestEpoch { get; private set; }

    /// <inheritdoc/>
    public override void OnTrainBegin(TrainBeginInfo info)
    {
        _wait = 0;
        _bestWeights = null;
        StoppedEpoch = -1;
        BestEpoch = 0;
        ResetBest();
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        double current = Read(logs);
        if (RestoreBestWeights && _bestWeights is null)
        {
            _bestWeights = Model.GetWeights();
            BestEpoch = epoch;
        }
        _wait++;
        if (IsImprovement(current, Best))
        {
            Best = current;
            BestEpoch = epoch;
            if (RestoreBestWeights) _bestWeights = Model.GetWeights();
            _wait = 0;
            return;
        }
        if (_wait >= Patience && epoch > 0)
        {
            StoppedEpoch = epoch;
            Model.StopTraining = true;
        }
    }

    /// <inheritdoc/>
    public override void OnTrainEnd(IReadOnlyDictionary<string, double> logs)
    {
        if (RestoreBestWeights && _bestWeights is not null) Model.SetWeights(_bestWeights);
    }
}

/// <summary>
/// Saves the model (architecture, weights and the optimizer's step count and state, via <c>Save</c>, so that
/// <c>Load</c> then <c>Fit</c> resumes the run) after each epoch, or only when the monitored value improves, as
/// Keras' <c>ModelCheckpoint</c>. A <c>{epoch}</c> in the path is replaced by the 1-based
/// epoch number. Each save is atomic, so an interrupted run never leaves a half-written file.
/// </summary>
public sealed class ModelCheckpoint : MonitorCallback
{
    /// <summary>Creates the callback.</summary>
    /// <param name="path">The file to write; may contain <c>{epoch}</c>.</param>
    /// <param name="monitor">The logged key to watch (for <paramref name="saveBestOnly"/>).</param>
    /// <param name="saveBestOnly">Whether to save only when the value improves.</param>
    /// <param name="mode">Whether lower or higher is better.</param>
    public ModelCheckpoint(string path, string monitor = "val_loss", bool saveBestOnly = false, MonitorMode mode = MonitorMode.Auto)
        : base(monitor, mode, 0)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = path;
        SaveBestOnly = saveBestOnly;
    }

    /// <summary>The file path pattern.</summary>
    public string Path { get; }

    /// <summary>Whether only improvements are saved.</summary>
    public bool SaveBestOnly { get; }

    /// <summary>How many times the model was saved during the last <c>Fit</c>.</summary>
    public int Saves { get; private set; }

    /// <inheritdoc/>
    public override void OnTrainBegin(TrainBeginInfo info)
    {
        ResetBest();
        Saves = 0;
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (SaveBestOnly)
        {
            double current = Read(logs);
            if (!IsImprovement(current, Best)) return;
            Best = current;
        }
        Model.Save(Path.Replace("{epoch}", (epoch + 1).ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal));
        Saves++;
    }
}

/// <summary>
/// Lowers the optimizer's base learning rate when a monitored value stops improving, as Keras'
/// <c>ReduceLROnPlateau</c>: after <c>patience</c> epochs without an improvement larger than <c>minDelta</c>, the rate
/// becomes <c>max(lr·factor, minLearningRate)</c>, then <c>cooldown</c> epochs pass before counting again.
/// </summary>
public sealed class ReduceLROnPlateau : MonitorCallback
{
    private int _wait, _cooldownCounter;

    /// <summary>Creates the callback.</summary>
    /// <param name="monitor">The logged key to watch.</param>
    /// <param name="factor">The factor applied to the rate, in (0, 1).</param>
    /// <param name="patience">Epochs without improvement before lowering; non-negative.</param>
    /// <param name="minDelta">The smallest change that counts as an improvement.</param>
    /// <param name="cooldown">Epochs to wait after a reduction; non-negative.</param>
    /// <param name="minLearningRate">The lowest rate.</param>
    /// <param name="mode">Whether lower or higher is better.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public ReduceLROnPlateau(string monitor = "val_loss", double factor = 0.1, int patience = 10, double minDelta = 1e-4,
        int cooldown = 0, double minLearningRate = 0, MonitorMode mode = MonitorMode.Auto) : base(monitor, mode, minDelta)
    {
        if (!(factor > 0 && factor < 1))
            throw new ArgumentOutOfRangeException(nameof(factor), $"factor must be in (0, 1); got {factor}.");
        ArgumentOutOfRangeException.ThrowIfNegative(patience);
        ArgumentOutOfRangeException.ThrowIfNegative(cooldown);
        Factor = factor;
        Patience = patience;
        Cooldown = cooldown;
        MinLearningRate = minLearningRate;
    }

    /// <summary>The factor applied to the rate.</summary>
    public double Factor { get; }

    /// <summary>Epochs without improvement before lowering.</summary>
    public int Patience { get; }

    /// <summary>Epochs to wait after a reduction.</summary>
    public int Cooldown { get; }

    /// <summary>The lowest rate.</summary>
    public double MinLearningRate { get; }

    /// <inheritdoc/>
    public override void OnTrainBegin(TrainBeginInfo info)
    {
        _wait = 0;
        _cooldownCounter = 0;
        ResetBest();
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        double current = Read(logs);
        var optimizer = Model.Optimizer ?? throw new InvalidOperationException("ReduceLROnPlateau needs a compiled optimizer.");
        if (_cooldownCounter > 0)
        {
            _cooldownCounter--;
            _wait = 0;
        }
        if (IsImprovement(current, Best))
        {
            Best = current;
            _wait = 0;
        }
        else if (_cooldownCounter <= 0)
        {
            _wait++;
            if (_wait >= Patience)
            {
                double old = optimizer.LearningRate;
                if (old > MinLearningRate)
                {
                    optimizer.LearningRate = Math.Max(old * Factor, MinLearningRate);
                    _cooldownCounter = Cooldown;
                    _wait = 0;
                }
            }
        }
    }
}

/// <summary>One progress report: where training is and how it is going.</summary>
/// <param name="Epoch">The 1-based epoch.</param>
/// <param name="Epochs">The number of epochs.</param>
/// <param name="Step">The 1-based step within the epoch.</param>
/// <param name="Steps">The steps per epoch.</param>
/// <param name="Loss">The running mean loss of the epoch.</param>
/// <param name="Metrics">Metric values by name (at the end of an epoch also the <c>val_</c> ones).</param>
/// <param name="SamplesPerSecond">Training throughput this epoch.</param>
/// <param name="EpochEnd">Whether this report closes the epoch.</param>
public sealed record TrainingProgress(int Epoch, int Epochs, int Step, int Steps, double Loss,
    IReadOnlyDictionary<string, double> Metrics, double SamplesPerSecond, bool EpochEnd);

/// <summary>
/// Reports progress through an <see cref="IProgress{T}"/> so a console or UI can draw a bar: after every
/// <c>everySteps</c> steps, after the last step of each epoch, and once more at each epoch's end with the validation values.
/// </summary>
/// <remarks>Each report allocates a small record and a copy of the metrics, since <see cref="Progress{T}"/> may
/// hand it to another thread; raise <c>everySteps</c> for very fast epochs.</remarks>
public sealed class ProgressCallback : Callback
{
    private readonly IProgress<TrainingProgress> _progress;
    private readonly Stopwatch _clock = new();
    private int _epochs, _steps;
    private double _lastRate;

    /// <summary>Creates the callback.</summary>
    /// <param name="progress">The receiver of reports.</param>
    /// <param name="everySteps">Report every this many steps; positive.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="everySteps"/> is not positive.</exception>
    public ProgressCallback(IProgress<TrainingProgress> progress, int everySteps = 1)
    {
        ArgumentNullException.ThrowIfNull(progress);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(everySteps);
        _progress = progress;
        EverySteps = everySteps;
    }

    /// <summary>Steps between reports.</summary>
    public int EverySteps { get; }

    /// <inheritdoc/>
    public override void OnTrainBegin(TrainBeginInfo info)
    {
        _epochs = info.Epochs;
        _steps = info.StepsPerEpoch;
    }

    /// <inheritdoc/>
    public override void OnBatchEnd(in BatchInfo info)
    {
        _lastRate = info.SamplesPerSecond;
        if ((info.Step + 1) % EverySteps != 0 && info.Step + 1 != info.Steps) return;
        var metrics = new Dictionary<string, double>(info.Metrics.Count);
        foreach (var m in info.Metrics) metrics[m.Name] = m.Result;
        _progress.Report(new TrainingProgress(info.Epoch + 1, info.Epochs, info.Step + 1, info.Steps, info.Loss, metrics, _lastRate, false));
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        var metrics = new Dictionary<string, double>(logs);
        metrics.Remove("loss");
        _progress.Report(new TrainingProgress(epoch + 1, _epochs, _steps, _steps, logs.TryGetValue("loss", out var l) ? l : double.NaN,
            metrics, _lastRate, true));
    }
}
