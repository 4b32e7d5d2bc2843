using Nn.Simd.Tensors;
using Nn.Simd.Training;

namespace Nn.Simd.Layers.Tests;

/// <summary>UnitNormalization against a float64 index-loop reference of Keras' formula along every axis layout,
/// finite differences, the clamped branch (norms under 1e-6) exactly, zero allocation and bad arguments.</summary>
public class UnitNormalizationTests
{
    /// <summary>y = x / √max(Σ x², 1e-12) along axis <paramref name="a"/> (non-negative), by index loops.</summary>
    private static double[] Reference(Tensor<double> x, int a)
    {
        var dims = x.Shape.ToArray();
        int outer = dims[..a].Aggregate(1, (p, d) => p * d), n = dims[a], inner = dims[(a + 1)..].Aggregate(1, (p, d) => p * d);
        var xs = x.ToArray();
        var y = new double[xs.Length];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                double s = 0;
                for (int k = 0; k < n; k++) s += xs[(o * n + k) * inner + i] * xs[(o * n + k) * inner + i];
                for (int k = 0; k < n; k++) y[(o * n + k) * inner + i] = xs[(o * n + k) * inner + i] / Math.Sqrt(Math.Max(s, 1e-12));
            }
        return y;
    }

    public static TheoryData<int[], int> Cases() => new()
    {
        { [3, 7], -1 },
        { [2, 4, 5], -1 },
        { [2, 4, 5], 1 },
        { [2, 4, 5], -2 },
        { [2, 3, 4, 5], 2 },
        { [2, 3, 4, 37], 1 },
        { [2, 3, 4, 37], 3 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Forward_MatchesKerasFormula_AndBackwardMatchesFiniteDifferences(int[] dims, int axis)
    {
        var shape = new TensorShape(dims);
        var x = Tensor<double>.RandomNormal(shape, seed: dims.Sum());
        var layer = new UnitNormalization<double>(axis);
        var y = layer.Forward(x, training: true).ToArray();
        var expected = Reference(x, axis < 0 ? axis + dims.Length : axis);
        for (int i = 0; i < y.Length; i++) Assert.Equal(expected[i], y[i], 12);
        Assert.Equal(y, layer.Forward(x, training: false).ToArray());
        var report = GradientCheck.Check(layer, x);
        Assert.True(report.Passed, $"{shape} axis {axis}: {report}");
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1)]
    public void VectorsWithNormUnder1e6_AreScaledBy1e6_WithTheLinearGradient_AndZeroStaysZero(int axis)
    {
        // [2, 3, 3]: vector 0 along the axis is tiny (clamped), vector 1 is zero, the rest normal.
        var x = Tensor<double>.RandomNormal(new TensorShape(2, 3, 3), seed: 4);
        var xs = x.Span;
        int[] tiny = axis == -1 ? [0, 1, 2] : [0, 3, 6];
        int[] zero = axis == -1 ? [3, 4, 5] : [1, 4, 7];
        foreach (int i in tiny) xs[i] *= 1e-8;
        foreach (int i in zero) xs[i] = 0;
        var layer = new UnitNormalization<double>(axis);
        var y = layer.Forward(x, training: true).ToArray();
        var dy = Tensor<double>.RandomNormal(x.Shape, seed: 5);
        var dx = layer.Backward(dy).ToArray();
        foreach (int i in tiny)
        {
            Assert.Equal(x.ToArray()[i] * 1e6, y[i], 1e-12 * Math.Abs(y[i]) + 1e-30);
            Assert.Equal(dy.ToArray()[i] * 1e6, dx[i], 1e-9 * Math.Abs(dx[i]));
        }
        foreach (int i in zero)
        {
            Assert.Equal(0, y[i]);
            Assert.Equal(dy.ToArray()[i] * 1e6, dx[i], 1e-9 * Math.Abs(dx[i]));
        }
        // The other vectors still get the projected gradient: it is not r·dy there.
        int normal = axis == -1 ? 9 : 2;
        Assert.NotEqual(dy.ToArray()[normal] / Math.Sqrt(3), dx[normal], 3);
    }

    [Fact]
    public void SteadyTrainingPass_AllocatesNothing()
    {
        var x = Tensor<float>.RandomNormal(new TensorShape(4, 6, 16), seed: 1);
        var dy = Tensor<float>.RandomNormal(x.Shape, seed: 2);
        var last = new UnitNormalization<float>();
        var middle = new UnitNormalization<float>(1);
        SteadyState.AssertAllocatesNothing(() => { last.Forward(x, true); last.Backward(dy); middle.Forward(x, true); middle.Backward(dy); });
    }

    [Fact]
    public void BadArguments_AreRejected_NamingTheValues()
    {
        Assert.Contains("got 0", Assert.Throws<ArgumentOutOfRangeException>("axis", () => new UnitNormalization<float>(0)).Message);
        Assert.Throws<ArgumentOutOfRangeException>("axis", () => new UnitNormalization<float>(4));
        Assert.Throws<ArgumentOutOfRangeException>("axis", () => new UnitNormalization<float>(-4));
        var e = Assert.Throws<ArgumentException>(() => new UnitNormalization<float>(2).Forward(new Tensor<float>(3, 4), true));
        Assert.Contains("axis 2", e.Message);
        Assert.Contains("[3, 4]", e.Message);
        e = Assert.Throws<ArgumentException>(() => new UnitNormalization<float>(-2).ComputeOutputShape(new TensorShape(3, 4)));
        Assert.Contains("batch axis", e.Message);
        var layer = new UnitNormalization<float>();
        Assert.Throws<InvalidOperationException>(() => layer.Backward(new Tensor<float>(3, 4)));
        layer.Forward(new Tensor<float>(3, 4), true);
        Assert.Throws<ArgumentException>(() => layer.Backward(new Tensor<float>(3, 5)));
        Assert.Throws<ArgumentException>(() => layer.Forward(new Tensor<float>(3, 5), true));
        Assert.Equal("-1", layer.GetConfig()["axis"]);
    }
}
