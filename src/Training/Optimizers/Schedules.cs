namespace Nn.Simd.Training.Optimizers;

/// <summary>A learning-rate schedule: the rate for a step, given the optimizer's base rate.</summary>
/// <remarks>The base rate is <see cref="Optimizer.LearningRate"/>, so a callback that lowers it (ReduceLROnPlateau)
/// composes with a schedule. <c>step</c> counts the updates already made, starting at 0, as Keras' <c>iterations</c>.</remarks>
public interface ILearningRateSchedule
{
    /// <summary>The learning rate for the update after <paramref name="step"/> completed updates.</summary>
    /// <param name="initialLearningRate">The optimizer's base learning rate.</param>
    /// <param name="step">The number of updates already made (0 for the first).</param>
    double GetLearningRate(double initialLearningRate, long step);
}

/// <summary>Inverse-time decay, <c>lr / (1 + rate·step / decaySteps)</c> (Keras' <c>InverseTimeDecay</c>;
/// staircase floors <c>step / decaySteps</c>). With <c>decaySteps = 1</c> it is nnfs' <c>decay</c> option,
/// <c>lr / (1 + decay·iteration)</c>.</summary>
/// <param name="decayRate">The rate; non-negative.</param>
/// <param name="decaySteps">The steps per unit of decay; positive.</param>
/// <param name="staircase">Whether to decay in whole steps.</param>
public sealed class InverseTimeDecay(double decayRate, long decaySteps = 1, bool staircase = false) : ILearningRateSchedule
{
    /// <summary>The decay rate.</summary>
    public double DecayRate { get; } = decayRate >= 0 ? decayRate : throw new ArgumentOutOfRangeException(nameof(decayRate), $"decayRate must be non-negative; got {decayRate}.");

    /// <summary>The steps per unit of decay.</summary>
    public long DecaySteps { get; } = decaySteps > 0 ? decaySteps : throw new ArgumentOutOfRangeException(nameof(decaySteps), $"decaySteps must be positive; got {decaySteps}.");

    /// <summary>Whether the decay happens in whole steps.</summary>
    public bool Staircase { get; } = staircase;

    /// <inheritdoc/>
    public double GetLearningRate(double initialLearningRate, long step)
    {
        double p = (double)step / DecaySteps;
        if (Staircase) p = Math.Floor(p);
        return initialLearningRate / (1 + DecayRate * p);
    }
}

/// <summary>Exponential decay, <c>lr·rate^(step / decaySteps)</c> (Keras' <c>ExponentialDecay</c>; staircase floors the exponent).</summary>
/// <param name="decaySteps">The steps per factor of <paramref name="decayRate"/>; positive.</param>
/// <param name="decayRate">The factor per <paramref name="decaySteps"/>; positive.</param>
/// <param name="staircase">Whether to decay in whole steps.</param>
public sealed class ExponentialDecay(long decaySteps, double decayRate, bool staircase = false) : ILearningRateSchedule
{
    /// <summary>The steps per factor.</summary>
    public long DecaySteps { get; } = decaySteps > 0 ? decaySteps : throw new ArgumentOutOfRangeException(nameof(decaySteps), $"decaySteps must be positive; got {decaySteps}.");

    /// <summary>The factor.</summary>
    public double DecayRate { get; } = decayRate > 0 ? decayRate : throw new ArgumentOutOfRangeException(nameof(decayRate), $"decayRate must be positive; got {decayRate}.");

    /// <summary>Whether the decay happens in whole steps.</summary>
    public bool Staircase { get; } = staircase;

    /// <inheritdoc/>
    public double GetLearningRate(double initialLearningRate, long step)
    {
        double p = (double)step / DecaySteps;
        if (Staircase) p = Math.Floor(p);
        return initialLearningRate * Math.Pow(DecayRate, p);
    }
}

/// <summary>Step decay, <c>lr·γ^⌊step / stepSize⌋</c> (PyTorch's <c>StepLR</c>, counted in updates rather than epochs).</summary>
/// <param name="stepSize">Updates between drops; positive.</param>
/// <param name="gamma">The factor per drop; positive.</param>
public sealed class StepDecay(long stepSize, double gamma = 0.1) : ILearningRateSchedule
{
    /// <summary>Updates between drops.</summary>
    public long StepSize { get; } = stepSize > 0 ? stepSize : throw new ArgumentOutOfRangeException(nameof(stepSize), $"stepSize must be positive; got {stepSize}.");

    /// <summary>The factor per drop.</summary>
    public double Gamma { get; } = gamma > 0 ? gamma : throw new ArgumentOutOfRangeException(nameof(gamma), $"gamma must be positive; got {gamma}.");

    /// <inheritdoc/>
    public double GetLearningRate(double initialLearningRate, long step) => initialLearningRate * Math.Pow(Gamma, step / StepSize);
}

/// <summary>Cosine decay (Loshchilov &amp; Hutter, 2017, "SGDR"), Keras' <c>CosineDecay</c> without warm-up:
/// <c>lr·((1 − α)·½(1 + cos(π·min(step, decaySteps)/decaySteps)) + α)</c>.</summary>
/// <param name="decaySteps">The steps to decay over; positive.</param>
/// <param name="alpha">The final rate as a fraction of the initial one, in [0, 1].</param>
public sealed class CosineDecay(long decaySteps, double alpha = 0.0) : ILearningRateSchedule
{
    /// <summary>The steps to decay over.</summary>
    public long DecaySteps { get; } = decaySteps > 0 ? decaySteps : throw new ArgumentOutOfRangeException(nameof(decaySteps), $"decaySteps must be positive; got {decaySteps}.");

    /// <summary>The final fraction of the initial rate.</summary>
    public double Alpha { get; } = alpha is >= 0 and <= 1 ? alpha : throw new ArgumentOutOfRangeException(nameof(alpha), $"alpha must be in [0, 1]; got {alpha}.");

    /// <inheritdoc/>
    public double GetLearningRate(double initialLearningRate, long step)
    {
        double done = (double)Math.Min(step, DecaySteps) / DecaySteps;
        double cosine = 0.5 * (1 + Math.Cos(Math.PI * done));
        return initialLearningRate * ((1 - Alpha) * cosine + Alpha);
    }
}
