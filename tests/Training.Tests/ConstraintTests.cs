using Nn.Simd.Layers;
using Nn.Simd.Layers.Constraints;
using Nn.Simd.Tensors;
using Nn.Simd.Training.Optimizers;

namespace Nn.Simd.Training.Tests;

/// <summary>Keras' weight constraints: values against a float64 transcription of keras/src/constraints, their place in
/// the optimizer step (after the update and the moving averages, on every call), layers, persistence and arguments.</summary>
public sealed class ConstraintTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nn-constraint").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // keras/src/constraints/constraints.py, in float64, written per element from its multi-index: the norm of the
    // slice through the element along the reduced axes (ops.sum(ops.square(w), axis, keepdims=True)), then
    // MaxNorm: w·clip(n, 0, max)/(ε + n); UnitNorm: w/(ε + n); MinMaxNorm: w·(rate·clip(n, lo, hi) + (1 − rate)·n)/(ε + n).
    private static double[] KerasReference(string kind, double[] w, int[] shape, int[] axis, double a = 0, double b = 0, double rate = 1)
    {
        const double eps = 1e-7;
        int rank = shape.Length;
        var reduced = axis.Select(x => x < 0 ? x + rank : x).ToHashSet();
        string Key(int flat)
        {
            var idx = new int[rank];
            for (int d = rank - 1; d >= 0; d--) { idx[d] = flat % shape[d]; flat /= shape[d]; }
            return string.Join(",", Enumerable.Range(0, rank).Select(d => reduced.Contains(d) ? "*" : idx[d].ToString()));
        }
        var sq = new Dictionary<string, double>();
        for (int i = 0; i < w.Length; i++) sq[Key(i)] = sq.GetValueOrDefault(Key(i)) + w[i] * w[i];
        var result = new double[w.Length];
        for (int i = 0; i < w.Length; i++)
        {
            double n = Math.Sqrt(sq[Key(i)]);
            result[i] = kind switch
            {
                "max_norm" => w[i] * (Math.Min(Math.Max(n, 0), a) / (eps + n)),
                "unit_norm" => w[i] / (eps + n),
                _ => w[i] * ((rate * Math.Min(Math.Max(n, a), b) + (1 - rate) * n) / (eps + n)),
            };
        }
        return result;
    }

    // Weights whose slices have very different norms (some far above 1, some below), so that every branch of the clips runs.
    private static double[] Weights(int length, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, length).Select(i => rng.NextGaussian() * (0.05 + 3 * rng.NextDouble() * rng.NextDouble())).ToArray();
    }

    public static TheoryData<int[], int[]> Layouts => new()
    {
        { [6, 4], [0] },              // Dense kernel, Keras' default: each unit's incoming weights
        { [6, 4], [1] },
        { [6, 4], [-1] },
        { [7], [0] },                 // a bias: its whole norm
        { [2, 9], [1] },              // GRU's [2, 3H] bias
        { [3, 3, 2, 5], [0, 1, 2] },  // Conv2D kernel: each filter (Keras' documented axes)
        { [3, 4, 5], [0, 1] },        // Conv1D kernel
        { [3, 2, 4, 5], [1, 3] },     // axes that are not adjacent
        { [2, 3, 4, 5], [-1, 0] },
    };

    private static Constraint Make(string kind, int[] axis) => kind switch
    {
        "max_norm" => new MaxNorm(1.5, axis),
        "unit_norm" => new UnitNorm(axis),
        _ => new MinMaxNorm(0.5, 1.25, 0.7, axis),
    };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void NormConstraints_MatchKerasFormulas_InDoubleAndFloat(int[] shape, int[] axis)
    {
        int length = shape.Aggregate(1, (p, d) => p * d);
        foreach (string kind in new[] { "max_norm", "unit_norm", "min_max_norm" })
        {
            var w = Weights(length, seed: shape.Sum() + axis[0]);
            var expected = kind switch
            {
                "max_norm" => KerasReference(kind, w, shape, axis, 1.5),
                "unit_norm" => KerasReference(kind, w, shape, axis),
                _ => KerasReference(kind, w, shape, axis, 0.5, 1.25, 0.7),
            };
            var t = Tensor<double>.FromArray((double[])w.Clone(), shape);
            Make(kind, axis).Apply(t);
            var got = t.ToArray();
            for (int i = 0; i < length; i++)
                Assert.True(Math.Abs(got[i] - expected[i]) <= 4e-16 * Math.Abs(expected[i]), $"{kind} {string.Join("x", shape)} [{i}]: {got[i]:R} vs {expected[i]:R}");

            // float: the reference from the same float inputs, rounded once; within one ulp.
            var wf = w.Select(v => (float)v).ToArray();
            var expectedF = kind switch
            {
                "max_norm" => KerasReference(kind, wf.Select(v => (double)v).ToArray(), shape, axis, 1.5),
                "unit_norm" => KerasReference(kind, wf.Select(v => (double)v).ToArray(), shape, axis),
                _ => KerasReference(kind, wf.Select(v => (double)v).ToArray(), shape, axis, 0.5, 1.25, 0.7),
            };
            var tf = Tensor<float>.FromArray(wf, shape);
            Make(kind, axis).Apply(tf);
            var gotF = tf.ToArray();
            for (int i = 0; i < length; i++)
                Assert.True(Math.Abs(gotF[i] - expectedF[i]) <= MathF.BitIncrement(MathF.Abs((float)expectedF[i])) - MathF.Abs((float)expectedF[i]),
                    $"{kind} float [{i}]: {gotF[i]:R} vs {expectedF[i]:R}");
        }
    }

    [Fact]
    public void NormConstraints_BoundTheNormsOfTheirSlices()
    {
        // A Conv2D kernel [3, 3, 4, 6] with filters of norms far above and below the bounds.
        var w = Weights(3 * 3 * 4 * 6, seed: 3);
        double FilterNorm(float[] v, int f) => Math.Sqrt(Enumerable.Range(0, 36).Sum(j => (double)v[j * 6 + f] * v[j * 6 + f]));
        var before = w.Select(v => (float)v).ToArray();
        Assert.Contains(Enumerable.Range(0, 6), f => FilterNorm(before, f) > 3);
        var t = Tensor<float>.FromArray((float[])before.Clone(), 3, 3, 4, 6);
        new MaxNorm(2, [0, 1, 2]).Apply(t);
        for (int f = 0; f < 6; f++) Assert.True(FilterNorm(t.ToArray(), f) <= 2 + 1e-5, $"filter {f}");
        t = Tensor<float>.FromArray((float[])before.Clone(), 3, 3, 4, 6);
        new UnitNorm([0, 1, 2]).Apply(t);
        for (int f = 0; f < 6; f++) Assert.Equal(1.0, FilterNorm(t.ToArray(), f), 5);
        t = Tensor<float>.FromArray((float[])before.Clone(), 3, 3, 4, 6);
        new MinMaxNorm(1.5, 2.5, 1, [0, 1, 2]).Apply(t);
        for (int f = 0; f < 6; f++) Assert.InRange(FilterNorm(t.ToArray(), f), 1.5 - 1e-5, 2.5 + 1e-5);
    }

    [Fact]
    public void NonNeg_IsMaxWithZero()
    {
        float[] w = [-2f, -0f, 0f, 1e-30f, -1e-30f, 3.5f, float.NegativeInfinity, 7f];
        var t = Tensor<float>.FromArray((float[])w.Clone(), 8);
        new NonNeg().Apply(t);
        Assert.Equal(w.Select(v => v < 0 ? 0f : v).ToArray(), t.ToArray());
        var d = Tensor<double>.FromArray(Weights(300, 4), 300);
        var expected = d.ToArray().Select(v => Math.Max(v, 0)).ToArray();
        new NonNeg().Apply(d);
        Assert.Equal(expected, d.ToArray());
    }

    private static IEnumerable<Func<Optimizer>> AllOptimizers() =>
    [
        () => new Sgd(0.5, momentum: 0.9, nesterov: true), () => new Adam(0.05), () => new AdamW(0.05), () => new RmsProp(0.05, momentum: 0.5),
        () => new Adagrad(0.5), () => new Nadam(0.05), () => new Adamax(0.05), () => new Adadelta(5), () => new Lion(0.02),
    ];

    [Fact]
    public void EveryOptimizer_UpdatesThenConstrains_EachConstrainedParameter_AndLeavesTheOthersBitwiseAlone()
    {
        var rng = new Random(2);
        foreach (var make in AllOptimizers())
        {
            // p: the kernel with MaxNorm and the bias with NonNeg, and one parameter without a constraint;
            // q: the same, no constraints, stepped by a second optimizer of the same kind, with the constraints applied by hand.
            Parameter<float> P(string name, int[] shape, int seed) => new(name, Tensor<float>.RandomNormal(new TensorShape(shape), seed, stddev: 2));
            var p = new[] { P("kernel", [5, 4], 1), P("bias", [4], 2), P("free", [3, 3], 3) };
            var q = new[] { P("kernel", [5, 4], 1), P("bias", [4], 2), P("free", [3, 3], 3) };
            p[0].Constraint = new MaxNorm(1.0);
            p[1].Constraint = new NonNeg();
            Optimizer op = make(), oq = make();
            for (int step = 0; step < 4; step++)
            {
                for (int i = 0; i < 3; i++)
                {
                    var g = Tensor<float>.RandomNormal(p[i].Value.Shape, rng.Next(), stddev: 3);
                    g.Span.CopyTo(p[i].Grad.Span);
                    g.Span.CopyTo(q[i].Grad.Span);
                }
                op.Step(p);
                oq.Step(q);
                new MaxNorm(1.0).Apply(q[0].Value);
                new NonNeg().Apply(q[1].Value);
                for (int i = 0; i < 3; i++) Assert.Equal(q[i].Value.ToArray(), p[i].Value.ToArray());
            }
            Assert.All(p[1].Value.ToArray(), v => Assert.True(v >= 0));
            Assert.Contains(q[2].Value.ToArray(), v => v < 0);   // the unconstrained parameter really can go negative
        }
    }

    [Fact]
    public void Constraints_FollowTheMovingAverage_AndApplyOnAccumulatingCalls_AsKeras()
    {
        // EMA: Keras updates the average inside _backend_apply_gradients and constrains afterwards, so the average
        // sees the unconstrained update.
        var p = new Parameter<double>("w", Tensor<double>.FromArray([3.0, 4.0], 2)) { Constraint = new MaxNorm(1.0) };
        var opt = new Sgd(0.1) { UseEma = true };
        p.Grad.Span.Fill(1.0);
        opt.Step([p]);
        // Step 1: w = (2.9, 3.9), average = w (momentum 0 on the first update), then w is constrained.
        Assert.Equal(new[] { 2.9, 3.9 }, opt.GetStateOf(p)![^1].ToArray());
        double n = Math.Sqrt(2.9 * 2.9 + 3.9 * 3.9);
        Assert.Equal(2.9 * (1 / (1e-7 + n)), p.Value[0], 15);

        // Gradient accumulation: the first call only accumulates, yet the constraint runs (the weights shrink to norm 1).
        var a = new Parameter<double>("w", Tensor<double>.FromArray([3.0, 4.0], 2)) { Constraint = new MaxNorm(1.0) };
        var acc = new Sgd(0.1) { GradientAccumulationSteps = 2 };
        a.Grad.Span.Fill(1.0);
        acc.Step([a]);
        Assert.Equal(3.0 / (1e-7 + 5.0), a.Value[0], 15);
        Assert.Equal(4.0 / (1e-7 + 5.0), a.Value[1], 15);
    }

    [Fact]
    public void Fit_KeepsTheConstraints_AfterEveryStep_ForSeveralOptimizers()
    {
        var (x, labels, _) = TestData.Blobs(64, 5);
        foreach (var make in AllOptimizers())
        {
            Sequential Model(bool constrained)
            {
                var hidden = new Dense<float>(8, "relu");
                var head = new Dense<float>(3, "softmax");
                if (constrained)
                {
                    hidden.KernelConstraint = new MaxNorm(0.5);
                    head.KernelConstraint = new UnitNorm();
                    head.BiasConstraint = new NonNeg();
                }
                var m = new Sequential(hidden, head) { Seed = 4 };
                m.Compile("sparse_categorical_crossentropy", make());
                return m;
            }
            var model = Model(true);
            var free = Model(false);
            double freeMax = 0;
            for (int step = 0; step < 6; step++)
            {
                model.TrainOnBatch(x, labels);
                free.TrainOnBatch(x, labels);
                var k1 = model.Parameters[0].Value;
                var k2 = model.Parameters[2].Value;
                for (int u = 0; u < 8; u++)
                    Assert.True(ColumnNorm(k1, u) <= 0.5 * (1 + 1e-6), $"{model.Optimizer!.Name} step {step}: hidden unit {u} has norm {ColumnNorm(k1, u)}");
                for (int u = 0; u < 3; u++) Assert.Equal(1.0, ColumnNorm(k2, u), 5);
                Assert.All(model.Parameters[3].Value.ToArray(), v => Assert.True(v >= 0));
                for (int u = 0; u < 8; u++) freeMax = Math.Max(freeMax, ColumnNorm(free.Parameters[0].Value, u));
            }
            Assert.True(freeMax > 0.5, $"{free.Optimizer!.Name}: without the constraint a norm should exceed 0.5 (max {freeMax})");
        }
    }

    private static double ColumnNorm(Tensor<float> k, int column) =>
        Math.Sqrt(Enumerable.Range(0, k.Shape[0]).Sum(r => (double)k[r, column] * k[r, column]));

    [Fact]
    public void AnUnconstrainedLayer_StepsBitwiseAsWithoutConstraintsElsewhere()
    {
        var (x, labels, _) = TestData.Blobs(32, 6);
        Sequential Model(bool constrainHead)
        {
            var head = new Dense<float>(3, "softmax");
            if (constrainHead) { head.KernelConstraint = new MaxNorm(0.1); head.BiasConstraint = new NonNeg(); }
            var m = new Sequential(new Dense<float>(6, "tanh"), head) { Seed = 9 };
            m.Compile("sparse_categorical_crossentropy", new Adam(0.01));
            return m;
        }
        var a = Model(true);
        var b = Model(false);
        a.TrainOnBatch(x, labels);
        b.TrainOnBatch(x, labels);
        // The first step's gradients are the same in both models, so the unconstrained layer's weights are identical.
        Assert.Equal(b.Parameters[0].Value.ToArray(), a.Parameters[0].Value.ToArray());
        Assert.Equal(b.Parameters[1].Value.ToArray(), a.Parameters[1].Value.ToArray());
        Assert.NotEqual(b.Parameters[2].Value.ToArray(), a.Parameters[2].Value.ToArray());
    }

    [Fact]
    public void Step_WithConstraints_DoesNotAllocate()
    {
        var ps = new[]
        {
            new Parameter<float>("kernel", Tensor<float>.RandomNormal(new TensorShape(3, 3, 8, 16), 1)) { Constraint = new MaxNorm(1, [0, 1, 2]) },
            new Parameter<float>("recurrent_kernel", Tensor<float>.RandomNormal(new TensorShape(16, 64), 2)) { Constraint = new UnitNorm(-1) },
            new Parameter<float>("bias", Tensor<float>.RandomNormal(new TensorShape(64), 3)) { Constraint = new NonNeg() },
            new Parameter<float>("other", Tensor<float>.RandomNormal(new TensorShape(40, 30), 4)) { Constraint = new MinMaxNorm(0.5, 1, 0.5) },
        };
        var opt = new Adam(0.01);
        foreach (var p in ps) p.Grad.Span.Fill(0.1f);
        opt.Step(ps);
        opt.Step(ps);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5; i++) opt.Step(ps);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Constraints_AreSaved_LoadedAndCopiedToTheBackwardLayerOfABidirectional()
    {
        var gru = new Gru<float>(3) { KernelConstraint = new MaxNorm(3, [0]), RecurrentConstraint = new UnitNorm(-1), BiasConstraint = new MinMaxNorm(0.5, 2, 0.9, 1) };
        var bi = new Bidirectional<float>(gru);
        Assert.Equal("unit_norm:-1", bi.BackwardLayer.RecurrentConstraint!.Name);
        var model = new Sequential(
            new Conv1D<float>(4, 3) { KernelConstraint = new MaxNorm(2, [0, 1]), BiasConstraint = new NonNeg() },
            bi,
            new Dense<float>(2) { KernelConstraint = new MaxNorm() }) { Seed = 2 };
        model.Compile("mse", new Adam(0.05));
        model.Build(6, 2);
        string path = Path.Combine(_dir, "constraints.safetensors");
        model.Save(path);
        var loaded = Sequential.Load(path);
        Assert.Equal(model.Parameters.Select(p => p.Constraint?.Name), loaded.Parameters.Select(p => p.Constraint?.Name));
        Assert.Equal(9, loaded.Parameters.Count(p => p.Constraint is not null));   // conv 2, GRU 3 per direction, dense kernel
        Assert.Equal("max_norm:2,[0,1]", model.Layers[0].GetConfig()["kernel_constraint"]);
        Assert.Equal("non_neg", model.Layers[0].GetConfig()["bias_constraint"]);
        Assert.Equal("min_max_norm:0.5,2,0.9,1", gru.GetConfig()["bias_constraint"]);
        Assert.Equal("max_norm", model.Layers[2].GetConfig()["kernel_constraint"]);
        // Training continues identically in the original and the loaded model, constraints included.
        var x = Tensor<float>.RandomNormal(new TensorShape(8, 6, 2), 3, stddev: 3);
        var y = Tensor<float>.RandomNormal(new TensorShape(8, 2), 4, stddev: 5);
        model.TrainOnBatch(x, y);
        loaded.TrainOnBatch(x, y);
        for (int i = 0; i < model.Parameters.Count; i++) Assert.Equal(model.Parameters[i].Value.ToArray(), loaded.Parameters[i].Value.ToArray());
        Assert.All(loaded.Parameters[1].Value.ToArray(), v => Assert.True(v >= 0));
    }

    public static TheoryData<string> Names => new()
    {
        "non_neg", "max_norm", "max_norm:3,[0,1,2]", "max_norm:0.5,-1", "unit_norm", "unit_norm:1", "unit_norm:[0,2]",
        "min_max_norm", "min_max_norm:0.5,2,0.25,[0,1]",
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void Names_RoundTrip(string name)
    {
        var c = Constraint.Get(name);
        Assert.Equal(name, c.Name);
        Assert.Equal(name, Constraint.Get(c.Name).Name);
    }

    [Fact]
    public void KerasSpellingsAndDefaults_AreAccepted()
    {
        var m = Assert.IsType<MaxNorm>(Constraint.Get("MaxNorm"));
        Assert.Equal((2.0, 0), (m.MaxValue, m.Axis.Single()));
        var mm = Assert.IsType<MinMaxNorm>(Constraint.Get("MinMaxNorm"));
        Assert.Equal((0.0, 1.0, 1.0, 0), (mm.MinValue, mm.MaxValue, mm.Rate, mm.Axis.Single()));
        Assert.IsType<NonNeg>(Constraint.Get("NonNeg"));
        Assert.Equal(0, Assert.IsType<UnitNorm>(Constraint.Get("UnitNorm")).Axis.Single());
        Assert.Equal("max_norm:4,0", Constraint.Get("max_norm:4").Name);
    }

    [Fact]
    public void BadArguments_AreRejectedClearly()
    {
        Assert.Equal("maxValue", Assert.Throws<ArgumentOutOfRangeException>(() => new MaxNorm(-1)).ParamName);
        Assert.Equal("maxValue", Assert.Throws<ArgumentOutOfRangeException>(() => new MaxNorm(double.NaN)).ParamName);
        Assert.Equal("minValue", Assert.Throws<ArgumentOutOfRangeException>(() => new MinMaxNorm(-0.5)).ParamName);
        Assert.Equal("maxValue", Assert.Throws<ArgumentOutOfRangeException>(() => new MinMaxNorm(2, 1)).ParamName);
        Assert.Equal("rate", Assert.Throws<ArgumentOutOfRangeException>(() => new MinMaxNorm(rate: 1.5)).ParamName);
        Assert.Equal("axis", Assert.Throws<ArgumentException>(() => new UnitNorm(Array.Empty<int>())).ParamName);
        Assert.Equal("axis", Assert.Throws<ArgumentException>(() => new MaxNorm(1, [0, 0])).ParamName);

        // An axis the weight does not have: at build, and when set on a built layer, naming the axis and the shape.
        var dense = new Dense<float>(3) { KernelConstraint = new MaxNorm(1, 2) };
        var e = Assert.Throws<ArgumentException>(() => dense.Build(new TensorShape(4, 5), 1));
        Assert.Contains("axis 2", e.Message);
        Assert.Contains("kernel", e.Message);
        var built = new Dense<float>(3);
        built.Build(new TensorShape(4, 5), 1);
        Assert.Throws<ArgumentException>(() => built.BiasConstraint = new UnitNorm(1));
        Assert.Null(built.BiasConstraint);
        built.BiasConstraint = new UnitNorm(-1);
        Assert.Throws<ArgumentException>(() => new MaxNorm(1, -3).Apply(new Tensor<float>(2, 2)));

        Assert.Throws<ArgumentException>(() => Constraint.Get("max_norm:x"));
        Assert.Throws<ArgumentException>(() => Constraint.Get("max_norm:-1"));
        Assert.Throws<ArgumentException>(() => Constraint.Get("max_norm:1,[0,a]"));
        Assert.Throws<ArgumentException>(() => Constraint.Get("non_neg:1"));
        Assert.Throws<ArgumentException>(() => Constraint.Get("unit_norm:0,1"));
        Assert.Contains("min_max_norm", Assert.Throws<ArgumentException>(() => Constraint.Get("clip")).Message);
    }
}
