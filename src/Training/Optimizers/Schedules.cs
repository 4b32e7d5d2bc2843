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

/// <summary>
/// Cosine decay (Loshchilov &amp; Hutter, 2017, "SGDR") with Keras 3's optional linear warm-up (Goyal et al., 2017),
/// Keras' <c>CosineDecay</c>, with the optimizer's base rate as <c>initial_learning_rate</c>. Without a warm-up target:
/// <c>lr·((1 − α)·½(1 + cos(π·min(step, decaySteps)/decaySteps)) + α)</c>. With one, step is first capped at
/// <c>warmupSteps + decaySteps</c>; while <c>step &lt; warmupSteps</c> the rate is
/// <c>(warmupTarget − lr)·step/warmupSteps + lr</c>, after that the cosine decay above from <c>warmupTarget</c>
/// (instead of lr) at <c>step − warmupSteps</c>.
/// </summary>
/// <remarks>Keras computes in the learning rate's dtype (float32 by default); this computes in float64, Keras'
/// formula in Keras' order of operations.</remarks>
public sealed class CosineDecay : ILearningRateSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="decaySteps">The steps to decay over; positive.</param>
    /// <param name="alpha">The final rate as a fraction of the rate the decay starts from, in [0, 1].</param>
    /// <param name="warmupTarget">The rate the warm-up reaches (Keras' <c>warmup_target</c>); null (Keras' None) for no
    /// warm-up; else positive and finite.</param>
    /// <param name="warmupSteps">The warm-up's length in steps (Keras' <c>warmup_steps</c>, default 0); non-negative.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public CosineDecay(long decaySteps, double alpha = 0.0, double? warmupTarget = null, long warmupSteps = 0)
    {
        DecaySteps = decaySteps > 0 ? decaySteps : throw new ArgumentOutOfRangeException(nameof(decaySteps), $"decaySteps must be positive; got {decaySteps}.");
        Alpha = alpha is >= 0 and <= 1 ? alpha : throw new ArgumentOutOfRangeException(nameof(alpha), $"alpha must be in [0, 1]; got {alpha}.");
        if (warmupTarget is double t && !(t > 0 && double.IsFinite(t)))
            throw new ArgumentOutOfRangeException(nameof(warmupTarget), $"warmupTarget must be positive and finite (or null for no warm-up); got {t}.");
        if (warmupSteps < 0)
            throw new ArgumentOutOfRangeException(nameof(warmupSteps), $"warmupSteps must be non-negative; got {warmupSteps}.");
        WarmupTarget = warmupTarget;
        WarmupSteps = warmupSteps;
    }

    /// <summary>The steps to decay over.</summary>
    public long DecaySteps { get; }

    /// <summary>The final fraction of the rate the decay starts from.</summary>
    public double Alpha { get; }

    /// <summary>The rate the warm-up reaches, or null for no warm-up.</summary>
    public double? WarmupTarget { get; }

    /// <summary>The warm-up's length in steps.</summary>
    public long WarmupSteps { get; }

    /// <inheritdoc/>
    public double GetLearningRate(double initialLearningRate, long step)
    {
        double s = step;
        if (WarmupTarget is not double target)
            return Decayed(Math.Min(s, DecaySteps), initialLearningRate);
        double warmup = WarmupSteps;
        s = Math.Min(s, (double)DecaySteps + warmup);
        return s < warmup
            ? (target - initialLearningRate) * (s / warmup) + initialLearningRate
            : Decayed(s - warmup, target);
    }

    private double Decayed(double step, double from)
    {
        double done = step / DecaySteps;
        double cosine = 0.5 * (1.0 + Math.Cos(Math.PI * done));
        return from * ((1 - Alpha) * cosine + Alpha);
    }
}

/// <summary>
/// Piecewise-constant rates (Keras' <c>PiecewiseConstantDecay</c>): <c>values[0]</c> while <c>step ≤ boundaries[0]</c>,
/// <c>values[i]</c> while <c>boundaries[i−1] &lt; step ≤ boundaries[i]</c>, and <c>values[^1]</c> once
/// <c>step &gt; boundaries[^1]</c>.
/// </summary>
/// <remarks>As in Keras the values are the learning rates themselves: the optimizer's base
/// <see cref="Optimizer.LearningRate"/> is not used, so a callback that lowers it (ReduceLROnPlateau) has no effect
/// (Keras refuses to set the rate of an optimizer with a schedule).</remarks>
public sealed class PiecewiseConstantDecay : ILearningRateSchedule
{
    private readonly long[] _boundaries;
    private readonly double[] _values;

    /// <summary>Creates the schedule.</summary>
    /// <param name="boundaries">Step boundaries, strictly increasing; at least one.</param>
    /// <param name="values">The rates, one more than the boundaries; each non-negative and finite.</param>
    /// <exception cref="ArgumentException">The lengths do not fit, the boundaries are not strictly increasing, or a
    /// value is negative or not finite.</exception>
    public PiecewiseConstantDecay(IReadOnlyList<long> boundaries, IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(boundaries);
        ArgumentNullException.ThrowIfNull(values);
        if (boundaries.Count == 0)
            throw new ArgumentException("boundaries must hold at least one step.", nameof(boundaries));
        if (boundaries.Count != values.Count - 1)
            throw new ArgumentException($"values must hold one more entry than boundaries; got {boundaries.Count} boundaries and {values.Count} values.", nameof(values));
        for (int i = 1; i < boundaries.Count; i++)
            if (boundaries[i] <= boundaries[i - 1])
                throw new ArgumentException($"boundaries must be strictly increasing; boundaries[{i - 1}] = {boundaries[i - 1]} and boundaries[{i}] = {boundaries[i]}.", nameof(boundaries));
        for (int i = 0; i < values.Count; i++)
            if (!(values[i] >= 0) || !double.IsFinite(values[i]))
                throw new ArgumentException($"values must be non-negative and finite; values[{i}] = {values[i]}.", nameof(values));
        _boundaries = [.. boundaries];
        _values = [.. values];
    }

    /// <summary>The step boundaries.</summary>
    public IReadOnlyList<long> Boundaries => _boundaries;

    /// <summary>The rates, one per interval.</summary>
    public IReadOnlyList<double> Values => _values;

    /// <inheritdoc/>
    public double GetLearningRate(double initialLearningRate, long step)
    {
        int i = 0;
        while (i < _boundaries.Length && step > _boundaries[i]) i++;
        return _values[i];
    }
}

/// <summary>
/// Polynomial decay from the optimizer's base rate to <see cref="EndLearningRate"/> (Keras' <c>PolynomialDecay</c>):
/// <c>(lr − end)·(1 − s/d)^power + end</c> with <c>s = min(step, d)</c>, <c>d = decaySteps</c>; with
/// <see cref="Cycle"/>, <c>s = step</c> and <c>d = decaySteps·⌈step/decaySteps⌉</c> (<c>decaySteps</c> at step 0), so
/// the decay restarts from lr after every multiple of decaySteps.
/// </summary>
public sealed class PolynomialDecay : ILearningRateSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="decaySteps">The steps to decay over; positive.</param>
    /// <param name="endLearningRate">The final rate (Keras' default 1e-4); non-negative and finite.</param>
    /// <param name="power">The polynomial's power (Keras' default 1, linear); non-negative and finite.</param>
    /// <param name="cycle">Whether to restart after every <paramref name="decaySteps"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    /// <remarks>Keras accepts a negative power, which makes the rate infinite at the end of the decay; it is refused here.</remarks>
    public PolynomialDecay(long decaySteps, double endLearningRate = 1e-4, double power = 1.0, bool cycle = false)
    {
        DecaySteps = decaySteps > 0 ? decaySteps : throw new ArgumentOutOfRangeException(nameof(decaySteps), $"decaySteps must be positive; got {decaySteps}.");
        EndLearningRate = endLearningRate >= 0 && double.IsFinite(endLearningRate) ? endLearningRate
            : throw new ArgumentOutOfRangeException(nameof(endLearningRate), $"endLearningRate must be non-negative and finite; got {endLearningRate}.");
        Power = power >= 0 && double.IsFinite(power) ? power
            : throw new ArgumentOutOfRangeException(nameof(power), $"power must be non-negative and finite; got {power}.");
        Cycle = cycle;
    }

    /// <summary>The steps to decay over.</summary>
    public long DecaySteps { get; }

    /// <summary>The final rate.</summary>
    public double EndLearningRate { get; }

    /// <summary>The polynomial's power.</summary>
    public double Power { get; }

    /// <summary>Whether the decay restarts after every <see cref="DecaySteps"/>.</summary>
    public bool Cycle { get; }

    /// <inheritdoc/>
    public double GetLearningRate(double initialLearningRate, long step)
    {
        double s = step, d = DecaySteps;
        if (Cycle) d *= s == 0 ? 1.0 : Math.Ceiling(s / DecaySteps);
        else s = Math.Min(s, d);
        double p = s / d;
        return (initialLearningRate - EndLearningRate) * Math.Pow(1 - p, Power) + EndLearningRate;
    }
}

/// <summary>
/// Cosine decay with warm restarts (Loshchilov &amp; Hutter, 2017, "SGDR"), Keras' <c>CosineDecayRestarts</c> with the
/// optimizer's base rate as <c>initial_learning_rate</c>. With <c>f = step/firstDecaySteps</c>, period
/// <c>i = ⌊f⌋</c> and <c>f −= i</c> when <c>tMul = 1</c>, else
/// <c>i = ⌊ln(1 − f·(1 − tMul)) / ln(tMul)⌋</c> and <c>f = (f − (1 − tMul^i)/(1 − tMul)) / tMul^i</c>; the rate is
/// <c>lr·((1 − α)·½·mMul^i·(1 + cos(π·f)) + α)</c>. Period i lasts <c>firstDecaySteps·tMul^i</c> steps and starts
/// at <c>mMul^i</c> times lr.
/// </summary>
/// <remarks>The formula is Keras', in Keras' order, in float64. Like Keras' it finds the period with a logarithm, so
/// a step that falls exactly on a restart can land in the previous period when the logarithm rounds down (with
/// tMul = 2 the restarts up to 2^52 steps are exact).</remarks>
public sealed class CosineDecayRestarts : ILearningRateSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="firstDecaySteps">The first period's length in steps; positive.</param>
    /// <param name="tMul">The factor on each period's length (Keras' <c>t_mul</c>, default 2); at least 1 and finite.</param>
    /// <param name="mMul">The factor on each period's starting rate (Keras' <c>m_mul</c>, default 1); non-negative and finite.</param>
    /// <param name="alpha">The minimum rate as a fraction of lr, in [0, 1].</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    /// <remarks>Keras accepts tMul &lt; 1, for which the periods shrink to a finite total and the logarithm's argument
    /// turns negative (NaN rates); it is refused here.</remarks>
    public CosineDecayRestarts(long firstDecaySteps, double tMul = 2.0, double mMul = 1.0, double alpha = 0.0)
    {
        FirstDecaySteps = firstDecaySteps > 0 ? firstDecaySteps
            : throw new ArgumentOutOfRangeException(nameof(firstDecaySteps), $"firstDecaySteps must be positive; got {firstDecaySteps}.");
        TMul = tMul >= 1 && double.IsFinite(tMul) ? tMul : throw new ArgumentOutOfRangeException(nameof(tMul), $"tMul must be at least 1 and finite; got {tMul}.");
        MMul = mMul >= 0 && double.IsFinite(mMul) ? mMul : throw new ArgumentOutOfRangeException(nameof(mMul), $"mMul must be non-negative and finite; got {mMul}.");
        Alpha = alpha is >= 0 and <= 1 ? alpha : throw new ArgumentOutOfRangeException(nameof(alpha), $"alpha must be in [0, 1]; got {alpha}.");
    }

    /// <summary>The first period's length in steps.</summary>
    public long FirstDecaySteps { get; }

    /// <summary>The factor on each period's length.</summary>
    public double TMul { get; }

    /// <summary>The factor on each period's starting rate.</summary>
    public double MMul { get; }

    /// <summary>The minimum rate as a fraction of lr.</summary>
    public double Alpha { get; }

    /// <inheritdoc/>
    public double GetLearningRate(double initialLearningRate, long step)
    {
        double f = (double)step / FirstDecaySteps, restart;
        if (TMul == 1.0)
        {
            restart = Math.Floor(f);
            f -= restart;
        }
        else
        {
            restart = Math.Floor(Math.Log(1.0 - f * (1.0 - TMul)) / Math.Log(TMul));
            double sum = (1.0 - Math.Pow(TMul, restart)) / (1.0 - TMul);
            f = (f - sum) / Math.Pow(TMul, restart);
        }
        double cosine = 0.5 * Math.Pow(MMul, restart) * (1.0 + Math.Cos(Math.PI * f));
        return initialLearningRate * ((1 - Alpha) * cosine + Alpha);
    }
}
