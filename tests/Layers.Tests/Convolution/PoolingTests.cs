using Nn.Simd.Tensors;
using Nn.Simd.Training;

namespace Nn.Simd.Layers.Tests;

/// <summary>The windowed and global pooling layers against direct loops in float64, finite differences, and their
/// rules on ties, padding and bad shapes.</summary>
public class PoolingTests
{
    /// <summary>Keras' padding before the first cell: 0 for valid, half of max(0, (out − 1)·stride + pool − size)
    /// (rounded down) for same.</summary>
    private static int PadBefore(string padding, int size, int pool, int stride, int outSize) =>
        padding == "same" ? Math.Max(0, (outSize - 1) * stride + pool - size) / 2 : 0;

    /// <summary>y[n, oy, ox, c] = max or mean of x[n, oy·sh + i − pt, ox·sw + j − pl, c] over the window cells inside the
    /// image (the mean divides by their count).</summary>
    private static double[] DirectPool(double[] x, int b, int h, int w, int c, int ph, int pw, int sh, int sw, int ho, int wo,
        int pt, int pl, bool max)
    {
        var y = new double[b * ho * wo * c];
        for (int n = 0; n < b; n++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++)
                    for (int ch = 0; ch < c; ch++)
                    {
                        double m = double.NegativeInfinity, s = 0;
                        int count = 0;
                        for (int i = 0; i < ph; i++)
                            for (int j = 0; j < pw; j++)
                            {
                                int iy = oy * sh + i - pt, ix = ox * sw + j - pl;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                double v = x[((n * h + iy) * w + ix) * c + ch];
                                m = Math.Max(m, v);
                                s += v;
                                count++;
                            }
                        y[((n * ho + oy) * wo + ox) * c + ch] = max ? m : s / count;
                    }
        return y;
    }

    // Six channels: in float64 the first four go through the vector lanes of the max backward, the rest one by one.
    [Theory]
    [InlineData(7, 6, 2, 2, 2, 2, "valid")]
    [InlineData(7, 6, 3, 3, 2, 2, "same")]
    [InlineData(7, 6, 2, 3, 1, 2, "valid")]
    [InlineData(8, 5, 2, 2, 1, 1, "same")]
    [InlineData(5, 7, 4, 3, 3, 2, "same")]
    public void Pooling2D_MatchesDirectLoops_AndFiniteDifferences(int h, int w, int ph, int pw, int sh, int sw, string padding)
    {
        const int b = 2, c = 6;
        var x = Tensor<double>.RandomNormal(new TensorShape(b, h, w, c), seed: h * 10 + w + ph);
        foreach (bool max in new[] { true, false })
        {
            PoolingLayer<double> pool = max ? new MaxPooling2D<double>((ph, pw), (sh, sw), padding) : new AveragePooling2D<double>((ph, pw), (sh, sw), padding);
            var y = pool.Forward(x, training: true);
            int ho = padding == "same" ? (h + sh - 1) / sh : (h - ph) / sh + 1, wo = padding == "same" ? (w + sw - 1) / sw : (w - pw) / sw + 1;
            Assert.Equal(new TensorShape(b, ho, wo, c), y.Shape);
            var expected = DirectPool(x.ToArray(), b, h, w, c, ph, pw, sh, sw, ho, wo,
                PadBefore(padding, h, ph, sh, ho), PadBefore(padding, w, pw, sw, wo), max);
            RnnTestUtil.AssertClose(expected, y.ToArray(), 1e-14, 1e-14, $"{pool.TypeName} {padding}");
            var report = GradientCheck.Check(pool, x, new GradientCheck.Options(MaxElementsPerTensor: 120));   // random normals: no ties
            Assert.True(report.Passed, $"{pool.TypeName} {padding}: {report}");
        }
    }

    [Theory]
    [InlineData(9, 2, 2, "valid")]
    [InlineData(9, 3, 1, "same")]
    [InlineData(10, 4, 3, "same")]
    [InlineData(8, 3, 2, "valid")]
    [InlineData(5, 5, 1, "same")]
    public void Pooling1D_MatchesDirectLoops_AndFiniteDifferences(int t, int p, int s, string padding)
    {
        const int b = 3, c = 5;
        var x = Tensor<double>.RandomNormal(new TensorShape(b, t, c), seed: t * 10 + p);
        foreach (bool max in new[] { true, false })
        {
            PoolingLayer<double> pool = max ? new MaxPooling1D<double>(p, s, padding) : new AveragePooling1D<double>(p, s, padding);
            var y = pool.Forward(x, training: true);
            int to = padding == "same" ? (t + s - 1) / s : (t - p) / s + 1;
            Assert.Equal(new TensorShape(b, to, c), y.Shape);
            var expected = DirectPool(x.ToArray(), b, 1, t, c, 1, p, 1, s, 1, to, 0, PadBefore(padding, t, p, s, to), max);
            RnnTestUtil.AssertClose(expected, y.ToArray(), 1e-14, 1e-14, $"{pool.TypeName} {padding}");
            var report = GradientCheck.Check(pool, x);
            Assert.True(report.Passed, $"{pool.TypeName} {padding}: {report}");
        }
    }

    [Fact]
    public void KerasDocExamples_SamePaddingAveragesOnlyTheCellsInside()
    {
        // keras.layers.AveragePooling1D / MaxPooling1D docs: x = [1, 2, 3, 4, 5], pool 2, stride 1, 'same'.
        var x = new Tensor<double>(1, 5, 1);
        for (int t = 0; t < 5; t++) x[0, t, 0] = t + 1;
        Assert.Equal([1.5, 2.5, 3.5, 4.5, 5.0], new AveragePooling1D<double>(2, 1, "same").Forward(x, false).ToArray());
        Assert.Equal([2.0, 3, 4, 5, 5], new MaxPooling1D<double>(2, 1, "same").Forward(x, false).ToArray());
        Assert.Equal([1.5, 3.5], new AveragePooling1D<double>().Forward(x, false).ToArray());   // defaults: pool 2, strides 2, valid
        // A 3×3 'same' average at a 2×2 image's corner sees 4 cells (of 9), and the gradient 1/4 flows to each of them.
        var img = Tensor<double>.RandomNormal(new TensorShape(1, 2, 2, 1), seed: 3);
        var avg = new AveragePooling2D<double>((3, 3), (1, 1), "same");
        var y = avg.Forward(img, true);
        double mean = img.ToArray().Average();
        Assert.All(y.ToArray(), v => Assert.Equal(mean, v, 14));
        var dy = new Tensor<double>(y.Shape);
        dy.Span[0] = 1;
        Assert.All(avg.Backward(dy).ToArray(), v => Assert.Equal(0.25, v, 14));
    }

    [Fact]
    public void MaxGradient_GoesToTheFirstMaximum_OnTies()
    {
        // Every cell equal: each window's gradient goes to its first cell in row order (TensorFlow's rule), both in the
        // vector lanes (float32, 16 channels) and the scalar tail (3 channels).
        foreach (int c in new[] { 16, 3 })
        {
            var x = new Tensor<float>(1, 4, 4, c);
            x.Fill(2);
            var pool = new MaxPooling2D<float>();
            var y = pool.Forward(x, true);
            var dy = new Tensor<float>(y.Shape);
            dy.Fill(1);
            var dx = pool.Backward(dy);
            for (int iy = 0; iy < 4; iy++)
                for (int ix = 0; ix < 4; ix++)
                    for (int ch = 0; ch < c; ch++)
                        Assert.Equal(iy % 2 == 0 && ix % 2 == 0 ? 1f : 0f, dx.ReadOnlySpan[(iy * 4 + ix) * c + ch]);
            var g = new GlobalMaxPooling1D<float>();
            var seq = new Tensor<float>(2, 5, c);
            seq.Fill(1);
            g.Forward(seq, true);
            var gdy = new Tensor<float>(2, c);
            gdy.Fill(3);
            var gdx = g.Backward(gdy);
            for (int t = 0; t < 5; t++) Assert.Equal(t == 0 ? 3f : 0f, gdx[1, t, c - 1]);
        }
    }

    [Fact]
    public void GlobalPooling_TakesTheMaxAndMeanOverEveryPosition()
    {
        var x1 = Tensor<double>.RandomNormal(new TensorShape(3, 7, 6), seed: 1);
        var gm1 = new GlobalMaxPooling1D<double>();
        var y1 = gm1.Forward(x1, true);
        Assert.Equal(new TensorShape(3, 6), y1.Shape);
        for (int n = 0; n < 3; n++)
            for (int c = 0; c < 6; c++)
                Assert.Equal(Enumerable.Range(0, 7).Max(t => x1[n, t, c]), y1[n, c]);
        var report = GradientCheck.Check(gm1, x1);
        Assert.True(report.Passed, report.ToString());

        var x2 = Tensor<double>.RandomNormal(new TensorShape(2, 3, 4, 5), seed: 2);
        var gm2 = new GlobalMaxPooling2D<double>();
        var y2 = gm2.Forward(x2, true);
        var ga2 = new GlobalAveragePooling2D<double>();
        var a2 = ga2.Forward(x2, true);
        for (int n = 0; n < 2; n++)
            for (int c = 0; c < 5; c++)
            {
                var cells = Enumerable.Range(0, 12).Select(k => x2.ReadOnlySpan[(n * 12 + k) * 5 + c]).ToArray();
                Assert.Equal(cells.Max(), y2[n, c]);
                Assert.Equal(cells.Average(), a2[n, c], 14);
            }
        report = GradientCheck.Check(gm2, x2);
        Assert.True(report.Passed, report.ToString());
    }

    [Fact]
    public void FloatMatchesDouble_InBothLanePaths()
    {
        // 19 channels: float32 vector lanes plus a scalar tail.
        var xd = Tensor<double>.RandomNormal(new TensorShape(3, 6, 5, 19), seed: 8);
        var xf = new Tensor<float>(xd.Shape);
        for (int i = 0; i < xd.Length; i++) xf.Span[i] = (float)xd.ReadOnlySpan[i];
        var dyd = Tensor<double>.RandomNormal(new TensorShape(3, 3, 3, 19), seed: 9);
        var dyf = new Tensor<float>(dyd.Shape);
        for (int i = 0; i < dyd.Length; i++) dyf.Span[i] = (float)dyd.ReadOnlySpan[i];
        foreach (bool max in new[] { true, false })
        {
            PoolingLayer<double> d = max ? new MaxPooling2D<double>((3, 2), (2, 2), "same") : new AveragePooling2D<double>((3, 2), (2, 2), "same");
            PoolingLayer<float> f = max ? new MaxPooling2D<float>((3, 2), (2, 2), "same") : new AveragePooling2D<float>((3, 2), (2, 2), "same");
            var yd = d.Forward(Round(xd), true).ToArray();
            var yf = f.Forward(xf, true).ToArray();
            RnnTestUtil.AssertClose(yd, yf.Select(v => (double)v).ToArray(), 1e-6, 1e-6, "forward");
            var dxd = d.Backward(Round(dyd)).ToArray();
            var dxf = f.Backward(dyf).ToArray();
            RnnTestUtil.AssertClose(dxd, dxf.Select(v => (double)v).ToArray(), 1e-6, 1e-6, "backward");
        }

        static Tensor<double> Round(Tensor<double> t)
        {
            var r = t.Clone();
            foreach (ref double v in r.Span) v = (float)v;
            return r;
        }
    }

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(6)]
    [InlineData(8)]
    [InlineData(16)]
    [InlineData(19)]
    [InlineData(24)]
    [InlineData(32)]
    [InlineData(37)]
    public void MaxPooling_EveryLaneWidth_MatchesTheScalarRule_OnTiesZerosAndNaN(int c)
    {
        // Values from a few levels (many ties), with ±0 and NaN sprinkled in, on a 7×5 image: overlapping 3×3 windows
        // (stride 2, 'same'), and tiling 2×2 windows ('valid', which leaves the last row and column uncovered, and 'same', which
        // clips the last row of windows). Forward must be the IEEE maximum bit for bit (+0 over −0, NaN wins);
        // backward must send each window's gradient to its first cell equal to the output in row order, none for a
        // NaN output, and zero to the cells no window covers. The channel counts reach every vector width, its
        // overlapping last vector, and the scalar path.
        foreach (var (pool, stride, padding) in new[] { (3, 2, "same"), (2, 2, "valid"), (2, 2, "same") })
        {
            Check<float>(c, pool, stride, padding, v => (float)v);
            Check<double>(c, pool, stride, padding, v => v);
        }

        static void Check<T>(int c, int pool, int stride, string padding, Func<double, T> from) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            const int h = 7, w = 5;
            var rng = new Random(c);
            var x = new Tensor<T>(2, h, w, c);
            foreach (ref T v in x.Span)
            {
                int k = rng.Next(20);
                v = k == 0 ? T.NaN : k == 1 ? T.NegativeZero : k == 2 ? T.Zero : from(rng.Next(-2, 3) * 0.5);
            }
            var layer = new MaxPooling2D<T>((pool, pool), (stride, stride), padding);
            var y = layer.Forward(x, true);
            int ho = y.Shape[1], wo = y.Shape[2], pt = PadBefore(padding, h, pool, stride, ho), pl = PadBefore(padding, w, pool, stride, wo);
            var dy = new Tensor<T>(y.Shape);
            layer.Backward(dy).Fill(from(7));   // 7s in the reused gradient buffer: every cell must be written again
            foreach (ref T v in dy.Span) v = from(rng.Next(1, 9));
            var dx = layer.Backward(dy);
            var wantDx = new T[x.Length];
            for (int n = 0; n < 2; n++)
                for (int oy = 0; oy < ho; oy++)
                    for (int ox = 0; ox < wo; ox++)
                        for (int ch = 0; ch < c; ch++)
                        {
                            T m = T.NegativeInfinity;
                            int first = -1, y0 = Math.Max(0, oy * stride - pt), y1 = Math.Min(h, oy * stride - pt + pool);
                            int x0 = Math.Max(0, ox * stride - pl), x1 = Math.Min(w, ox * stride - pl + pool);
                            for (int iy = y0; iy < y1; iy++)
                                for (int ix = x0; ix < x1; ix++)
                                    m = T.Max(m, x.ReadOnlySpan[((n * h + iy) * w + ix) * c + ch]);
                            for (int iy = y0; iy < y1 && first < 0; iy++)
                                for (int ix = x0; ix < x1 && first < 0; ix++)
                                    if (x.ReadOnlySpan[((n * h + iy) * w + ix) * c + ch] == m) first = ((n * h + iy) * w + ix) * c + ch;
                            int o = ((n * ho + oy) * wo + ox) * c + ch;
                            T got = y.ReadOnlySpan[o];
                            Assert.True(T.IsNaN(m) ? T.IsNaN(got) : got == m && T.IsNegative(got) == T.IsNegative(m),
                                $"C {c} {typeof(T).Name} {pool}/{stride} {padding}: y[{n}, {oy}, {ox}, {ch}] = {got}, want {m}");
                            if (first >= 0) wantDx[first] += dy.ReadOnlySpan[o];
                        }
            for (int i = 0; i < wantDx.Length; i++)
                Assert.True(wantDx[i] == dx.ReadOnlySpan[i] && !T.IsNegative(dx.ReadOnlySpan[i]),
                    $"C {c} {typeof(T).Name} {pool}/{stride} {padding}: dx[{i}] = {dx.ReadOnlySpan[i]}, want {wantDx[i]}");
        }
    }

    public static TheoryData<string> AllocationCases() =>
        ["max1d", "avg1d", "max2d", "avg2d", "gmax1d", "gavg2d"];

    [Theory]
    [MemberData(nameof(AllocationCases))]
    public void SteadyStateTrainingStep_AllocatesNothing(string which)
    {
        // Large enough (over 32K values) to run on the worker threads.
        bool image = which.EndsWith("2d", StringComparison.Ordinal);
        var x = Tensor<float>.RandomNormal(image ? new TensorShape(8, 24, 24, 16) : new TensorShape(8, 300, 16), seed: 1);
        PoolingLayer<float> layer = which switch
        {
            "max1d" => new MaxPooling1D<float>(3, 2, "same"),
            "avg1d" => new AveragePooling1D<float>(),
            "max2d" => new MaxPooling2D<float>(padding: "same"),
            "avg2d" => new AveragePooling2D<float>((3, 3), (2, 2)),
            "gmax1d" => new GlobalMaxPooling1D<float>(),
            _ => new GlobalAveragePooling2D<float>(),
        };
        var dy = Tensor<float>.RandomNormal(layer.ComputeOutputShape(x.Shape), seed: 2);
        SteadyState.AssertAllocatesNothing(() => { layer.Forward(x, true); layer.Backward(dy); });
    }

    [Fact]
    public void BadShapesAndOptions_AreRejectedByName()
    {
        var e = Assert.Throws<ArgumentException>(() => new MaxPooling1D<float>().Forward(new Tensor<float>(2, 4, 4, 1), false));
        Assert.Contains("[batch, steps, channels]", e.Message);
        Assert.Contains("[2, 4, 4, 1]", e.Message);
        e = Assert.Throws<ArgumentException>(() => new AveragePooling2D<float>().Forward(new Tensor<float>(2, 4, 1), false));
        Assert.Contains("[batch, height, width, channels]", e.Message);
        e = Assert.Throws<ArgumentException>(() => new AveragePooling1D<float>(5).Forward(new Tensor<float>(2, 4, 1), false));
        Assert.Contains("5-step pool with 'valid' padding leaves no output for [2, 4, 1]", e.Message);
        e = Assert.Throws<ArgumentException>(() => new MaxPooling2D<float>((3, 2)).ComputeOutputShape(new TensorShape(1, 2, 8, 1)));
        Assert.Contains("3×2 pool", e.Message);
        Assert.Equal(new TensorShape(1, 1, 4, 1), new MaxPooling2D<float>((3, 2), padding: "same").ComputeOutputShape(new TensorShape(1, 2, 8, 1)));
        e = Assert.Throws<ArgumentException>(() => new GlobalMaxPooling2D<float>().Forward(new Tensor<float>(2, 4, 1), false));
        Assert.Contains("[2, 4, 1]", e.Message);
        e = Assert.Throws<ArgumentException>(() => new GlobalMaxPooling1D<float>().Forward(new Tensor<float>(2, 0, 3), false));
        Assert.Contains("no positions", e.Message);
        Assert.Equal("poolSize", Assert.Throws<ArgumentOutOfRangeException>(() => new MaxPooling1D<float>(0)).ParamName);
        Assert.Equal("strides", Assert.Throws<ArgumentOutOfRangeException>(() => new AveragePooling2D<float>((2, 2), (1, 0))).ParamName);
        Assert.Equal("padding", Assert.Throws<ArgumentException>(() => new AveragePooling1D<float>(padding: "causal")).ParamName);
        var pool = new AveragePooling1D<float>(3);
        Assert.Equal((3, 3, "valid"), (pool.PoolSize, pool.Strides, pool.Padding));   // strides default to the pool size
        Assert.Equal(((2, 2), (2, 2)), (new AveragePooling2D<float>().PoolSize, new AveragePooling2D<float>().Strides));
        Assert.Throws<InvalidOperationException>(() => new MaxPooling1D<float>().Backward(new Tensor<float>(1, 1, 1)));
    }
}
