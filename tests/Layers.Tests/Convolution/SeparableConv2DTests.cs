using Nn.Simd.Tensors;
using Nn.Simd.Training;

namespace Nn.Simd.Layers.Tests;

/// <summary>SeparableConv2D against a float64 depthwise-then-pointwise loop, finite differences, the two layers it is made
/// of, its input-gradient switch, its allocations and its argument checks.</summary>
[Collection(nameof(RecurrentGlobalSettings))]
public class SeparableConv2DTests
{
    /// <summary>y[n, oy, ox, f] = b[f] + Σ_q d[n, oy, ox, q]·Kp[0, 0, q, f], d the depthwise output without bias (see
    /// <see cref="DepthwiseConv2DTests.DirectDepthwise"/>), before the activation.</summary>
    private static double[] DirectSeparable(double[] x, int b, int h, int w, int c, double[] kd, int kh, int kw, int m, double[] kp,
        int f, double[]? bias, int sh, int sw, int ho, int wo, int pt, int pl, int dh, int dw)
    {
        var d = DepthwiseConv2DTests.DirectDepthwise(x, b, h, w, c, kd, kh, kw, m, null, sh, sw, ho, wo, pt, pl, dh, dw);
        int cm = c * m, rows = b * ho * wo;
        var z = new double[rows * f];
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < f; o++)
            {
                double s = bias?[o] ?? 0;
                for (int q = 0; q < cm; q++) s += d[r * cm + q] * kp[q * f + o];
                z[r * f + o] = s;
            }
        return z;
    }

    [Theory]
    [InlineData(7, 6, 3, 3, 1, 1, "valid", 1, 1, 4)]
    [InlineData(7, 6, 3, 3, 1, 1, "same", 2, 1, 3)]
    [InlineData(8, 9, 3, 2, 2, 2, "same", 2, 1, 5)]
    [InlineData(9, 7, 4, 3, 2, 3, "valid", 3, 1, 2)]
    [InlineData(9, 9, 3, 3, 1, 1, "same", 1, 2, 4)]
    public void Forward_MatchesDirectLoops_AndBackwardMatchesFiniteDifferences(int h, int w, int kh, int kw, int sh, int sw, string padding,
        int m, int d, int f)
    {
        int b = 2, c = 3;
        var layer = new SeparableConv2D<double>(f, (kh, kw), (sh, sw), padding, m, (d, d), "tanh");
        var x = Tensor<double>.RandomNormal(new TensorShape(b, h, w, c), seed: h * 10 + w + m);
        layer.Build(x.Shape, 1);
        RnnTestUtil.Randomize(layer, 2);
        Assert.Equal(["depthwise_kernel", "pointwise_kernel", "bias"], layer.Parameters.Select(p => p.Name));
        Assert.Equal(new TensorShape(kh, kw, c, m), layer.DepthwiseKernel.Value.Shape);
        Assert.Equal(new TensorShape(1, 1, c * m, f), layer.PointwiseKernel.Value.Shape);
        Assert.Equal(new TensorShape(f), layer.Bias!.Value.Shape);
        var y = layer.Forward(x, training: true);
        int spanH = (kh - 1) * d + 1, spanW = (kw - 1) * d + 1;
        int ho = padding == "same" ? (h + sh - 1) / sh : (h - spanH) / sh + 1, wo = padding == "same" ? (w + sw - 1) / sw : (w - spanW) / sw + 1;
        Assert.Equal(new TensorShape(b, ho, wo, f), y.Shape);
        int pt = padding == "same" ? Math.Max(0, (ho - 1) * sh + spanH - h) / 2 : 0, pl = padding == "same" ? Math.Max(0, (wo - 1) * sw + spanW - w) / 2 : 0;
        var z = DirectSeparable(x.ToArray(), b, h, w, c, layer.DepthwiseKernel.Value.ToArray(), kh, kw, m, layer.PointwiseKernel.Value.ToArray(),
            f, layer.Bias.Value.ToArray(), sh, sw, ho, wo, pt, pl, d, d);
        string what = $"{padding} {kh}x{kw} strides {sh},{sw} M {m} d {d} F {f}";
        RnnTestUtil.AssertClose(z.Select(Math.Tanh).ToArray(), y.ToArray(), 1e-12, 1e-12, what);
        var report = GradientCheck.Check(layer, x, new GradientCheck.Options(MaxElementsPerTensor: 60));
        Assert.True(report.Passed, $"{what}: {report}");
    }

    [Theory]
    [InlineData(null, true, 1)]
    [InlineData("relu", false, 2)]
    public void Backward_MatchesFiniteDifferences_WithAndWithoutBias(string? activation, bool useBias, int m)
    {
        var layer = new SeparableConv2D<double>(3, (2, 3), (1, 2), "same", m, activation: activation, useBias: useBias);
        var x = Tensor<double>.RandomNormal(new TensorShape(3, 4, 5, 2), seed: 8);
        layer.Build(x.Shape, 1);
        RnnTestUtil.Randomize(layer, 3);
        var report = GradientCheck.Check(layer, x, new GradientCheck.Options(MaxElementsPerTensor: 60));
        Assert.True(report.Passed, report.ToString());
        Assert.Equal(useBias ? 3 : 2, layer.Parameters.Count);
    }

    /// <summary>The layer is DepthwiseConv2D(useBias: false) followed by a 1×1 Conv2D given the same weights. The same
    /// kernels run on the same values in the same order (the depthwise loop, then GEMMs whose per-element sums do not depend
    /// on the row split or on packing), so the output, the input gradient and both kernel gradients are bitwise equal. The
    /// bias gradient is a column sum of the same dz, which Conv2D forms per sample and then over the samples, and this layer
    /// in one pass over all rows: equal to rounding.</summary>
    [Theory]
    [InlineData(1, "relu")]
    [InlineData(3, "tanh")]
    [InlineData(2, null)]
    public void EqualsDepthwiseThenPointwiseConv2D(int m, string? activation)
    {
        var x = Tensor<float>.RandomNormal(new TensorShape(4, 10, 9, 5), seed: 11);
        var sep = new SeparableConv2D<float>(7, (3, 3), (2, 1), "same", m, activation: activation);
        var dw = new DepthwiseConv2D<float>((3, 3), (2, 1), "same", m, useBias: false);
        var pw = new Conv2D<float>(7, (1, 1), activation: activation);
        sep.Build(x.Shape, 1);
        RnnTestUtil.Randomize(sep, 5);
        dw.Build(x.Shape, 2);
        pw.Build(dw.ComputeOutputShape(x.Shape), 3);
        sep.DepthwiseKernel.Value.CopyTo(dw.Kernel.Value);
        sep.PointwiseKernel.Value.CopyTo(pw.Kernel.Value);
        sep.Bias!.Value.CopyTo(pw.Bias!.Value);

        var y = sep.Forward(x, true);
        var yRef = pw.Forward(dw.Forward(x, true), true);
        Assert.Equal(yRef.ToArray(), y.ToArray());
        var dy = Tensor<float>.RandomNormal(y.Shape, seed: 12);
        var dx = sep.Backward(dy);
        var dxRef = dw.Backward(pw.Backward(dy));
        Assert.Equal(dxRef.ToArray(), dx.ToArray());
        Assert.Equal(dw.Kernel.Grad.ToArray(), sep.DepthwiseKernel.Grad.ToArray());
        Assert.Equal(pw.Kernel.Grad.ToArray(), sep.PointwiseKernel.Grad.ToArray());
        RnnTestUtil.AssertClose(pw.Bias.Grad.ToArray().Select(v => (double)v).ToArray(), sep.Bias.Grad.ToArray().Select(v => (double)v).ToArray(),
            1e-5, 1e-5, "dBias");
    }

    /// <summary>Without the input gradient (a model's first layer) Backward returns zeros but still forms every parameter
    /// gradient; with the depthwise kernel frozen as well, dd = dz·Kpᵀ is not needed and the pointwise gradients are still
    /// right.</summary>
    [Fact]
    public void WithoutInputGradient_ReturnsZeros_AndKeepsTheParameterGradients()
    {
        var x = Tensor<double>.RandomNormal(new TensorShape(2, 6, 7, 3), seed: 1);
        var full = new SeparableConv2D<double>(4, (3, 3), padding: "same", depthMultiplier: 2, activation: "tanh");
        var skip = new SeparableConv2D<double>(4, (3, 3), padding: "same", depthMultiplier: 2, activation: "tanh") { ComputeInputGradient = false };
        full.Build(x.Shape, 1);
        skip.Build(x.Shape, 1);
        Assert.Equal(full.Parameters.SelectMany(p => p.Value.ToArray()), skip.Parameters.SelectMany(p => p.Value.ToArray()));
        var dy = Tensor<double>.RandomNormal(full.ComputeOutputShape(x.Shape), seed: 2);
        full.Forward(x, true);
        var dxFull = full.Backward(dy);
        Assert.Contains(dxFull.ToArray(), v => v != 0);
        skip.Forward(x, true);
        var dx = skip.Backward(dy);
        Assert.Equal(x.Shape, dx.Shape);
        Assert.All(dx.ToArray(), v => Assert.Equal(0.0, v));
        for (int i = 0; i < 3; i++) Assert.Equal(full.Parameters[i].Grad.ToArray(), skip.Parameters[i].Grad.ToArray());

        foreach (var p in skip.Parameters) p.Grad.Clear();
        skip.DepthwiseKernel.Trainable = false;
        skip.Forward(x, true);
        Assert.All(skip.Backward(dy).ToArray(), v => Assert.Equal(0.0, v));
        Assert.All(skip.DepthwiseKernel.Grad.ToArray(), v => Assert.Equal(0.0, v));
        Assert.Equal(full.PointwiseKernel.Grad.ToArray(), skip.PointwiseKernel.Grad.ToArray());
        Assert.Equal(full.Bias!.Grad.ToArray(), skip.Bias!.Grad.ToArray());
    }

    [Fact]
    public void Trainable_FreezesAllThreeWeights_IncludingOnesBuiltLater()
    {
        var layer = new SeparableConv2D<float>(2, (3, 3)) { Trainable = false };
        layer.Build(new TensorShape(1, 5, 5, 3), 1);
        Assert.All(layer.Parameters, p => Assert.False(p.Trainable));
        layer.Trainable = true;
        Assert.All(layer.Parameters, p => Assert.True(p.Trainable));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void SteadyStateStep_AllocatesNothing(int m)
    {
        var layer = new SeparableConv2D<float>(6, (3, 3), (2, 2), "same", m, activation: "relu");
        var x = Tensor<float>.RandomNormal(new TensorShape(4, 9, 8, 5), seed: 1);
        var dy = Tensor<float>.RandomNormal(layer.ComputeOutputShape(x.Shape), seed: 2);
        SteadyState.AssertAllocatesNothing(() => { layer.Forward(x, true); layer.Backward(dy); });
    }

    [Fact]
    public void BadArguments_AreRejectedByName()
    {
        Assert.Equal("filters", Assert.Throws<ArgumentOutOfRangeException>(() => new SeparableConv2D<float>(0, (3, 3))).ParamName);
        Assert.Equal("depthMultiplier", Assert.Throws<ArgumentOutOfRangeException>(() => new SeparableConv2D<float>(2, (3, 3), depthMultiplier: 0)).ParamName);
        Assert.Equal("kernelSize", Assert.Throws<ArgumentOutOfRangeException>(() => new SeparableConv2D<float>(2, (0, 3))).ParamName);
        Assert.Equal("strides", Assert.Throws<ArgumentOutOfRangeException>(() => new SeparableConv2D<float>(2, (3, 3), (1, 0))).ParamName);
        Assert.Equal("dilationRate", Assert.Throws<ArgumentOutOfRangeException>(() => new SeparableConv2D<float>(2, (3, 3), dilationRate: (0, 1))).ParamName);
        Assert.Equal("padding", Assert.Throws<ArgumentException>(() => new SeparableConv2D<float>(2, (3, 3), padding: "causal")).ParamName);
        Assert.Contains("nope", Assert.Throws<ArgumentException>(() => new SeparableConv2D<float>(2, (3, 3), activation: "nope")).Message);
        var e = Assert.Throws<ArgumentException>(() => new SeparableConv2D<float>(2, (3, 3), (2, 2), dilationRate: (1, 2)));
        Assert.Equal("dilationRate", e.ParamName);
        Assert.Contains("(2, 2)", e.Message);
        var layer = new SeparableConv2D<float>(2, (3, 3)) { Name = "sep" };
        e = Assert.Throws<ArgumentException>(() => layer.Forward(new Tensor<float>(2, 5, 5), false));
        Assert.Contains("sep takes channels-last images [batch, height, width, channels]; got [2, 5, 5]", e.Message);
        e = Assert.Throws<ArgumentException>(() => new SeparableConv2D<float>(2, (5, 5)) { Name = "sep5" }.Forward(new Tensor<float>(1, 4, 6, 2), false));
        Assert.Contains("sep5: a 5×5 kernel with 'valid' padding leaves no output for [1, 4, 6, 2]", e.Message);
        layer.Forward(new Tensor<float>(1, 4, 4, 3), false);
        Assert.Contains("[1, 4, 4, 2]", Assert.Throws<ArgumentException>(() => layer.Forward(new Tensor<float>(1, 4, 4, 2), false)).Message);
        Assert.Throws<InvalidOperationException>(() => new SeparableConv2D<float>(2, (3, 3)).Backward(new Tensor<float>(1, 2, 2, 2)));
        // A constraint that does not fit the built depthwise kernel [3, 3, 3, 1] names the layer and the weight.
        e = Assert.Throws<ArgumentException>(() => layer.DepthwiseConstraint = new Constraints.MaxNorm(1, 5));
        Assert.Contains("sep.depthwise_kernel", e.Message);
    }

    [Fact]
    public void Config_HoldsKerasNames_WeightOptionsReachTheirWeights_AndTheFansFollowKeras()
    {
        var layer = new SeparableConv2D<float>(8, (3, 3), (2, 1), "same", 4, activation: "relu")
        {
            DepthwiseRegularizer = Regularizers.Regularizer.Ridge(0.01),
            PointwiseRegularizer = Regularizers.Regularizer.Lasso(0.02),
            DepthwiseConstraint = new Constraints.NonNeg(),
            PointwiseConstraint = new Constraints.MaxNorm(2, [0, 1, 2]),
        };
        var config = layer.GetConfig();
        Assert.Equal(("8", "3,3", "2,1", "same", "4", "1,1", "relu", "true"),
            (config["filters"], config["kernel_size"], config["strides"], config["padding"], config["depth_multiplier"], config["dilation_rate"],
             config["activation"], config["use_bias"]));
        Assert.Equal(("glorot_uniform", "glorot_uniform", "zeros"), (config["depthwise_initializer"], config["pointwise_initializer"], config["bias_initializer"]));
        Assert.True(config.ContainsKey("depthwise_regularizer") && config.ContainsKey("pointwise_regularizer")
            && config.ContainsKey("depthwise_constraint") && config.ContainsKey("pointwise_constraint"));
        Assert.False(config.ContainsKey("kernel_regularizer") || config.ContainsKey("bias_regularizer") || config.ContainsKey("bias_constraint"));
        Assert.Equal("separable_conv2d", layer.TypeName);
        layer.Build(new TensorShape(1, 6, 6, 2), 1);
        Assert.Equal(new TensorShape(1, 3, 6, 8), layer.ComputeOutputShape(new TensorShape(1, 6, 6, 2)));
        var (dk, pk) = (layer.DepthwiseKernel, layer.PointwiseKernel);
        Assert.Equal((0.01, 0.02), (dk.Regularizer!.L2, pk.Regularizer!.L1));
        Assert.IsType<Constraints.NonNeg>(dk.Constraint);
        Assert.IsType<Constraints.MaxNorm>(pk.Constraint);
        Assert.Null(layer.Bias!.Regularizer);
        // Keras' fans: depthwise [3, 3, 2, 4] → 18 in, 36 out; pointwise [1, 1, 8, 8] → 8 in, 8 out.
        foreach (var (p, limit) in new[] { (dk, Math.Sqrt(6.0 / 54)), (pk, Math.Sqrt(6.0 / 16)) })
        {
            Assert.All(p.Value.ToArray(), v => Assert.InRange(v, -limit, limit));
            Assert.Contains(p.Value.ToArray(), v => Math.Abs(v) > limit * 0.8);
        }
    }
}
