using System.Numerics;
using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using Nn.Simd.Training.Losses;
using Nn.Simd.Training.Optimizers;

namespace Nn.Simd.Training.Tests;

/// <summary>Keras 3's optimizer-level options: <c>weight_decay</c>, <c>gradient_accumulation_steps</c> and the EMA
/// (<c>use_ema</c>, <c>ema_momentum</c>, <c>ema_overwrite_frequency</c>).</summary>
public class KerasOptimizerOptionsTests
{
    private static Parameter<T>[] Params<T>(int seed) where T : unmanaged, IFloatingPointIeee754<T> =>
        [new("a", Tensor<T>.RandomNormal(new TensorShape(3, 11), seed)), new("b", Tensor<T>.RandomNormal(new TensorShape(5), seed + 1))];

    /// <summary>Deterministic gradients for step s (a different pattern each step).</summary>
    private static void SetGrads<T>(Parameter<T>[] ps, int s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int k = 0; k < ps.Length; k++)
        {
            var g = ps[k].Grad.Span;
            for (int i = 0; i < g.Length; i++) g[i] = T.CreateChecked(Math.Sin(0.7 * i + 1.3 * s + k) * (1 + 0.1 * s));
        }
    }

    private static T[][] Values<T>(Parameter<T>[] ps) where T : unmanaged, IFloatingPointIeee754<T> => ps.Select(p => p.Value.ToArray()).ToArray();

    private static Optimizer Make(string name) => name switch
    {
        "sgd" => new Sgd(0.05),
        "sgd_momentum" => new Sgd(0.05, momentum: 0.9, nesterov: true),
        "adam" => new Adam(0.01) { AmsGrad = true },
        "rmsprop" => new RmsProp(0.01, momentum: 0.5, centered: true),
        "adagrad" => new Adagrad(0.1),
        "nadam" => new Nadam(0.01),
        "adamax" => new Adamax(0.02),
        "adadelta" => new Adadelta(1.0),
        "lion" => new Lion(0.003),
        _ => throw new ArgumentException(name),
    };

    public static TheoryData<string> Names => ["sgd", "sgd_momentum", "adam", "rmsprop", "adagrad", "nadam", "adamax", "adadelta", "lion"];

    // ***** weight_decay *****

    private static void WeightDecay_IsDecoupledBeforeTheUpdate<T>(string name) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Reference: the same optimizer without decay, on weights decayed beforehand by w − w·(lr·wd) in T,
        // with the lr the step will use (a schedule makes it change every step).
        const double wd = 0.03;
        var ours = Make(name);
        var plain = Make(name);
        ours.Schedule = plain.Schedule = new CosineDecay(6, 0.2);
        ours.WeightDecay = wd;
        var p = Params<T>(3);
        var q = Params<T>(3);
        for (int s = 0; s < 6; s++)
        {
            SetGrads(p, s);
            SetGrads(q, s);
            T c = T.CreateChecked(plain.CurrentLearningRate * wd);
            foreach (var r in q)
            {
                var w = r.Value.Span;
                for (int i = 0; i < w.Length; i++) w[i] = w[i] - w[i] * c;
            }
            ours.Step(p);
            plain.Step(q);
            Assert.Equal(Values(q), Values(p));
        }
        // And the decay did something.
        var undecayed = Make(name);
        undecayed.Schedule = new CosineDecay(6, 0.2);
        var u = Params<T>(3);
        for (int s = 0; s < 6; s++) { SetGrads(u, s); undecayed.Step(u); }
        Assert.NotEqual(Values(u), Values(p));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void WeightDecay_MatchesDecayThenUpdate_Bitwise(string name)
    {
        WeightDecay_IsDecoupledBeforeTheUpdate<float>(name);
        WeightDecay_IsDecoupledBeforeTheUpdate<double>(name);
    }

    [Fact]
    public void WeightDecay_OnAdam_IsAdamW_Bitwise_AndAdamWKeepsItsConfig()
    {
        var adam = new Adam(0.01) { WeightDecay = 0.05 };
        var adamw = new AdamW(0.01, weightDecay: 0.05);
        var p = Params<float>(1);
        var q = Params<float>(1);
        for (int s = 0; s < 5; s++) { SetGrads(p, s); SetGrads(q, s); adam.Step(p); adamw.Step(q); }
        Assert.Equal(Values(q), Values(p));
        Assert.Equal(0.05, adamw.WeightDecay);
        Assert.Equal("0.05", adam.GetConfig()["weight_decay"]);
        Assert.Equal("0", new AdamW(weightDecay: 0).GetConfig()["weight_decay"]);
        Assert.Equal("0.004", new AdamW().GetConfig()["weight_decay"]);
        Assert.False(new Adam().GetConfig().ContainsKey("weight_decay"));
    }

    [Fact]
    public void WeightDecay_RejectsBadValues()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd { WeightDecay = -0.1 });
        Assert.Contains("WeightDecay", e.Message);
        Assert.Contains("-0.1", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd { WeightDecay = double.NaN });
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd { WeightDecay = double.PositiveInfinity });
    }

    // ***** gradient_accumulation_steps *****

    private static Sequential<double> Model()
    {
        var m = new Sequential<double>(new Dense<double>(4, "tanh"), new Dense<double>(2)) { Seed = 7 };
        m.Build(3);
        return m;
    }

    private static (Tensor<double> X, Tensor<double> Y) Batch(int rows, int seed)
    {
        var x = Tensor<double>.RandomNormal(new TensorShape(rows, 3), seed);
        var y = Tensor<double>.RandomNormal(new TensorShape(rows, 2), seed + 100);
        return (x, y);
    }

    private static Tensor<double> Rows(Tensor<double> t, int start, int count)
    {
        int c = t.Shape.Columns;
        return Tensor<double>.FromArray(t.ToArray()[(start * c)..((start + count) * c)], count, c);
    }

    [Fact]
    public void GradientAccumulation_NMicroBatches_EqualOneStepOnTheConcatenatedBatch_ForSgdWithAMeanLoss()
    {
        const int n = 3, b = 4;
        var (x, y) = Batch(n * b, 11);
        var accumulated = Model();
        accumulated.Compile(new MeanSquaredError<double>(), new Sgd(0.1, momentum: 0.5) { GradientAccumulationSteps = n });
        var whole = Model();
        whole.Compile(new MeanSquaredError<double>(), new Sgd(0.1, momentum: 0.5));
        var start = accumulated.Parameters.Select(p => p.Value.ToArray()).ToArray();

        for (int update = 0; update < 3; update++)
        {
            for (int k = 0; k < n; k++)
            {
                accumulated.TrainOnBatch(Rows(x, k * b, b), Rows(y, k * b, b));
                if (update == 0 && k < n - 1)   // nothing moves before the n-th micro-batch
                    Assert.Equal(start, accumulated.Parameters.Select(p => p.Value.ToArray()).ToArray());
            }
            whole.TrainOnBatch(x, y);
            for (int i = 0; i < whole.Parameters.Count; i++)
            {
                var e = whole.Parameters[i].Value.ToArray();
                var a = accumulated.Parameters[i].Value.ToArray();
                for (int j = 0; j < e.Length; j++) Assert.Equal(e[j], a[j], 1e-13);
            }
        }
        Assert.NotEqual(start, accumulated.Parameters.Select(p => p.Value.ToArray()).ToArray());
        Assert.Equal(9, accumulated.Optimizer!.Iterations);
        Assert.Equal(3, accumulated.Optimizer.UpdateIterations);
        Assert.Equal(3, whole.Optimizer!.Iterations);
    }

    private sealed class RecordingSchedule : ILearningRateSchedule
    {
        public List<long> Steps { get; } = [];
        public double GetLearningRate(double initialLearningRate, long step) { Steps.Add(step); return initialLearningRate / (1 + step); }
    }

    [Fact]
    public void GradientAccumulation_SchedulesSeeEveryCall_BiasCorrectionsCountUpdates_AsKeras()
    {
        // With equal dyadic gradients in the n micro-steps the mean gradient is exact, so Adam with accumulation must step
        // exactly as plain Adam fed that gradient once per update, with the learning rate Keras gives it: the schedule at
        // the raw call count (2, 5, 8 for n = 3), and t = 1, 2, 3 in the bias corrections.
        var schedule = new RecordingSchedule();
        var acc = new Adam(0.01) { GradientAccumulationSteps = 3, Schedule = schedule };
        var plain = new Adam(0.01);
        var p = Params<float>(5);
        var q = Params<float>(5);
        float[] gs = [0.5f, -1.5f, 0.25f];
        for (int u = 0; u < 3; u++)
        {
            foreach (var r in q) r.Grad.Span.Fill(gs[u]);
            plain.LearningRate = 0.01 / (1 + (3 * u + 2));
            plain.Step(q);
            for (int k = 0; k < 3; k++)
            {
                foreach (var r in p) r.Grad.Span.Fill(gs[u]);
                acc.Step(p);
            }
            Assert.Equal(Values(q), Values(p));
        }
        Assert.Equal([2L, 5, 8], schedule.Steps);
        Assert.Equal(9, acc.Iterations);
        Assert.Equal(3, acc.UpdateIterations);
    }

    [Fact]
    public void GradientAccumulation_ClipsTheMeanGradient_AndDecaysOnlyOnUpdates()
    {
        // n = 2, g = 3 then 1: the mean 2 is clipped to 1; the weights are decayed once, by lr·wd.
        var opt = new Sgd(0.1) { GradientAccumulationSteps = 2, ClipValue = 1, WeightDecay = 0.5 };
        var p = new Parameter<double>("w", Tensor<double>.FromArray([1.0]));
        p.Grad[0] = 3; opt.Step([p]);
        Assert.Equal(1.0, p.Value[0]);
        p.Grad[0] = 1; opt.Step([p]);
        Assert.Equal(1.0 - 1.0 * (0.1 * 0.5) - 0.1 * 1.0, p.Value[0], 1e-15);
        Assert.Equal(0.0, opt.GetStateOf(p)![0][0]);   // the accumulator is cleared after the update
    }

    [Fact]
    public void GradientAccumulation_RejectsBadValues_AndChangingTheLayoutOnceStateExists()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd { GradientAccumulationSteps = 1 });
        Assert.Contains("GradientAccumulationSteps", e.Message);
        Assert.Contains("1", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd { GradientAccumulationSteps = 0 });
        var opt = new Adam();
        var p = Params<float>(1);
        opt.Step(p);
        var ex = Assert.Throws<InvalidOperationException>(() => opt.GradientAccumulationSteps = 4);
        Assert.Contains("Reset", ex.Message);
        Assert.Throws<InvalidOperationException>(() => opt.UseEma = true);
        opt.GradientAccumulationSteps = null;   // no change, no complaint
        opt.Reset();
        opt.GradientAccumulationSteps = 4;
        opt.UseEma = true;
        opt.Step(p);
        Assert.Equal(4, opt.GetStateOf(p[0])!.Count);   // m, v, accumulator, average
    }

    // ***** EMA *****

    private static void Ema_MatchesKerasFormula<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Keras: after each update avg = m·avg + (1 − m)·w in T with m = 0 before the first update completes, then
        // every (iterations + 1) % f == 0 the weights become the average.
        const double momentum = 0.9;
        var opt = new Sgd(0.1, momentum: 0.5) { UseEma = true, EmaMomentum = momentum, EmaOverwriteFrequency = 3 };
        var plain = new Sgd(0.1, momentum: 0.5);
        var p = Params<T>(2);
        var q = Params<T>(2);
        var avg = q.Select(r => new T[r.Value.Length]).ToArray();
        for (int s = 0; s < 8; s++)
        {
            SetGrads(p, s); SetGrads(q, s);
            opt.Step(p);
            plain.Step(q);
            T m = s == 0 ? T.Zero : T.CreateChecked(momentum), oneMinus = T.One - m;
            for (int k = 0; k < q.Length; k++)
            {
                var w = q[k].Value.Span;
                for (int i = 0; i < w.Length; i++) avg[k][i] = m * avg[k][i] + oneMinus * w[i];
                if ((s + 1) % 3 == 0) avg[k].CopyTo(w);
            }
            Assert.Equal(Values(q), Values(p));
            for (int k = 0; k < p.Length; k++) Assert.Equal(avg[k], opt.GetStateOf(p[k])![1].ToArray());
        }
        opt.FinalizeVariableValues(p);
        for (int k = 0; k < p.Length; k++) Assert.Equal(avg[k], p[k].Value.ToArray());
    }

    [Fact]
    public void Ema_MatchesKerasFormula_WithOverwriteFrequency()
    {
        Ema_MatchesKerasFormula<float>();
        Ema_MatchesKerasFormula<double>();
    }

    [Fact]
    public void Ema_FitEndsWithTheAverages_AsKerasFit()
    {
        var data = TestData.Blobs(48, 3);
        var m = TestData.SmallMlp(2);
        m.Compile("sparse_categorical_crossentropy", new Adam(0.01) { UseEma = true, EmaMomentum = 0.8 }, "accuracy");
        m.Fit(data.X, data.Labels, epochs: 2, batchSize: 16, shuffle: false);
        foreach (var p in m.Parameters) Assert.Equal(m.Optimizer!.GetStateOf(p)![2].ToArray(), p.Value.ToArray());

        var without = TestData.SmallMlp(2);
        without.Compile("sparse_categorical_crossentropy", new Adam(0.01), "accuracy");
        without.Fit(data.X, data.Labels, epochs: 2, batchSize: 16, shuffle: false);
        Assert.NotEqual(without.Parameters[0].Value.ToArray(), m.Parameters[0].Value.ToArray());
    }

    [Fact]
    public void Ema_RejectsBadValues()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd { EmaMomentum = 1.5 });
        Assert.Contains("EmaMomentum", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd { EmaMomentum = -0.1 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd { EmaOverwriteFrequency = 0 });
    }

    // ***** all together *****

    [Fact]
    public void Step_DoesNotAllocate_AfterTheFirst_WithDecayAccumulationAndEma()
    {
        foreach (var opt in new Optimizer[]
                 {
                     new Sgd(0.1, 0.9) { WeightDecay = 0.01, GradientAccumulationSteps = 2, UseEma = true, EmaOverwriteFrequency = 2 },
                     new Adam { WeightDecay = 0.01, GradientAccumulationSteps = 3, UseEma = true },
                     new RmsProp { WeightDecay = 0.01, Schedule = new CosineDecayRestarts(5) },
                     new Lion { Schedule = new PiecewiseConstantDecay([2, 5], [1e-3, 1e-4, 1e-5]), WeightDecay = 0.1 },
                 })
        {
            var ps = Params<float>(4);
            SetGrads(ps, 0);
            opt.Step(ps);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 12; i++) opt.Step(ps);
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        }
    }

    public static TheoryData<string> ConfigCases => ["weight_decay", "accumulate", "ema", "ema_overwrite", "all"];

    [Theory]
    [MemberData(nameof(ConfigCases))]
    public void Config_RoundTrips_AndRebuildsTheSameSteps(string which)
    {
        Optimizer Build() => which switch
        {
            "weight_decay" => new RmsProp(0.01) { WeightDecay = 0.02 },
            "accumulate" => new Nadam(0.01) { GradientAccumulationSteps = 3 },
            "ema" => new Adagrad(0.1) { UseEma = true },
            "ema_overwrite" => new Sgd(0.1) { UseEma = true, EmaMomentum = 0.5, EmaOverwriteFrequency = 2 },
            "all" => new AdamW(0.01, 0.1) { GradientAccumulationSteps = 2, UseEma = true, EmaMomentum = 0.7, ClipNorm = 1 },
            _ => throw new ArgumentException(which),
        };
        var o = Build();
        Assert.True(o.IsBuiltIn);
        var back = Optimizer.FromConfig(o.Name, o.GetConfig());
        Assert.Equal(o.GetConfig(), back.GetConfig());
        Assert.Equal(o.WeightDecay, back.WeightDecay);
        Assert.Equal(o.GradientAccumulationSteps, back.GradientAccumulationSteps);
        Assert.Equal(o.UseEma, back.UseEma);
        Assert.Equal(o.EmaMomentum, back.EmaMomentum);
        Assert.Equal(o.EmaOverwriteFrequency, back.EmaOverwriteFrequency);
        var p = Params<float>(8);
        var q = Params<float>(8);
        for (int s = 0; s < 7; s++) { SetGrads(p, s); SetGrads(q, s); o.Step(p); back.Step(q); }
        Assert.Equal(Values(p), Values(q));
    }

    [Fact]
    public void Config_RejectsBadOptionValues()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Optimizer.FromConfig("sgd", new Dictionary<string, string> { ["gradient_accumulation_steps"] = "1" }));
        Assert.Throws<ArgumentException>(() => Optimizer.FromConfig("sgd", new Dictionary<string, string> { ["gradient_accumulation_steps"] = "two" }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Optimizer.FromConfig("sgd", new Dictionary<string, string> { ["weight_decay"] = "-1" }));
        Assert.Throws<ArgumentException>(() => Optimizer.FromConfig("sgd", new Dictionary<string, string> { ["use_ema"] = "yes" }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Optimizer.FromConfig("sgd", new Dictionary<string, string> { ["ema_momentum"] = "2" }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Optimizer.FromConfig("sgd", new Dictionary<string, string> { ["ema_overwrite_frequency"] = "99999999999" }));
    }
}
