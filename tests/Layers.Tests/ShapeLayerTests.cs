using Nn.Simd.Tensors;
using Nn.Simd.Training;

namespace Nn.Simd.Layers.Tests;

/// <summary>Reshape, RepeatVector and Permute: values against index loops, finite differences, Keras' shape examples
/// and bad input.</summary>
public class ShapeLayerTests
{
    [Fact]
    public void Reshape_KeepsTheValues_AndInfersOneDimension()
    {
        // Keras docs: Reshape((3, 4)) on (None, 12) gives (None, 3, 4); Reshape((-1, 2, 2)) on (None, 3, 4) gives (None, 3, 2, 2).
        Assert.Equal(new TensorShape(5, 3, 4), new Reshape<float>(3, 4).ComputeOutputShape(new TensorShape(5, 12)));
        Assert.Equal(new TensorShape(5, 3, 2, 2), new Reshape<float>(-1, 2, 2).ComputeOutputShape(new TensorShape(5, 3, 4)));
        Assert.Equal(new TensorShape(2, 24), new Reshape<float>(-1).ComputeOutputShape(new TensorShape(2, 2, 3, 4)));
        var x = Tensor<double>.RandomNormal(new TensorShape(3, 4, 6), seed: 1);
        var layer = new Reshape<double>(2, -1, 3);
        var y = layer.Forward(x, true);
        Assert.Equal(new TensorShape(3, 2, 4, 3), y.Shape);
        Assert.Equal(x.ToArray(), y.ToArray());   // row-major order is kept
        var report = GradientCheck.Check(layer, x);
        Assert.True(report.Passed, report.ToString());
        Assert.Equal("2,-1,3", layer.GetConfig()["target_shape"]);
        Assert.Equal([2, -1, 3], layer.TargetShape);
    }

    [Fact]
    public void Reshape_RejectsSizesThatDiffer_NamingBothShapes()
    {
        var e = Assert.Throws<ArgumentException>(() => new Reshape<float>(5, 3).Forward(new Tensor<float>(2, 12), false));
        Assert.Contains("[2, 12]", e.Message);
        Assert.Contains("(5, 3)", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Reshape<float>(-1, 5).ComputeOutputShape(new TensorShape(2, 3, 4)));
        Assert.Contains("[2, 3, 4]", e.Message);
        Assert.Contains("(-1, 5)", e.Message);
        Assert.Contains("multiple of 5", e.Message);
        Assert.Equal("targetShape", Assert.Throws<ArgumentException>(() => new Reshape<float>(-1, -1)).ParamName);
        Assert.Equal("targetShape", Assert.Throws<ArgumentException>(() => new Reshape<float>(0, 4)).ParamName);
        Assert.Equal("targetShape", Assert.Throws<ArgumentException>(() => new Reshape<float>(-2, 4)).ParamName);
        Assert.Equal("targetShape", Assert.Throws<ArgumentException>(() => new Reshape<float>()).ParamName);
        Assert.Contains("1 to 3 dimensions", Assert.Throws<ArgumentException>(() => new Reshape<float>(1, 2, 3, 4)).Message);
        var built = new Reshape<float>(-1);
        built.Forward(new Tensor<float>(2, 3, 4), false);
        Assert.Contains("12 values", Assert.Throws<ArgumentException>(() => built.Forward(new Tensor<float>(2, 3, 5), false)).Message);
    }

    [Fact]
    public void RepeatVector_CopiesEachRow_AndSumsTheGradientOverTheCopies()
    {
        var x = Tensor<double>.RandomNormal(new TensorShape(3, 5), seed: 2);
        var layer = new RepeatVector<double>(4);
        var y = layer.Forward(x, true);
        Assert.Equal(new TensorShape(3, 4, 5), y.Shape);
        for (int n = 0; n < 3; n++)
            for (int t = 0; t < 4; t++)
                for (int f = 0; f < 5; f++) Assert.Equal(x[n, f], y[n, t, f]);
        var dy = Tensor<double>.RandomNormal(y.Shape, seed: 3);
        var dx = layer.Backward(dy);
        for (int n = 0; n < 3; n++)
            for (int f = 0; f < 5; f++)
                Assert.Equal(Enumerable.Range(0, 4).Sum(t => dy[n, t, f]), dx[n, f], 14);
        var report = GradientCheck.Check(layer, x);
        Assert.True(report.Passed, report.ToString());
        Assert.Equal("4", layer.GetConfig()["n"]);
        var e = Assert.Throws<ArgumentException>(() => new RepeatVector<float>(2).Forward(new Tensor<float>(2, 3, 4), false));
        Assert.Contains("[batch, features]", e.Message);
        Assert.Contains("[2, 3, 4]", e.Message);
        Assert.Equal("n", Assert.Throws<ArgumentOutOfRangeException>(() => new RepeatVector<float>(0)).ParamName);
    }

    public static TheoryData<int[]> Permutations() => [[1, 2, 3], [1, 3, 2], [2, 1, 3], [2, 3, 1], [3, 1, 2], [3, 2, 1]];

    [Theory]
    [MemberData(nameof(Permutations))]
    public void Permute_MovesAxesAsKerasDims_AndBack(int[] dims)
    {
        int[] size = [3, 4, 5];
        var x = Tensor<double>.RandomNormal(new TensorShape(2, 3, 4, 5), seed: 4);
        var layer = new Permute<double>(dims);
        var y = layer.Forward(x, true);
        Assert.Equal(new TensorShape(2, size[dims[0] - 1], size[dims[1] - 1], size[dims[2] - 1]), y.Shape);
        // y[n, i1, i2, i3] = x[n, j1, j2, j3] with j_{dims[m]} = i_m.
        var xs = x.ReadOnlySpan;
        var ys = y.ReadOnlySpan;
        Span<int> i = stackalloc int[3], j = stackalloc int[3];
        for (int n = 0; n < 2; n++)
            for (i[0] = 0; i[0] < y.Shape[1]; i[0]++)
                for (i[1] = 0; i[1] < y.Shape[2]; i[1]++)
                    for (i[2] = 0; i[2] < y.Shape[3]; i[2]++)
                    {
                        for (int m = 0; m < 3; m++) j[dims[m] - 1] = i[m];
                        Assert.Equal(xs[((n * 3 + j[0]) * 4 + j[1]) * 5 + j[2]], ys[((n * y.Shape[1] + i[0]) * y.Shape[2] + i[1]) * y.Shape[3] + i[2]]);
                    }
        var report = GradientCheck.Check(layer, x);
        Assert.True(report.Passed, report.ToString());
    }

    [Fact]
    public void Permute_SwapsStepsAndFeatures_AndRejectsBadDims()
    {
        // Keras docs: Permute((2, 1)) on (None, 10, 64) gives (None, 64, 10).
        Assert.Equal(new TensorShape(7, 64, 10), new Permute<float>(2, 1).ComputeOutputShape(new TensorShape(7, 10, 64)));
        var x = Tensor<double>.RandomNormal(new TensorShape(2, 3, 4), seed: 5);
        var layer = new Permute<double>(2, 1);
        var y = layer.Forward(x, true);
        for (int n = 0; n < 2; n++)
            for (int t = 0; t < 3; t++)
                for (int f = 0; f < 4; f++) Assert.Equal(x[n, t, f], y[n, f, t]);
        var dy = Tensor<double>.RandomNormal(y.Shape, seed: 6);
        var dx = layer.Backward(dy);
        for (int n = 0; n < 2; n++)
            for (int t = 0; t < 3; t++)
                for (int f = 0; f < 4; f++) Assert.Equal(dy[n, f, t], dx[n, t, f]);
        Assert.Equal("2,1", layer.GetConfig()["dims"]);
        foreach (var bad in new[] { new[] { 0, 1 }, [1, 1], [2, 3], [], [1, 2, 3, 4] })
            Assert.Equal("dims", Assert.Throws<ArgumentException>(() => new Permute<float>(bad)).ParamName);
        var e = Assert.Throws<ArgumentException>(() => new Permute<float>(2, 1).Forward(new Tensor<float>(2, 3, 4, 5), false));
        Assert.Contains("rank 3", e.Message);
        Assert.Contains("[2, 3, 4, 5]", e.Message);
    }

    public static TheoryData<string> AllocationCases() => ["reshape", "repeat", "permute"];

    [Theory]
    [MemberData(nameof(AllocationCases))]
    public void SteadyStateTrainingStep_AllocatesNothing(string which)
    {
        ILayer<float> layer = which switch
        {
            "reshape" => new Reshape<float>(-1, 4),
            "repeat" => new RepeatVector<float>(7),
            _ => new Permute<float>(3, 1, 2),
        };
        var x = Tensor<float>.RandomNormal(which switch { "repeat" => new TensorShape(4, 12), "permute" => new TensorShape(4, 3, 5, 6), _ => new TensorShape(4, 6, 2) }, seed: 1);
        var dy = Tensor<float>.RandomNormal(layer.ComputeOutputShape(x.Shape), seed: 2);
        SteadyState.AssertAllocatesNothing(() => { layer.Forward(x, true); layer.Backward(dy); });
    }
}
