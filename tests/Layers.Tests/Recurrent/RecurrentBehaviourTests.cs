using FsCheck;
using FsCheck.Xunit;
using Nn.Simd.Tensors;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Layers.Tests;

/// <summary>Truncated BPTT against a brute-force window reference, allocation-free steady state, errors,
/// configuration, Bidirectional values, Dropout statistics and the gate kernels.</summary>
public class RecurrentBehaviourTests
{
    private static readonly string[] s_kinds = ["simple_rnn", "lstm", "gru", "gru_v1"];

    /// <summary>Truncated BPTT equals full BPTT run separately on each window (counted back from the last step),
    /// each window starting from the previous window's final state as a constant.</summary>
    [Property(MaxTest = 15, Replay = "(301,4001)")]
    public void TruncatedBptt_MatchesWindowedFullBptt(PositiveInt kind, PositiveInt b, PositiveInt t, PositiveInt f, PositiveInt h, PositiveInt k, bool seq)
    {
        string kd = s_kinds[kind.Get % s_kinds.Length];
        int bb = 1 + b.Get % 5, tt = 2 + t.Get % 11, ff = 1 + f.Get % 6, hh = 1 + h.Get % 8, kk = 1 + k.Get % (tt - 1);
        var trunc = RnnTestUtil.Make<double>(kd, hh, seq, truncate: kk);
        var x = Tensor<double>.RandomNormal(new TensorShape(bb, tt, ff), seed: tt);
        trunc.Build(x.Shape, 1);
        RnnTestUtil.Randomize(trunc, 2, scale: 0.8);
        var dy = Tensor<double>.RandomNormal(trunc.ComputeOutputShape(x.Shape), seed: 3);
        var y = trunc.Forward(x, true).ToArray();
        var dx = trunc.Backward(dy).ToArray();

        // Reference: windows [start, end) in time, the last one full; full BPTT inside each.
        var reference = RnnTestUtil.Make<double>(kd, hh, seq: true, returnState: true);
        reference.Build(x.Shape, 1);
        RnnTestUtil.CopyParameters(trunc, reference);
        var dxRef = new double[bb * tt * ff];
        var yRef = new double[bb * tt * hh];
        Tensor<double>? hState = null, cState = null;
        var starts = new List<int>();
        for (int s = tt - kk; s > 0; s -= kk) starts.Add(s);
        starts.Add(0);
        starts.Reverse();
        for (int w = 0; w < starts.Count; w++)
        {
            int start = starts[w], len = (w + 1 < starts.Count ? starts[w + 1] : tt) - start;
            var xw = new Tensor<double>(bb, len, ff);
            var dyw = new Tensor<double>(bb, len, hh);
            for (int r = 0; r < bb; r++)
            {
                x.ReadOnlySpan.Slice((r * tt + start) * ff, len * ff).CopyTo(xw.Span.Slice(r * len * ff));
                if (seq) dy.ReadOnlySpan.Slice((r * tt + start) * hh, len * hh).CopyTo(dyw.Span.Slice(r * len * hh));
                else if (w == starts.Count - 1) dy.ReadOnlySpan.Slice(r * hh, hh).CopyTo(dyw.Span.Slice((r * len + len - 1) * hh));
            }
            reference.InitialH = hState;
            reference.InitialC = cState;
            var yw = reference.Forward(xw, true).ToArray();
            hState = reference.FinalH.Clone();
            cState = kd == "lstm" ? reference.FinalC.Clone() : null;
            var dxw = reference.Backward(dyw).ToArray();
            for (int r = 0; r < bb; r++)
            {
                Array.Copy(dxw, r * len * ff, dxRef, (r * tt + start) * ff, len * ff);
                Array.Copy(yw, r * len * hh, yRef, (r * tt + start) * hh, len * hh);
            }
        }
        string what = $"{kd} B={bb} T={tt} k={kk} seq={seq}";
        if (seq) RnnTestUtil.AssertClose(yRef, y, 1e-12, 1e-13, what + " output");
        RnnTestUtil.AssertClose(dxRef, dx, 1e-10, 1e-12, what + " dx");
        for (int i = 0; i < trunc.Parameters.Count; i++)
            RnnTestUtil.AssertClose(reference.Parameters[i].Grad.ToArray(), trunc.Parameters[i].Grad.ToArray(), 1e-10, 1e-12,
                $"{what} {trunc.Parameters[i].Name}");
    }

    [Theory]
    [InlineData("simple_rnn")]
    [InlineData("lstm")]
    [InlineData("gru")]
    [InlineData("gru_v1")]
    public void TruncatedBptt_DiffersFromFull_AndStopsAfterKSteps(string kind)
    {
        int t = 10, k = 3;
        var full = RnnTestUtil.Make<double>(kind, 4);
        var trunc = RnnTestUtil.Make<double>(kind, 4, truncate: k);
        var x = Tensor<double>.RandomNormal(new TensorShape(2, t, 3), seed: 1);
        full.Build(x.Shape, 1); trunc.Build(x.Shape, 1);
        RnnTestUtil.Randomize(full, 2, 0.8); RnnTestUtil.CopyParameters(full, trunc);
        var dy = Tensor<double>.RandomNormal(new TensorShape(2, 4), seed: 3);
        full.Forward(x, true); trunc.Forward(x, true);
        var dxFull = full.Backward(dy).ToArray();
        var dxTrunc = trunc.Backward(dy).ToArray();
        // Without return_sequences only the last output has a gradient: it reaches the last k steps only.
        for (int r = 0; r < 2; r++)
            for (int s = 0; s < t; s++)
                for (int j = 0; j < 3; j++)
                {
                    int i = (r * t + s) * 3 + j;
                    if (s < t - k) Assert.Equal(0.0, dxTrunc[i]);
                    else Assert.Equal(dxFull[i], dxTrunc[i], 12);
                }
        Assert.NotEqual(full.Parameters[1].Grad.ToArray(), trunc.Parameters[1].Grad.ToArray());
    }

    public static TheoryData<string> AllocationCases() => ["simple_rnn", "lstm", "gru", "gru_v1", "lstm-seq-back-state", "gru-trunc-stateful", "bidirectional", "dropout-stack", "lstm-masked", "gru-dropout"];

    [Theory]
    [MemberData(nameof(AllocationCases))]
    public void SteadyStateTrainingStep_AllocatesNothing(string which)
    {
        ILayer<float> layer = which switch
        {
            "lstm-seq-back-state" => new Lstm<float>(20, returnSequences: true, goBackwards: true, returnState: true),
            "gru-trunc-stateful" => new Gru<float>(20, stateful: true, truncateBptt: 3),
            "bidirectional" => new Bidirectional<float>(new Lstm<float>(20, returnSequences: true)),
            "dropout-stack" => new Stack<float>(new Lstm<float>(20, returnSequences: true), new Dropout<float>(0.2, seed: 1), new SimpleRnn<float>(8)),
            "gru-dropout" => new Gru<float>(20, returnSequences: true) { Dropout = 0.2, RecurrentDropout = 0.3 },
            "lstm-masked" => new Lstm<float>(20, returnSequences: true) { InputMask = SequenceMask.FromLengths([10, 3, 0, 7], 10) },
            _ => RnnTestUtil.Make<float>(which, 20),
        };
        var x = Tensor<float>.RandomNormal(new TensorShape(4, 10, 3), seed: 1);
        layer.Build(x.Shape, 1);
        var dy = Tensor<float>.RandomNormal(layer.ComputeOutputShape(x.Shape), seed: 2);
        SteadyState.AssertAllocatesNothing(() => { layer.Forward(x, true); layer.Backward(dy); });
    }

    [Fact]
    public void Stateful_DifferentBatchSize_Throws_UntilResetState()
    {
        var layer = new Lstm<float>(3, stateful: true);
        layer.Forward(new Tensor<float>(2, 4, 5), false);
        var ex = Assert.Throws<ArgumentException>(() => layer.Forward(new Tensor<float>(3, 4, 5), false));
        Assert.Contains("batch size 2", ex.Message);
        Assert.Contains("[3, 4, 5]", ex.Message);
        layer.ResetState();
        Assert.Equal(new TensorShape(3, 3), layer.Forward(new Tensor<float>(3, 4, 5), false).Shape);
    }

    [Fact]
    public void Stateful_KeepsState_AndResetStateClearsIt()
    {
        var layer = new Gru<double>(3, stateful: true);
        var x = Tensor<double>.RandomNormal(new TensorShape(2, 4, 2), seed: 1);
        var first = layer.Forward(x, false).ToArray();
        var second = layer.Forward(x, false).ToArray();
        Assert.NotEqual(first, second);
        layer.ResetState();
        Assert.Equal(first, layer.Forward(x, false).ToArray());
    }

    [Fact]
    public void ShapeErrors_NameTheShapes()
    {
        var layer = new Lstm<float>(3);
        var rank = Assert.Throws<ArgumentException>(() => layer.Forward(new Tensor<float>(2, 4), false));
        Assert.Contains("[2, 4]", rank.Message);
        layer.Forward(new Tensor<float>(2, 4, 5), false);
        var feat = Assert.Throws<ArgumentException>(() => layer.Forward(new Tensor<float>(2, 4, 6), false));
        Assert.Contains("[2, 4, 6]", feat.Message);
        Assert.Contains("[2, 4, 5]", feat.Message);
        layer.InitialH = new Tensor<float>(3, 3);
        var init = Assert.Throws<ArgumentException>(() => layer.Forward(new Tensor<float>(2, 4, 5), false));
        Assert.Contains("[3, 3]", init.Message);
        Assert.Contains("[2, 3]", init.Message);
        layer.InitialH = null;
        var dy = Assert.Throws<ArgumentException>(() => layer.Backward(new Tensor<float>(2, 4)));
        Assert.Contains("[2, 4]", dy.Message);
        Assert.Contains("[2, 3]", dy.Message);
    }

    [Theory]
    [InlineData("lstm")]
    [InlineData("gru")]
    [InlineData("rnn")]
    public void InferencePass_MatchesTrainingPass_AndCannotBeBackpropagated(string kind)
    {
        RecurrentLayer<float> Make() => kind switch
        {
            "lstm" => new Lstm<float>(20, returnSequences: true),
            "gru" => new Gru<float>(20, returnSequences: true),
            _ => new SimpleRnn<float>(20, returnSequences: true),
        };
        var x = Tensor<float>.RandomNormal(new TensorShape(5, 7, 3), seed: 3);
        var layer = Make();
        layer.Build(x.Shape, 11);
        var train = layer.Forward(x, true).ToArray();
        var infer = layer.Forward(x, false).ToArray();
        Assert.Equal(train, infer);
        var dy = Tensor<float>.Full(new TensorShape(5, 7, 20), 1f);
        var ex = Assert.Throws<InvalidOperationException>(() => layer.Backward(dy));
        Assert.Contains("training", ex.Message);
        // A training pass after it makes Backward valid again.
        layer.Forward(x, true);
        Assert.Equal(new[] { 5, 7, 3 }, layer.Backward(dy).Shape.ToArray());
    }

    /// <summary>With the default activations the LSTM and the GRU run each forward step as one fused kernel (sums in
    /// registers, gate math on the tile), in training and in inference. It must give the bits of the GEMM + gate-kernel
    /// path, for the outputs, the final states and every gradient, at every shape the kernels treat differently: whole
    /// 16-unit blocks (H = 16, 64), a partial last block (20), a row narrower than a vector (12: 256-bit block and
    /// scalars, 5: scalars only), chains split at the GEMM's depth of 256 (H = 300, F = 300), 4-row tiles plus
    /// single rows (B = 1, 6), no bias, reversed time, an initial state, float and double.</summary>
    [Theory]
    [InlineData("lstm", 16, 3, 6, true, false)]
    [InlineData("lstm", 64, 5, 9, true, false)]
    [InlineData("lstm", 20, 3, 5, true, true)]
    [InlineData("lstm", 12, 2, 4, false, false)]
    [InlineData("lstm", 5, 1, 1, true, false)]
    [InlineData("lstm", 300, 4, 3, true, false)]
    [InlineData("lstm", 24, 300, 6, false, true)]
    [InlineData("gru", 16, 3, 6, true, false)]
    [InlineData("gru", 64, 5, 9, true, false)]
    [InlineData("gru", 20, 3, 5, true, true)]
    [InlineData("gru", 12, 2, 4, false, false)]
    [InlineData("gru", 5, 1, 1, true, false)]
    [InlineData("gru", 300, 4, 3, true, false)]
    [InlineData("gru", 24, 300, 6, false, true)]
    public void FusedRecurrentStep_IsBitwiseTheGemmAndGatePath(string kind, int units, int features, int batch, bool useBias, bool goBackwards)
    {
        Check<float>();
        Check<double>();

        void Check<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            var x = Tensor<T>.RandomNormal(new TensorShape(batch, 7, features), seed: 3);
            var dy = Tensor<T>.RandomNormal(new TensorShape(batch, 7, units), seed: 6);
            List<T[]> Run(bool fused)
            {
                RecurrentLayer<T> layer = kind == "lstm"
                    ? new Lstm<T>(units, useBias: useBias, goBackwards: goBackwards, returnSequences: true, returnState: true)
                    {
                        InitialC = Tensor<T>.RandomNormal(new TensorShape(batch, units), seed: 5),
                        DisableFusedStep = !fused,
                    }
                    : new Gru<T>(units, useBias: useBias, goBackwards: goBackwards, returnSequences: true, returnState: true)
                    {
                        DisableFusedStep = !fused,
                    };
                layer.InitialH = Tensor<T>.RandomNormal(new TensorShape(batch, units), seed: 4);
                layer.Build(x.Shape, 11);
                foreach (var p in layer.Parameters)   // non-zero biases, so a dropped bias row would show
                    for (int i = 0; i < p.Value.Length; i++) p.Value.Span[i] += T.CreateTruncating(0.01 * (i % 7));
                var results = new List<T[]> { layer.Forward(x, false).ToArray(), layer.FinalH!.ToArray() };
                results.Add(layer.Forward(x, true).ToArray());
                results.Add(layer.FinalH!.ToArray());
                if (kind == "lstm") results.Add(layer.FinalC!.ToArray());
                results.Add(layer.Backward(dy).ToArray());
                results.Add(layer.InitialHGradient.ToArray());
                foreach (var p in layer.Parameters) results.Add(p.Grad.ToArray());
                return results;
            }
            var (plain, fused) = (Run(false), Run(true));
            Assert.Equal(plain.Count, fused.Count);
            for (int i = 0; i < plain.Count; i++)
                Assert.True(plain[i].AsSpan().SequenceEqual(fused[i]), $"{kind} {typeof(T).Name}: result {i} differs");
            Assert.Equal(plain[0], plain[2]);   // and inference is the training forward
        }
    }

    [Fact]
    public void InvalidArguments_EchoTheValue()
    {
        Assert.Contains("got 0", Assert.Throws<ArgumentOutOfRangeException>(() => new Lstm<float>(0)).Message);
        Assert.Contains("got -2", Assert.Throws<ArgumentOutOfRangeException>(() => new Gru<float>(4, truncateBptt: -2)).Message);
        Assert.Contains("got 1", Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout<float>(1.0)).Message);
        Assert.Contains("got -0.1", Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout<float>(-0.1)).Message);
        Assert.Contains("'avg'", Assert.Throws<ArgumentException>(() => new Bidirectional<float>(new Lstm<float>(2), "avg")).Message);
        Assert.Contains("swishy", Assert.Throws<ArgumentException>(() => new SimpleRnn<float>(2, "swishy")).Message);
        Assert.Throws<InvalidOperationException>(() => new Lstm<float>(2).Backward(new Tensor<float>(1, 2)));
        var noState = new Lstm<float>(2);
        noState.Forward(new Tensor<float>(1, 2, 2), false);
        Assert.Contains("returnState", Assert.Throws<InvalidOperationException>(() => noState.FinalH).Message);
        Assert.Throws<InvalidOperationException>(() => new Gru<float>(2, returnState: true).FinalC);
    }

    [Fact]
    public void GetConfig_UsesKerasNames()
    {
        var lstm = new Lstm<float>(8, returnSequences: true, goBackwards: true).GetConfig();
        Assert.Equal("8", lstm["units"]);
        Assert.Equal("tanh", lstm["activation"]);
        Assert.Equal("sigmoid", lstm["recurrent_activation"]);
        Assert.Equal("true", lstm["return_sequences"]);
        Assert.Equal("false", lstm["return_state"]);
        Assert.Equal("true", lstm["go_backwards"]);
        Assert.Equal("false", lstm["stateful"]);
        Assert.Equal("true", lstm["unit_forget_bias"]);
        Assert.Equal("orthogonal", lstm["recurrent_initializer"]);
        Assert.Equal("glorot_uniform", lstm["kernel_initializer"]);
        Assert.Equal("true", new Gru<float>(2).GetConfig()["reset_after"]);
        Assert.Equal("false", new Gru<float>(2, resetAfter: false).GetConfig()["reset_after"]);
        Assert.Equal("relu", new SimpleRnn<float>(2, "relu").GetConfig()["activation"]);
        var bi = new Bidirectional<float>(new Gru<float>(2), "ave").GetConfig();
        Assert.Equal("ave", bi["merge_mode"]);
        Assert.Equal("gru", bi["layer"]);
        Assert.Equal("0.25", new Dropout<float>(0.25, seed: 1).GetConfig()["rate"]);
    }

    [Fact]
    public void ParameterShapes_FollowKeras()
    {
        var x = new Tensor<float>(2, 3, 5);
        var lstm = new Lstm<float>(7); lstm.Build(x.Shape, 1);
        Assert.Equal([new TensorShape(5, 28), new TensorShape(7, 28), new TensorShape(28)], lstm.Parameters.Select(p => p.Value.Shape));
        Assert.Equal(["kernel", "recurrent_kernel", "bias"], lstm.Parameters.Select(p => p.Name));
        var bias = lstm.Bias!.Value.ToArray();
        Assert.All(bias.AsSpan(0, 7).ToArray(), v => Assert.Equal(0f, v));
        Assert.All(bias.AsSpan(7, 7).ToArray(), v => Assert.Equal(1f, v));
        Assert.All(bias.AsSpan(14).ToArray(), v => Assert.Equal(0f, v));
        var gru = new Gru<float>(7); gru.Build(x.Shape, 1);
        Assert.Equal([new TensorShape(5, 21), new TensorShape(7, 21), new TensorShape(2, 21)], gru.Parameters.Select(p => p.Value.Shape));
        var rnn = new SimpleRnn<float>(7, useBias: false); rnn.Build(x.Shape, 1);
        Assert.Equal([new TensorShape(5, 7), new TensorShape(7, 7)], rnn.Parameters.Select(p => p.Value.Shape));
        // The recurrent kernel is orthogonal: U·Uᵀ = I for the square SimpleRNN kernel.
        var u = rnn.RecurrentKernel.Value;
        for (int i = 0; i < 7; i++)
            for (int j = 0; j < 7; j++)
            {
                double dot = 0;
                for (int c = 0; c < 7; c++) dot += u[i, c] * u[j, c];
                Assert.Equal(i == j ? 1.0 : 0.0, dot, 5);
            }
        var bi = new Bidirectional<float>(new Lstm<float>(7)); bi.Build(x.Shape, 1);
        Assert.Equal(6, bi.Parameters.Count);
        Assert.NotEqual(((Lstm<float>)bi.ForwardLayer).Kernel.Value.ToArray(), ((Lstm<float>)bi.BackwardLayer).Kernel.Value.ToArray());
        Assert.True(bi.BackwardLayer.GoBackwards);
    }

    [Theory]
    [InlineData("concat", true)]
    [InlineData("concat", false)]
    [InlineData("sum", true)]
    [InlineData("mul", true)]
    [InlineData("ave", false)]
    public void Bidirectional_MergesForwardAndReversedBackwardOutputs(string mode, bool seq)
    {
        int b = 2, t = 4, f = 3, h = 3;
        var bi = new Bidirectional<double>(new Gru<double>(h, returnSequences: seq), mode);
        var x = Tensor<double>.RandomNormal(new TensorShape(b, t, f), seed: 1);
        bi.Build(x.Shape, 7);
        var y = bi.Forward(x, false).ToArray();
        var fwd = bi.ForwardLayer.Forward(x, false).ToArray();
        var bwd = bi.BackwardLayer.Forward(x, false).ToArray();
        int steps = seq ? t : 1, w = mode == "concat" ? 2 * h : h;
        for (int r = 0; r < b; r++)
            for (int s = 0; s < steps; s++)
                for (int j = 0; j < h; j++)
                {
                    double a = fwd[(r * steps + s) * h + j], c = bwd[(r * steps + (steps - 1 - s)) * h + j];
                    int o = (r * steps + s) * w;
                    switch (mode)
                    {
                        case "concat": Assert.Equal(a, y[o + j], 14); Assert.Equal(c, y[o + h + j], 14); break;
                        case "sum": Assert.Equal(a + c, y[o + j], 14); break;
                        case "mul": Assert.Equal(a * c, y[o + j], 14); break;
                        default: Assert.Equal((a + c) / 2, y[o + j], 14); break;
                    }
                }
        // The backward half at step s saw the input from the end down to s: compare with a plain reference.
        if (seq && mode == "concat")
        {
            var (wk, u, bias) = RnnTestUtil.Weights(bi.BackwardLayer);
            var expected = ScalarRnn.Run("gru", x.ToArray(), b, t, f, h, wk, u, bias, goBackwards: true, returnSequences: true);
            for (int r = 0; r < b; r++)
                for (int s = 0; s < t; s++)
                    for (int j = 0; j < h; j++)
                        Assert.Equal(expected.Output[(r * t + (t - 1 - s)) * h + j], y[(r * t + s) * 2 * h + h + j], 12);
        }
    }

    [Fact]
    public void Dropout_DropsAtTheRate_ScalesSurvivors_AndIsIdentityAtInference()
    {
        var x = Tensor<float>.Full(new TensorShape(200, 500), 2f);
        var layer = new Dropout<float>(0.3, seed: 42);
        Assert.Same(x, layer.Forward(x, training: false));
        var y = layer.Forward(x, training: true).ToArray();
        int zeros = y.Count(v => v == 0);
        Assert.InRange(zeros / (double)y.Length, 0.29, 0.31);
        Assert.All(y.Where(v => v != 0), v => Assert.Equal(2f / 0.7f, v, 5));
        Assert.InRange(y.Average(v => (double)v), 1.97, 2.03);
        // Seeded: a second layer with the same seed draws the same mask; Reseed repeats it.
        Assert.Equal(y, new Dropout<float>(0.3, seed: 42).Forward(x, true).ToArray());
        var next = layer.Forward(x, true).ToArray();
        Assert.NotEqual(y, next);
        layer.Reseed(42);
        Assert.Equal(y, layer.Forward(x, true).ToArray());
        // Backward multiplies by the same mask.
        var dx = layer.Backward(Tensor<float>.Full(x.Shape, 1f)).ToArray();
        for (int i = 0; i < dx.Length; i++) Assert.Equal(y[i] / 2f, dx[i], 5);
    }

    [Fact]
    public void LstmGates_Forward_MatchesReference_AllLengths()
    {
        for (int units = 0; units <= 40; units++)
        {
            int b = 3;
            var z = Tensor<float>.RandomNormal(new TensorShape(b, 4 * units + 1), seed: units).ToArray().AsSpan(0, b * 4 * units).ToArray();
            var cp = Tensor<float>.RandomNormal(new TensorShape(b, units + 1), seed: units + 100).ToArray().AsSpan(0, b * units).ToArray();
            var (z1, z2) = (z.ToArray(), z.ToArray());
            var (c1, h1) = (new float[b * units], new float[b * units]);
            var (c2, h2) = (new float[b * units], new float[b * units]);
            LstmGates.Forward<float>(cp, z1, c1, h1, b, units);
            LstmGates.ForwardReference<float>(cp, z2, c2, h2, b, units);
            foreach (var (e, a, n) in new[] { (z2, z1, "gates"), (c2, c1, "c"), (h2, h1, "h") })
            {
                var r = Tolerance.Compare<float>(e, a, 1e-5, 1e-6);
                Assert.True(r.Passed, $"units {units} {n}: {r}");
            }
            // Inference (keepGates: false) gives the same c and h, bit for bit, and leaves the gates alone.
            var (z3, c3, h3) = (z.ToArray(), new float[b * units], new float[b * units]);
            LstmGates.Forward<float>(cp, z3, c3, h3, b, units, keepGates: false);
            Assert.Equal(c1, c3);
            Assert.Equal(h1, h3);
            Assert.Equal(z, z3);
        }
    }

    [Fact]
    public void LstmStep_IsBitwiseGemmThenLstmGates_AllLengths_AndRejectsBadShapes()
    {
        if (!LstmStep.IsSupported<float>()) return;   // the layer then takes the GEMM + LstmGates path itself
        // Rows 8 and 9 run several full tiles per unit block, each tile's gate math deferred into the next tile's sums;
        // 260 units make the recurrent sum longer than one chain. With a bias row (the last input column all ones) the
        // step adds the row instead of multiplying it: 256 input columns put the bias last in the first chain, 257 in
        // a chain of its own, as the GEMM cuts them.
        var cases = new List<(int Units, int Rows, int Fx, bool BiasRow)>();
        foreach (int units in new[] { 1, 7, 8, 15, 16, 17, 33, 48, 260 })
            foreach (int rows in new[] { 1, 3, 4, 8, 9 })
                foreach (bool biasRow in new[] { false, true })
                    cases.Add((units, rows, 4, biasRow));
        foreach (int fx in new[] { 1, 256, 257 })
            foreach (int rows in new[] { 1, 8 })
                cases.Add((17, rows, fx, true));
        foreach (var (units, rows, fx, biasRow) in cases)
        {
            int g4 = 4 * units;
            var x = Tensor<float>.RandomNormal(new TensorShape(rows, fx), seed: units).ToArray();
            if (biasRow) for (int r = 0; r < rows; r++) x[r * fx + fx - 1] = 1f;
            var hp = Tensor<float>.RandomNormal(new TensorShape(rows, units), seed: units + 1).ToArray();
            var cp = Tensor<float>.RandomNormal(new TensorShape(rows, units), seed: units + 2).ToArray();
            var w = Tensor<float>.RandomNormal(new TensorShape(fx, g4), seed: units + 3).ToArray();
            var u = Tensor<float>.RandomNormal(new TensorShape(units, g4), seed: units + 4).ToArray();
            // Reference: z = x·W, z += h·U (two GEMMs), then the gate kernel.
            var z = new float[rows * g4];
            Gemm.Compute(false, false, rows, g4, fx, 1f, x, fx, w, g4, 0f, z, g4);
            Gemm.Compute(false, false, rows, g4, units, 1f, hp, units, u, g4, 1f, z, g4);
            var (c1, h1) = (new float[rows * units], new float[rows * units]);
            LstmGates.Forward<float>(cp, z, c1, h1, rows, units, keepGates: true);
            var weights = new RecurrentStepWeights<float>(fx, units, 4, biasRow);
            Assert.Equal(biasRow, weights.BiasRow);
            weights.Pack(w, u);
            string label = $"units {units} rows {rows} F' {fx} bias row {biasRow}";
            var (c2, h2, g2) = (new float[rows * units], new float[rows * units], new float[rows * g4]);
            LstmStep.Forward<float>(x, hp, cp, weights, c2, h2, rows, g2);
            Assert.True(c1.AsSpan().SequenceEqual(c2) && h1.AsSpan().SequenceEqual(h2) && z.AsSpan().SequenceEqual(g2), label);
            var (c3, h3) = (new float[rows * units], new float[rows * units]);
            LstmStep.Forward<float>(x, hp, cp, weights, c3, h3, rows);   // inference: no gates kept, same c and h
            Assert.True(c1.AsSpan().SequenceEqual(c3) && h1.AsSpan().SequenceEqual(h3), label + ", no gates");
        }

        var pw = new RecurrentStepWeights<float>(3, 5, 4);
        var e = Assert.Throws<ArgumentException>(() => pw.Pack(new float[3 * 20], new float[5 * 19]));
        Assert.Contains("[5, 20]", e.Message);
        Assert.Equal("recurrentKernel", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => pw.Pack(new float[2 * 20], new float[5 * 20]));
        Assert.Contains("[3, 20]", e.Message);
        pw.Pack(new float[3 * 20], new float[5 * 20]);
        e = Assert.Throws<ArgumentException>(() => LstmStep.Forward<float>(new float[5], new float[10], new float[10], pw, new float[10], new float[10], 2));
        Assert.Equal("x", e.ParamName);
        Assert.Contains("[2, 3]", e.Message);
        e = Assert.Throws<ArgumentException>(() => LstmStep.Forward<float>(new float[6], new float[10], new float[10], pw, new float[9], new float[10], 2));
        Assert.Equal("c", e.ParamName);
        Assert.Contains("[2, 5]", e.Message);
        e = Assert.Throws<ArgumentException>(() => LstmStep.Forward<float>(new float[6], new float[10], new float[10], pw, new float[10], new float[10], 2, new float[39]));
        Assert.Equal("gates", e.ParamName);
        Assert.Contains("[2, 20]", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RecurrentStepWeights<float>(0, 4, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RecurrentStepWeights<float>(3, 0, 4));
    }

    [Fact]
    public void LstmStep_ForwardSequence_IsBitwiseStepByStep_AndRejectsBadLayouts()
    {
        if (!LstmStep.IsSupported<float>()) return;
        // Rows 8 and more carry each step's last tile's gate math into the next step's first tile; padding between
        // steps (strides above one step's rows) checks that the kernel follows the strides.
        foreach (int units in new[] { 7, 16, 33 })
            foreach (int rows in new[] { 1, 4, 5, 8, 9, 13 })
                foreach (bool keep in new[] { false, true })
                {
                    const int steps = 6, fx = 4, pad = 3;
                    int g4 = 4 * units, xs = rows * fx + pad, ss = rows * units + pad, gs = rows * g4 + pad;
                    var x = Tensor<float>.RandomNormal(new TensorShape(steps * xs), seed: units + rows).ToArray();
                    for (int s = 0; s < steps; s++) for (int r = 0; r < rows; r++) x[s * xs + r * fx + fx - 1] = 1f;
                    var w = Tensor<float>.RandomNormal(new TensorShape(fx, g4), seed: units + 3).ToArray();
                    var u = Tensor<float>.RandomNormal(new TensorShape(units, g4), seed: units + 4).ToArray();
                    var weights = new RecurrentStepWeights<float>(fx, units, 4, biasRow: true);
                    weights.Pack(w, u);
                    var h0 = Tensor<float>.RandomNormal(new TensorShape(rows * units), seed: 1).ToArray();
                    var c0 = Tensor<float>.RandomNormal(new TensorShape(rows * units), seed: 2).ToArray();
                    // Reference: one Forward per step.
                    var (hRef, cRef, gRef) = (h0, c0, new float[steps * rows * g4]);
                    var hSteps = new List<float[]>(); var cSteps = new List<float[]>();
                    for (int s = 0; s < steps; s++)
                    {
                        var (hn, cn) = (new float[rows * units], new float[rows * units]);
                        LstmStep.Forward<float>(x.AsSpan(s * xs, rows * fx), hRef, cRef, weights, cn, hn, rows,
                            keep ? gRef.AsSpan(s * rows * g4, rows * g4) : default);
                        hSteps.Add(hn); cSteps.Add(cn);
                        (hRef, cRef) = (hn, cn);
                    }
                    var h = new float[(steps + 1) * ss]; var c = new float[(steps + 1) * ss];
                    h.AsSpan().Fill(float.NaN); c.AsSpan().Fill(float.NaN);
                    h0.CopyTo(h, 0); c0.CopyTo(c, 0);
                    var g = keep ? new float[steps * gs] : null;
                    LstmStep.ForwardSequence<float>(x, fx, xs, h, c, ss, weights, rows, steps, g, gs);
                    // The same from the inputs laid out as a layer's [B, T, F] (rows T·F apart, steps F apart), without
                    // the column of ones, which the kernel does not read with a bias row.
                    var direct = new float[rows * steps * (fx - 1)];
                    for (int r = 0; r < rows; r++)
                        for (int s = 0; s < steps; s++)
                            x.AsSpan(s * xs + r * fx, fx - 1).CopyTo(direct.AsSpan((r * steps + s) * (fx - 1)));
                    var (hd, cd) = (new float[(steps + 1) * ss], new float[(steps + 1) * ss]);
                    h0.CopyTo(hd, 0); c0.CopyTo(cd, 0);
                    LstmStep.ForwardSequence<float>(direct, steps * (fx - 1), fx - 1, hd, cd, ss, weights, rows, steps);
                    for (int s = 0; s < steps; s++)
                    {
                        string label = $"units {units} rows {rows} step {s} keep {keep}";
                        Assert.True(h.AsSpan((s + 1) * ss, rows * units).SequenceEqual(hSteps[s]), label + ": h");
                        Assert.True(c.AsSpan((s + 1) * ss, rows * units).SequenceEqual(cSteps[s]), label + ": c");
                        Assert.True(float.IsNaN(h[(s + 1) * ss - 1]) && float.IsNaN(c[(s + 1) * ss - 1]), label + ": padding written");
                        if (keep) Assert.True(g!.AsSpan(s * gs, rows * g4).SequenceEqual(gRef.AsSpan(s * rows * g4, rows * g4)), label + ": gates");
                        Assert.True(hd.AsSpan((s + 1) * ss, rows * units).SequenceEqual(hSteps[s]), label + ": h from [B, T, F]");
                        Assert.True(cd.AsSpan((s + 1) * ss, rows * units).SequenceEqual(cSteps[s]), label + ": c from [B, T, F]");
                    }
                }

        var pw = new RecurrentStepWeights<float>(3, 5, 4);
        pw.Pack(new float[3 * 20], new float[5 * 20]);
        // Two rows, three steps (no bias row: all 3 columns read): x needs 2 step strides of 6 + a row stride of 3 + 3
        // columns, the caches 3 strides of 10 + 10.
        var e = Assert.Throws<ArgumentException>(() => LstmStep.ForwardSequence<float>(new float[18], 2, 6, new float[40], new float[40], 10, pw, 2, 3));
        Assert.Equal("xRowStride", e.ParamName);
        Assert.Contains("3 columns", e.Message);
        e = Assert.Throws<ArgumentException>(() => LstmStep.ForwardSequence<float>(new float[17], 3, 6, new float[40], new float[40], 10, pw, 2, 3));
        Assert.Equal("x", e.ParamName);
        Assert.Contains("need 18", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => LstmStep.ForwardSequence<float>(new float[18], 3, -1, new float[40], new float[40], 10, pw, 2, 3));
        e = Assert.Throws<ArgumentException>(() => LstmStep.ForwardSequence<float>(new float[18], 3, 6, new float[39], new float[40], 10, pw, 2, 3));
        Assert.Equal("h", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => LstmStep.ForwardSequence<float>(new float[18], 3, 6, new float[40], new float[40], 10, pw, 2, 3, new float[100], 39));
        Assert.Equal("gatesStepStride", e.ParamName);
        var shared = new float[80];
        e = Assert.Throws<ArgumentException>(() => LstmStep.ForwardSequence<float>(new float[18], 3, 6, shared.AsSpan(0, 40), shared.AsSpan(30, 40), 10, pw, 2, 3));
        Assert.Contains("overlap", e.Message);
        LstmStep.ForwardSequence<float>(new float[18], 3, 6, shared.AsSpan(0, 40), shared.AsSpan(40, 40), 10, pw, 2, 3);   // adjacent is fine
        // With a bias row the last column is not read: rows of 2 columns, 2 apart, steps 4 apart fit 2·4 + 2 + 2 = 12.
        var pb = new RecurrentStepWeights<float>(3, 5, 4, biasRow: true);
        pb.Pack(new float[3 * 20], new float[5 * 20]);
        LstmStep.ForwardSequence<float>(new float[12], 2, 4, new float[40], new float[40], 10, pb, 2, 3);
        e = Assert.Throws<ArgumentException>(() => LstmStep.ForwardSequence<float>(new float[11], 2, 4, new float[40], new float[40], 10, pb, 2, 3));
        Assert.Equal("x", e.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => LstmStep.ForwardSequence<float>(new float[18], 3, 6, new float[40], new float[40], 10, pw, 2, -1));
    }

    [Fact]
    public void GruStep_IsBitwiseGemmThenGruGates_AndRejectsBadArguments()
    {
        if (!GruStep.IsSupported<float>()) return;   // the layer then takes the GEMM + GruGates path itself
        // Rows 8 and 9 run several full tiles per unit block, each tile's gate math deferred into the next tile's sums;
        // 260 units make the recurrent sum longer than one chain; with and without the recurrent bias, and with and
        // without an input bias row (the last input column all ones, the row added instead of multiplied).
        foreach (bool withBias in new[] { true, false })
            foreach (bool biasRow in new[] { false, true })
            foreach (int units in new[] { 1, 9, 16, 17, 40, 260 })
                foreach (int rows in new[] { 1, 4, 7, 8, 9 })
                {
                    int fx = 3, g3 = 3 * units;
                    var x = Tensor<float>.RandomNormal(new TensorShape(rows, fx), seed: units).ToArray();
                    if (biasRow) for (int r = 0; r < rows; r++) x[r * fx + fx - 1] = 1f;
                    var hp = Tensor<float>.RandomNormal(new TensorShape(rows, units), seed: units + 1).ToArray();
                    var w = Tensor<float>.RandomNormal(new TensorShape(fx, g3), seed: units + 2).ToArray();
                    var u = Tensor<float>.RandomNormal(new TensorShape(units, g3), seed: units + 3).ToArray();
                    var b = withBias ? Tensor<float>.RandomNormal(new TensorShape(g3), seed: units + 4).ToArray() : [];
                    // Reference: gx = x·W; gu = b broadcast, += h·U (without a bias, gu = h·U); then the gate kernel.
                    var (gx, gu) = (new float[rows * g3], new float[rows * g3]);
                    Gemm.Compute(false, false, rows, g3, fx, 1f, x, fx, w, g3, 0f, gx, g3);
                    if (withBias) for (int r = 0; r < rows; r++) b.CopyTo(gu.AsSpan(r * g3));
                    Gemm.Compute(false, false, rows, g3, units, 1f, hp, units, u, g3, withBias ? 1f : 0f, gu, g3);
                    var uh = Enumerable.Range(0, rows).SelectMany(r => gu.AsSpan(r * g3 + 2 * units, units).ToArray()).ToArray();
                    var h1 = new float[rows * units];
                    GruGates.Forward<float>(hp, gu, gx, h1, rows, units);
                    var weights = new RecurrentStepWeights<float>(fx, units, 3, biasRow);
                    weights.Pack(w, u);
                    var (h2, g2, u2) = (new float[rows * units], new float[rows * g3], new float[rows * g3]);
                    GruStep.Forward<float>(x, hp, weights, b, h2, rows, g2, u2);
                    var uh2 = Enumerable.Range(0, rows).SelectMany(r => u2.AsSpan(r * g3 + 2 * units, units).ToArray()).ToArray();
                    Assert.True(h1.AsSpan().SequenceEqual(h2) && gx.AsSpan().SequenceEqual(g2) && uh.AsSpan().SequenceEqual(uh2),
                        $"units {units} rows {rows} bias {withBias} bias row {biasRow}");
                    var h3 = new float[rows * units];
                    GruStep.Forward<float>(x, hp, weights, b, h3, rows);   // inference
                    Assert.Equal(h1, h3);
                }

        var pw = new RecurrentStepWeights<float>(3, 5, 3);
        var e = Assert.Throws<ArgumentException>(() => GruStep.Forward<float>(new float[6], new float[10], pw, new float[14], new float[10], 2));
        Assert.Equal("recurrentBias", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => GruStep.Forward<float>(new float[6], new float[10], pw, default, new float[10], 2, new float[30]));
        Assert.Equal("recurrent", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => GruStep.Forward<float>(new float[6], new float[10], new RecurrentStepWeights<float>(3, 5, 4), default, new float[10], 2));
        Assert.Contains("4 gates", e.Message);
        e = Assert.Throws<ArgumentException>(() => GruStep.Forward<float>(new float[6], new float[9], pw, default, new float[10], 2));
        Assert.Equal("hPrev", e.ParamName);
        Assert.Contains("[2, 5]", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RecurrentStepWeights<float>(3, 5, 2));
    }

    [Fact]
    public void GateKernels_Float_AccurateOverAWideRange_AndSaturateCleanly()
    {
        // Pre-activations from −120 to 120 (beyond the exp clamp), against double-precision math.
        int b = 2, units = 37, n = b * 4 * units;
        var z = new float[n];
        for (int i = 0; i < n; i++) z[i] = -120f + 240f * i / (n - 1);
        var cp = Enumerable.Range(0, b * units).Select(i => (float)Math.Sin(i)).ToArray();
        var (c, h) = (new float[b * units], new float[b * units]);
        var g = z.ToArray();
        LstmGates.Forward<float>(cp, g, c, h, b, units);
        for (int r = 0; r < b; r++)
            for (int k = 0; k < 4; k++)
                for (int j = 0; j < units; j++)
                {
                    int idx = r * 4 * units + k * units + j;
                    double v = z[idx], expected = k == 2 ? Math.Tanh(v) : 1 / (1 + Math.Exp(-v));
                    Assert.True(Math.Abs(g[idx] - expected) <= 2e-7 + 2e-7 * Math.Abs(expected), $"gate {k} at z={v}: {g[idx]} vs {expected}");
                    Assert.False(float.IsSubnormal(g[idx]), $"subnormal at z={v}");
                }
        // GRU: h = z⊙h_prev + (1 − z)⊙ĥ against double math.
        var x = Enumerable.Range(0, b * 3 * units).Select(i => -30f + 60f * i / (b * 3 * units)).ToArray();
        var u = Enumerable.Range(0, b * 3 * units).Select(i => (float)Math.Cos(i)).ToArray();
        var hp = cp;
        var hn = new float[b * units];
        var gx = x.ToArray();
        GruGates.Forward<float>(hp, u, gx, hn, b, units);
        for (int r = 0; r < b; r++)
            for (int j = 0; j < units; j++)
            {
                int o = r * 3 * units;
                double zz = 1 / (1 + Math.Exp(-(x[o + j] + u[o + j]))), rr = 1 / (1 + Math.Exp(-(x[o + units + j] + u[o + units + j])));
                double hh = Math.Tanh(x[o + 2 * units + j] + rr * u[o + 2 * units + j]);
                double expected = zz * hp[r * units + j] + (1 - zz) * hh;
                Assert.True(Math.Abs(hn[r * units + j] - expected) <= 1e-6, $"GRU h[{r},{j}]: {hn[r * units + j]} vs {expected}");
            }
    }

    [Fact]
    public void GateKernels_PropagateNaN_InEveryLane()
    {
        // A NaN pre-activation must reach h (so a diverging model is caught), in the vector body and the tail.
        foreach (int units in new[] { 16, 37 })
            for (int gate = 0; gate < 4; gate++)
            {
                int b = 2, lane = units - 1;
                var z = new float[b * 4 * units];
                z[gate * units + lane] = float.NaN;
                var (c, h) = (new float[b * units], new float[b * units]);
                LstmGates.Forward<float>(new float[b * units], z, c, h, b, units, keepGates: gate % 2 == 0);
                Assert.True(float.IsNaN(h[lane]), $"units {units}, gate {gate}: h = {h[lane]}");
                Assert.False(float.IsNaN(h[units + lane]), "the NaN leaked into another row");
                // Backward: a NaN cell state reaches dC and the gate gradients through the recomputed tanh(c).
                var g = Enumerable.Repeat(0.5f, b * 4 * units).ToArray();
                var cNaN = new float[b * units];
                cNaN[lane] = float.NaN;
                var dC = new float[b * units];
                var dZ = new float[b * 4 * units];
                LstmGates.Backward<float>(g, new float[b * units], cNaN, Enumerable.Repeat(1f, b * units).ToArray(), dC, dZ, b, units);
                Assert.True(float.IsNaN(dC[lane]) && float.IsNaN(dZ[3 * units + lane]), $"units {units}: backward lost the NaN");
            }
        // GRU: NaN in the recurrent part reaches h.
        var u = new float[3 * 16];
        u[2 * 16 + 5] = float.NaN;
        var hn = new float[16];
        GruGates.Forward<float>(new float[16], u, new float[3 * 16], hn, 1, 16);
        Assert.True(float.IsNaN(hn[5]));
    }

    [Fact]
    public void GateKernels_ThrowForShortSpans()
    {
        var ex = Assert.Throws<ArgumentException>(() => LstmGates.Forward<float>(new float[4], new float[15], new float[4], new float[4], 1, 4));
        Assert.Contains("gates", ex.Message);
        Assert.Throws<ArgumentException>(() => GruGates.Forward<float>(new float[4], new float[12], new float[12], new float[3], 1, 4));
    }
}
