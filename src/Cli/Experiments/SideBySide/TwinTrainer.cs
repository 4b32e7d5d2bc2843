using System.Diagnostics;

namespace Nn.Simd.Cli.Experiments.SideBySide;

/// <summary>
/// The epoch orders both engines follow: a Fisher–Yates permutation per epoch from <c>System.Random(seed)</c>,
/// or the identity when one batch holds every sample (full-batch training needs no shuffling).
/// </summary>
internal sealed class EpochSchedule
{
    private readonly int[][] _orders;

    /// <summary>Draws every epoch's order up front, so each engine replays exactly the same batches.</summary>
    public EpochSchedule(int samples, int batchSize, int epochs, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(samples);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        Samples = samples;
        BatchSize = Math.Min(batchSize, samples);
        Epochs = epochs;
        StepsPerEpoch = (samples + BatchSize - 1) / BatchSize;
        var rng = new Random(seed);
        _orders = new int[epochs][];
        int[]? identity = null;
        for (int e = 0; e < epochs; e++)
        {
            if (BatchSize == samples)
            {
                identity ??= [.. Enumerable.Range(0, samples)];
                _orders[e] = identity;
                continue;
            }
            var order = new int[samples];
            for (int i = 0; i < samples; i++) order[i] = i;
            for (int i = samples - 1; i > 0; i--)
            {
                int j = rng.Next(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }
            _orders[e] = order;
        }
    }

    /// <summary>Samples per epoch.</summary>
    public int Samples { get; }

    /// <summary>Samples per step (the last step of an epoch may hold fewer).</summary>
    public int BatchSize { get; }

    /// <summary>Epochs.</summary>
    public int Epochs { get; }

    /// <summary>Steps per epoch.</summary>
    public int StepsPerEpoch { get; }

    /// <summary>The sample order of epoch <paramref name="epoch"/> (0-based).</summary>
    public int[] Order(int epoch) => _orders[epoch];
}

/// <summary>What one engine's training cost and produced.</summary>
/// <param name="Name">Display name.</param>
/// <param name="Key">JSON key.</param>
/// <param name="Epochs">Epochs run.</param>
/// <param name="TrainSeconds">Wall time of the optimizer steps (batch gathering included; per-epoch validation excluded).</param>
/// <param name="SamplesPerSecond">Training samples processed per second of <paramref name="TrainSeconds"/>.</param>
/// <param name="EpochLosses">Mean training loss of each epoch (sample-weighted over its batches).</param>
/// <param name="PeakRssRiseBytes">Highest sampled resident set size during training minus the resident set size when it began.</param>
/// <param name="ManagedAllocatedBytes">Managed (GC) bytes allocated during training; native allocations (libtorch) are not counted.</param>
internal sealed record EngineRun(string Name, string Key, int Epochs, double TrainSeconds, double SamplesPerSecond,
    double[] EpochLosses, long PeakRssRiseBytes, long ManagedAllocatedBytes)
{
    /// <summary>The last epoch's mean loss.</summary>
    public double FinalLoss => EpochLosses.Length > 0 ? EpochLosses[^1] : double.NaN;
}

/// <summary>Trains each engine in turn on the same schedule, timing it and sampling memory.</summary>
internal static class TwinTrainer
{
    /// <summary>Runs <paramref name="engine"/> through every epoch of <paramref name="schedule"/>.</summary>
    /// <param name="engine">The engine.</param>
    /// <param name="schedule">The batches.</param>
    /// <param name="reporter">Progress display.</param>
    /// <param name="afterEpoch">Optional per-epoch evaluation (e.g. validation accuracy), untimed; its text goes to the progress line.</param>
    public static EngineRun Train(IEngine engine, EpochSchedule schedule, ITrainingReporter reporter, Func<IEngine, int, string?>? afterEpoch = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(reporter);
        var losses = new double[schedule.Epochs];
        var clock = new Stopwatch();
        reporter.Begin(engine.Name, schedule.Epochs, schedule.StepsPerEpoch);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        using var memory = new RssSampler();
        for (int epoch = 0; epoch < schedule.Epochs; epoch++)
        {
            int[] order = schedule.Order(epoch);
            double sum = 0;
            clock.Start();
            for (int step = 0; step < schedule.StepsPerEpoch; step++)
            {
                int start = step * schedule.BatchSize, count = Math.Min(schedule.BatchSize, schedule.Samples - start);
                sum += engine.TrainStep(order, start, count) * count;
                reporter.Step(engine.Name);
            }
            clock.Stop();
            losses[epoch] = sum / schedule.Samples;
            string? extra = afterEpoch?.Invoke(engine, epoch);
            reporter.EpochEnd(engine.Name, epoch, schedule.Epochs, losses[epoch], extra);
        }
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        long rssRise = memory.StopAndGetRise();
        double seconds = clock.Elapsed.TotalSeconds;
        reporter.End(engine.Name, seconds);
        return new EngineRun(engine.Name, engine.Key, schedule.Epochs, seconds,
            seconds > 0 ? (double)schedule.Samples * schedule.Epochs / seconds : double.NaN, losses, rssRise, allocated);
    }
}

/// <summary>Samples the process's resident set size every few milliseconds on a background thread and keeps the highest.</summary>
internal sealed class RssSampler : IDisposable
{
    private readonly long _baseline = Environment.WorkingSet;
    private readonly Thread _thread;
    private volatile bool _stop;
    private long _peak;

    /// <summary>Starts sampling.</summary>
    public RssSampler()
    {
        _peak = _baseline;
        _thread = new Thread(Loop) { IsBackground = true, Name = "rss-sampler", Priority = ThreadPriority.BelowNormal };
        _thread.Start();
    }

    private void Loop()
    {
        while (!_stop)
        {
            long now = Environment.WorkingSet;
            if (now > Interlocked.Read(ref _peak)) Interlocked.Exchange(ref _peak, now);
            Thread.Sleep(10);
        }
    }

    /// <summary>Stops sampling; returns the peak resident set size seen minus the size at the start.</summary>
    public long StopAndGetRise()
    {
        long now = Environment.WorkingSet;
        _stop = true;
        _thread.Join();
        return Math.Max(Math.Max(now, Interlocked.Read(ref _peak)) - _baseline, 0);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }
}
