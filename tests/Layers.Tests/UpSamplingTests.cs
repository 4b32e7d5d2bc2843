using Nn.Simd.Tensors;
using Nn.Simd.Training;

namespace Nn.Simd.Layers.Tests;

/// <summary>UpSampling1D/2D: values and summed gradients against index loops, finite differences, Keras' shape
/// examples, config and bad input.</summary>
public class UpSamplingTests
{
    public static TheoryData<string> Cases() => ["1d", "1d3", "2d", "2d32", "2d14"];

    private static (UpSamplingLayer<double> Layer, TensorShape In, int Sh, int Sw) Case(string name) => name switch
    {
        "1d" => (new UpSampling1D<double>(), new(2, 4, 3), 2, 1),
        "1d3" => (new UpSampling1D<double>(3), new(3, 5, 2), 3, 1),
        "2d" => (new UpSampling2D<double>(), new(2, 3, 4, 2), 2, 2),
        "2d32" => (new UpSampling2D<double>((3, 2)), new(2, 3, 2, 3), 3, 2),
        _ => (new UpSampling2D<double>((1, 4)), new(1, 2, 3, 5), 1, 4),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ForwardRepeats_BackwardSumsTheCopies_AsIndexLoops(string name)
    {
        var (layer, s, sh, sw) = Case(name);
        bool image = s.Rank == 4;
        int batch = s[0], h = s[1], w = image ? s[2] : 1, c = s[-1];
        var outShape = image ? new TensorShape(batch, h * sh, w * sw, c) : new TensorShape(batch, h * sh, c);
        var x = Tensor<double>.RandomNormal(s, seed: 1);
        var y = layer.Forward(x, training: true);
        Assert.Equal(outShape, y.Shape);
        var xs = x.ToArray();
        var ys = y.ToArray();
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < h * sh; i++)
                for (int j = 0; j < w * sw; j++)
                    for (int k = 0; k < c; k++)
                        Assert.Equal(xs[((b * h + i / sh) * w + j / sw) * c + k], ys[((b * h * sh + i) * w * sw + j) * c + k]);
        var dy = Tensor<double>.RandomNormal(outShape, seed: 2);
        var dx = layer.Backward(dy).ToArray();
        var dys = dy.ToArray();
        var expected = new double[xs.Length];
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < h * sh; i++)
                for (int j = 0; j < w * sw; j++)
                    for (int k = 0; k < c; k++)
                        expected[((b * h + i / sh) * w + j / sw) * c + k] += dys[((b * h * sh + i) * w * sw + j) * c + k];
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], dx[i], 13);
        var report = GradientCheck.Check(layer, x);
        Assert.True(report.Passed, report.ToString());
        // A second backward pass must not accumulate into the first one's result.
        layer.Forward(x, true);
        var again = layer.Backward(dy).ToArray();
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], again[i], 13);
    }

    [Fact]
    public void KerasShapeExamples_AndConfig()
    {
        // Keras docs: UpSampling1D(size=2) on (2, 2, 3) gives (2, 4, 3); UpSampling2D(size=(1, 2)) on (2, 2, 1, 3) gives (2, 2, 2, 3).
        Assert.Equal(new TensorShape(2, 4, 3), new UpSampling1D<float>(2).ComputeOutputShape(new TensorShape(2, 2, 3)));
        Assert.Equal(new TensorShape(2, 2, 2, 3), new UpSampling2D<float>((1, 2)).ComputeOutputShape(new TensorShape(2, 2, 1, 3)));
        Assert.Equal("2", new UpSampling1D<float>().GetConfig()["size"]);
        Assert.Equal("2,2", new UpSampling2D<float>().GetConfig()["size"]);
        Assert.Equal("3,1", new UpSampling2D<float>((3, 1)).GetConfig()["size"]);
        Assert.Equal((4, 4), new UpSampling2D<float>(4).Size);
    }

    [Fact]
    public void BadSizesAndShapes_AreRejectedByName()
    {
        Assert.Equal("size", Assert.Throws<ArgumentOutOfRangeException>(() => new UpSampling1D<float>(0)).ParamName);
        Assert.Equal("size", Assert.Throws<ArgumentOutOfRangeException>(() => new UpSampling2D<float>((2, 0))).ParamName);
        Assert.Equal("size", Assert.Throws<ArgumentOutOfRangeException>(() => new UpSampling2D<float>(-1)).ParamName);
        var e = Assert.Throws<ArgumentException>(() => new UpSampling1D<float>().Forward(new Tensor<float>(2, 3, 4, 5), false));
        Assert.Contains("[batch, steps, channels]", e.Message);
        Assert.Contains("[2, 3, 4, 5]", e.Message);
        e = Assert.Throws<ArgumentException>(() => new UpSampling2D<float>().Forward(new Tensor<float>(2, 3, 4), false));
        Assert.Contains("[batch, height, width, channels]", e.Message);
        var up = new UpSampling2D<float>();
        up.Forward(new Tensor<float>(1, 2, 2, 3), false);
        Assert.Contains("[1, 3, 3, 3]", Assert.Throws<ArgumentException>(() => up.Backward(new Tensor<float>(1, 3, 3, 3))).Message);
        Assert.Throws<InvalidOperationException>(() => new UpSampling1D<float>().Backward(new Tensor<float>(1, 2, 3)));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void SteadySteps_AllocateNothing(string name)
    {
        var (layer, s, _, _) = Case(name);
        var x = Tensor<double>.RandomNormal(s, seed: 4);
        var dy = Tensor<double>.RandomNormal(layer.ComputeOutputShape(s), seed: 5);
        SteadyState.AssertAllocatesNothing(() => { layer.Forward(x, true); layer.Backward(dy); });
    }
}
