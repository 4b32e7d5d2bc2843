using Nn.Simd.Tensors;
using Nn.Simd.Training;

namespace Nn.Simd.Layers.Tests;

/// <summary>GaussianNoise, GaussianDropout, SpatialDropout1D/2D: values against scalar loops over the same seeded draws,
/// noise statistics, finite differences with the noise held fixed, inference identity and bad input.</summary>
public class NoiseLayerTests
{
    [Fact]
    public void GaussianNoise_AddsSeededNormalNoise_WhileTraining_Only()
    {
        var x = Tensor<double>.RandomNormal(new TensorShape(3, 4, 5), seed: 1);
        var layer = new GaussianNoise<double>(0.3, seed: 7);
        var y = layer.Forward(x, training: true);
        var rng = new Random(7);
        var xs = x.ToArray();
        var ys = y.ToArray();
        for (int i = 0; i < xs.Length; i++) Assert.Equal(xs[i] + 0.3 * rng.NextGaussian(), ys[i], 14);
        var dy = Tensor<double>.RandomNormal(y.Shape, seed: 2);
        Assert.Equal(dy.ToArray(), layer.Backward(dy).ToArray());      // additive: dx = dy
        Assert.Same(x, layer.Forward(x, training: false));
        Assert.Same(x, new GaussianNoise<double>(0).Forward(x, training: true));
        Assert.Equal(new Dictionary<string, string> { ["stddev"] = "0.3", ["seed"] = "7" }, layer.GetConfig());
    }

    [Fact]
    public void GaussianDropout_MultipliesByNormalNoiseOfMeanOne_AndVarianceRateOverOneMinusRate()
    {
        var x = Tensor<double>.RandomNormal(new TensorShape(4, 6), seed: 3);
        var layer = new GaussianDropout<double>(0.2, seed: 5);
        var y = layer.Forward(x, training: true);
        var rng = new Random(5);
        double sd = Math.Sqrt(0.2 / 0.8);
        var xs = x.ToArray();
        var ys = y.ToArray();
        var n = new double[xs.Length];
        for (int i = 0; i < xs.Length; i++)
        {
            n[i] = 1 + sd * rng.NextGaussian();
            Assert.Equal(xs[i] * n[i], ys[i], 14);
        }
        var dy = Tensor<double>.RandomNormal(y.Shape, seed: 4);
        var dx = layer.Backward(dy).ToArray();
        var dys = dy.ToArray();
        for (int i = 0; i < dys.Length; i++) Assert.Equal(dys[i] * n[i], dx[i], 14);
        Assert.Same(x, layer.Forward(x, training: false));

        // Statistics of the noise over many elements: mean 1, variance rate/(1 − rate) = 2/3 at rate 0.4.
        var big = new GaussianDropout<double>(0.4, seed: 11);
        big.Forward(Tensor<double>.Ones(100, 400), training: true);
        var noise = big.Noise!.ToArray();
        double mean = noise.Average(), variance = noise.Sum(v => (v - mean) * (v - mean)) / noise.Length;
        Assert.InRange(mean, 0.98, 1.02);
        Assert.InRange(variance, 2.0 / 3 * 0.96, 2.0 / 3 * 1.04);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    public void SpatialDropout_DropsWholeChannelsPerSample_AsAScalarLoop(int rank)
    {
        var shape = rank == 3 ? new TensorShape(5, 7, 6) : new TensorShape(5, 3, 4, 6);
        var x = Tensor<double>.RandomNormal(shape, seed: 6);
        NoiseLayer<double> layer = rank == 3 ? new SpatialDropout1D<double>(0.5, seed: 9) : new SpatialDropout2D<double>(0.5, seed: 9);
        var y = layer.Forward(x, training: true).ToArray();
        // One draw per (sample, channel), in that order, as Dropout draws per element.
        var rng = new Random(9);
        var m = new double[5, 6];
        for (int b = 0; b < 5; b++)
            for (int c = 0; c < 6; c++) m[b, c] = rng.NextDouble() < 0.5 ? 0 : 2;
        var xs = x.ToArray();
        int perSample = xs.Length / 5, dropped = 0;
        for (int i = 0; i < xs.Length; i++)
        {
            int b = i / perSample, c = i % 6;
            Assert.Equal(xs[i] * m[b, c], y[i]);
        }
        foreach (double v in m) if (v == 0) dropped++;
        Assert.InRange(dropped, 1, 29);   // some channels dropped, some kept
        var dy = Tensor<double>.RandomNormal(shape, seed: 8);
        var dx = layer.Backward(dy).ToArray();
        var dys = dy.ToArray();
        for (int i = 0; i < dys.Length; i++) Assert.Equal(dys[i] * m[i / perSample, i % 6], dx[i]);
        var mask = rank == 3 ? ((SpatialDropout1D<double>)layer).Mask! : ((SpatialDropout2D<double>)layer).Mask!;
        Assert.Equal(new TensorShape(5, 6), mask.Shape);
        Assert.Same(x, layer.Forward(x, training: false));
    }

    [Fact]
    public void SpatialDropout_DropsAboutRateOfTheChannels()
    {
        var layer = new SpatialDropout1D<float>(0.3, seed: 2);
        layer.Forward(Tensor<float>.Ones(200, 2, 50), training: true);
        double dropped = layer.Mask!.ToArray().Count(v => v == 0) / 10000.0;
        Assert.InRange(dropped, 0.28, 0.32);
        Assert.All(layer.Mask!.ToArray(), v => Assert.True(v == 0 || Math.Abs(v - 1 / 0.7f) < 1e-6));
    }

    public static TheoryData<string> Kinds() => ["noise", "gdrop", "sd1", "sd2"];

    private static NoiseLayer<double> Make(string kind) => kind switch
    {
        "noise" => new GaussianNoise<double>(0.5, seed: 3),
        "gdrop" => new GaussianDropout<double>(0.3, seed: 3),
        "sd1" => new SpatialDropout1D<double>(0.4, seed: 3),
        _ => new SpatialDropout2D<double>(0.4, seed: 3),
    };

    private static TensorShape ShapeFor(string kind) => kind == "sd2" ? new TensorShape(2, 3, 2, 4) : new TensorShape(3, 4, 5);

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Backward_MatchesFiniteDifferences_WithTheNoiseHeldFixed(string kind)
    {
        var layer = Make(kind);
        var x = Tensor<double>.RandomNormal(ShapeFor(kind), seed: 4);
        var report = GradientCheck.Check(layer, x, new GradientCheck.Options(BeforeForward: () => layer.Reseed(21)));
        Assert.True(report.Passed, report.ToString());
        var frozen = Make(kind);
        frozen.FreezeMask = true;
        report = GradientCheck.Check(frozen, x);
        Assert.True(report.Passed, report.ToString());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void SteadyTrainingSteps_AllocateNothing(string kind)
    {
        var layer = Make(kind);
        var x = Tensor<double>.RandomNormal(ShapeFor(kind), seed: 5);
        var dy = Tensor<double>.RandomNormal(x.Shape, seed: 6);
        SteadyState.AssertAllocatesNothing(() => { layer.Forward(x, true); layer.Backward(dy); });
    }

    [Fact]
    public void BadOptionsAndShapes_AreRejectedByName()
    {
        Assert.Equal("rate", Assert.Throws<ArgumentOutOfRangeException>(() => new GaussianDropout<float>(1)).ParamName);
        Assert.Equal("rate", Assert.Throws<ArgumentOutOfRangeException>(() => new SpatialDropout1D<float>(-0.1)).ParamName);
        Assert.Equal("rate", Assert.Throws<ArgumentOutOfRangeException>(() => new SpatialDropout2D<float>(double.NaN)).ParamName);
        Assert.Equal("stddev", Assert.Throws<ArgumentOutOfRangeException>(() => new GaussianNoise<float>(-1)).ParamName);
        Assert.Equal("stddev", Assert.Throws<ArgumentOutOfRangeException>(() => new GaussianNoise<float>(double.PositiveInfinity)).ParamName);
        var e = Assert.Throws<ArgumentException>(() => new SpatialDropout1D<float>(0.5).Forward(new Tensor<float>(2, 3, 4, 5), true));
        Assert.Contains("[batch, steps, channels]", e.Message);
        Assert.Contains("[2, 3, 4, 5]", e.Message);
        e = Assert.Throws<ArgumentException>(() => new SpatialDropout2D<float>(0.5).Forward(new Tensor<float>(2, 3, 4), true));
        Assert.Contains("[batch, height, width, channels]", e.Message);
        Assert.Contains("[2, 3, 4]", e.Message);
        var built = new SpatialDropout2D<float>(0.5);
        built.Forward(new Tensor<float>(2, 3, 3, 4), true);
        Assert.Contains("[2, 9, 4]", Assert.Throws<ArgumentException>(() => built.Forward(new Tensor<float>(2, 9, 4), true)).Message);
        var d = new GaussianNoise<float>(0.1);
        Assert.Throws<InvalidOperationException>(() => d.Backward(new Tensor<float>(2, 3)));
        d.Forward(new Tensor<float>(2, 3), true);
        Assert.Contains("[2, 4]", Assert.Throws<ArgumentException>(() => d.Backward(new Tensor<float>(2, 4))).Message);
    }
}
