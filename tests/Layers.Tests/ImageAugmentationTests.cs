using Nn.Simd.Tensors;
using Nn.Simd.Training;
using Nn.Simd.Training.Serialization;

namespace Nn.Simd.Layers.Tests;

/// <summary>Resizing and the random affine layers (RandomTranslation, RandomRotation, RandomZoom): values against float64
/// loops written from Keras' formulas (the resize as Keras' normalised triangle kernel, the affine map with JAX's index
/// fixers), fill modes at the borders, inference identity, seeded draws, finite differences, zero allocation per steady
/// step, config round trips and bad options.</summary>
public class ImageAugmentationTests
{
    // ---------------------------------------------------------------- references

    /// <summary>Keras' resize weights for one axis (numpy backend, antialias off): w[o, i] = max(0, 1 − |s_o − i|) with
    /// s_o = (o + ½)/scale − ½, divided by their sum over the existing i; nearest picks ⌊(o + ½)·n/m⌋.</summary>
    private static double[,] ResizeWeights(int n, int m, bool bilinear)
    {
        var wts = new double[m, n];
        for (int o = 0; o < m; o++)
        {
            if (!bilinear) { wts[o, (int)Math.Floor((o + 0.5) * n / m)] = 1; continue; }
            double s = (o + 0.5) / ((double)m / n) - 0.5, sum = 0;
            for (int i = 0; i < n; i++) sum += wts[o, i] = Math.Max(0, 1 - Math.Abs(s - i));
            for (int i = 0; i < n; i++) wts[o, i] /= sum;
        }
        return wts;
    }

    private static double[] ResizeReference(double[] x, TensorShape s, int oh, int ow, bool bilinear, int top = 0, int left = 0,
        int rows = -1, int cols = -1)
    {
        int b = s[0], h = s[1], w = s[2], c = s[3];
        if (rows < 0) (rows, cols) = (h, w);
        var wr = ResizeWeights(rows, oh, bilinear);
        var wc = ResizeWeights(cols, ow, bilinear);
        var y = new double[b * oh * ow * c];
        for (int n = 0; n < b; n++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                    for (int k = 0; k < c; k++)
                    {
                        double v = 0;
                        for (int p = 0; p < rows; p++)
                            for (int q = 0; q < cols; q++)
                                v += wr[i, p] * wc[j, q] * x[((n * h + top + p) * w + left + q) * c + k];
                        y[((n * oh + i) * ow + j) * c + k] = v;
                    }
        return y;
    }

    // JAX's index fixers (keras/src/backend/jax/image.py), written from their formulas.
    private static int Mirror(int index, int size)
    {
        int s = size - 1, p = 2 * s;
        return Math.Abs(((index + s) % p + p) % p - s);
    }

    private static int FixIndex(int index, int size, string mode) => mode switch
    {
        "nearest" => Math.Clamp(index, 0, size - 1),
        "wrap" => ((index % size) + size) % size,
        "reflect" => (int)Math.Floor((Mirror(2 * index + 1, 2 * size + 1) - 1) / 2.0),
        _ => index,
    };

    /// <summary>map_coordinates of one sample under the transform m (Keras' 6 leading values), from its definition.</summary>
    private static double[] AffineReference(double[] x, TensorShape s, double[][] m, string mode, bool bilinear, double fill)
    {
        int b = s[0], h = s[1], w = s[2], c = s[3];
        var y = new double[x.Length];
        for (int n = 0; n < b; n++)
            for (int i = 0; i < h; i++)
                for (int j = 0; j < w; j++)
                {
                    double xi = m[n][0] * j + m[n][1] * i + m[n][2], yi = m[n][3] * j + m[n][4] * i + m[n][5];
                    var taps = new List<(int R, int C, double W)>();
                    if (bilinear)
                    {
                        int y0 = (int)Math.Floor(yi), x0 = (int)Math.Floor(xi);
                        double fy = yi - y0, fx = xi - x0;
                        taps.Add((y0, x0, (1 - fy) * (1 - fx)));
                        taps.Add((y0, x0 + 1, (1 - fy) * fx));
                        taps.Add((y0 + 1, x0, fy * (1 - fx)));
                        taps.Add((y0 + 1, x0 + 1, fy * fx));
                    }
                    else taps.Add(((int)Math.Round(yi, MidpointRounding.AwayFromZero), (int)Math.Round(xi, MidpointRounding.AwayFromZero), 1));
                    for (int k = 0; k < c; k++)
                    {
                        double v = 0;
                        foreach (var (r, q, wt) in taps)
                        {
                            int rr = FixIndex(r, h, mode), qq = FixIndex(q, w, mode);
                            bool inside = rr >= 0 && rr < h && qq >= 0 && qq < w;
                            v += wt * (inside ? x[((n * h + rr) * w + qq) * c + k] : fill);
                        }
                        y[((n * h + i) * w + j) * c + k] = v;
                    }
                }
        return y;
    }

    private static void AssertClose(double[] expected, double[] actual, double tol = 1e-12)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * (1 + Math.Abs(expected[i])),
                $"index {i}: expected {expected[i]}, got {actual[i]}");
    }

    // ---------------------------------------------------------------- Resizing

    [Theory]
    [InlineData(4, 5, 7, 9, "bilinear")]   // upsampling
    [InlineData(9, 7, 4, 3, "bilinear")]   // downsampling, non-integer ratios
    [InlineData(6, 6, 6, 6, "bilinear")]   // same size: the identity
    [InlineData(5, 8, 3, 12, "nearest")]
    [InlineData(3, 4, 7, 2, "nearest")]
    public void Resizing_MatchesKerasTriangleKernel_AndBackwardIsItsTranspose(int h, int w, int oh, int ow, string interpolation)
    {
        var s = new TensorShape(2, h, w, 3);
        var layer = new Resizing<double>(oh, ow, interpolation);
        var x = Tensor<double>.RandomNormal(s, seed: 1);
        var y = layer.Forward(x, training: false);
        Assert.Equal(new TensorShape(2, oh, ow, 3), y.Shape);
        AssertClose(ResizeReference(x.ToArray(), s, oh, ow, interpolation == "bilinear"), y.ToArray());
        Assert.Equal(y.ToArray(), layer.Forward(x, training: true).ToArray());   // deterministic, the same while training
        // <dy, R x> = <R^T dy, x> for the linear map R.
        var dy = Tensor<double>.RandomNormal(y.Shape, seed: 2);
        var dx = layer.Backward(dy).ToArray();
        double lhs = dy.ToArray().Zip(y.ToArray(), (a, b) => a * b).Sum(), rhs = dx.Zip(x.ToArray(), (a, b) => a * b).Sum();
        Assert.Equal(lhs, rhs, 10);
        var report = GradientCheck.Check(new Resizing<double>(oh, ow, interpolation), Tensor<double>.RandomNormal(new TensorShape(1, h, w, 2), seed: 3));
        Assert.True(report.Passed, report.ToString());
    }

    [Theory]
    [InlineData(6, 10, 3, 3)]   // wider than the target: columns cropped
    [InlineData(9, 4, 2, 4)]    // taller: rows cropped
    [InlineData(5, 7, 4, 6)]
    public void Resizing_CropToAspectRatio_ResizesTheCentredWindow(int h, int w, int oh, int ow)
    {
        var s = new TensorShape(2, h, w, 2);
        var x = Tensor<double>.RandomNormal(s, seed: 4);
        var layer = new Resizing<double>(oh, ow, cropToAspectRatio: true);
        // Keras' window: crop_height = min(h, int(w·oh/ow)), crop_width = min(w, int(h·ow/oh)), centred by int((h − ch)/2).
        int ch = Math.Max(Math.Min(h, (int)((double)w * oh / ow)), 1), cw = Math.Max(Math.Min(w, (int)((double)h * ow / oh)), 1);
        AssertClose(ResizeReference(x.ToArray(), s, oh, ow, true, (h - ch) / 2, (w - cw) / 2, ch, cw), layer.Forward(x, false).ToArray());
        var report = GradientCheck.Check(layer, x);
        Assert.True(report.Passed, report.ToString());
    }

    [Fact]
    public void Resizing_HalfPixelCentres_OnAKnownRow()
    {
        // [0, 1, 2, 3] to 8 samples: s = (o + ½)/2 − ½ = −¼, ¼, ¾, …, 3¼, clamped: 0, .25, .75, 1.25, 1.75, 2.25, 2.75, 3.
        var y = new Resizing<double>(1, 8).Forward(Tensor<double>.FromArray([0, 1, 2, 3], 1, 1, 4, 1), false).ToArray();
        Assert.Equal([0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3], y);
        // Halving averages pairs: s = 2o + ½.
        y = new Resizing<double>(1, 2).Forward(Tensor<double>.FromArray([0, 1, 2, 3], 1, 1, 4, 1), false).ToArray();
        Assert.Equal([0.5, 2.5], y);
    }

    [Fact]
    public void Resizing_SteadyStateAllocatesNothing_ConfigRoundTrips_AndBadInputsAreNamed()
    {
        var layer = new Resizing<float>(5, 7, "bilinear", cropToAspectRatio: true);
        var x = Tensor<float>.RandomNormal(new TensorShape(3, 8, 6, 2), seed: 5);
        var dy = Tensor<float>.RandomNormal(new TensorShape(3, 5, 7, 2), seed: 6);
        SteadyState.AssertAllocatesNothing(() => { layer.Forward(x, true); layer.Backward(dy); });

        var config = layer.GetConfig();
        Assert.Equal(new Dictionary<string, string> { ["height"] = "5", ["width"] = "7", ["interpolation"] = "bilinear", ["crop_to_aspect_ratio"] = "true" }, config);
        var loaded = (Resizing<float>)LayerRegistry<float>.Create("resizing", config);
        Assert.Equal(config, loaded.GetConfig());
        Assert.Equal(layer.Forward(x, false).ToArray(), loaded.Forward(x, false).ToArray());

        var e = Assert.Throws<ArgumentException>(() => new Resizing<float>(2, 2, "bicubic"));
        Assert.Equal("interpolation", e.ParamName);
        Assert.Contains("'bicubic'", e.Message);
        Assert.Equal("height", Assert.Throws<ArgumentOutOfRangeException>(() => new Resizing<float>(0, 2)).ParamName);
        Assert.Equal("width", Assert.Throws<ArgumentOutOfRangeException>(() => new Resizing<float>(2, -1)).ParamName);
        e = Assert.Throws<ArgumentException>(() => new Resizing<float>(2, 2).Forward(new Tensor<float>(2, 3, 4), false));
        Assert.Contains("[2, 3, 4]", e.Message);
        var fresh = new Resizing<float>(2, 2);
        Assert.Throws<InvalidOperationException>(() => fresh.Backward(new Tensor<float>(1, 2, 2, 1)));
        fresh.Forward(new Tensor<float>(1, 3, 3, 1), false);
        Assert.Contains("[1, 3, 3, 1]", Assert.Throws<ArgumentException>(() => fresh.Backward(new Tensor<float>(1, 3, 3, 1))).Message);
    }

    // ---------------------------------------------------------------- affine layers

    public static readonly string[] FillModes = ["reflect", "wrap", "constant", "nearest"];

    /// <summary>Each layer, built with the given fill mode and interpolation, and Keras' transform from its draws.</summary>
    public static TheoryData<string, string, string> AffineCases()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var kind in new[] { "translation", "rotation", "zoom", "zoom_hw" })
            foreach (var mode in FillModes)
                foreach (var interpolation in new[] { "bilinear", "nearest" })
                    data.Add(kind, mode, interpolation);
        return data;
    }

    private static (RandomAffineLayer<double> Layer, Func<double[,], int, int, double[][]> Matrices) Make(string kind, string mode,
        string interpolation, int seed, double fill = 0)
    {
        switch (kind)
        {
            case "translation":
                return (new RandomTranslation<double>((-0.4, 0.3), (-0.5, 0.5), mode, interpolation, seed, fill), (d, h, w) =>
                    Enumerable.Range(0, d.GetLength(0)).Select(b => new[] { 1, 0, -d[b, 1] * w, 0, 1, -d[b, 0] * h }).ToArray());
            case "rotation":
                return (new RandomRotation<double>(0.5, mode, interpolation, seed, fill), (d, h, w) =>
                    Enumerable.Range(0, d.GetLength(0)).Select(b =>
                    {
                        double t = d[b, 0] * 2 * Math.PI, cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
                        // Rotation about the centre, written as the composition centre·R·centre⁻¹.
                        return new[] { Math.Cos(t), -Math.Sin(t), cx - (Math.Cos(t) * cx - Math.Sin(t) * cy),
                            Math.Sin(t), Math.Cos(t), cy - (Math.Sin(t) * cx + Math.Cos(t) * cy) };
                    }).ToArray());
            case "zoom":
                return (new RandomZoom<double>(0.6, null, mode, interpolation, seed, fill), (d, h, w) =>
                    Enumerable.Range(0, d.GetLength(0)).Select(b =>
                    {
                        double z = 1 + d[b, 0];
                        return new[] { z, 0, (w - 1) / 2.0 * (1 - z), 0, z, (h - 1) / 2.0 * (1 - z) };
                    }).ToArray());
            default:
                return (new RandomZoom<double>((-0.5, 0.2), (0.1, 0.7), mode, interpolation, seed, fill), (d, h, w) =>
                    Enumerable.Range(0, d.GetLength(0)).Select(b =>
                    {
                        double zh = 1 + d[b, 0], zw = 1 + d[b, 1];
                        return new[] { zw, 0, (w - 1) / 2.0 * (1 - zw), 0, zh, (h - 1) / 2.0 * (1 - zh) };
                    }).ToArray());
        }
    }

    private static (double, double)[] RangesOf(string kind) => kind switch
    {
        "translation" => [(-0.4, 0.3), (-0.5, 0.5)],
        "rotation" => [(-0.5, 0.5)],
        "zoom" => [(-0.6, 0.6)],
        _ => [(-0.5, 0.2), (0.1, 0.7)],
    };

    [Theory]
    [MemberData(nameof(AffineCases))]
    public void RandomAffine_MatchesMapCoordinatesOfKerasTransform_OverTwoPasses(string kind, string mode, string interpolation)
    {
        var s = new TensorShape(5, 6, 7, 2);
        var (layer, matrices) = Make(kind, mode, interpolation, seed: 11, fill: 0.75);
        var x = Tensor<double>.RandomNormal(s, seed: 1);
        var ranges = RangesOf(kind);
        var rng = new Random(11);   // the layer's generator: factor by factor, sample by sample, pass after pass
        for (int pass = 0; pass < 2; pass++)
        {
            var d = new double[5, ranges.Length];
            for (int f = 0; f < ranges.Length; f++)
                for (int b = 0; b < 5; b++) d[b, f] = ranges[f].Item1 + (ranges[f].Item2 - ranges[f].Item1) * rng.NextDouble();
            var y = layer.Forward(x, training: true).ToArray();
            Assert.Equal(d.Cast<double>().ToArray(), layer.Draws!.ToArray());
            AssertClose(AffineReference(x.ToArray(), s, matrices(d, 6, 7), mode, interpolation == "bilinear", 0.75), y, 1e-11);
        }
    }

    [Theory]
    [InlineData("reflect", new double[] { 2, 1, 1, 2, 3, 4, 4, 3 })]
    [InlineData("wrap", new double[] { 3, 4, 1, 2, 3, 4, 1, 2 })]
    [InlineData("nearest", new double[] { 1, 1, 1, 2, 3, 4, 4, 4 })]
    [InlineData("constant", new double[] { -5, -5, 1, 2, 3, 4, -5, -5 })]
    public void FillModes_AtTheBorders_FollowKerasPatterns(string mode, double[] expected)
    {
        // A whole-pixel resampling of the row [1, 2, 3, 4] at columns −2 … 5: the pattern each mode extends it with.
        int[] cols = [-2, -1, 0, 1, 2, 3, 4, 5];
        var x = Tensor<double>.FromArray([1, 2, 3, 4], 1, 1, 4, 1);
        var got = new double[8];
        var y = new double[4];
        for (int k = 0; k < 8; k++)
        {
            AffineResampler.Forward<double>(x.ReadOnlySpan, y, 1, 4, 1, [1, 0, cols[k], 0, 1, 0], bilinear: true,
                AffineResampler.ParseFillMode(mode, "mode"), -5);
            got[k] = y[0];
        }
        Assert.Equal(expected, got);
    }

    [Fact]
    public void RandomRotation_ByAQuarterTurn_PermutesASquareImageExactly()
    {
        // θ = π/2: output (i, j) reads input row j, column (W − 1) − i, the transpose flipped.
        var x = Tensor<double>.RandomNormal(new TensorShape(1, 5, 5, 1), seed: 7);
        var y = new RandomRotation<double>((0.25, 0.25), seed: 1).Forward(x, true);
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 5; j++) Assert.Equal(x[j * 5 + 4 - i], y[i * 5 + j], 12);
    }

    [Fact]
    public void RandomTranslation_ByWholePixels_WithConstantFill_ShiftsAndFills()
    {
        // u_h = 0.25 on H = 4 is one row down; u_w = −0.5 on W = 4 is two columns left.
        var x = Tensor<double>.RandomNormal(new TensorShape(1, 4, 4, 2), seed: 8);
        var y = new RandomTranslation<double>((0.25, 0.25), (-0.5, -0.5), "constant", seed: 1, fillValue: 9).Forward(x, true);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                for (int k = 0; k < 2; k++)
                    Assert.Equal(i - 1 >= 0 && j + 2 < 4 ? x[((i - 1) * 4 + j + 2) * 2 + k] : 9, y[(i * 4 + j) * 2 + k], 12);
    }

    [Theory]
    [InlineData("translation")]
    [InlineData("rotation")]
    [InlineData("zoom_hw")]
    public void RandomAffine_IsTheIdentityAtInference_SeededDrawsRepeat_AndReseedRepeats(string kind)
    {
        var x = Tensor<double>.RandomNormal(new TensorShape(4, 5, 6, 2), seed: 9);
        var (layer, _) = Make(kind, "reflect", "bilinear", seed: 3);
        Assert.Same(x, layer.Forward(x, training: false));
        Assert.Null(layer.Draws);
        var dy = Tensor<double>.RandomNormal(x.Shape, seed: 10);
        Assert.Equal(dy.ToArray(), layer.Backward(dy).ToArray());
        var a = layer.Forward(x, true).ToArray();
        Assert.Equal(a, Make(kind, "reflect", "bilinear", seed: 3).Layer.Forward(x, true).ToArray());
        Assert.NotEqual(a, Make(kind, "reflect", "bilinear", seed: 4).Layer.Forward(x, true).ToArray());
        Assert.NotEqual(a, layer.Forward(x, true).ToArray());   // a fresh draw each pass
        layer.Reseed(3);
        Assert.Equal(a, layer.Forward(x, true).ToArray());
        // One transform per image: images that are equal come out different.
        var same = Tensor<double>.FromArray(Enumerable.Range(0, 4).SelectMany(_ => x.ToArray().Take(60)).ToArray(), 4, 5, 6, 2);
        var ys = layer.Forward(same, true).ToArray();
        Assert.NotEqual(ys.Take(60), ys.Skip(60).Take(60));
    }

    [Theory]
    [InlineData("translation")]
    [InlineData("zoom_hw")]
    public void RandomAffine_Backward_OverwritesTheReusedGradientBuffer(string kind)
    {
        // The adjoint scatters (+=) into dx, whose buffer is reused: a stale gradient there must not leak into the next.
        var x = Tensor<double>.RandomNormal(new TensorShape(3, 5, 6, 2), seed: 13);
        var dy = Tensor<double>.RandomNormal(x.Shape, seed: 14);
        var (layer, _) = Make(kind, "reflect", "bilinear", seed: 3);
        layer.Forward(x, true);
        var first = layer.Backward(dy).ToArray();
        layer.Reseed(3);
        layer.Forward(x, true);
        Assert.Equal(first, layer.Backward(dy).ToArray());
    }

    [Theory]
    [MemberData(nameof(AffineCases))]
    public void RandomAffine_Backward_MatchesFiniteDifferences_WithTheDrawsHeldFixed(string kind, string mode, string interpolation)
    {
        var (layer, _) = Make(kind, mode, interpolation, seed: 5, fill: 0.5);
        var x = Tensor<double>.RandomNormal(new TensorShape(2, 4, 5, 2), seed: 12);
        var report = GradientCheck.Check(layer, x, new GradientCheck.Options(BeforeForward: () => layer.Reseed(21)));
        Assert.True(report.Passed, report.ToString());
    }

    [Fact]
    public void RandomAffine_SteadyStateAllocatesNothing()
    {
        var x = Tensor<float>.RandomNormal(new TensorShape(4, 8, 8, 3), seed: 13);
        foreach (RandomAffineLayer<float> layer in new RandomAffineLayer<float>[]
                 { new RandomTranslation<float>(0.2, 0.2, seed: 1), new RandomRotation<float>(0.1, "constant", seed: 2), new RandomZoom<float>(0.3, 0.2, "wrap", "nearest", seed: 3) })
        {
            var dy = Tensor<float>.RandomNormal(x.Shape, seed: 14);
            SteadyState.AssertAllocatesNothing(() => { layer.Forward(x, true); layer.Backward(dy); });
        }
    }

    [Fact]
    public void RandomAffine_ConfigRoundTrips_ThroughTheRegistry()
    {
        var x = Tensor<double>.RandomNormal(new TensorShape(3, 5, 6, 1), seed: 15);
        foreach (ILayer<double> layer in new ILayer<double>[]
                 {
                     new RandomTranslation<double>((-0.3, 0.1), (-0.2, 0.2), "wrap", "nearest", seed: 7, fillValue: 0.5),
                     new RandomRotation<double>((0.05, -0.1), "constant", seed: 8, fillValue: -1.25),
                     new RandomZoom<double>(0.3, seed: 9), new RandomZoom<double>((-0.2, 0.4), (0.1, 0.3), "nearest", seed: 10),
                 })
        {
            var config = layer.GetConfig();
            var loaded = LayerRegistry<double>.Create(((Layer<double>)layer).TypeName, config);
            Assert.Equal(config, loaded.GetConfig());
            Assert.Equal(layer.Forward(x, true).ToArray(), loaded.Forward(x, true).ToArray());
        }
        Assert.Equal(new Dictionary<string, string>
        {
            ["factor"] = "-0.1,0.05", ["fill_mode"] = "constant", ["interpolation"] = "bilinear", ["fill_value"] = "-1.25", ["seed"] = "8",
        }, new RandomRotation<double>((0.05, -0.1), "constant", seed: 8, fillValue: -1.25).GetConfig());
        Assert.False(new RandomZoom<double>(0.3, seed: 9).GetConfig().ContainsKey("width_factor"));
    }

    [Fact]
    public void RandomAffine_BadOptionsAndShapes_AreRejectedByName()
    {
        var e = Assert.Throws<ArgumentException>(() => new RandomRotation<float>(0.1, "mirror"));
        Assert.Equal("fillMode", e.ParamName);
        Assert.Contains("'mirror'", e.Message);
        e = Assert.Throws<ArgumentException>(() => new RandomZoom<float>(0.1, interpolation: "bicubic"));
        Assert.Equal("interpolation", e.ParamName);
        Assert.Contains("'bicubic'", e.Message);
        var r = Assert.Throws<ArgumentOutOfRangeException>(() => new RandomTranslation<float>(1.5, 0.1));
        Assert.Equal("heightFactor", r.ParamName);
        Assert.Contains("1.5", r.Message);
        Assert.Equal("widthFactor", Assert.Throws<ArgumentOutOfRangeException>(() => new RandomTranslation<float>((-0.1, 0.1), (-2, 0))).ParamName);
        Assert.Equal("factor", Assert.Throws<ArgumentOutOfRangeException>(() => new RandomRotation<float>(double.NaN)).ParamName);
        Assert.Equal("widthFactor", Assert.Throws<ArgumentOutOfRangeException>(() => new RandomZoom<float>(0.1, 3)).ParamName);
        Assert.Equal("fillValue", Assert.Throws<ArgumentOutOfRangeException>(() => new RandomZoom<float>(0.1, fillValue: double.NaN)).ParamName);
        e = Assert.Throws<ArgumentException>(() => new RandomRotation<float>(0.1).Forward(new Tensor<float>(2, 3, 4), true));
        Assert.Contains("[batch, height, width, channels]", e.Message);
        Assert.Contains("[2, 3, 4]", e.Message);
        var layer = new RandomZoom<float>(0.1);
        Assert.Throws<InvalidOperationException>(() => layer.Backward(new Tensor<float>(1, 2, 2, 1)));
        layer.Forward(new Tensor<float>(1, 2, 2, 1), true);
        Assert.Contains("[1, 2, 3, 1]", Assert.Throws<ArgumentException>(() => layer.Backward(new Tensor<float>(1, 2, 3, 1))).Message);
    }
}
