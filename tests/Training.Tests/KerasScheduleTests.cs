using Nn.Simd.Training.Optimizers;

namespace Nn.Simd.Training.Tests;

/// <summary>The Keras 3 schedules against float64 transcriptions of keras/src/optimizers/schedules/learning_rate_schedule.py.</summary>
public class KerasScheduleTests
{
    private static readonly long[] Steps = [.. Enumerable.Range(0, 400).Select(i => (long)i), 999, 1000, 1001, 4095, 4096, 100_000];

    private static void Same(double expected, double actual, long step) =>
        Assert.True(expected == actual || Math.Abs(expected - actual) <= 1e-15 * Math.Abs(expected), $"step {step}: expected {expected:R}, got {actual:R}");

    // ***** the transcriptions (Keras' __call__, in Keras' order of operations) *****

    private static double KerasPiecewise(long step, long[] boundaries, double[] values)
    {
        // result = Σ value·[step in its range], the ranges (−∞, b0], (b0, b1], …, (b_last, ∞).
        double result = 0;
        result += (step <= boundaries[0] ? 1.0 : 0.0) * values[0];
        result += (step > boundaries[^1] ? 1.0 : 0.0) * values[^1];
        for (int i = 0; i < boundaries.Length - 1; i++)
            result += (step > boundaries[i] && step <= boundaries[i + 1] ? 1.0 : 0.0) * values[i + 1];
        return result;
    }

    private static double KerasPolynomial(long step, double initial, long decaySteps, double end, double power, bool cycle)
    {
        double globalStep = step, decayStepsRecomp = decaySteps;
        if (cycle)
        {
            double multiplier = globalStep == 0 ? 1.0 : Math.Ceiling(globalStep / decaySteps);
            decayStepsRecomp *= multiplier;
        }
        else globalStep = Math.Min(globalStep, decayStepsRecomp);
        double p = globalStep / decayStepsRecomp;
        return (initial - end) * Math.Pow(1 - p, power) + end;
    }

    private static double KerasCosine(long step, double initial, long decaySteps, double alpha, double? warmupTarget, long warmupSteps)
    {
        static double Decay(double s, double d, double from, double alpha)
        {
            double fraction = s / d;
            double cosineDecayed = 0.5 * (1.0 + Math.Cos(Math.PI * fraction));
            double decayed = (1 - alpha) * cosineDecayed + alpha;
            return from * decayed;
        }
        double g = step;
        if (warmupTarget is null) return Decay(Math.Min(g, decaySteps), decaySteps, initial, alpha);
        double target = warmupTarget.Value, w = warmupSteps;
        g = Math.Min(g, decaySteps + w);
        if (g < w)
        {
            double completed = g / w;
            double delta = target - initial;
            return delta * completed + initial;
        }
        return Decay(g - w, decaySteps, target, alpha);
    }

    private static double KerasRestarts(long step, double initial, long firstDecaySteps, double tMul, double mMul, double alpha)
    {
        double completed = (double)step / firstDecaySteps, iRestart;
        if (tMul == 1.0)
        {
            iRestart = Math.Floor(completed);
            completed -= iRestart;
        }
        else
        {
            iRestart = Math.Floor(Math.Log(1.0 - completed * (1.0 - tMul)) / Math.Log(tMul));
            double sumR = (1.0 - Math.Pow(tMul, iRestart)) / (1.0 - tMul);
            completed = (completed - sumR) / Math.Pow(tMul, iRestart);
        }
        double mFac = Math.Pow(mMul, iRestart);
        double cosineDecayed = 0.5 * mFac * (1.0 + Math.Cos(Math.PI * completed));
        double decayed = (1 - alpha) * cosineDecayed + alpha;
        return initial * decayed;
    }

    // ***** values *****

    [Fact]
    public void PiecewiseConstantDecay_MatchesKeras_AtEveryStep_IncludingBoundaries()
    {
        long[] b = [100, 110, 250];
        double[] v = [1.0, 0.5, 0.1, 0.02];
        var s = new PiecewiseConstantDecay(b, v);
        foreach (long step in Steps) Same(KerasPiecewise(step, b, v), s.GetLearningRate(123, step), step);
        Assert.Equal(1.0, s.GetLearningRate(1, 100));   // step ≤ b0
        Assert.Equal(0.5, s.GetLearningRate(1, 101));
        Assert.Equal(0.5, s.GetLearningRate(1, 110));
        Assert.Equal(0.1, s.GetLearningRate(1, 111));
        Assert.Equal(0.02, s.GetLearningRate(1, 251));
    }

    [Theory]
    [InlineData(100, 1e-4, 1.0, false)]
    [InlineData(100, 1e-4, 1.0, true)]
    [InlineData(37, 0.01, 0.5, false)]
    [InlineData(37, 0.01, 2.0, true)]
    [InlineData(1, 0.0, 3.0, true)]
    public void PolynomialDecay_MatchesKeras_AtEveryStep(long decaySteps, double end, double power, bool cycle)
    {
        var s = new PolynomialDecay(decaySteps, end, power, cycle);
        foreach (long step in Steps) Same(KerasPolynomial(step, 0.1, decaySteps, end, power, cycle), s.GetLearningRate(0.1, step), step);
        Assert.Equal(0.1, s.GetLearningRate(0.1, 0));
        Assert.Equal(end, s.GetLearningRate(0.1, decaySteps), 15);
        // Linear by default: half-way is the midpoint. Cycling restarts from the top just after each multiple.
        var linear = new PolynomialDecay(100);
        Assert.Equal((0.1 - 1e-4) * 0.5 + 1e-4, linear.GetLearningRate(0.1, 50), 15);
        Assert.Equal(1e-4, linear.GetLearningRate(0.1, 5000), 15);
        Assert.Equal((0.1 - 1e-4) * (1 - 101.0 / 200) + 1e-4, new PolynomialDecay(100, cycle: true).GetLearningRate(0.1, 101), 15);
    }

    [Theory]
    [InlineData(100, 0.0, null, 0)]
    [InlineData(100, 0.1, null, 0)]
    [InlineData(100, 0.1, 0.5, 30)]
    [InlineData(7, 0.0, 0.02, 1)]
    [InlineData(50, 0.2, 0.3, 0)]
    public void CosineDecay_WithWarmup_MatchesKeras_AtEveryStep(long decaySteps, double alpha, double? target, long warmup)
    {
        var s = new CosineDecay(decaySteps, alpha, target, warmup);
        foreach (long step in Steps) Same(KerasCosine(step, 0.01, decaySteps, alpha, target, warmup), s.GetLearningRate(0.01, step), step);
        if (target is double t)
        {
            Assert.Equal(warmup > 0 ? 0.01 : t, s.GetLearningRate(0.01, 0), 15);   // the warm-up starts at lr …
            Assert.Equal(t, s.GetLearningRate(0.01, warmup), 15);               // … reaches the target …
            Assert.Equal(t * alpha, s.GetLearningRate(0.01, warmup + decaySteps + 5), 15);   // … and decays to α·target
        }
    }

    [Theory]
    [InlineData(10, 2.0, 1.0, 0.0)]
    [InlineData(10, 2.0, 0.5, 0.1)]
    [InlineData(7, 1.0, 0.9, 0.0)]
    [InlineData(20, 1.5, 1.0, 0.05)]
    [InlineData(1, 3.0, 0.8, 0.0)]
    public void CosineDecayRestarts_MatchesKeras_AtEveryStep(long first, double tMul, double mMul, double alpha)
    {
        var s = new CosineDecayRestarts(first, tMul, mMul, alpha);
        foreach (long step in Steps) Same(KerasRestarts(step, 0.1, first, tMul, mMul, alpha), s.GetLearningRate(0.1, step), step);
    }

    [Fact]
    public void CosineDecayRestarts_RestartsAtTheEndOfEachPeriod()
    {
        // Periods of 10, 20, 40 steps starting at 0, 10, 30, each at m_mul^i of lr.
        var s = new CosineDecayRestarts(10, 2.0, 0.5);
        Assert.Equal(0.1, s.GetLearningRate(0.1, 0), 15);
        Assert.Equal(0.1 * 0.5 * (1 + Math.Cos(Math.PI * 0.5)), s.GetLearningRate(0.1, 5), 15);
        Assert.Equal(0.05, s.GetLearningRate(0.1, 10), 15);
        Assert.Equal(0.05 * 0.5 * (1 + Math.Cos(Math.PI * 0.5)), s.GetLearningRate(0.1, 20), 15);
        Assert.Equal(0.025, s.GetLearningRate(0.1, 30), 15);
        Assert.True(s.GetLearningRate(0.1, 29) < 1e-3);
    }

    // ***** bad arguments *****

    [Fact]
    public void Schedules_RejectBadArguments_NamingThem()
    {
        var e = Assert.Throws<ArgumentException>(() => new PiecewiseConstantDecay([10, 20], [1.0, 0.5]));
        Assert.Contains("2 boundaries and 2 values", e.Message);
        e = Assert.Throws<ArgumentException>(() => new PiecewiseConstantDecay([10, 10], [1.0, 0.5, 0.1]));
        Assert.Contains("strictly increasing", e.Message);
        Assert.Equal("boundaries", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => new PiecewiseConstantDecay([10], [1.0, double.NaN]));
        Assert.Contains("values[1]", e.Message);
        Assert.Throws<ArgumentException>(() => new PiecewiseConstantDecay([10], [1.0, -0.5]));
        Assert.Throws<ArgumentException>(() => new PiecewiseConstantDecay([], [1.0]));

        Assert.Equal("decaySteps", Assert.Throws<ArgumentOutOfRangeException>(() => new PolynomialDecay(0)).ParamName);
        Assert.Equal("endLearningRate", Assert.Throws<ArgumentOutOfRangeException>(() => new PolynomialDecay(10, -1)).ParamName);
        Assert.Equal("power", Assert.Throws<ArgumentOutOfRangeException>(() => new PolynomialDecay(10, power: -1)).ParamName);

        Assert.Equal("firstDecaySteps", Assert.Throws<ArgumentOutOfRangeException>(() => new CosineDecayRestarts(0)).ParamName);
        var r = Assert.Throws<ArgumentOutOfRangeException>(() => new CosineDecayRestarts(10, tMul: 0.5));
        Assert.Contains("0.5", r.Message);
        Assert.Equal("mMul", Assert.Throws<ArgumentOutOfRangeException>(() => new CosineDecayRestarts(10, mMul: -1)).ParamName);
        Assert.Equal("alpha", Assert.Throws<ArgumentOutOfRangeException>(() => new CosineDecayRestarts(10, alpha: 2)).ParamName);

        Assert.Equal("warmupTarget", Assert.Throws<ArgumentOutOfRangeException>(() => new CosineDecay(10, warmupTarget: 0)).ParamName);
        Assert.Equal("warmupSteps", Assert.Throws<ArgumentOutOfRangeException>(() => new CosineDecay(10, warmupTarget: 0.1, warmupSteps: -1)).ParamName);
    }

    [Fact]
    public void ScheduleConfig_RejectsMalformedLists()
    {
        var c = new Dictionary<string, string> { ["schedule"] = "piecewise_constant_decay", ["schedule.boundaries"] = "10,x", ["schedule.values"] = "1,0.5,0.1" };
        var e = Assert.Throws<ArgumentException>(() => Optimizer.FromConfig("sgd", c));
        Assert.Contains("10,x", e.Message);
        c["schedule.boundaries"] = "10";
        Assert.Throws<ArgumentException>(() => Optimizer.FromConfig("sgd", c));   // 1 boundary, 3 values
    }
}
