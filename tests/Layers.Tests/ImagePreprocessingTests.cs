using Nn.Simd.Tensors;
using Nn.Simd.Training;

namespace Nn.Simd.Layers.Tests;

/// <summary>Rescaling, RandomFlip and CenterCrop: values and gradients against index loops written from the formulas,
/// finite differences, zero allocation per steady step, config, and bad options and shapes.</summary>
public class ImagePreprocessingTests
{
    // ---------------------------------------------------------------- Rescaling

    [Theory]
    [InlineData(1 / 255.0, 0)]
    [InlineData(1 / 127.5, -1)]
    [InlineData(-2.5, 0.75)]
    public void Rescaling_ScalesAndOffsets_AnyRank_BackwardIsScaleTimesDy(double scale, double offset)
    {
        foreach (var shape in new[] { new TensorShape(7), new TensorShape(3, 5), new TensorShape(2, 3, 4, 3) })
        {
            var layer = new Rescaling<double>(scale, offset);
            var x = Tensor<double>.RandomNormal(shape, seed: 1);
            var y = layer.Forward(x, training: false).ToArray();
            var xs = x.ToArray();
            for (int i = 0; i < xs.Length; i++) Assert.Equal(xs[i] * scale + offset, y[i], 14);
            Assert.Equal(y, layer.Forward(x, training: true).ToArray());   // the same while training
            var dy = Tensor<double>.RandomNormal(shape, seed: 2);
            var dx = layer.Backward(dy).ToArray();
            var dys = dy.ToArray();
            for (int i = 0; i < dys.Length; i++) Assert.Equal(dys[i] * scale, dx[i], 14);
            var report = GradientCheck.Check(layer, x);
            Assert.True(report.Passed, report.ToString());
        }
    }

    [Fact]
    public void Rescaling_MapsPixelsToUnitRange_InFloat32_AndSkipsTheInputGradientWhenAsked()
    {
        var x = Tensor<float>.FromArray([0f, 51f, 127.5f, 255f]);
        var layer = new Rescaling<float>(1 / 127.5, -1);
        Assert.Equal([-1f, -0.6f, 0f, 1f], layer.Forward(x, true).ToArray().Select(v => MathF.Round(v, 6)));
        Assert.Empty(layer.Parameters);
        layer.ComputeInputGradient = false;
        Assert.All(layer.Backward(Tensor<float>.Ones(4)).ToArray(), v => Assert.Equal(0f, v));
        layer.ComputeInputGradient = true;
        Assert.All(layer.Backward(Tensor<float>.Ones(4)).ToArray(), v => Assert.Equal((float)(1 / 127.5), v));
        Assert.Equal(new Dictionary<string, string> { ["scale"] = "0.00784313725490196", ["offset"] = "-1" }, layer.GetConfig());
        Assert.Equal("0", new Rescaling<float>(2).GetConfig()["offset"]);
    }

    [Fact]
    public void Rescaling_BadOptionsAndShapes_AreRejectedByName()
    {
        Assert.Equal("scale", Assert.Throws<ArgumentOutOfRangeException>(() => new Rescaling<float>(double.NaN)).ParamName);
        Assert.Equal("offset", Assert.Throws<ArgumentOutOfRangeException>(() => new Rescaling<float>(1, double.PositiveInfinity)).ParamName);
        var layer = new Rescaling<float>(2);
        Assert.Throws<InvalidOperationException>(() => layer.Backward(new Tensor<float>(2, 3)));
        layer.Forward(new Tensor<float>(2, 3), true);
        Assert.Contains("[2, 4]", Assert.Throws<ArgumentException>(() => layer.Backward(new Tensor<float>(2, 4))).Message);
    }

    // ---------------------------------------------------------------- RandomFlip

    /// <summary>x flipped by index arithmetic: per sample, when the flag is set, rows reversed (vertical) and/or columns
    /// reversed (horizontal).</summary>
    private static double[] FlipReference(double[] x, TensorShape s, bool[] flipped, bool horizontal, bool vertical)
    {
        int n = s[0], h = s[1], w = s[2], c = s[3];
        var y = new double[x.Length];
        for (int b = 0; b < n; b++)
            for (int i = 0; i < h; i++)
                for (int j = 0; j < w; j++)
                    for (int k = 0; k < c; k++)
                    {
                        int si = flipped[b] && vertical ? h - 1 - i : i, sj = flipped[b] && horizontal ? w - 1 - j : j;
                        y[((b * h + i) * w + j) * c + k] = x[((b * h + si) * w + sj) * c + k];
                    }
        return y;
    }

    /// <summary>Keras' rule on the layer's generator: one uniform per sample, flipped when u ≤ 0.5.</summary>
    private static bool[] ExpectedFlips(int seed, int batch, int skip = 0)
    {
        var rng = new Random(seed);
        for (int i = 0; i < skip; i++) rng.NextDouble();
        return Enumerable.Range(0, batch).Select(_ => rng.NextDouble() <= 0.5).ToArray();
    }

    [Theory]
    [InlineData("horizontal", true, false)]
    [InlineData("vertical", false, true)]
    [InlineData("horizontal_and_vertical", true, true)]
    public void RandomFlip_FlipsTheSeededSamples_AndBackwardFlipsDy(string mode, bool horizontal, bool vertical)
    {
        var s = new TensorShape(6, 3, 4, 2);
        var layer = new RandomFlip<double>(mode, seed: 13);
        var x = Tensor<double>.RandomNormal(s, seed: 1);
        var dy = Tensor<double>.RandomNormal(s, seed: 2);
        for (int pass = 0; pass < 2; pass++)   // the second pass draws the next 6 numbers
        {
            var flips = ExpectedFlips(13, 6, skip: 6 * pass);
            Assert.Contains(true, flips);
            Assert.Contains(false, flips);
            Assert.Equal(FlipReference(x.ToArray(), s, flips, horizontal, vertical), layer.Forward(x, training: true).ToArray());
            Assert.Equal(flips.Select(f => f ? 1.0 : 0.0), layer.Flips!.ToArray());
            // The flip permutes elements and is its own inverse, so dx is dy under the same flip.
            Assert.Equal(FlipReference(dy.ToArray(), s, flips, horizontal, vertical), layer.Backward(dy).ToArray());
        }
        Assert.Equal(new Dictionary<string, string> { ["mode"] = mode, ["seed"] = "13" }, layer.GetConfig());
    }

    [Fact]
    public void RandomFlip_IsTheIdentityAtInference_AndItsBackwardPassesDyThrough()
    {
        var layer = new RandomFlip<float>(seed: 1);
        var x = Tensor<float>.RandomNormal(new TensorShape(8, 2, 3, 1), seed: 3);
        Assert.Same(x, layer.Forward(x, training: false));
        var dy = Tensor<float>.RandomNormal(x.Shape, seed: 4);
        Assert.Equal(dy.ToArray(), layer.Backward(dy).ToArray());
        Assert.Null(layer.Flips);   // no draw at inference
    }

    [Theory]
    [InlineData("horizontal")]
    [InlineData("vertical")]
    [InlineData("horizontal_and_vertical")]
    public void RandomFlip_OverManySamples_FlipsAboutHalf_AndOnlyTheModesAxes(string mode)
    {
        // A 2×2 image with four distinct pixels: each outcome (kept, mirrored left-right, top-bottom, turned 180°) is
        // recognisable by its first pixel.
        const int n = 2000;
        var pixels = new float[4 * n];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = 1 + i % 4;   // rows [1, 2] and [3, 4]
        var y = new RandomFlip<float>(mode, seed: 5).Forward(Tensor<float>.FromArray(pixels, n, 2, 2, 1), training: true).ToArray();
        var counts = new int[5];
        for (int b = 0; b < n; b++) counts[(int)y[4 * b]]++;
        int expected = mode == "horizontal" ? 2 : mode == "vertical" ? 3 : 4;
        Assert.InRange(counts[1], 0.46 * n, 0.54 * n);            // kept
        Assert.InRange(counts[expected], 0.46 * n, 0.54 * n);     // flipped, along the mode's axes only
        Assert.Equal(n, counts[1] + counts[expected]);
    }

    [Fact]
    public void RandomFlip_SameSeed_SameFlips_OtherSeed_OtherFlips_AndReseedRepeats()
    {
        var x = Tensor<float>.RandomNormal(new TensorShape(32, 3, 3, 2), seed: 6);
        var a = new RandomFlip<float>(seed: 9).Forward(x, true).ToArray();
        Assert.Equal(a, new RandomFlip<float>(seed: 9).Forward(x, true).ToArray());
        Assert.NotEqual(a, new RandomFlip<float>(seed: 10).Forward(x, true).ToArray());
        var layer = new RandomFlip<float>(seed: 9);
        layer.Forward(x, true);
        Assert.NotEqual(a, layer.Forward(x, true).ToArray());   // a fresh draw each pass
        layer.Reseed(9);
        Assert.Equal(a, layer.Forward(x, true).ToArray());
    }

    [Theory]
    [InlineData("horizontal")]
    [InlineData("vertical")]
    [InlineData("horizontal_and_vertical")]
    public void RandomFlip_Backward_MatchesFiniteDifferences_WithTheFlipsHeldFixed(string mode)
    {
        var layer = new RandomFlip<double>(mode, seed: 3);
        var x = Tensor<double>.RandomNormal(new TensorShape(4, 3, 2, 2), seed: 4);
        var report = GradientCheck.Check(layer, x, new GradientCheck.Options(BeforeForward: () => layer.Reseed(21)));
        Assert.True(report.Passed, report.ToString());
        Assert.Contains(1.0, layer.Flips!.ToArray());   // the check did go through flipped samples
        var frozen = new RandomFlip<double>(mode, seed: 3) { FreezeMask = true };
        report = GradientCheck.Check(frozen, x);
        Assert.True(report.Passed, report.ToString());
    }

    [Fact]
    public void RandomFlip_BadOptionsAndShapes_AreRejectedByName()
    {
        var e = Assert.Throws<ArgumentException>(() => new RandomFlip<float>("diagonal"));
        Assert.Equal("mode", e.ParamName);
        Assert.Contains("'diagonal'", e.Message);
        Assert.Contains("horizontal_and_vertical", e.Message);
        Assert.Equal("mode", Assert.Throws<ArgumentNullException>(() => new RandomFlip<float>(null!)).ParamName);
        e = Assert.Throws<ArgumentException>(() => new RandomFlip<float>().Forward(new Tensor<float>(2, 3, 4), true));
        Assert.Contains("[batch, height, width, channels]", e.Message);
        Assert.Contains("[2, 3, 4]", e.Message);
        var layer = new RandomFlip<float>();
        Assert.Throws<InvalidOperationException>(() => layer.Backward(new Tensor<float>(1, 2, 2, 1)));
        layer.Forward(new Tensor<float>(1, 2, 2, 1), true);
        Assert.Contains("[1, 2, 3, 1]", Assert.Throws<ArgumentException>(() => layer.Backward(new Tensor<float>(1, 2, 3, 1))).Message);
    }

    // ---------------------------------------------------------------- CenterCrop

    public static TheoryData<int, int, int, int> CropCases() => new()
    {
        { 5, 6, 3, 4 },   // even differences
        { 6, 7, 3, 4 },   // odd differences: top = 1, left = 1, the extra row/column at the bottom/right
        { 4, 4, 4, 1 },   // one axis unchanged
        { 3, 5, 1, 5 },
    };

    [Theory]
    [MemberData(nameof(CropCases))]
    public void CenterCrop_KeepsTheCentralWindow_BackwardScattersDyIntoZeros(int h, int w, int th, int tw)
    {
        var s = new TensorShape(2, h, w, 3);
        var layer = new CenterCrop<double>(th, tw);
        var x = Tensor<double>.RandomNormal(s, seed: 1);
        var yt = layer.Forward(x, training: false);
        Assert.Equal(new TensorShape(2, th, tw, 3), yt.Shape);
        int top = (int)Math.Floor((h - th) / 2.0), left = (int)Math.Floor((w - tw) / 2.0);
        var dyt = Tensor<double>.RandomNormal(yt.Shape, seed: 2);
        var (xs, y, dy, dx) = (x.ToArray(), yt.ToArray(), dyt.ToArray(), layer.Backward(dyt).ToArray());
        for (int b = 0; b < 2; b++)
            for (int i = 0; i < h; i++)
                for (int j = 0; j < w; j++)
                    for (int k = 0; k < 3; k++)
                    {
                        bool inside = i >= top && i < top + th && j >= left && j < left + tw;
                        int at = ((b * h + i) * w + j) * 3 + k, cropped = ((b * th + i - top) * tw + j - left) * 3 + k;
                        if (inside) Assert.Equal(xs[at], y[cropped]);
                        Assert.Equal(inside ? dy[cropped] : 0.0, dx[at]);
                    }
        var report = GradientCheck.Check(layer, x);
        Assert.True(report.Passed, report.ToString());
    }

    [Fact]
    public void CenterCrop_OddDifference_PutsTheExtraRowAtTheBottom_AsKeras()
    {
        // Keras: h_start = int((4 - 1) / 2) = 1, so a 4-row column [0, 1, 2, 3] cropped to 1 row keeps 1 (torchvision: 2).
        var x = Tensor<float>.FromArray([0f, 1f, 2f, 3f], 1, 4, 1, 1);
        Assert.Equal([1f], new CenterCrop<float>(1, 1).Forward(x, false).ToArray());
        Assert.Equal(new Dictionary<string, string> { ["height"] = "1", ["width"] = "1" }, new CenterCrop<float>(1, 1).GetConfig());
    }

    [Fact]
    public void CenterCrop_BadOptionsAndShapes_AreRejectedByName()
    {
        Assert.Equal("height", Assert.Throws<ArgumentOutOfRangeException>(() => new CenterCrop<float>(0, 2)).ParamName);
        Assert.Equal("width", Assert.Throws<ArgumentOutOfRangeException>(() => new CenterCrop<float>(2, -1)).ParamName);
        var e = Assert.Throws<ArgumentException>(() => new CenterCrop<float>(2, 2).Forward(new Tensor<float>(2, 3, 4), false));
        Assert.Contains("[batch, height, width, channels]", e.Message);
        // Larger than the input: Keras resizes, this layer refuses and says so.
        e = Assert.Throws<ArgumentException>(() => new CenterCrop<float>(4, 2).Forward(new Tensor<float>(1, 3, 5, 1), false));
        Assert.Contains("(4, 2)", e.Message);
        Assert.Contains("[1, 3, 5, 1]", e.Message);
        Assert.Contains("resize", e.Message);
        Assert.Throws<ArgumentException>(() => new CenterCrop<float>(2, 6).ComputeOutputShape(new TensorShape(1, 3, 5, 1)));
        var built = new CenterCrop<float>(2, 2);
        built.Forward(new Tensor<float>(1, 3, 3, 2), false);
        Assert.Contains("[1, 3, 3, 4]", Assert.Throws<ArgumentException>(() => built.Forward(new Tensor<float>(1, 3, 3, 4), false)).Message);
        built.Forward(new Tensor<float>(2, 5, 4, 2), false);   // other image sizes with the same channels are fine
        Assert.Contains("[2, 3, 2, 2]", Assert.Throws<ArgumentException>(() => built.Backward(new Tensor<float>(2, 3, 2, 2))).Message);
        Assert.Throws<InvalidOperationException>(() => new CenterCrop<float>(1, 1).Backward(new Tensor<float>(1, 1, 1, 1)));
    }

    // ---------------------------------------------------------------- all three

    public static TheoryData<string> Kinds() => ["rescaling", "flip", "crop"];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void SteadyTrainingSteps_AllocateNothing(string kind)
    {
        ILayer<float> layer = kind switch
        {
            "rescaling" => new Rescaling<float>(1 / 255.0, 0.5),
            "flip" => new RandomFlip<float>(seed: 2),
            _ => new CenterCrop<float>(3, 2),
        };
        var x = Tensor<float>.RandomNormal(new TensorShape(4, 5, 4, 3), seed: 5);
        var dy = Tensor<float>.RandomNormal(layer.ComputeOutputShape(x.Shape), seed: 6);
        SteadyState.AssertAllocatesNothing(() => { layer.Forward(x, true); layer.Backward(dy); });
    }
}
