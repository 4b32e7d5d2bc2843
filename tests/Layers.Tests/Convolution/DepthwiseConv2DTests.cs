using Nn.Simd.Tensors;
using Nn.Simd.Training;

namespace Nn.Simd.Layers.Tests;

/// <summary>DepthwiseConv2D against a float64 per-channel loop, finite differences, thread counts and its argument checks.</summary>
[Collection(nameof(RecurrentGlobalSettings))]
public class DepthwiseConv2DTests
{
    /// <summary>y[n, oy, ox, c·M + m] = b[c·M + m] + Σ_{i, j} x[n, oy·sh + i·dh − pt, ox·sw + j·dw − pl, c]·K[i, j, c, m] over
    /// cells inside the image.</summary>
    internal static double[] DirectDepthwise(double[] x, int b, int h, int w, int c, double[] k, int kh, int kw, int m, double[]? bias,
        int sh, int sw, int ho, int wo, int pt, int pl, int dh = 1, int dw = 1)
    {
        var y = new double[b * ho * wo * c * m];
        for (int n = 0; n < b; n++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++)
                    for (int ch = 0; ch < c; ch++)
                        for (int q = 0; q < m; q++)
                        {
                            double s = bias?[ch * m + q] ?? 0;
                            for (int i = 0; i < kh; i++)
                                for (int j = 0; j < kw; j++)
                                {
                                    int iy = oy * sh + i * dh - pt, ix = ox * sw + j * dw - pl;
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                    s += x[((n * h + iy) * w + ix) * c + ch] * k[((i * kw + j) * c + ch) * m + q];
                                }
                            y[(((n * ho + oy) * wo + ox) * c + ch) * m + q] = s;
                        }
        return y;
    }

    [Theory]
    [InlineData(7, 6, 3, 3, 1, 1, "valid", 1, 1)]
    [InlineData(7, 6, 3, 3, 1, 1, "same", 1, 1)]
    [InlineData(8, 9, 3, 2, 2, 2, "same", 2, 1)]
    [InlineData(9, 7, 4, 3, 2, 3, "valid", 3, 1)]
    [InlineData(6, 8, 2, 2, 1, 1, "same", 1, 1)]
    [InlineData(9, 9, 3, 3, 1, 1, "same", 2, 2)]
    [InlineData(9, 8, 2, 3, 1, 1, "valid", 1, 3)]
    public void Forward_MatchesDirectLoops_AndBackwardMatchesFiniteDifferences(int h, int w, int kh, int kw, int sh, int sw, string padding, int m, int d)
    {
        int b = 2, c = 5;
        var layer = new DepthwiseConv2D<double>((kh, kw), (sh, sw), padding, m, "tanh", dilationRate: (d, d));
        var x = Tensor<double>.RandomNormal(new TensorShape(b, h, w, c), seed: h * 10 + w + m);
        layer.Build(x.Shape, 1);
        RnnTestUtil.Randomize(layer, 2);
        Assert.Equal(new TensorShape(kh, kw, c, m), layer.Kernel.Value.Shape);
        Assert.Equal(new TensorShape(c * m), layer.Bias!.Value.Shape);
        var y = layer.Forward(x, training: true);
        int spanH = (kh - 1) * d + 1, spanW = (kw - 1) * d + 1;
        int ho = padding == "same" ? (h + sh - 1) / sh : (h - spanH) / sh + 1, wo = padding == "same" ? (w + sw - 1) / sw : (w - spanW) / sw + 1;
        Assert.Equal(new TensorShape(b, ho, wo, c * m), y.Shape);
        int pt = padding == "same" ? Math.Max(0, (ho - 1) * sh + spanH - h) / 2 : 0, pl = padding == "same" ? Math.Max(0, (wo - 1) * sw + spanW - w) / 2 : 0;
        var z = DirectDepthwise(x.ToArray(), b, h, w, c, layer.Kernel.Value.ToArray(), kh, kw, m, layer.Bias.Value.ToArray(), sh, sw, ho, wo, pt, pl, d, d);
        string what = $"{padding} {kh}x{kw} strides {sh},{sw} M {m} d {d}";
        RnnTestUtil.AssertClose(z.Select(Math.Tanh).ToArray(), y.ToArray(), 1e-12, 1e-12, what);
        var report = GradientCheck.Check(layer, x, new GradientCheck.Options(MaxElementsPerTensor: 80));
        Assert.True(report.Passed, $"{what}: {report}");
    }

    /// <summary>With M = 1 and one channel, the depthwise convolution is a Conv2D with one filter; with C channels it is C
    /// of them side by side.</summary>
    [Fact]
    public void EachChannel_IsItsOwnSingleChannelConv2D()
    {
        var x = Tensor<double>.RandomNormal(new TensorShape(2, 6, 5, 3), seed: 3);
        var dw = new DepthwiseConv2D<double>((3, 2), (2, 1), "same", useBias: false);
        var y = dw.Forward(x, false);
        for (int ch = 0; ch < 3; ch++)
        {
            var conv = new Conv2D<double>(1, (3, 2), (2, 1), "same", useBias: false);
            var xc = new Tensor<double>(2, 6, 5, 1);
            for (int i = 0; i < xc.Length; i++) xc[i] = x[i * 3 + ch];
            conv.Build(xc.Shape, 1);
            for (int t = 0; t < 6; t++) conv.Kernel.Value[t] = dw.Kernel.Value[t * 3 + ch];
            var yc = conv.Forward(xc, false);
            for (int i = 0; i < yc.Length; i++) Assert.Equal(yc[i], y[i * 3 + ch], 1e-12);
        }
    }

    [Theory]
    [InlineData(null, true, 1)]
    [InlineData("relu", false, 2)]
    public void Backward_MatchesFiniteDifferences_WithAndWithoutBias(string? activation, bool useBias, int m)
    {
        var layer = new DepthwiseConv2D<double>((2, 3), (1, 2), "same", m, activation, useBias);
        var x = Tensor<double>.RandomNormal(new TensorShape(3, 4, 5, 2), seed: 8);
        layer.Build(x.Shape, 1);
        RnnTestUtil.Randomize(layer, 3);
        var report = GradientCheck.Check(layer, x, new GradientCheck.Options(MaxElementsPerTensor: 80));
        Assert.True(report.Passed, report.ToString());
        Assert.Equal(useBias ? 2 : 1, layer.Parameters.Count);
    }

    [Fact]
    public void ThreadCount_GivesBitwiseIdenticalOutputsAndGradients()
    {
        var x = Tensor<float>.RandomNormal(new TensorShape(8, 12, 11, 6), seed: 1);
        float[]? first = null;
        int saved = Parallelism.MaxDegree;
        try
        {
            foreach (int threads in new[] { 1, 2, 3 })
            {
                Parallelism.MaxDegree = threads;
                var layer = new DepthwiseConv2D<float>((3, 3), padding: "same", depthMultiplier: 2, activation: "relu");
                layer.Build(x.Shape, 1);
                var y = layer.Forward(x, true);
                var dx = layer.Backward(Tensor<float>.RandomNormal(y.Shape, seed: 2));
                float[] all = [.. y.ToArray(), .. dx.ToArray(), .. layer.Kernel.Grad.ToArray(), .. layer.Bias!.Grad.ToArray()];
                first ??= all;
                Assert.Equal(first, all);
            }
        }
        finally
        {
            Parallelism.MaxDegree = saved;
        }
    }

    /// <summary>The workspaces carry nothing from one step to the next: a step after another gives the gradients a fresh
    /// layer gives.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void SecondStep_GivesAFreshLayersGradients(int m)
    {
        var x1 = Tensor<float>.RandomNormal(new TensorShape(3, 6, 5, 4), seed: 1);
        var x2 = Tensor<float>.RandomNormal(new TensorShape(3, 6, 5, 4), seed: 2);
        var used = new DepthwiseConv2D<float>((3, 3), padding: "same", depthMultiplier: m, activation: "tanh");
        var fresh = new DepthwiseConv2D<float>((3, 3), padding: "same", depthMultiplier: m, activation: "tanh");
        used.Build(x1.Shape, 1);
        fresh.Build(x1.Shape, 1);
        var dy1 = Tensor<float>.RandomNormal(used.ComputeOutputShape(x1.Shape), seed: 3);
        var dy2 = Tensor<float>.RandomNormal(used.ComputeOutputShape(x1.Shape), seed: 4);
        used.Forward(x1, true);
        used.Backward(dy1);
        foreach (var p in used.Parameters) p.Grad.Clear();
        used.Forward(x2, true);
        var dx = used.Backward(dy2).ToArray();
        fresh.Forward(x2, true);
        Assert.Equal(fresh.Backward(dy2).ToArray(), dx);
        Assert.Equal(fresh.Kernel.Grad.ToArray(), used.Kernel.Grad.ToArray());
        Assert.Equal(fresh.Bias!.Grad.ToArray(), used.Bias!.Grad.ToArray());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void SteadyStateStep_AllocatesNothing(int m)
    {
        var layer = new DepthwiseConv2D<float>((3, 3), (2, 2), "same", m, "relu");
        var x = Tensor<float>.RandomNormal(new TensorShape(4, 9, 8, 5), seed: 1);
        var dy = Tensor<float>.RandomNormal(layer.ComputeOutputShape(x.Shape), seed: 2);
        // Workspaces and packed kernels are created in the first passes; keep going for half a second so that the JIT's
        // tier-up (which runs on whichever thread reaches a call count or loop patchpoint) is over before the measured
        // pass, as the recurrent layers' test does.
        var warm = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < 3 || warm.ElapsedMilliseconds < 500; i++) { layer.Forward(x, true); layer.Backward(dy); }
        long before = GC.GetAllocatedBytesForCurrentThread();
        layer.Forward(x, true);
        layer.Backward(dy);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void BadArguments_AreRejectedByName()
    {
        Assert.Equal("depthMultiplier", Assert.Throws<ArgumentOutOfRangeException>(() => new DepthwiseConv2D<float>((3, 3), depthMultiplier: 0)).ParamName);
        Assert.Equal("kernelSize", Assert.Throws<ArgumentOutOfRangeException>(() => new DepthwiseConv2D<float>((3, 0))).ParamName);
        Assert.Equal("strides", Assert.Throws<ArgumentOutOfRangeException>(() => new DepthwiseConv2D<float>((3, 3), (0, 1))).ParamName);
        Assert.Equal("padding", Assert.Throws<ArgumentException>(() => new DepthwiseConv2D<float>((3, 3), padding: "causal")).ParamName);
        var e = Assert.Throws<ArgumentException>(() => new DepthwiseConv2D<float>((3, 3), (2, 2), dilationRate: (2, 1)));
        Assert.Equal("dilationRate", e.ParamName);
        Assert.Contains("(2, 2)", e.Message);
        e = Assert.Throws<ArgumentException>(() => new DepthwiseConv2D<float>((3, 3)).Forward(new Tensor<float>(2, 5, 5), false));
        Assert.Contains("[batch, height, width, channels]", e.Message);
        Assert.Contains("[2, 5, 5]", e.Message);
        e = Assert.Throws<ArgumentException>(() => new DepthwiseConv2D<float>((5, 5)).Forward(new Tensor<float>(1, 4, 6, 2), false));
        Assert.Contains("leaves no output for [1, 4, 6, 2]", e.Message);
        var built = new DepthwiseConv2D<float>((3, 3));
        built.Forward(new Tensor<float>(1, 4, 4, 3), false);
        Assert.Contains("[1, 4, 4, 2]", Assert.Throws<ArgumentException>(() => built.Forward(new Tensor<float>(1, 4, 4, 2), false)).Message);
        Assert.Throws<InvalidOperationException>(() => new DepthwiseConv2D<float>((3, 3)).Backward(new Tensor<float>(1, 4, 4, 2)));
    }

    [Fact]
    public void Config_HoldsKerasNames_AndTheKernelFansFollowKeras()
    {
        var layer = new DepthwiseConv2D<float>((3, 3), (2, 1), "same", 4, "relu")
        { DepthwiseRegularizer = Regularizers.Regularizer.Ridge(0.01), DepthwiseConstraint = new Constraints.NonNeg() };
        var config = layer.GetConfig();
        Assert.Equal(("3,3", "2,1", "same", "4", "relu", "glorot_uniform"),
            (config["kernel_size"], config["strides"], config["padding"], config["depth_multiplier"], config["activation"], config["depthwise_initializer"]));
        Assert.True(config.ContainsKey("depthwise_regularizer") && config.ContainsKey("depthwise_constraint"));
        Assert.False(config.ContainsKey("kernel_regularizer"));
        Assert.Equal("depthwise_conv2d", layer.TypeName);
        layer.Build(new TensorShape(1, 6, 6, 2), 1);
        Assert.Equal(new TensorShape(1, 3, 6, 8), layer.ComputeOutputShape(new TensorShape(1, 6, 6, 2)));
        // Keras' fans for the kernel [3, 3, 2, 4]: 3·3·2 in, 3·3·4 out, so Glorot-uniform bounds √(6/54).
        double limit = Math.Sqrt(6.0 / 54);
        Assert.All(layer.Kernel.Value.ToArray(), v => Assert.InRange(v, -limit, limit));
        Assert.Contains(layer.Kernel.Value.ToArray(), v => Math.Abs(v) > limit * 0.9);
    }
}
