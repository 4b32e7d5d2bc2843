using FsCheck;
using FsCheck.Xunit;
using Nn.Simd.Tensors;
using Nn.Simd.Training;

namespace Nn.Simd.Layers.Tests;

/// <summary>Conv2D and MaxPooling2D against direct loops in float64 and finite differences.</summary>
public class ConvolutionTests
{
    /// <summary>y[n, oy, ox, f] = b[f] + Σ x[n, oy·sh + i·dh − pt, ox·sw + j·dw − pl, c]·K[i, j, c, f] over cells inside the image.</summary>
    internal static double[] DirectConv(double[] x, int b, int h, int w, int c, double[] k, int kh, int kw, int f, double[] bias,
        int sh, int sw, int ho, int wo, int pt, int pl, int dw = 1, int dh = 1)
    {
        var y = new double[b * ho * wo * f];
        for (int n = 0; n < b; n++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++)
                    for (int o = 0; o < f; o++)
                    {
                        double s = bias[o];
                        for (int i = 0; i < kh; i++)
                            for (int j = 0; j < kw; j++)
                            {
                                int iy = oy * sh + i * dh - pt, ix = ox * sw + j * dw - pl;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                for (int ch = 0; ch < c; ch++)
                                    s += x[((n * h + iy) * w + ix) * c + ch] * k[((i * kw + j) * c + ch) * f + o];
                            }
                        y[((n * ho + oy) * wo + ox) * f + o] = s;
                    }
        return y;
    }

    [Theory]
    [InlineData(7, 6, 3, 3, 1, 1, "valid")]
    [InlineData(7, 6, 3, 3, 1, 1, "same")]
    [InlineData(8, 9, 3, 2, 2, 2, "same")]
    [InlineData(9, 7, 4, 3, 2, 3, "valid")]
    [InlineData(5, 5, 2, 2, 1, 1, "same")]
    [InlineData(6, 8, 5, 5, 3, 2, "same")]
    public void Forward_MatchesDirectConvolution(int h, int w, int kh, int kw, int sh, int sw, string padding)
    {
        int b = 2, c = 3, f = 4;
        var layer = new Conv2D<double>(f, (kh, kw), (sh, sw), padding);
        var x = Tensor<double>.RandomNormal(new TensorShape(b, h, w, c), seed: h * 10 + w);
        layer.Build(x.Shape, 1);
        RnnTestUtil.Randomize(layer, 2);
        var y = layer.Forward(x, training: false);
        int ho = y.Shape[1], wo = y.Shape[2];
        int pt = 0, pl = 0;
        if (padding == "same")
        {
            Assert.Equal((h + sh - 1) / sh, ho);
            Assert.Equal((w + sw - 1) / sw, wo);
            pt = Math.Max(0, (ho - 1) * sh + kh - h) / 2;
            pl = Math.Max(0, (wo - 1) * sw + kw - w) / 2;
        }
        else
        {
            Assert.Equal((h - kh) / sh + 1, ho);
            Assert.Equal((w - kw) / sw + 1, wo);
        }
        var expected = DirectConv(x.ToArray(), b, h, w, c, layer.Kernel.Value.ToArray(), kh, kw, f, layer.Bias!.Value.ToArray(), sh, sw, ho, wo, pt, pl);
        RnnTestUtil.AssertClose(expected, y.ToArray(), 1e-12, 1e-12, $"{padding} {kh}x{kw} stride {sh},{sw}");
    }

    [Theory]
    [InlineData("sigmoid")]
    [InlineData("softmax")]
    [InlineData("elu")]
    [InlineData("gelu")]
    public void Activation_InPlaceOrNot_GivesTheActivatedLinearConvolution_AndFiniteDifferenceGradients(string activation)
    {
        // An activation whose backward reads only y (sigmoid, softmax) runs in place over z; one that needs z (elu, gelu)
        // keeps it. Both: y = f(the same convolution without activation), and the gradients match finite differences.
        var x = Tensor<double>.RandomNormal(new TensorShape(2, 5, 4, 3), seed: 4);
        var act = new Conv2D<double>(4, (3, 2), padding: "same", activation: activation);
        var lin = new Conv2D<double>(4, (3, 2), padding: "same");
        act.Build(x.Shape, 1);
        lin.Build(x.Shape, 1);
        RnnTestUtil.Randomize(act, 2);
        RnnTestUtil.Randomize(lin, 2);
        var z = lin.Forward(x, true).ToArray();
        var want = new double[z.Length];
        Nn.Simd.Layers.Activations.Activations.Get<double>(activation).Forward(z, want, 4);
        RnnTestUtil.AssertClose(want, act.Forward(x, true).ToArray(), 1e-15, 1e-15, activation);
        var report = GradientCheck.Check(act, x, new GradientCheck.Options(MaxElementsPerTensor: 60));
        Assert.True(report.Passed, $"{activation}: {report}");
    }

    [Property(MaxTest = 12, Replay = "(501,6001)")]
    public void Conv2D_Backward_MatchesFiniteDifferences(PositiveInt size, PositiveInt kernel, PositiveInt stride, bool same, bool relu)
    {
        int h = 3 + size.Get % 5, w = 3 + (size.Get / 5) % 5, k = 1 + kernel.Get % 3, s = 1 + stride.Get % 2;
        var layer = new Conv2D<double>(3, (k, Math.Max(1, k - 1 + kernel.Get % 2)), (s, 1 + (s + 1) % 2), same ? "same" : "valid", relu ? "relu" : "tanh");
        var x = Tensor<double>.RandomNormal(new TensorShape(2, h, w, 2), seed: size.Get);
        layer.Build(x.Shape, 1);
        RnnTestUtil.Randomize(layer, 2);
        var report = GradientCheck.Check(layer, x, new GradientCheck.Options(MaxElementsPerTensor: 60));
        Assert.True(report.Passed, $"{x.Shape} kernel {layer.KernelSize} strides {layer.Strides} {layer.Padding}: {report}");
    }

    [Theory]
    [InlineData(2, 2, 2, 2, "valid")]
    [InlineData(3, 3, 2, 2, "same")]
    [InlineData(2, 3, 1, 2, "valid")]
    public void MaxPooling_TakesWindowMaxima_AndRoutesGradientsToThem(int ph, int pw, int sh, int sw, string padding)
    {
        var pool = new MaxPooling2D<double>((ph, pw), (sh, sw), padding);
        var x = Tensor<double>.RandomNormal(new TensorShape(2, 7, 6, 3), seed: ph * 7 + pw);
        var y = pool.Forward(x, training: true);
        int ho = y.Shape[1], wo = y.Shape[2];
        int pt = padding == "same" ? Math.Max(0, (ho - 1) * sh + ph - 7) / 2 : 0, pl = padding == "same" ? Math.Max(0, (wo - 1) * sw + pw - 6) / 2 : 0;
        for (int n = 0; n < 2; n++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++)
                    for (int c = 0; c < 3; c++)
                    {
                        double m = double.NegativeInfinity;
                        for (int i = 0; i < ph; i++)
                            for (int j = 0; j < pw; j++)
                            {
                                int iy = oy * sh + i - pt, ix = ox * sw + j - pl;
                                if (iy >= 0 && iy < 7 && ix >= 0 && ix < 6) m = Math.Max(m, x.ReadOnlySpan[((n * 7 + iy) * 6 + ix) * 3 + c]);
                            }
                        Assert.Equal(m, y.ReadOnlySpan[((n * ho + oy) * wo + ox) * 3 + c]);
                    }
        var report = GradientCheck.Check(pool, x);   // random normals: no ties, so the max is differentiable
        Assert.True(report.Passed, report.ToString());
    }

    [Theory]
    [InlineData(9, 3, 1, "valid")]
    [InlineData(9, 3, 1, "same")]
    [InlineData(10, 4, 2, "same")]
    [InlineData(9, 3, 2, "causal")]
    [InlineData(7, 5, 1, "causal")]
    public void Conv1D_IsTheConvolutionOverOnePixelHighImages(int t, int k, int s, string padding)
    {
        int b = 2, c = 3, f = 4;
        var layer = new Conv1D<double>(f, k, s, padding);
        var x = Tensor<double>.RandomNormal(new TensorShape(b, t, c), seed: t * 10 + k);
        layer.Build(x.Shape, 1);
        RnnTestUtil.Randomize(layer, 2);
        Assert.Equal(new TensorShape(k, c, f), layer.Kernel.Value.Shape);
        var y = layer.Forward(x, training: false);
        int to = y.Shape[1];
        int pl = padding switch
        {
            "same" => Math.Max(0, (to - 1) * s + k - t) / 2,
            "causal" => k - 1,
            _ => 0,
        };
        Assert.Equal(padding == "valid" ? (t - k) / s + 1 : (t + s - 1) / s, to);
        var expected = DirectConv(x.ToArray(), b, 1, t, c, layer.Kernel.Value.ToArray(), 1, k, f, layer.Bias!.Value.ToArray(), 1, s, 1, to, 0, pl);
        RnnTestUtil.AssertClose(expected, y.ToArray(), 1e-12, 1e-12, $"conv1d {padding} k={k} s={s}");
        var report = GradientCheck.Check(layer, x, new GradientCheck.Options(MaxElementsPerTensor: 60));
        Assert.True(report.Passed, report.ToString());
        Assert.Equal(k.ToString(System.Globalization.CultureInfo.InvariantCulture), layer.GetConfig()["kernel_size"]);
    }

    [Theory]
    [InlineData(12, 3, 2, "valid")]
    [InlineData(12, 3, 2, "same")]
    [InlineData(11, 2, 3, "same")]
    [InlineData(12, 2, 4, "causal")]
    [InlineData(9, 3, 3, "causal")]
    public void DilatedConv1D_MatchesDirectLoops_AndFiniteDifferences(int t, int k, int d, string padding)
    {
        int b = 2, c = 3, f = 4, span = (k - 1) * d + 1;
        var layer = new Conv1D<double>(f, k, padding: padding, activation: "tanh", dilationRate: d);
        var x = Tensor<double>.RandomNormal(new TensorShape(b, t, c), seed: t * 10 + k + d);
        layer.Build(x.Shape, 1);
        RnnTestUtil.Randomize(layer, 2);
        var y = layer.Forward(x, training: true);
        int to = y.Shape[1];
        Assert.Equal(padding == "valid" ? t - span + 1 : t, to);
        int pl = padding switch { "same" => (span - 1) / 2, "causal" => span - 1, _ => 0 };
        var z = DirectConv(x.ToArray(), b, 1, t, c, layer.Kernel.Value.ToArray(), 1, k, f, layer.Bias!.Value.ToArray(), 1, 1, 1, to, 0, pl, d);
        RnnTestUtil.AssertClose(z.Select(Math.Tanh).ToArray(), y.ToArray(), 1e-12, 1e-12, $"conv1d {padding} k={k} d={d}");
        var report = GradientCheck.Check(layer, x, new GradientCheck.Options(MaxElementsPerTensor: 60));
        Assert.True(report.Passed, report.ToString());
        Assert.Equal(d.ToString(System.Globalization.CultureInfo.InvariantCulture), layer.GetConfig()["dilation_rate"]);
    }

    [Fact]
    public void DilatedConv1D_RejectsStridesWithDilation_AndKernelsLongerThanTheSequence()
    {
        Assert.Equal("dilationRate", Assert.Throws<ArgumentException>(() => new Conv1D<float>(2, 3, strides: 2, dilationRate: 2)).ParamName);
        Assert.Equal("dilationRate", Assert.Throws<ArgumentOutOfRangeException>(() => new Conv1D<float>(2, 3, dilationRate: 0)).ParamName);
        // 3 taps 4 steps apart span 9 steps: a valid convolution of 8 steps has no output.
        var e = Assert.Throws<ArgumentException>(() => new Conv1D<float>(2, 3, dilationRate: 4).Forward(new Tensor<float>(1, 8, 1), false));
        Assert.Contains("[1, 8, 1]", e.Message);
        Assert.Equal(new TensorShape(1, 1, 2), new Conv1D<float>(2, 3, dilationRate: 4).ComputeOutputShape(new TensorShape(1, 9, 1)));
    }

    /// <summary>Dilated Conv2D against the direct loops (float64), then finite differences. The cases cover a dilation
    /// along one axis only (dh > 1 with dw = 1 takes im2col's contiguous-row path, dw > 1 the per-tap path), an even
    /// kernel whose 'same' padding is odd in total (the extra cell after), and taps that hang over every border.</summary>
    [Theory]
    [InlineData(7, 8, 3, 3, 2, 2, "valid")]
    [InlineData(7, 8, 3, 3, 2, 2, "same")]
    [InlineData(9, 6, 3, 2, 3, 1, "same")]
    [InlineData(6, 9, 2, 3, 1, 3, "same")]
    [InlineData(8, 8, 2, 2, 3, 3, "same")]
    [InlineData(10, 7, 3, 2, 4, 1, "valid")]
    public void DilatedConv2D_MatchesDirectLoops_AndFiniteDifferences(int h, int w, int kh, int kw, int dh, int dw, string padding)
    {
        int b = 2, c = 2, f = 3, spanH = (kh - 1) * dh + 1, spanW = (kw - 1) * dw + 1;
        var layer = new Conv2D<double>(f, (kh, kw), padding: padding, activation: "tanh", dilationRate: (dh, dw));
        var x = Tensor<double>.RandomNormal(new TensorShape(b, h, w, c), seed: h * 100 + w * 10 + dh + dw);
        layer.Build(x.Shape, 1);
        RnnTestUtil.Randomize(layer, 2);
        var y = layer.Forward(x, training: true);
        int ho = y.Shape[1], wo = y.Shape[2];
        Assert.Equal(padding == "valid" ? (h - spanH + 1, w - spanW + 1) : (h, w), (ho, wo));
        // 'same' at stride 1 pads span − 1 cells in all, the odd one after (TensorFlow's rule).
        int pt = padding == "same" ? (spanH - 1) / 2 : 0, pl = padding == "same" ? (spanW - 1) / 2 : 0;
        var z = DirectConv(x.ToArray(), b, h, w, c, layer.Kernel.Value.ToArray(), kh, kw, f, layer.Bias!.Value.ToArray(), 1, 1, ho, wo, pt, pl, dw, dh);
        RnnTestUtil.AssertClose(z.Select(Math.Tanh).ToArray(), y.ToArray(), 1e-12, 1e-12, $"conv2d {padding} {kh}x{kw} dilation {dh},{dw}");
        var report = GradientCheck.Check(layer, x, new GradientCheck.Options(MaxElementsPerTensor: 80));
        Assert.True(report.Passed, $"{padding} {kh}x{kw} dilation {dh},{dw}: {report}");
        Assert.Equal($"{dh},{dw}", layer.GetConfig()["dilation_rate"]);
    }

    /// <summary>A 3×3 kernel dilated by 2 over a 5×5 image with 'same' padding spans 5×5 and pads 2 cells on every side,
    /// so a corner output sees only the 2×2 taps that land inside the image, written out here by hand: at (0, 0) taps
    /// (1..2, 1..2) on pixels (0 | 2, 0 | 2), at (4, 4) taps (0..1, 0..1) on pixels (2 | 4, 2 | 4), at (0, 4) taps
    /// (1..2, 0..1) on pixels (0 | 2, 2 | 4). The input gradient of a one-hot dOutput at a corner puts the same taps
    /// back on the same pixels and nothing elsewhere.</summary>
    [Fact]
    public void DilatedConv2D_CornerOutputsReadOnlyTheTapsInsideTheImage()
    {
        var layer = new Conv2D<double>(1, (3, 3), padding: "same", useBias: false, dilationRate: (2, 2));
        var x = new Tensor<double>(1, 5, 5, 1);
        for (int i = 0; i < 25; i++) x[i] = 1 + i * i;   // distinct values, so a wrong tap changes the sum
        layer.Build(x.Shape, 1);
        var k = layer.Kernel.Value;
        for (int i = 0; i < 9; i++) k[i] = 1000.0 * (i + 1) + 0.5 * i;   // K[i, j] at flat index 3i + j
        double X(int r, int col) => x[r * 5 + col];
        double K(int i, int j) => k[i * 3 + j];
        var y = layer.Forward(x, training: true);
        Assert.Equal(new TensorShape(1, 5, 5, 1), y.Shape);
        Assert.Equal(K(1, 1) * X(0, 0) + K(1, 2) * X(0, 2) + K(2, 1) * X(2, 0) + K(2, 2) * X(2, 2), y[0]);
        Assert.Equal(K(0, 0) * X(2, 2) + K(0, 1) * X(2, 4) + K(1, 0) * X(4, 2) + K(1, 1) * X(4, 4), y[24]);
        Assert.Equal(K(1, 0) * X(0, 2) + K(1, 1) * X(0, 4) + K(2, 0) * X(2, 2) + K(2, 1) * X(2, 4), y[4]);
        // The centre sees all nine taps on the even pixels.
        double centre = 0;
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) centre += K(i, j) * X(2 * i, 2 * j);
        Assert.Equal(centre, y[12]);

        var dy = new Tensor<double>(1, 5, 5, 1);
        dy[4] = 1;   // output (0, 4)
        var dx = layer.Backward(dy);
        var want = new double[25];
        want[0 * 5 + 2] = K(1, 0); want[0 * 5 + 4] = K(1, 1); want[2 * 5 + 2] = K(2, 0); want[2 * 5 + 4] = K(2, 1);
        Assert.Equal(want, dx.ToArray());
    }

    [Fact]
    public void DilatedConv2D_RejectsStridesWithDilation_ByName()
    {
        var e = Assert.Throws<ArgumentException>(() => new Conv2D<float>(2, (3, 3), strides: (1, 2), dilationRate: (2, 1)));
        Assert.Equal("dilationRate", e.ParamName);
        Assert.Contains("(1, 2)", e.Message);
        Assert.Contains("(2, 1)", e.Message);
        Assert.Equal("dilationRate", Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2D<float>(2, (3, 3), dilationRate: (1, 0))).ParamName);
        // Three taps 3 rows apart span 7 rows: a 'valid' convolution of 6 rows has no output.
        var t = Assert.Throws<ArgumentException>(() => new Conv2D<float>(2, (3, 1), dilationRate: (3, 1)).Forward(new Tensor<float>(1, 6, 4, 1), false));
        Assert.Contains("[1, 6, 4, 1]", t.Message);
        Assert.Equal(new TensorShape(1, 1, 4, 2), new Conv2D<float>(2, (3, 1), dilationRate: (3, 1)).ComputeOutputShape(new TensorShape(1, 7, 4, 1)));
        Assert.Equal("1,1", new Conv2D<float>(2, (3, 3)).GetConfig()["dilation_rate"]);
        Assert.Equal((1, 1), new Conv2D<float>(2, (3, 3), strides: (2, 2)).DilationRate);
    }

    [Fact]
    public void CausalConv1D_NeverSeesLaterSteps()
    {
        var layer = new Conv1D<double>(2, 4, padding: "causal");
        var x = Tensor<double>.RandomNormal(new TensorShape(1, 8, 2), seed: 1);
        layer.Build(x.Shape, 1);
        var y = layer.Forward(x, false).ToArray();
        var later = x.Clone();
        for (int j = 0; j < 2; j++) later[0, 5, j] += 10;   // change step 5 only
        var y2 = layer.Forward(later, false).ToArray();
        for (int t = 0; t < 8; t++)
            for (int o = 0; o < 2; o++)
                if (t < 5) Assert.Equal(y[t * 2 + o], y2[t * 2 + o]);
                else Assert.NotEqual(y[t * 2 + o], y2[t * 2 + o]);   // steps 5, 6, 7 see step 5
        Assert.Throws<ArgumentException>(() => new Conv2D<double>(2, (3, 3), padding: "causal"));
        Assert.Throws<ArgumentException>(() => new Conv1D<double>(2, 3).Forward(new Tensor<double>(2, 5, 3, 1), false));
    }

    [Fact]
    public void GlobalAveragePooling_AveragesEveryPositionPerChannel()
    {
        var x1 = Tensor<double>.RandomNormal(new TensorShape(3, 5, 4), seed: 1);
        var g1 = new GlobalAveragePooling1D<double>();
        var y1 = g1.Forward(x1, false);
        Assert.Equal(new TensorShape(3, 4), y1.Shape);
        for (int n = 0; n < 3; n++)
            for (int c = 0; c < 4; c++)
                Assert.Equal(Enumerable.Range(0, 5).Average(t => x1[n, t, c]), y1[n, c], 12);
        Assert.True(GradientCheck.Check(g1, x1).Passed);
        var x2 = Tensor<double>.RandomNormal(new TensorShape(2, 3, 4, 5), seed: 2);
        var g2 = new GlobalAveragePooling2D<double>();
        Assert.Equal(new TensorShape(2, 5), g2.Forward(x2, false).Shape);
        var report = GradientCheck.Check(g2, x2);
        Assert.True(report.Passed, report.ToString());
        Assert.Throws<ArgumentException>(() => new GlobalAveragePooling2D<double>().Forward(x1, false));
        Assert.Throws<ArgumentException>(() => new GlobalAveragePooling1D<double>().Forward(x2, false));
    }

    [Fact]
    public void BadShapesAndOptions_AreRejectedByName()
    {
        var e = Assert.Throws<ArgumentException>(() => new Conv2D<float>(2, (3, 3)).Forward(new Tensor<float>(1, 5, 5), false));
        Assert.Contains("[batch, height, width, channels]", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Conv2D<float>(2, (5, 5)).Forward(new Tensor<float>(1, 3, 3, 1), false));
        Assert.Contains("leaves no output", e.Message);
        Assert.Throws<ArgumentException>(() => new Conv2D<float>(2, (3, 3), padding: "causal"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2D<float>(2, (0, 3)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MaxPooling2D<float>((2, 2), (0, 1)));
        var conv = new Conv2D<float>(8, (3, 3), (2, 1), "same", "relu");
        Assert.Equal("3,3", conv.GetConfig()["kernel_size"]);
        Assert.Equal("2,1", conv.GetConfig()["strides"]);
        conv.Build(new TensorShape(1, 6, 6, 2), 1);
        // Keras' fans for a conv kernel: 3·3·2 in, 3·3·8 out: U(±√(6/90)).
        Assert.All(conv.Kernel.Value.ToArray(), v => Assert.InRange(v, -Math.Sqrt(6.0 / 90), Math.Sqrt(6.0 / 90)));
        Assert.Contains(conv.Kernel.Value.ToArray(), v => Math.Abs(v) > Math.Sqrt(6.0 / 90) * 0.9);
    }
}
