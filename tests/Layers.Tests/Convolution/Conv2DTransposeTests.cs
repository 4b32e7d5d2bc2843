using Nn.Simd.Tensors;
using Nn.Simd.Training;

namespace Nn.Simd.Layers.Tests;

/// <summary>Conv2DTranspose against a float64 scatter loop, Keras' output-size rules, the input gradient of Conv2D,
/// finite differences, and its argument checks.</summary>
public class Conv2DTransposeTests
{
    /// <summary>Keras' output size along one axis (<c>_get_output_shape_given_tf_padding</c>), written out again here.</summary>
    internal static int KerasOutputSize(int size, int k, int s, string padding, int? op, int d = 1)
    {
        int span = (k - 1) * d + 1;
        if (padding == "valid") return (size - 1) * s + span + (op ?? Math.Max(span, s) - span);
        return op is null ? size * s : (size - 1) * s + span % 2 + op.Value;
    }

    /// <summary>How many cells of the full scatter Keras' output skips at the start: (span − 1) − left_pad, with left_pad
    /// from Keras' JAX padding rule (<c>_convert_conv_transpose_padding_args_from_keras_to_jax</c>).</summary>
    internal static int KerasCropBefore(int k, int s, string padding, int? op, int d = 1)
    {
        int span = (k - 1) * d + 1;
        if (padding == "valid") return 0;
        int padLen = op is null ? s + span - 2 : span + span % 2 - 2 + op.Value;
        int left = Math.Min(padLen / 2 + padLen % 2, span - 1);
        return span - 1 - left;
    }

    /// <summary>y[n, oy, ox, f] = b[f] + Σ x[n, iy, ix, c]·K[i, j, f, c] over iy·sh + i·dh − pt = oy, ix·sw + j·dw − pl = ox:
    /// every input pixel scattered through the kernel, cells outside [0, ho) × [0, wo) dropped.</summary>
    internal static double[] DirectTranspose(double[] x, int b, int h, int w, int c, double[] k, int kh, int kw, int f, double[]? bias,
        int sh, int sw, int ho, int wo, int pt, int pl, int dh = 1, int dw = 1)
    {
        var y = new double[b * ho * wo * f];
        for (int n = 0; n < b; n++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++)
                    for (int o = 0; o < f; o++) y[((n * ho + oy) * wo + ox) * f + o] = bias?[o] ?? 0;
        for (int n = 0; n < b; n++)
            for (int iy = 0; iy < h; iy++)
                for (int ix = 0; ix < w; ix++)
                    for (int i = 0; i < kh; i++)
                        for (int j = 0; j < kw; j++)
                        {
                            int oy = iy * sh + i * dh - pt, ox = ix * sw + j * dw - pl;
                            if (oy < 0 || oy >= ho || ox < 0 || ox >= wo) continue;
                            for (int o = 0; o < f; o++)
                                for (int ch = 0; ch < c; ch++)
                                    y[((n * ho + oy) * wo + ox) * f + o] += x[((n * h + iy) * w + ix) * c + ch] * k[((i * kw + j) * f + o) * c + ch];
                        }
        return y;
    }

    // Strides 1–3, both paddings, with and without output padding, kernels shorter and longer than the stride, odd
    // and even, a dilated one.
    [Theory]
    [InlineData(4, 5, 3, 3, 1, 1, "valid", null, null, 1)]
    [InlineData(4, 5, 3, 3, 1, 1, "same", null, null, 1)]
    [InlineData(3, 4, 3, 3, 2, 2, "same", null, null, 1)]
    [InlineData(3, 4, 3, 3, 2, 2, "same", 1, 0, 1)]
    [InlineData(3, 4, 3, 3, 2, 2, "valid", 1, 0, 1)]
    [InlineData(3, 3, 2, 2, 2, 2, "valid", null, null, 1)]
    [InlineData(3, 3, 4, 4, 2, 2, "same", null, null, 1)]
    [InlineData(3, 4, 4, 3, 2, 3, "same", 1, 2, 1)]
    [InlineData(3, 3, 2, 3, 3, 3, "valid", null, null, 1)]
    [InlineData(3, 2, 5, 2, 3, 1, "same", 2, 0, 1)]
    [InlineData(2, 3, 1, 1, 3, 2, "valid", null, null, 1)]
    [InlineData(4, 4, 3, 2, 1, 1, "same", null, null, 2)]
    [InlineData(4, 4, 3, 3, 1, 1, "valid", null, null, 2)]
    public void Forward_MatchesDirectScatter_WithKerasOutputSizes(int h, int w, int kh, int kw, int sh, int sw, string padding, int? oph, int? opw, int d)
    {
        int b = 2, c = 3, f = 4;
        (int, int)? op = oph is null ? null : (oph.Value, opw!.Value);
        var layer = new Conv2DTranspose<double>(f, (kh, kw), (sh, sw), padding, op, activation: "tanh", dilationRate: (d, d));
        var x = Tensor<double>.RandomNormal(new TensorShape(b, h, w, c), seed: h * 10 + kh + sh);
        layer.Build(x.Shape, 1);
        RnnTestUtil.Randomize(layer, 2);
        Assert.Equal(new TensorShape(kh, kw, f, c), layer.Kernel.Value.Shape);
        var y = layer.Forward(x, training: true);
        int ho = KerasOutputSize(h, kh, sh, padding, oph, d), wo = KerasOutputSize(w, kw, sw, padding, opw, d);
        Assert.Equal(new TensorShape(b, ho, wo, f), y.Shape);
        Assert.Equal(y.Shape, layer.ComputeOutputShape(x.Shape));
        var z = DirectTranspose(x.ToArray(), b, h, w, c, layer.Kernel.Value.ToArray(), kh, kw, f, layer.Bias!.Value.ToArray(), sh, sw, ho, wo,
            KerasCropBefore(kh, sh, padding, oph, d), KerasCropBefore(kw, sw, padding, opw, d), d, d);
        string what = $"{padding} {kh}x{kw} strides {sh},{sw} op {op} d {d}";
        RnnTestUtil.AssertClose(z.Select(Math.Tanh).ToArray(), y.ToArray(), 1e-12, 1e-12, what);
        var report = GradientCheck.Check(layer, x, new GradientCheck.Options(MaxElementsPerTensor: 60));
        Assert.True(report.Passed, $"{what}: {report}");
    }

    /// <summary>Keras' output sizes, spelled out: (in − 1)·s + max(k, s) for 'valid', in·s for 'same', and with
    /// output_padding (in − 1)·s + k + op ('valid') or (in − 1)·s + k mod 2 + op ('same').</summary>
    [Theory]
    [InlineData(5, 3, 1, "valid", null, 7)]
    [InlineData(5, 3, 1, "same", null, 5)]
    [InlineData(5, 3, 2, "valid", null, 11)]
    [InlineData(5, 3, 2, "same", null, 10)]
    [InlineData(5, 3, 2, "same", 0, 9)]
    [InlineData(5, 3, 2, "same", 1, 10)]
    [InlineData(5, 3, 2, "valid", 1, 12)]
    [InlineData(5, 2, 3, "valid", null, 15)]
    [InlineData(5, 2, 3, "valid", 0, 14)]
    [InlineData(5, 2, 3, "valid", 2, 16)]
    [InlineData(5, 2, 3, "same", null, 15)]
    [InlineData(5, 2, 3, "same", 2, 14)]
    [InlineData(5, 4, 3, "same", 1, 13)]
    [InlineData(5, 1, 2, "same", 1, 10)]
    public void OutputShape_FollowsKeras(int size, int k, int s, string padding, int? op, int expected)
    {
        (int, int)? ops = op is null ? null : (op.Value, op.Value);
        var layer = new Conv2DTranspose<float>(2, (k, k), (s, s), padding, ops);
        Assert.Equal(new TensorShape(3, expected, expected, 2), layer.ComputeOutputShape(new TensorShape(3, size, size, 4)));
        Assert.Equal(expected, KerasOutputSize(size, k, s, padding, op));
    }

    /// <summary>TensorFlow defines the transposed convolution as the input gradient of a convolution: with the same kernel
    /// memory (Keras' [kh, kw, F, C] is that Conv2D's [kh, kw, in, out]), strides and padding, Conv2DTranspose(x) is
    /// Conv2D.Backward(x) for a Conv2D run on y's shape.</summary>
    [Theory]
    [InlineData(3, 3, 2, "same")]
    [InlineData(4, 4, 2, "same")]
    [InlineData(3, 2, 3, "valid")]
    [InlineData(5, 3, 1, "same")]
    [InlineData(2, 2, 2, "valid")]
    public void Forward_IsTheInputGradientOfConv2D(int kh, int kw, int s, string padding)
    {
        int b = 2, h = 4, w = 3, c = 3, f = 2;
        var t = new Conv2DTranspose<double>(f, (kh, kw), (s, s), padding, useBias: false);
        var x = Tensor<double>.RandomNormal(new TensorShape(b, h, w, c), seed: kh + s);
        var y = t.Forward(x, training: false).Clone();
        var conv = new Conv2D<double>(c, (kh, kw), (s, s), padding, useBias: false);
        conv.Build(y.Shape, 1);
        t.Kernel.Value.CopyTo(conv.Kernel.Value);
        var back = conv.Forward(new Tensor<double>(y.Shape), training: true);
        Assert.Equal(x.Shape, back.Shape);
        RnnTestUtil.AssertClose(conv.Backward(x).ToArray(), y.ToArray(), 1e-12, 1e-12, $"{padding} {kh}x{kw} stride {s}");
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("relu", true)]
    [InlineData("sigmoid", false)]
    public void Backward_MatchesFiniteDifferences_WithAndWithoutBias(string? activation, bool useBias)
    {
        var layer = new Conv2DTranspose<double>(3, (3, 2), (2, 1), "same", (1, 0), activation, useBias);
        var x = Tensor<double>.RandomNormal(new TensorShape(2, 3, 4, 2), seed: 7);
        layer.Build(x.Shape, 1);
        RnnTestUtil.Randomize(layer, 3);
        var report = GradientCheck.Check(layer, x, new GradientCheck.Options(MaxElementsPerTensor: 80));
        Assert.True(report.Passed, report.ToString());
        Assert.Equal(useBias ? 2 : 1, layer.Parameters.Count);
    }

    [Fact]
    public void ComputeInputGradientOff_ReturnsZeros_AndKeepsTheWeightGradients()
    {
        var x = Tensor<float>.RandomNormal(new TensorShape(2, 3, 3, 2), seed: 1);
        var on = new Conv2DTranspose<float>(3, (3, 3), (2, 2), "same", activation: "relu");
        var off = new Conv2DTranspose<float>(3, (3, 3), (2, 2), "same", activation: "relu") { ComputeInputGradient = false };
        on.Build(x.Shape, 4);
        off.Build(x.Shape, 4);
        var dy = Tensor<float>.RandomNormal(on.ComputeOutputShape(x.Shape), seed: 2);
        on.Forward(x, true);
        off.Forward(x, true);
        Assert.Contains(on.Backward(dy).ToArray(), v => v != 0);
        Assert.All(off.Backward(dy).ToArray(), v => Assert.Equal(0f, v));
        Assert.Equal(on.Kernel.Grad.ToArray(), off.Kernel.Grad.ToArray());
        Assert.Equal(on.Bias!.Grad.ToArray(), off.Bias!.Grad.ToArray());
    }

    [Fact]
    public void SteadyStateStep_AllocatesNothing()
    {
        var layer = new Conv2DTranspose<float>(4, (3, 3), (2, 2), "same", activation: "relu");
        var x = Tensor<float>.RandomNormal(new TensorShape(4, 6, 5, 3), seed: 1);
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
        // Keras: "`output_padding` must be < `strides`".
        var e = Assert.Throws<ArgumentException>(() => new Conv2DTranspose<float>(2, (3, 3), (2, 2), outputPadding: (2, 0)));
        Assert.Equal("outputPadding", e.ParamName);
        Assert.Contains("(2, 0)", e.Message);
        Assert.Contains("(2, 2)", e.Message);
        Assert.Equal("outputPadding", Assert.Throws<ArgumentException>(() => new Conv2DTranspose<float>(2, (3, 3), outputPadding: (1, 0))).ParamName);
        Assert.Equal((0, 0), new Conv2DTranspose<float>(2, (3, 3), outputPadding: (0, 0)).OutputPadding);
        Assert.Equal("outputPadding", Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2DTranspose<float>(2, (3, 3), (2, 2), outputPadding: (-1, 0))).ParamName);
        Assert.Equal("dilationRate", Assert.Throws<ArgumentException>(() => new Conv2DTranspose<float>(2, (3, 3), (2, 1), dilationRate: (1, 2))).ParamName);
        Assert.Equal("padding", Assert.Throws<ArgumentException>(() => new Conv2DTranspose<float>(2, (3, 3), padding: "causal")).ParamName);
        Assert.Equal("kernelSize", Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2DTranspose<float>(2, (0, 3))).ParamName);
        Assert.Equal("strides", Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2DTranspose<float>(2, (3, 3), (1, 0))).ParamName);
        Assert.Equal("filters", Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2DTranspose<float>(0, (3, 3))).ParamName);
        e = Assert.Throws<ArgumentException>(() => new Conv2DTranspose<float>(2, (3, 3)).Forward(new Tensor<float>(1, 5, 5), false));
        Assert.Contains("[batch, height, width, channels]", e.Message);
        Assert.Contains("[1, 5, 5]", e.Message);
        // An even kernel at stride 2 with 'same' and output padding 0 gives (1 − 1)·2 + 0 + 0 = 0 rows for one input row.
        e = Assert.Throws<ArgumentException>(() => new Conv2DTranspose<float>(2, (2, 2), (2, 2), "same", (0, 0)).ComputeOutputShape(new TensorShape(1, 1, 3, 1)));
        Assert.Contains("leaves no output", e.Message);
        var built = new Conv2DTranspose<float>(2, (3, 3));
        built.Forward(new Tensor<float>(1, 4, 4, 3), false);
        e = Assert.Throws<ArgumentException>(() => built.Forward(new Tensor<float>(1, 4, 4, 2), false));
        Assert.Contains("[1, 4, 4, 2]", e.Message);
        Assert.Throws<InvalidOperationException>(() => new Conv2DTranspose<float>(2, (3, 3)).Backward(new Tensor<float>(1, 4, 4, 2)));
    }

    [Fact]
    public void Config_HoldsKerasNames_AndTheKernelFansFollowKeras()
    {
        var layer = new Conv2DTranspose<float>(8, (3, 3), (2, 2), "same", (1, 1), "relu");
        var config = layer.GetConfig();
        Assert.Equal(("3,3", "2,2", "same", "1,1", "relu"), (config["kernel_size"], config["strides"], config["padding"], config["output_padding"], config["activation"]));
        Assert.False(new Conv2DTranspose<float>(8, (3, 3)).GetConfig().ContainsKey("output_padding"));
        Assert.Equal("conv2d_transpose", layer.TypeName);
        layer.Build(new TensorShape(1, 4, 4, 2), 1);
        // Keras' fans for the kernel [3, 3, 8, 2]: 3·3·8 in, 3·3·2 out, so Glorot-uniform bounds √(6/90).
        double limit = Math.Sqrt(6.0 / 90);
        Assert.All(layer.Kernel.Value.ToArray(), v => Assert.InRange(v, -limit, limit));
        Assert.Contains(layer.Kernel.Value.ToArray(), v => Math.Abs(v) > limit * 0.9);
    }
}
