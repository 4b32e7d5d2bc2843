using Nn.Simd.Tensors;
using Nn.Simd.Training;

namespace Nn.Simd.Layers.Tests;

/// <summary>ZeroPadding1D/2D and Cropping1D/2D: values and gradients against index loops, finite differences, Keras'
/// shape examples, config and bad input.</summary>
public class BorderLayerTests
{
    /// <summary>y[b, i, j, c] = x[b, i − top, j − left, c], zero outside x, by plain index loops (rank 3 has width 1).</summary>
    private static double[] ShiftReference(Tensor<double> x, TensorShape yShape, int top, int left)
    {
        bool image = x.Shape.Rank == 4;
        int h = x.Shape[1], w = image ? x.Shape[2] : 1, c = x.Shape[-1], h2 = yShape[1], w2 = image ? yShape[2] : 1;
        var xs = x.ToArray();
        var y = new double[yShape.Length];
        for (int b = 0; b < x.Shape[0]; b++)
            for (int i2 = 0; i2 < h2; i2++)
                for (int j2 = 0; j2 < w2; j2++)
                    for (int k = 0; k < c; k++)
                    {
                        int i = i2 - top, j = j2 - left;
                        if (i >= 0 && i < h && j >= 0 && j < w) y[((b * h2 + i2) * w2 + j2) * c + k] = xs[((b * h + i) * w + j) * c + k];
                    }
        return y;
    }

    public static TheoryData<string> Cases() => ["pad1", "pad1sym", "pad2", "pad2sym", "pad2hw", "crop1", "crop2", "crop2sym", "crop2hw"];

    /// <summary>The layer, its input shape, its output shape and its signed (top, left) offset: + pads, − crops.</summary>
    private static (BorderLayer<double> Layer, TensorShape In, TensorShape Out, int Top, int Left) Case(string name) => name switch
    {
        "pad1" => (new ZeroPadding1D<double>((2, 1)), new(2, 4, 3), new(2, 7, 3), 2, 0),
        "pad1sym" => (new ZeroPadding1D<double>(), new(2, 4, 3), new(2, 6, 3), 1, 0),
        "pad2" => (new ZeroPadding2D<double>(((1, 2), (0, 3))), new(2, 3, 4, 2), new(2, 6, 7, 2), 1, 0),
        "pad2sym" => (new ZeroPadding2D<double>(), new(2, 3, 4, 2), new(2, 5, 6, 2), 1, 1),
        "pad2hw" => (new ZeroPadding2D<double>((2, 1)), new(2, 3, 4, 2), new(2, 7, 6, 2), 2, 1),
        "crop1" => (new Cropping1D<double>((1, 2)), new(2, 6, 3), new(2, 3, 3), -1, 0),
        "crop2" => (new Cropping2D<double>(((1, 0), (2, 1))), new(2, 5, 6, 3), new(2, 4, 3, 3), -1, -2),
        "crop2sym" => (new Cropping2D<double>(1), new(2, 5, 6, 3), new(2, 3, 4, 3), -1, -1),
        _ => (new Cropping2D<double>((0, 2)), new(2, 5, 6, 3), new(2, 5, 2, 3), 0, -2),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ForwardAndBackward_MatchIndexLoops_AndFiniteDifferences(string name)
    {
        var (layer, inShape, outShape, top, left) = Case(name);
        Assert.Equal(outShape, layer.ComputeOutputShape(inShape));
        var x = Tensor<double>.RandomNormal(inShape, seed: 1);
        var y = layer.Forward(x, training: true);
        Assert.Equal(outShape, y.Shape);
        Assert.Equal(ShiftReference(x, outShape, top, left), y.ToArray());
        var dy = Tensor<double>.RandomNormal(outShape, seed: 2);
        var dx = layer.Backward(dy);
        Assert.Equal(inShape, dx.Shape);
        Assert.Equal(ShiftReference(dy, inShape, -top, -left), dx.ToArray());
        var report = GradientCheck.Check(layer, x);
        Assert.True(report.Passed, report.ToString());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ReusedBuffers_AreFullyOverwritten_WhenTheSizeChanges(string name)
    {
        // A first pass on a larger input leaves values in the workspaces; the zero border must still be written.
        var (layer, inShape, _, top, left) = Case(name);
        var big = inShape.Rank == 3 ? new TensorShape(4, inShape[1] + 3, 3) : new TensorShape(4, inShape[1] + 2, inShape[2] + 3, inShape[3]);
        var x0 = Tensor<double>.RandomNormal(big, seed: 6);
        layer.Backward(Tensor<double>.RandomNormal(layer.Forward(x0, true).Shape, seed: 7));
        var x = Tensor<double>.RandomNormal(inShape, seed: 8);
        var y = layer.Forward(x, true);
        Assert.Equal(ShiftReference(x, y.Shape, top, left), y.ToArray());
        var dy = Tensor<double>.RandomNormal(y.Shape, seed: 9);
        Assert.Equal(ShiftReference(dy, inShape, -top, -left), layer.Backward(dy).ToArray());
    }

    [Fact]
    public void KerasShapeExamples_AndPaddingUndoneByCropping()
    {
        // Keras docs: ZeroPadding1D(2) on (2, 2, 3) gives (2, 6, 3); Cropping1D(1) on (2, 3, 2) gives (2, 1, 2);
        // Cropping2D(((2, 2), (4, 4))) on (None, 28, 28, 3) gives (None, 24, 20, 3); ZeroPadding2D(1) on (1, 2, 2, 1) gives (1, 4, 4, 1).
        Assert.Equal(new TensorShape(2, 6, 3), new ZeroPadding1D<float>(2).ComputeOutputShape(new TensorShape(2, 2, 3)));
        Assert.Equal(new TensorShape(2, 1, 2), new Cropping1D<float>().ComputeOutputShape(new TensorShape(2, 3, 2)));
        Assert.Equal(new TensorShape(5, 24, 20, 3), new Cropping2D<float>(((2, 2), (4, 4))).ComputeOutputShape(new TensorShape(5, 28, 28, 3)));
        Assert.Equal(new TensorShape(1, 4, 4, 1), new ZeroPadding2D<float>(1).ComputeOutputShape(new TensorShape(1, 2, 2, 1)));
        Assert.Equal(new TensorShape(1, 2, 2, 1), new Cropping2D<float>().ComputeOutputShape(new TensorShape(1, 2, 2, 1)));   // default: no cropping

        var x = Tensor<float>.RandomNormal(new TensorShape(3, 4, 5, 2), seed: 3);
        var padded = new ZeroPadding2D<float>(((1, 2), (3, 0))).Forward(x, false);
        Assert.Equal(x.ToArray(), new Cropping2D<float>(((1, 2), (3, 0))).Forward(padded, false).ToArray());
        float sum = 0;
        foreach (float v in padded.ToArray()) sum += v;
        float sumX = 0;
        foreach (float v in x.ToArray()) sumX += v;
        Assert.Equal(sumX, sum, 4);   // the border is zeros
    }

    [Fact]
    public void Config_UsesKerasOptionNames()
    {
        Assert.Equal("2,1", new ZeroPadding1D<float>((2, 1)).GetConfig()["padding"]);
        Assert.Equal("1,2,0,3", new ZeroPadding2D<float>(((1, 2), (0, 3))).GetConfig()["padding"]);
        Assert.Equal("1,1,1,1", new ZeroPadding2D<float>().GetConfig()["padding"]);
        Assert.Equal("1,1", new Cropping1D<float>().GetConfig()["cropping"]);
        Assert.Equal("2,2,0,0", new Cropping2D<float>((2, 0)).GetConfig()["cropping"]);
        Assert.Equal(((2, 2), (0, 0)), new Cropping2D<float>((2, 0)).Cropping);
        Assert.Equal((3, 3), new ZeroPadding1D<float>(3).Padding);
    }

    [Fact]
    public void BadSizesAndShapes_AreRejectedByName()
    {
        Assert.Equal("padding", Assert.Throws<ArgumentOutOfRangeException>(() => new ZeroPadding1D<float>(-1)).ParamName);
        Assert.Equal("padding", Assert.Throws<ArgumentOutOfRangeException>(() => new ZeroPadding2D<float>(((0, 0), (0, -2)))).ParamName);
        Assert.Equal("cropping", Assert.Throws<ArgumentOutOfRangeException>(() => new Cropping1D<float>((-1, 0))).ParamName);
        Assert.Equal("cropping", Assert.Throws<ArgumentOutOfRangeException>(() => new Cropping2D<float>((0, -1))).ParamName);
        var e = Assert.Throws<ArgumentException>(() => new ZeroPadding1D<float>().Forward(new Tensor<float>(2, 3, 4, 5), false));
        Assert.Contains("[batch, steps, channels]", e.Message);
        Assert.Contains("[2, 3, 4, 5]", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Cropping2D<float>().Forward(new Tensor<float>(2, 3, 4), false));
        Assert.Contains("[batch, height, width, channels]", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Cropping2D<float>(((2, 2), (0, 0))).Forward(new Tensor<float>(2, 4, 4, 1), false));
        Assert.Contains("((2, 2), (0, 0))", e.Message);
        Assert.Contains("[2, 4, 4, 1]", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Cropping1D<float>((3, 0)).Forward(new Tensor<float>(2, 3, 1), false));
        Assert.Contains("(3, 0)", e.Message);
        var built = new ZeroPadding2D<float>();
        built.Forward(new Tensor<float>(1, 2, 2, 3), false);
        Assert.Contains("[1, 2, 2, 4]", Assert.Throws<ArgumentException>(() => built.Forward(new Tensor<float>(1, 2, 2, 4), false)).Message);
        Assert.Throws<InvalidOperationException>(() => new Cropping1D<float>().Backward(new Tensor<float>(1, 2, 3)));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void SteadySteps_AllocateNothing(string name)
    {
        var (layer, inShape, outShape, _, _) = Case(name);
        var x = Tensor<double>.RandomNormal(inShape, seed: 4);
        var dy = Tensor<double>.RandomNormal(outShape, seed: 5);
        SteadyState.AssertAllocatesNothing(() => { layer.Forward(x, true); layer.Backward(dy); });
    }
}
