using Nn.Simd.Layers;
using Nn.Simd.Layers.Activations;
using Nn.Simd.Layers.Initializers;
using Nn.Simd.Tensors;
using Nn.Simd.Training;

namespace Nn.Simd.Layers.Tests;

public class DenseTests
{
    [Theory]
    [InlineData("linear")]
    [InlineData("relu")]
    [InlineData("sigmoid")]
    [InlineData("tanh")]
    [InlineData("softmax")]
    [InlineData("leaky_relu")]
    [InlineData("gelu")]
    public void Dense_Backward_MatchesFiniteDifferences(string activation)
    {
        var layer = new Dense<double>(5, activation);
        var x = Tensor<double>.RandomNormal(new TensorShape(4, 3), seed: 7);
        layer.Build(x.Shape, seed: 3);
        // Non-zero bias so the check exercises it.
        layer.Bias!.Value.Span.Fill(0.1);
        var report = GradientCheck.Check(layer, x);
        Assert.True(report.Passed, report.ToString());
    }

    [Fact]
    public void Dense_OnSequences_MatchesFiniteDifferences()
    {
        var layer = new Dense<double>(4, "tanh");
        var x = Tensor<double>.RandomNormal(new TensorShape(2, 3, 5), seed: 8);
        var report = GradientCheck.Check(layer, x);
        Assert.True(report.Passed, report.ToString());
        Assert.Equal(new TensorShape(2, 3, 4), layer.Forward(x, false).Shape);
    }

    [Fact]
    public void Dense_ComputesXWPlusB()
    {
        var layer = new Dense<float>(2, kernelInitializer: new Constant(0.5), biasInitializer: new Constant(1));
        var x = Tensor<float>.FromArray([1, 2, 3, 4, 5, 6], 2, 3);
        var y = layer.Forward(x, training: false);
        Assert.Equal([4f, 4f, 8.5f, 8.5f], y.ToArray());
    }

    [Fact]
    public void Dense_BackwardAccumulatesIntoGrad()
    {
        var layer = new Dense<double>(3);
        var x = Tensor<double>.RandomNormal(new TensorShape(2, 4), seed: 1);
        var dy = Tensor<double>.RandomNormal(new TensorShape(2, 3), seed: 2);
        layer.Forward(x, true);
        layer.Backward(dy);
        var once = layer.Kernel.Grad.ToArray();
        layer.Forward(x, true);
        layer.Backward(dy);
        var twice = layer.Kernel.Grad.ToArray();
        for (int i = 0; i < once.Length; i++) Assert.Equal(2 * once[i], twice[i], 12);
    }

    [Fact]
    public void Dense_WrongFeatureCount_NamesShapes()
    {
        var layer = new Dense<float>(3);
        layer.Forward(new Tensor<float>(2, 4), false);
        var ex = Assert.Throws<ArgumentException>(() => layer.Forward(new Tensor<float>(2, 5), false));
        Assert.Contains("[2, 5]", ex.Message);
        Assert.Contains("[2, 4]", ex.Message);
    }

    [Fact]
    public void Dense_RejectsNonPositiveUnits()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new Dense<float>(0));
        Assert.Contains("got 0", ex.Message);
    }
}

public class InitializerTests
{
    [Theory]
    [InlineData(5, 20)]
    [InlineData(20, 5)]
    [InlineData(7, 7)]
    public void Orthogonal_RowsOrColumnsAreOrthonormal(int rows, int cols)
    {
        var t = new Tensor<double>(rows, cols);
        new Orthogonal().Initialize(t, new Random(1));
        int m = Math.Min(rows, cols);
        // Gram matrix of the shorter side must be the identity.
        for (int a = 0; a < m; a++)
            for (int b = 0; b < m; b++)
            {
                double dot = 0;
                if (rows <= cols) for (int j = 0; j < cols; j++) dot += t[a, j] * t[b, j];
                else for (int i = 0; i < rows; i++) dot += t[i, a] * t[i, b];
                Assert.Equal(a == b ? 1.0 : 0.0, dot, 10);
            }
    }

    [Fact]
    public void GlorotUniform_StaysWithinLimit_AndIsSeeded()
    {
        var a = new Tensor<float>(30, 50);
        var b = new Tensor<float>(30, 50);
        new GlorotUniform().Initialize(a, new Random(5));
        new GlorotUniform().Initialize(b, new Random(5));
        Assert.Equal(a.ToArray(), b.ToArray());
        float limit = MathF.Sqrt(6f / 80f);
        Assert.All(a.ToArray(), v => Assert.InRange(v, -limit, limit));
        Assert.True(a.ToArray().Max() > 0.9f * limit);
    }

    [Fact]
    public void Gelu_Erf_MatchesKnownValues()
    {
        // erf(0.5), erf(1), erf(2), erf(3.5) to 1e-15.
        Assert.Equal(0.5204998778130465, SpecialFunctionsProxy.Erf(0.5), 12);
        Assert.Equal(0.8427007929497149, SpecialFunctionsProxy.Erf(1), 12);
        Assert.Equal(0.9953222650189527, SpecialFunctionsProxy.Erf(2), 12);
        Assert.Equal(0.9999992569016276, SpecialFunctionsProxy.Erf(3.5), 12);
        Assert.Equal(-0.8427007929497149, SpecialFunctionsProxy.Erf(-1), 12);
    }
}

internal static class SpecialFunctionsProxy
{
    // Erf is internal; exercise it through GELU: gelu(x)·2/x − 1 = erf(x/√2).
    public static double Erf(double z)
    {
        double x = z * Math.Sqrt(2);
        var g = new Gelu<double>();
        Span<double> y = stackalloc double[1];
        g.Forward([x], y, 1);
        return y[0] * 2 / x - 1;
    }
}

public class ActivationLayerTests
{
    [Theory]
    [InlineData("linear")]
    [InlineData("relu")]
    [InlineData("sigmoid")]
    [InlineData("tanh")]
    [InlineData("softmax")]
    [InlineData("leaky_relu")]
    [InlineData("gelu")]
    public void ActivationLayer_Backward_MatchesFiniteDifferences(string activation)
    {
        var layer = new ActivationLayer<double>(activation);
        // Rank 3 input: the activation runs over rows of the last dimension (softmax normalises each of them).
        var x = Tensor<double>.RandomNormal(new TensorShape(3, 2, 5), seed: 11);
        var report = GradientCheck.Check(layer, x);
        Assert.True(report.Passed, report.ToString());
        Assert.Empty(layer.Parameters);
    }

    [Fact]
    public void ActivationLayer_Softmax_RowsSumToOne()
    {
        var y = new ActivationLayer<float>("softmax").Forward(Tensor<float>.RandomNormal(new TensorShape(4, 6), seed: 3), false);
        for (int r = 0; r < 4; r++)
        {
            float s = 0;
            for (int j = 0; j < 6; j++) s += y[r, j];
            Assert.Equal(1f, s, 5);
        }
    }

    [Fact]
    public void ActivationLayer_UnknownName_ListsKnownNames()
    {
        var ex = Assert.Throws<ArgumentException>(() => new ActivationLayer<float>("swishy"));
        Assert.Contains("relu", ex.Message);
    }
}
