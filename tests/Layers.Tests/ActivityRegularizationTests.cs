using Nn.Simd.Layers.Regularizers;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers.Tests;

/// <summary>The shared activity-penalty helper: <c>P(y) = (l1·Σ|y| + l2·Σy²) / B</c> and <c>dOutput + ∂P/∂y</c>.</summary>
public class ActivityRegularizationTests
{
    [Theory]
    [InlineData(0.01, 0.0)]
    [InlineData(0.0, 0.02)]
    [InlineData(0.03, 0.005)]
    public void PenaltyAndGradient_MatchTheFormula_DividedByTheFirstAxisOnly(double l1, double l2)
    {
        var r = new Regularizer(l1, l2);
        var y = Tensor<double>.RandomNormal(new TensorShape(2, 3, 4), 1);   // a sequence output: B = 2, not B·T = 6
        var dOut = Tensor<double>.RandomNormal(new TensorShape(2, 3, 4), 2);
        var dOutBefore = dOut.ToArray();
        var yv = y.ToArray();
        Assert.Equal(yv.Sum(v => l1 * Math.Abs(v) + l2 * v * v) / 2, ActivityRegularization.Penalty(r, y), 12);

        var ws = new Workspace<double>();
        var g = ActivityRegularization.AddGradient(r, y, dOut, ws);
        Assert.Equal(dOutBefore, dOut.ToArray());   // the incoming gradient belongs to someone else: untouched
        Assert.Equal(y.Shape, g.Shape);
        for (int i = 0; i < yv.Length; i++)
        {
            Assert.Equal(dOutBefore[i] + (l1 * Math.Sign(yv[i]) + 2 * l2 * yv[i]) / 2, g.Span[i], 12);
            // and the penalty's part is the derivative of Penalty
            var plus = y.Clone(); plus.Span[i] += 1e-6;
            var minus = y.Clone(); minus.Span[i] -= 1e-6;
            double numeric = (ActivityRegularization.Penalty(r, plus) - ActivityRegularization.Penalty(r, minus)) / 2e-6;
            Assert.Equal(numeric, g.Span[i] - dOutBefore[i], 6);
        }
        Assert.Same(g, ActivityRegularization.AddGradient(r, y, dOut, ws));   // a steady shape reuses the buffer
    }

    [Fact]
    public void EmptyBatch_HasNoPenalty_AndPassesTheGradientThrough()
    {
        var r = new Regularizer(0.1, 0.1);
        var y = new Tensor<float>(0, 3);
        Assert.Equal(0, ActivityRegularization.Penalty(r, y));
        Assert.Equal(0, ActivityRegularization.AddGradient(r, y, new Tensor<float>(0, 3), new Workspace<float>()).Length);
    }

    [Fact]
    public void MismatchedGradient_IsRejected_NamingBothShapes()
    {
        var r = Regularizer.Ridge();
        var e = Assert.Throws<ArgumentException>(() =>
            ActivityRegularization.AddGradient(r, new Tensor<float>(4, 3), new Tensor<float>(4, 2), new Workspace<float>()));
        Assert.Equal("dOutput", e.ParamName);
        Assert.Contains("[4, 2]", e.Message);
        Assert.Contains("[4, 3]", e.Message);
        Assert.Throws<ArgumentNullException>(() => ActivityRegularization.Penalty<float>(null!, new Tensor<float>(1, 1)));
    }
}
