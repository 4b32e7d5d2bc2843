using Nn.Simd.Tensors;
using Nn.Simd.Training;

namespace Nn.Simd.Layers.Tests;

/// <summary>Keras' <c>Normalization</c> preprocessing layer: Adapt's statistics, the forward and inverted forms
/// against their formulas, the backward pass by finite differences, and bad input.</summary>
public class PreprocessingNormalizationTests
{
    [Fact]
    public void Adapt_TakesThePerFeatureMeanAndPopulationVariance_OverEveryRow()
    {
        var x = Tensor<double>.RandomNormal(new TensorShape(7, 3, 4), seed: 1);
        var xs = x.Span;
        for (int i = 0; i < xs.Length; i++) xs[i] = xs[i] * (1 + i % 4) + 1000 * (i % 4);   // |μ| ≫ σ in feature 3
        var layer = new Normalization<double>();
        layer.Adapt(x);
        Assert.True(layer.IsBuilt);
        for (int j = 0; j < 4; j++)
        {
            double mean = 0, var = 0;
            for (int r = 0; r < 21; r++) mean += xs[r * 4 + j];
            mean /= 21;
            for (int r = 0; r < 21; r++) var += (xs[r * 4 + j] - mean) * (xs[r * 4 + j] - mean);
            var /= 21;
            Assert.Equal(mean, layer.Mean.Value[j], 1e-9);
            Assert.Equal(var, layer.Variance.Value[j], 1e-9);
        }
        // The adapted layer standardises its own data.
        var y = layer.Forward(x, training: false).ToArray();
        for (int j = 0; j < 4; j++)
        {
            double m = 0, s = 0;
            for (int r = 0; r < 21; r++) m += y[r * 4 + j];
            for (int r = 0; r < 21; r++) s += y[r * 4 + j] * y[r * 4 + j];
            Assert.Equal(0, m / 21, 1e-9);
            Assert.Equal(1, s / 21, 1e-9);
        }
    }

    [Fact]
    public void Forward_IsKerasFormula_ForGivenStatistics_AndInvertUndoesIt()
    {
        // Keras' docstring example: mean 3, variance 2 → [[1], [2], [3]] ↦ [−1.4142135, −0.70710677, 0].
        var layer = new Normalization<float>([3.0], [2.0]);
        var y = layer.Forward(Tensor<float>.FromArray([1f, 2f, 3f], 3, 1), training: false);
        Assert.Equal([(1f - 3f) / MathF.Sqrt(2f), (2f - 3f) / MathF.Sqrt(2f), 0f], y.ToArray());

        // Per-feature values; a zero variance divides by ε = 1e-7, not by 0.
        float[] mean = [1f, -2f, 0.5f], variance = [4f, 0.25f, 0f];
        var x = Tensor<float>.RandomNormal(new TensorShape(5, 3), seed: 2);
        var normalize = new Normalization<float>([1, -2, 0.5], [4, 0.25, 0]);
        var invert = new Normalization<float>([1, -2, 0.5], [4, 0.25, 0], invert: true);
        var yn = normalize.Forward(x, training: true).ToArray();
        var yi = invert.Forward(x, training: true).ToArray();
        var xs = x.ToArray();
        for (int i = 0; i < xs.Length; i++)
        {
            float s = MathF.Max(MathF.Sqrt(variance[i % 3]), 1e-7f);
            Assert.Equal((xs[i] - mean[i % 3]) / s, yn[i]);
            Assert.Equal(mean[i % 3] + xs[i] * s, yi[i]);
        }
    }

    [Fact]
    public void UnadaptedLayer_PassesItsInputThrough()
    {
        var x = Tensor<float>.RandomNormal(new TensorShape(4, 2, 3), seed: 3);
        Assert.Equal(x.ToArray(), new Normalization<float>().Forward(x, training: false).ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Backward_MatchesFiniteDifferences_AndTrainsNothing(bool invert)
    {
        var layer = new Normalization<double>([0.5, -1, 2], [2, 0.5, 9], invert);
        var x = Tensor<double>.RandomNormal(new TensorShape(4, 2, 3), seed: 4);
        var report = GradientCheck.Check(layer, x);
        Assert.True(report.Passed, report.ToString());
        Assert.All(layer.Parameters, p => Assert.True(p.IsBuffer));
    }

    [Fact]
    public void BadInput_IsReportedWithTheShapes_AndLosesNothing()
    {
        Assert.Throws<ArgumentException>("variance", () => new Normalization<float>([1.0], null));
        Assert.Throws<ArgumentException>("variance", () => new Normalization<float>([1.0, 2.0], [1.0]));
        Assert.Throws<ArgumentException>("variance", () => new Normalization<float>([1.0], [-1.0]));
        Assert.Throws<ArgumentException>("mean", () => new Normalization<float>([double.NaN], [1.0]));

        var fixedStats = new Normalization<float>([1.0, 2.0], [1.0, 1.0]);
        var ex = Assert.Throws<ArgumentException>(() => fixedStats.Forward(new Tensor<float>(2, 3), training: false));
        Assert.Contains("[2, 3]", ex.Message);
        Assert.Throws<InvalidOperationException>(() => fixedStats.Adapt(new Tensor<float>(2, 2)));

        var layer = new Normalization<float>();
        layer.Adapt(Tensor<float>.FromArray([1f, 2f, 3f, 5f], 2, 2));
        float[] mean = layer.Mean.Value.ToArray(), variance = layer.Variance.Value.ToArray();
        var bad = Tensor<float>.FromArray([1f, 2f, float.NaN, 4f], 2, 2);
        ex = Assert.Throws<ArgumentException>("data", () => layer.Adapt(bad));
        Assert.Contains("row 1, feature 0", ex.Message);
        Assert.Throws<ArgumentException>("data", () => layer.Adapt(new Tensor<float>(3, 5)));
        Assert.Throws<ArgumentException>("data", () => layer.Adapt(new Tensor<float>(0, 2)));
        Assert.Throws<ArgumentException>("data", () => layer.Adapt(new Tensor<float>(6)));
        Assert.Equal(mean, layer.Mean.Value.ToArray());
        Assert.Equal(variance, layer.Variance.Value.ToArray());
    }
}
