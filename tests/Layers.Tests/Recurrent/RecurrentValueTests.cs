using Nn.Simd.Layers.Initializers;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers.Tests;

/// <summary>Forward values against hand-computed numbers and against the scalar reference.</summary>
public class RecurrentValueTests
{
    [Fact]
    public void SimpleRnn_ConstantWeights_MatchesHandComputed()
    {
        // One unit, one feature: h1 = tanh(0.5·1 + 0.1), h2 = tanh(0.5·2 + 0.25·h1 + 0.1).
        var layer = new SimpleRnn<double>(1, kernelInitializer: new Constant(0.5), recurrentInitializer: new Constant(0.25),
            biasInitializer: new Constant(0.1), returnSequences: true);
        var y = layer.Forward(Tensor<double>.FromArray([1.0, 2.0], 1, 2, 1), training: false);
        double h1 = Math.Tanh(0.6), h2 = Math.Tanh(1.1 + 0.25 * h1);
        Assert.Equal(new TensorShape(1, 2, 1), y.Shape);
        Assert.Equal(h1, y[0], 14);
        Assert.Equal(h2, y[1], 14);
    }

    [Fact]
    public void SimpleRnn_GoBackwards_ReadsTheSequenceReversed()
    {
        // go_backwards without return_sequences: the output is the step over x[0], processed last.
        var layer = new SimpleRnn<double>(1, kernelInitializer: new Constant(0.5), recurrentInitializer: new Constant(0.25),
            biasInitializer: new Constant(0.1), goBackwards: true);
        var y = layer.Forward(Tensor<double>.FromArray([1.0, 2.0], 1, 2, 1), training: false);
        double h1 = Math.Tanh(1.1), h2 = Math.Tanh(0.6 + 0.25 * h1);
        Assert.Equal(new TensorShape(1, 1), y.Shape);
        Assert.Equal(h2, y[0], 14);
    }

    [Fact]
    public void Lstm_ConstantWeights_MatchesHandComputed()
    {
        // Keras' test style: constant weights, one unit, one step, so every gate sees the same pre-activation
        // except the forget gate, whose unit bias adds 1 (irrelevant here because c_prev = 0).
        var layer = new Lstm<double>(1, kernelInitializer: new Constant(0.3), recurrentInitializer: new Constant(0.2));
        var y = layer.Forward(Tensor<double>.FromArray([2.0], 1, 1, 1), training: false);
        double z = 0.6, s = 1 / (1 + Math.Exp(-z));
        double c = s * Math.Tanh(z);
        Assert.Equal(s * Math.Tanh(c), y[0], 14);
        Assert.Equal([0.0, 1.0, 0.0, 0.0], layer.Bias!.Value.ToArray());
    }

    [Fact]
    public void Gru_ConstantWeights_MatchesHandComputed()
    {
        // Two steps, one unit: x·W = 0.3x, h·U = 0.2h, biases 0.1 (input) and 0.1 (recurrent).
        var layer = new Gru<double>(1, kernelInitializer: new Constant(0.3), recurrentInitializer: new Constant(0.2),
            biasInitializer: new Constant(0.1), returnSequences: true);
        var y = layer.Forward(Tensor<double>.FromArray([1.0, -1.0], 1, 2, 1), training: false);
        static double Sig(double v) => 1 / (1 + Math.Exp(-v));
        double h = 0;
        var expected = new double[2];
        double[] xs = [1.0, -1.0];
        for (int t = 0; t < 2; t++)
        {
            double xw = 0.3 * xs[t] + 0.1, hu = 0.2 * h + 0.1;
            double z = Sig(xw + hu), r = Sig(xw + hu), hh = Math.Tanh(xw + r * hu);
            h = z * h + (1 - z) * hh;
            expected[t] = h;
        }
        Assert.Equal(expected[0], y[0], 14);
        Assert.Equal(expected[1], y[1], 14);
    }

    public static TheoryData<string, bool, bool, bool> Cases()
    {
        var d = new TheoryData<string, bool, bool, bool>();
        foreach (var kind in new[] { "simple_rnn", "lstm", "gru", "gru_v1" })
            foreach (bool seq in new[] { false, true })
                foreach (bool back in new[] { false, true })
                    d.Add(kind, seq, back, kind is "lstm" or "gru" && seq != back);
        return d;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Forward_MatchesScalarReference(string kind, bool seq, bool back, bool general)
    {
        // H = 19 covers a Vector256/512<double> body plus a scalar tail in the fused kernels.
        int b = 3, t = 7, f = 5, h = 19;
        var layer = RnnTestUtil.Make<double>(kind, h, seq, back, returnState: true);
        if (layer is Lstm<double> l) l.ForceGeneralGates = general;
        if (layer is Gru<double> g) g.ForceGeneralGates = general;
        var x = Tensor<double>.RandomNormal(new TensorShape(b, t, f), seed: 3);
        layer.Build(x.Shape, seed: 4);
        RnnTestUtil.Randomize(layer, seed: 5);
        var y = layer.Forward(x, training: false);
        var (w, u, bias) = RnnTestUtil.Weights(layer);
        var expected = ScalarRnn.Run(kind, x.ToArray(), b, t, f, h, w, u, bias, back, seq);
        RnnTestUtil.AssertClose(expected.Output, y.ToArray(), 1e-12, 1e-13, "output");
        RnnTestUtil.AssertClose(expected.FinalH, layer.FinalH.ToArray(), 1e-12, 1e-13, "final h");
        if (kind == "lstm") RnnTestUtil.AssertClose(expected.FinalC, layer.FinalC.ToArray(), 1e-12, 1e-13, "final c");
    }

    [Theory]
    [InlineData("simple_rnn")]
    [InlineData("lstm")]
    [InlineData("gru")]
    [InlineData("gru_v1")]
    public void Forward_WithInitialState_MatchesScalarReference(string kind)
    {
        int b = 2, t = 4, f = 3, h = 6;
        var layer = RnnTestUtil.Make<double>(kind, h, seq: true);
        var x = Tensor<double>.RandomNormal(new TensorShape(b, t, f), seed: 1);
        layer.Build(x.Shape, seed: 2);
        RnnTestUtil.Randomize(layer, seed: 3);
        var h0 = Tensor<double>.RandomNormal(new TensorShape(b, h), seed: 4);
        var c0 = Tensor<double>.RandomNormal(new TensorShape(b, h), seed: 5);
        layer.InitialH = h0;
        if (kind == "lstm") layer.InitialC = c0;
        var y = layer.Forward(x, training: false);
        var (w, u, bias) = RnnTestUtil.Weights(layer);
        var expected = ScalarRnn.Run(kind, x.ToArray(), b, t, f, h, w, u, bias, false, true, h0.ToArray(), kind == "lstm" ? c0.ToArray() : null);
        RnnTestUtil.AssertClose(expected.Output, y.ToArray(), 1e-12, 1e-13, "output");
    }

    [Theory]
    [InlineData("lstm", "sigmoid")]
    [InlineData("gru", "gelu")]
    [InlineData("gru_v1", "gelu")]
    [InlineData("simple_rnn", "relu")]
    public void Forward_OtherActivation_MatchesScalarReference(string kind, string activation)
    {
        int b = 2, t = 5, f = 3, h = 4;
        var layer = RnnTestUtil.Make<double>(kind, h, seq: true, activation: activation);
        var x = Tensor<double>.RandomNormal(new TensorShape(b, t, f), seed: 1);
        layer.Build(x.Shape, seed: 2);
        RnnTestUtil.Randomize(layer, seed: 3);
        var y = layer.Forward(x, training: false);
        var (w, u, bias) = RnnTestUtil.Weights(layer);
        var act = layer.Activation;
        Func<double, double> f1 = v => { Span<double> o = stackalloc double[1]; act.Forward([v], o, 1); return o[0]; };
        var expected = ScalarRnn.Run(kind, x.ToArray(), b, t, f, h, w, u, bias, false, true, act: f1);
        RnnTestUtil.AssertClose(expected.Output, y.ToArray(), 1e-12, 1e-13, "output");
    }

    [Theory]
    [InlineData("simple_rnn")]
    [InlineData("lstm")]
    [InlineData("gru")]
    [InlineData("gru_v1")]
    public void FloatAndDouble_Agree(string kind)
    {
        // H = 37: Vector512<float> (16) and Vector256 bodies plus a tail on the float path.
        int b = 4, t = 9, f = 6, h = 37;
        var ld = RnnTestUtil.Make<double>(kind, h, seq: true);
        var lf = RnnTestUtil.Make<float>(kind, h, seq: true);
        var xd = Tensor<double>.RandomNormal(new TensorShape(b, t, f), seed: 8);
        ld.Build(xd.Shape, 1);
        lf.Build(xd.Shape, 1);
        RnnTestUtil.Randomize(ld, seed: 9);
        RnnTestUtil.CopyParameters(ld, lf);
        var dy = Tensor<double>.RandomNormal(new TensorShape(b, t, h), seed: 10);
        var yd = ld.Forward(xd, true).ToArray();
        var dxd = ld.Backward(dy).ToArray();
        var yf = lf.Forward(xd.Cast<float>(), true).ToArray().Select(v => (double)v).ToArray();
        var dxf = lf.Backward(dy.Cast<float>()).ToArray().Select(v => (double)v).ToArray();
        RnnTestUtil.AssertClose(yd, yf, 1e-4, 1e-5, "output");
        RnnTestUtil.AssertClose(dxd, dxf, 1e-3, 1e-4, "dx");
        for (int i = 0; i < ld.Parameters.Count; i++)
            RnnTestUtil.AssertClose(ld.Parameters[i].Grad.ToArray(), lf.Parameters[i].Grad.ToArray().Select(v => (double)v).ToArray(),
                1e-3, 1e-3, ld.Parameters[i].Name);
    }

    [Theory]
    [InlineData("lstm")]
    [InlineData("gru")]
    public void FusedAndGeneralPaths_Agree_ForwardAndBackward(string kind)
    {
        int b = 3, t = 6, f = 4, h = 21;
        var fused = RnnTestUtil.Make<double>(kind, h, seq: true);
        var general = RnnTestUtil.Make<double>(kind, h, seq: true);
        if (general is Lstm<double> l) l.ForceGeneralGates = true;
        if (general is Gru<double> g) g.ForceGeneralGates = true;
        var x = Tensor<double>.RandomNormal(new TensorShape(b, t, f), seed: 1);
        fused.Build(x.Shape, 1); general.Build(x.Shape, 1);
        RnnTestUtil.Randomize(fused, 2); RnnTestUtil.CopyParameters(fused, general);
        var dy = Tensor<double>.RandomNormal(new TensorShape(b, t, h), seed: 3);
        RnnTestUtil.AssertClose(fused.Forward(x, true).ToArray(), general.Forward(x, true).ToArray(), 1e-12, 1e-13, "output");
        RnnTestUtil.AssertClose(fused.Backward(dy).ToArray(), general.Backward(dy).ToArray(), 1e-11, 1e-12, "dx");
        for (int i = 0; i < fused.Parameters.Count; i++)
            RnnTestUtil.AssertClose(fused.Parameters[i].Grad.ToArray(), general.Parameters[i].Grad.ToArray(), 1e-11, 1e-12, fused.Parameters[i].Name);
    }

    [Theory]
    [InlineData("simple_rnn")]
    [InlineData("lstm")]
    [InlineData("gru")]
    [InlineData("gru_v1")]
    public void Stateful_TwoCalls_EqualOneCallOverTheWholeSequence(string kind)
    {
        int b = 3, t = 5, f = 2, h = 4;
        var whole = RnnTestUtil.Make<double>(kind, h, seq: true);
        var stateful = RnnTestUtil.Make<double>(kind, h, seq: true, stateful: true);
        var x = Tensor<double>.RandomNormal(new TensorShape(b, 2 * t, f), seed: 1);
        whole.Build(x.Shape, 1); stateful.Build(x.Shape, 1);
        RnnTestUtil.Randomize(whole, 2); RnnTestUtil.CopyParameters(whole, stateful);
        var y = whole.Forward(x, false).ToArray();
        var (x1, x2) = (new Tensor<double>(b, t, f), new Tensor<double>(b, t, f));
        for (int r = 0; r < b; r++)
        {
            x.ReadOnlySpan.Slice(r * 2 * t * f, t * f).CopyTo(x1.Span.Slice(r * t * f));
            x.ReadOnlySpan.Slice(r * 2 * t * f + t * f, t * f).CopyTo(x2.Span.Slice(r * t * f));
        }
        var y1 = stateful.Forward(x1, false).ToArray();
        var y2 = stateful.Forward(x2, false).ToArray();
        for (int r = 0; r < b; r++)
            for (int i = 0; i < t * h; i++)
            {
                Assert.Equal(y[r * 2 * t * h + i], y1[r * t * h + i], 12);
                Assert.Equal(y[r * 2 * t * h + t * h + i], y2[r * t * h + i], 12);
            }
        // After ResetState the layer starts from zeros again: the first call repeats.
        stateful.ResetState();
        Assert.Equal(y1, stateful.Forward(x1, false).ToArray());
    }

    [Fact]
    public void ReturnSequences_FeedsDenseOverTime()
    {
        var lstm = new Lstm<double>(4, returnSequences: true);
        var dense = new Dense<double>(2);
        var x = Tensor<double>.RandomNormal(new TensorShape(3, 5, 2), seed: 1);
        var y = dense.Forward(lstm.Forward(x, false), false);
        Assert.Equal(new TensorShape(3, 5, 2), y.Shape);
    }
}
