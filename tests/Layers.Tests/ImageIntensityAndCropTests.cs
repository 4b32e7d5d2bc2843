using Nn.Simd.Tensors;
using Nn.Simd.Training;
using Nn.Simd.Training.Serialization;

namespace Nn.Simd.Layers.Tests;

/// <summary>RandomContrast, RandomBrightness and RandomCrop: values against float64 loops written from Keras' formulas
/// with the layer's draws replayed from its seed, inference behaviour, finite differences with the draws held fixed
/// (clipped elements included), zero allocation per steady step, config round trips and bad options.</summary>
public class ImageIntensityAndCropTests
{
    private static void AssertClose(double[] expected, double[] actual, double tol = 1e-12)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * (1 + Math.Abs(expected[i])),
                $"index {i}: expected {expected[i]}, got {actual[i]}");
    }

    /// <summary>clip((x − m)·f + m, lo, hi) per image and channel, m the channel's mean over height and width.</summary>
    private static double[] ContrastReference(double[] x, TensorShape s, double[] f, double lo, double hi)
    {
        int b = s[0], hw = s[1] * s[2], c = s[3];
        var y = new double[x.Length];
        for (int n = 0; n < b; n++)
            for (int k = 0; k < c; k++)
            {
                double m = 0;
                for (int p = 0; p < hw; p++) m += x[(n * hw + p) * c + k];
                m /= hw;
                for (int p = 0; p < hw; p++)
                    y[(n * hw + p) * c + k] = Math.Clamp((x[(n * hw + p) * c + k] - m) * f[n] + m, lo, hi);
            }
        return y;
    }

    [Fact]
    public void RandomContrast_MatchesTheFormula_WithTheSeedsDraws_OverTwoPasses()
    {
        var s = new TensorShape(4, 3, 5, 3);
        var layer = new RandomContrast<double>((0.3, 0.8), (-1.2, 1.5), seed: 7);
        var x = Tensor<double>.RandomNormal(s, seed: 1);
        var rng = new Random(7);
        for (int pass = 0; pass < 2; pass++)
        {
            var f = Enumerable.Range(0, 4).Select(_ => 0.7 + 1.1 * rng.NextDouble()).ToArray();   // [1 − 0.3, 1 + 0.8)
            var y = layer.Forward(x, training: true).ToArray();
            Assert.Equal(f, layer.Draws!.ToArray());
            var expected = ContrastReference(x.ToArray(), s, f, -1.2, 1.5);
            Assert.Contains(expected, v => v == 1.5);    // the clip is exercised at both ends
            Assert.Contains(expected, v => v == -1.2);
            AssertClose(expected, y);
        }
        // A lone factor f means [1 − f, 1 + f).
        var sym = new RandomContrast<double>(0.4, seed: 3);
        sym.Forward(x, true);
        var r = new Random(3);
        Assert.Equal(Enumerable.Range(0, 4).Select(_ => 0.6 + 0.8 * r.NextDouble()), sym.Draws!.ToArray());
    }

    [Fact]
    public void RandomBrightness_AddsAFractionOfTheRange_AndClips()
    {
        var s = new TensorShape(5, 2, 3, 2);
        var layer = new RandomBrightness<double>((-0.4, 0.3), (2, -2), seed: 9);   // the range is sorted, as Keras does
        Assert.Equal((-2.0, 2.0), layer.ValueRange);
        var x = Tensor<double>.RandomNormal(s, seed: 2).ToArray();
        var xt = Tensor<double>.FromArray(x, 5, 2, 3, 2);
        var rng = new Random(9);
        for (int pass = 0; pass < 2; pass++)
        {
            var d = Enumerable.Range(0, 5).Select(_ => (-0.4 + 0.7 * rng.NextDouble()) * 4).ToArray();
            var y = layer.Forward(xt, training: true).ToArray();
            Assert.Equal(d, layer.Draws!.ToArray());
            var expected = x.Select((v, i) => Math.Clamp(v + d[i / 12], -2, 2)).ToArray();
            Assert.Contains(expected, v => Math.Abs(v) == 2);
            AssertClose(expected, y);
        }
        // Keras' defaults: value_range (0, 255), so a lone factor 0.1 moves pixels by up to 25.5.
        var dflt = new RandomBrightness<double>(0.1, seed: 4);
        dflt.Forward(xt, true);
        var r = new Random(4);
        Assert.Equal(Enumerable.Range(0, 5).Select(_ => (-0.1 + 0.2 * r.NextDouble()) * 255), dflt.Draws!.ToArray());
    }

    public static TheoryData<string> IntensityKinds() => ["contrast", "brightness"];

    private static RandomIntensityLayer<double> MakeIntensity(string kind, int seed) => kind == "contrast"
        ? new RandomContrast<double>((0.5, 0.9), (-1.0, 1.3), seed)
        : new RandomBrightness<double>(0.3, (-1.0, 1.3), seed);

    [Theory]
    [MemberData(nameof(IntensityKinds))]
    public void RandomIntensity_Backward_MatchesFiniteDifferences_ThroughTheClip(string kind)
    {
        var layer = MakeIntensity(kind, 5);
        var x = Tensor<double>.RandomNormal(new TensorShape(3, 3, 4, 2), seed: 12);
        layer.Reseed(21);
        var y = layer.Forward(x, true).ToArray();
        Assert.Contains(y, v => v == 1.3 || v == -1.0);   // some elements are clipped, so their zero gradient is checked
        var report = GradientCheck.Check(layer, x, new GradientCheck.Options(BeforeForward: () => layer.Reseed(21)));
        Assert.True(report.Passed, report.ToString());
    }

    [Theory]
    [MemberData(nameof(IntensityKinds))]
    public void RandomIntensity_IsTheIdentityAtInference_SeededDrawsRepeat_AndDifferPerImage(string kind)
    {
        var x = Tensor<double>.RandomNormal(new TensorShape(4, 3, 3, 2), seed: 9);
        var layer = MakeIntensity(kind, 3);
        Assert.Same(x, layer.Forward(x, training: false));
        Assert.Null(layer.Draws);
        var dy = Tensor<double>.RandomNormal(x.Shape, seed: 10);
        Assert.Equal(dy.ToArray(), layer.Backward(dy).ToArray());
        var a = layer.Forward(x, true).ToArray();
        Assert.Equal(a, MakeIntensity(kind, 3).Forward(x, true).ToArray());
        Assert.NotEqual(a, MakeIntensity(kind, 4).Forward(x, true).ToArray());
        Assert.NotEqual(a, layer.Forward(x, true).ToArray());
        layer.Reseed(3);
        Assert.Equal(a, layer.Forward(x, true).ToArray());
        var draws = layer.Draws!.ToArray();
        Assert.Equal(4, draws.Distinct().Count());   // one draw per image
    }

    // ---------------------------------------------------------------- RandomCrop

    [Fact]
    public void RandomCrop_Training_OneWindowPerBatch_AtKerasOffsets_AndBackwardScatters()
    {
        var s = new TensorShape(3, 7, 9, 2);
        var layer = new RandomCrop<double>(4, 5, seed: 13);
        var x = Tensor<double>.RandomNormal(s, seed: 3).ToArray();
        var xt = Tensor<double>.FromArray(x, 3, 7, 9, 2);
        var rng = new Random(13);
        var tops = new HashSet<int>();
        for (int pass = 0; pass < 6; pass++)
        {
            double uh = rng.NextDouble(), uw = rng.NextDouble();
            int top = (int)Math.Floor(uh * 4), left = (int)Math.Floor(uw * 5);   // H − h + 1 = 4, W − w + 1 = 5
            tops.Add(top);
            var y = layer.Forward(xt, training: true).ToArray();
            Assert.Equal([uh, uw], layer.Draws!.ToArray());
            var expected = new double[3 * 4 * 5 * 2];
            for (int b = 0; b < 3; b++)
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 5; j++)
                        for (int k = 0; k < 2; k++)
                            expected[((b * 4 + i) * 5 + j) * 2 + k] = x[((b * 7 + top + i) * 9 + left + j) * 2 + k];
            Assert.Equal(expected, y);
            var dy = Tensor<double>.RandomNormal(new TensorShape(3, 4, 5, 2), seed: 20 + pass);
            var dx = layer.Backward(dy).ToArray();
            var dxe = new double[x.Length];
            for (int b = 0; b < 3; b++)
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 5; j++)
                        for (int k = 0; k < 2; k++)
                            dxe[((b * 7 + top + i) * 9 + left + j) * 2 + k] = dy[((b * 4 + i) * 5 + j) * 2 + k];
            Assert.Equal(dxe, dx);
        }
        Assert.True(tops.Count > 1, "the window moves between passes");
        var report = GradientCheck.Check(layer, xt, new GradientCheck.Options(BeforeForward: () => layer.Reseed(2)));
        Assert.True(report.Passed, report.ToString());
    }

    [Theory]
    [InlineData(8, 10, 4, 4, false)]   // inference on a larger image: centred square window, resized
    [InlineData(6, 6, 4, 3, false)]    // inference, taller target aspect
    [InlineData(8, 6, 8, 4, true)]     // training but not larger in height: Keras' centred branch (an exact crop here)
    [InlineData(3, 4, 6, 8, true)]     // training on a smaller image: resized up
    public void RandomCrop_CentredBranch_IsResizingOfTheAspectWindow(int h, int w, int oh, int ow, bool training)
    {
        var x = Tensor<double>.RandomNormal(new TensorShape(2, h, w, 3), seed: 4);
        var layer = new RandomCrop<double>(oh, ow, seed: 1);
        var y = layer.Forward(x, training).ToArray();
        Assert.Null(layer.Draws);   // no draw in this branch, as in Keras
        Assert.Equal(new Resizing<double>(oh, ow, cropToAspectRatio: true).Forward(x, false).ToArray(), y);
        // Keras' window, written out: ch = max(min(h, ⌊w·oh/ow⌋), 1) rows from ⌊(h − ch)/2⌋ …
        int ch = Math.Max(Math.Min(h, (int)((double)w * oh / ow)), 1), cw = Math.Max(Math.Min(w, (int)((double)h * ow / oh)), 1);
        if (ch == oh && cw == ow)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                    Assert.Equal(x[((h - ch) / 2 + i) * w * 3 + ((w - cw) / 2 + j) * 3], y[(i * ow + j) * 3]);
        var report = GradientCheck.Check(layer, x, new GradientCheck.Options(Training: training));
        Assert.True(report.Passed, report.ToString());
    }

    // ---------------------------------------------------------------- allocation, config, bad options

    [Fact]
    public void SteadyStateAllocatesNothing()
    {
        var x = Tensor<float>.RandomNormal(new TensorShape(4, 8, 8, 3), seed: 13);
        var dy = Tensor<float>.RandomNormal(x.Shape, seed: 14);
        foreach (Layer<float> layer in new Layer<float>[] { new RandomContrast<float>(0.5, (-2, 2), seed: 1), new RandomBrightness<float>(0.2, (-2, 2), seed: 2) })
            SteadyState.AssertAllocatesNothing(() => { layer.Forward(x, true); layer.Backward(dy); });
        var crop = new RandomCrop<float>(5, 6, seed: 3);
        var dyc = Tensor<float>.RandomNormal(new TensorShape(4, 5, 6, 3), seed: 15);
        SteadyState.AssertAllocatesNothing(() => { crop.Forward(x, true); crop.Backward(dyc); });
        SteadyState.AssertAllocatesNothing(() => { crop.Forward(x, false); crop.Backward(dyc); });
    }

    [Fact]
    public void ConfigRoundTrips_ThroughTheRegistry()
    {
        var x = Tensor<double>.RandomNormal(new TensorShape(3, 6, 7, 2), seed: 15);
        foreach (Layer<double> layer in new Layer<double>[]
                 {
                     new RandomContrast<double>((0.8, 0.1), (-1, 1), seed: 7), new RandomContrast<double>(0.25, seed: 8),
                     new RandomBrightness<double>((0.3, -0.5), (0, 1), seed: 9), new RandomCrop<double>(4, 3, seed: 10),
                 })
        {
            var config = layer.GetConfig();
            var loaded = LayerRegistry<double>.Create(layer.TypeName, config);
            Assert.Equal(config, loaded.GetConfig());
            Assert.Equal(layer.Forward(x, true).ToArray(), loaded.Forward(x, true).ToArray());
        }
        Assert.Equal(new Dictionary<string, string> { ["factor"] = "0.1,0.8", ["value_range"] = "-1,1", ["seed"] = "7" },
            new RandomContrast<double>((0.8, 0.1), (1, -1), seed: 7).GetConfig());
        Assert.Equal(new Dictionary<string, string> { ["factor"] = "-0.2,0.2", ["value_range"] = "0,255", ["seed"] = "9" },
            new RandomBrightness<double>(-0.2, seed: 9).GetConfig());
        Assert.Equal(new Dictionary<string, string> { ["height"] = "4", ["width"] = "3", ["seed"] = "10" },
            new RandomCrop<double>(4, 3, seed: 10).GetConfig());
    }

    [Fact]
    public void BadOptionsAndShapes_AreRejectedByName()
    {
        var r = Assert.Throws<ArgumentOutOfRangeException>(() => new RandomContrast<float>(1.5));
        Assert.Equal("factor", r.ParamName);
        Assert.Contains("1.5", r.Message);
        Assert.Equal("factor", Assert.Throws<ArgumentOutOfRangeException>(() => new RandomContrast<float>((-0.1, 0.2))).ParamName);
        r = Assert.Throws<ArgumentOutOfRangeException>(() => new RandomBrightness<float>((-1.5, 0)));
        Assert.Equal("factor", r.ParamName);
        Assert.Contains("-1.5", r.Message);
        Assert.Equal("factor", Assert.Throws<ArgumentOutOfRangeException>(() => new RandomBrightness<float>(double.NaN)).ParamName);
        r = Assert.Throws<ArgumentOutOfRangeException>(() => new RandomContrast<float>(0.1, (0, double.PositiveInfinity)));
        Assert.Equal("valueRange", r.ParamName);
        Assert.Contains("value_range", r.Message);
        Assert.Equal("valueRange", Assert.Throws<ArgumentOutOfRangeException>(() => new RandomBrightness<float>(0.1, (double.NaN, 1))).ParamName);
        Assert.Equal("height", Assert.Throws<ArgumentOutOfRangeException>(() => new RandomCrop<float>(0, 2)).ParamName);
        Assert.Equal("width", Assert.Throws<ArgumentOutOfRangeException>(() => new RandomCrop<float>(2, -1)).ParamName);
        foreach (Layer<float> layer in new Layer<float>[] { new RandomContrast<float>(0.1), new RandomBrightness<float>(0.1), new RandomCrop<float>(2, 2) })
        {
            var e = Assert.Throws<ArgumentException>(() => layer.Forward(new Tensor<float>(2, 3, 4), true));
            Assert.Contains("[batch, height, width, channels]", e.Message);
            Assert.Contains("[2, 3, 4]", e.Message);
        }
        var crop = new RandomCrop<float>(2, 2);
        Assert.Throws<InvalidOperationException>(() => crop.Backward(new Tensor<float>(1, 2, 2, 1)));
        crop.Forward(new Tensor<float>(1, 4, 4, 1), true);
        Assert.Contains("[1, 4, 4, 1]", Assert.Throws<ArgumentException>(() => crop.Backward(new Tensor<float>(1, 4, 4, 1))).Message);
    }
}
