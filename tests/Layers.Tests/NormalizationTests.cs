using FsCheck;
using FsCheck.Xunit;
using Nn.Simd.Tensors;
using Nn.Simd.Training;

namespace Nn.Simd.Layers.Tests;

/// <summary>BatchNormalization against a direct float64 computation and finite differences; Flatten; buffers.</summary>
public class NormalizationTests
{
    private static BatchNormalization<double> Randomized(TensorShape shape, bool center = true, bool scale = true, double momentum = 0.9)
    {
        var bn = new BatchNormalization<double>(momentum, 1e-3, center, scale);
        bn.Build(shape, 1);
        var rng = new Random(2);
        foreach (var p in bn.Parameters)
        {
            var s = p.Value.Span;
            for (int i = 0; i < s.Length; i++)
                s[i] = p.Name == "moving_variance" ? 0.5 + rng.NextDouble() : 2 * rng.NextDouble() - 1;
        }
        return bn;
    }

    [Fact]
    public void Training_NormalisesWithBatchStatistics_AndUpdatesTheMovingAverages()
    {
        var x = Tensor<double>.RandomNormal(new TensorShape(6, 2, 3), seed: 3);
        TensorPrimitives.Add(x.Span, 5.0, x.Span);   // a large mean: the variance must still be accurate
        var bn = Randomized(x.Shape);
        var gamma = bn.Parameters[0].Value.ToArray();
        var beta = bn.Parameters[1].Value.ToArray();
        var mm0 = bn.MovingMean.Value.ToArray();
        var mv0 = bn.MovingVariance.Value.ToArray();
        var y = bn.Forward(x, training: true);
        int rows = 12, c = 3;
        var xs = x.ToArray();
        for (int j = 0; j < c; j++)
        {
            double mean = 0, var = 0;
            for (int r = 0; r < rows; r++) mean += xs[r * c + j];
            mean /= rows;
            for (int r = 0; r < rows; r++) var += (xs[r * c + j] - mean) * (xs[r * c + j] - mean);
            var /= rows;
            for (int r = 0; r < rows; r++)
                Assert.Equal(gamma[j] * (xs[r * c + j] - mean) / Math.Sqrt(var + 1e-3) + beta[j], y[r / 2, r % 2, j], 12);
            Assert.Equal(0.9 * mm0[j] + 0.1 * mean, bn.MovingMean.Value[j], 12);
            Assert.Equal(0.9 * mv0[j] + 0.1 * var, bn.MovingVariance.Value[j], 12);
        }
    }

    [Fact]
    public void Inference_AndAFrozenLayerInTraining_UseTheMovingStatistics_AndLeaveThemAlone()
    {
        var x = Tensor<double>.RandomNormal(new TensorShape(5, 4), seed: 4);
        var bn = Randomized(x.Shape);
        var mm = bn.MovingMean.Value.ToArray();
        var mv = bn.MovingVariance.Value.ToArray();
        var gamma = bn.Parameters[0].Value.ToArray();
        var beta = bn.Parameters[1].Value.ToArray();
        var inferred = bn.Forward(x, training: false).ToArray();
        for (int r = 0; r < 5; r++)
            for (int j = 0; j < 4; j++)
                Assert.Equal(gamma[j] * (x[r, j] - mm[j]) / Math.Sqrt(mv[j] + 1e-3) + beta[j], inferred[r * 4 + j], 12);
        bn.Trainable = false;
        Assert.Equal(inferred, bn.Forward(x, training: true).ToArray());
        Assert.Equal(mm, bn.MovingMean.Value.ToArray());
        Assert.Equal(mv, bn.MovingVariance.Value.ToArray());
        var report = GradientCheck.Check(bn, x);   // training: true, frozen: affine in x
        Assert.True(report.Passed, report.ToString());
    }

    [Property(MaxTest = 12, Replay = "(401,5001)")]
    public void Backward_MatchesFiniteDifferences(PositiveInt b, PositiveInt t, PositiveInt f, bool center, bool scale, bool sequence)
    {
        var shape = sequence ? new TensorShape(1 + b.Get % 4, 1 + t.Get % 4, 1 + f.Get % 6) : new TensorShape(2 + b.Get % 7, 1 + f.Get % 6);
        var x = Tensor<double>.RandomNormal(shape, seed: b.Get);
        var bn = Randomized(shape, center, scale);
        var report = GradientCheck.Check(bn, x);
        Assert.True(report.Passed, $"{shape} center={center} scale={scale}: {report}");
    }

    [Fact]
    public void Buffers_AreNeverTrainable_AndFreezingLeavesThemFrozen()
    {
        var bn = new BatchNormalization<float>();
        bn.Build(new TensorShape(2, 3), 1);
        Assert.Equal(["gamma", "beta", "moving_mean", "moving_variance"], bn.Parameters.Select(p => p.Name));
        Assert.Equal([true, true, false, false], bn.Parameters.Select(p => p.Trainable));
        Assert.Equal([false, false, true, true], bn.Parameters.Select(p => p.IsBuffer));
        var e = Assert.Throws<InvalidOperationException>(() => bn.MovingMean.Trainable = true);
        Assert.Contains("moving_mean", e.Message);
        bn.Trainable = false;
        Assert.False(bn.Trainable);
        bn.Trainable = true;
        Assert.True(bn.Trainable);
        Assert.False(bn.MovingVariance.Trainable);
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchNormalization<float>(momentum: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchNormalization<float>(epsilon: 0));
        Assert.Throws<ArgumentException>(() => new BatchNormalization<float>().Forward(new Tensor<float>(2, 2, 2, 2), true));
        Assert.Throws<ArgumentException>(() => bn.Forward(new Tensor<float>(0, 3), true));
    }

    [Property(MaxTest = 12, Replay = "(403,5003)")]
    public void LayerNorm_Backward_MatchesFiniteDifferences(PositiveInt b, PositiveInt t, PositiveInt f, bool center, bool scale, bool sequence)
    {
        var shape = sequence ? new TensorShape(1 + b.Get % 4, 1 + t.Get % 4, 2 + f.Get % 6) : new TensorShape(1 + b.Get % 7, 2 + f.Get % 6);
        var x = Tensor<double>.RandomNormal(shape, seed: b.Get + 1);
        var ln = new LayerNormalization<double>(1e-3, center, scale);
        ln.Build(shape, 1);
        RnnTestUtil.Randomize(ln, 2);
        var report = GradientCheck.Check(ln, x);
        Assert.True(report.Passed, $"{shape} center={center} scale={scale}: {report}");
    }

    [Fact]
    public void LayerNorm_NormalisesEachRow_TheSameInTrainingAndInference()
    {
        var x = Tensor<double>.RandomNormal(new TensorShape(3, 2, 5), seed: 9);
        TensorPrimitives.Add(x.Span, 100.0, x.Span);
        var ln = new LayerNormalization<double>();
        ln.Build(x.Shape, 1);
        RnnTestUtil.Randomize(ln, 3);
        var gamma = ln.Parameters[0].Value.ToArray();
        var beta = ln.Parameters[1].Value.ToArray();
        var y = ln.Forward(x, training: true).ToArray();
        Assert.Equal(y, ln.Forward(x, training: false).ToArray());
        var xs = x.ToArray();
        for (int r = 0; r < 6; r++)
        {
            var row = xs.AsSpan(r * 5, 5).ToArray();
            double mean = row.Average(), variance = row.Sum(v => (v - mean) * (v - mean)) / 5;
            for (int j = 0; j < 5; j++)
                Assert.Equal(gamma[j] * (row[j] - mean) / Math.Sqrt(variance + 1e-3) + beta[j], y[r * 5 + j], 10);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => new LayerNormalization<double>(epsilon: 0));
        Assert.Equal("0.001", ln.GetConfig()["epsilon"]);
    }

    [Fact]
    public void Flatten_IsAViewWithTheSampleAxesJoined()
    {
        var flatten = new Flatten<double>();
        var x = Tensor<double>.RandomNormal(new TensorShape(3, 4, 5), seed: 1);
        var y = flatten.Forward(x, training: true);
        Assert.Equal(new TensorShape(3, 20), y.Shape);
        Assert.Equal(x.ToArray(), y.ToArray());
        Assert.Same(y, flatten.Forward(x, training: true));   // the view is reused for the same input
        var dy = Tensor<double>.RandomNormal(new TensorShape(3, 20), seed: 2);
        var dx = flatten.Backward(dy);
        Assert.Equal(x.Shape, dx.Shape);
        Assert.Equal(dy.ToArray(), dx.ToArray());
        var e = Assert.Throws<ArgumentException>(() => flatten.Forward(new Tensor<double>(3, 21), false));
        Assert.Contains("20 values", e.Message);
        Assert.Equal(new TensorShape(7, 6), flatten.ComputeOutputShape(new TensorShape(7, 2, 3)));
    }
}
