using System.Globalization;
using Spectre.Console;

namespace Nn.Simd.Cli.Experiments.SideBySide;

/// <summary>Receives training progress from <see cref="TwinTrainer"/>.</summary>
internal interface ITrainingReporter
{
    /// <summary>An engine starts training.</summary>
    void Begin(string engine, int epochs, int stepsPerEpoch);

    /// <summary>One step finished.</summary>
    void Step(string engine);

    /// <summary>An epoch finished with this mean loss; <paramref name="extra"/> is optional text (validation results).</summary>
    void EpochEnd(string engine, int epoch, int epochs, double loss, string? extra);

    /// <summary>An engine finished.</summary>
    void End(string engine, double seconds);
}

/// <summary>Live Spectre.Console progress bars, one per engine (interactive terminals).</summary>
internal sealed class SpectreReporter(ProgressContext context) : ITrainingReporter
{
    private readonly Dictionary<string, ProgressTask> _tasks = [];

    /// <inheritdoc/>
    public void Begin(string engine, int epochs, int stepsPerEpoch) =>
        _tasks[engine] = context.AddTask(Markup.Escape($"{engine,-10} epoch 1/{epochs}"), maxValue: (double)epochs * stepsPerEpoch);

    /// <inheritdoc/>
    public void Step(string engine) => _tasks[engine].Increment(1);

    /// <inheritdoc/>
    public void EpochEnd(string engine, int epoch, int epochs, double loss, string? extra) =>
        _tasks[engine].Description = Markup.Escape(string.Create(CultureInfo.InvariantCulture,
            $"{engine,-10} epoch {epoch + 1}/{epochs} loss {loss:F4}{(extra is null ? "" : " " + extra)}"));

    /// <inheritdoc/>
    public void End(string engine, double seconds)
    {
        var task = _tasks[engine];
        task.Value = task.MaxValue;
        task.StopTask();
    }
}

/// <summary>
/// Plain lines for logs and pipes: the first and last epoch and about <see cref="MaxLines"/> evenly spaced ones
/// in between, so a 1,000-epoch run stays readable.
/// </summary>
internal sealed class PlainReporter(TextWriter output) : ITrainingReporter
{
    /// <summary>About how many epoch lines an engine prints.</summary>
    public const int MaxLines = 20;

    /// <inheritdoc/>
    public void Begin(string engine, int epochs, int stepsPerEpoch) =>
        output.WriteLine($"{engine}: training {epochs} epochs of {stepsPerEpoch} steps");

    /// <inheritdoc/>
    public void Step(string engine)
    {
    }

    /// <inheritdoc/>
    public void EpochEnd(string engine, int epoch, int epochs, double loss, string? extra)
    {
        int every = Math.Max(1, (epochs + MaxLines - 1) / MaxLines);
        if (epoch == 0 || epoch == epochs - 1 || (epoch + 1) % every == 0)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{engine}: epoch {epoch + 1}/{epochs} loss {loss:F4}{(extra is null ? "" : " " + extra)}"));
    }

    /// <inheritdoc/>
    public void End(string engine, double seconds) =>
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{engine}: trained in {seconds:F2} s"));
}
