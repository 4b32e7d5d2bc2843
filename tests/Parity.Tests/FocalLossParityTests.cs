using Nn.Simd.Tensors;
using Nn.Simd.Training.Losses;
using static TorchSharp.torch;

namespace Nn.Simd.Parity.Tests;

/// <summary>
/// The focal losses, which libtorch lacks, against Keras 3's formulas composed from torch ops in float64 (sigmoid or
/// softmax, clamp to [1e-7, 1 − 1e-7], log, pow), value and gradient by autograd. Some probabilities sit at 0 and 1,
/// where the clamp's zero gradient and the unclipped focal factor (binary) both matter.
/// </summary>
public class FocalLossParityTests
{
    private const double Eps = 1e-7;

    [Theory]
    [InlineData(false, false, 2.0, 0.0, 0.25)]
    [InlineData(true, false, 2.0, 0.0, 0.25)]
    [InlineData(false, true, 0.5, 0.1, 0.6)]
    [InlineData(true, true, 3.0, 0.2, 0.3)]
    public void BinaryFocal_MatchesTorchComposition(bool logits, bool balancing, double gamma, double smoothing, double alpha)
    {
        const int rows = 5, c = 3;
        var rng = new Random(11);
        var p = new Tensor<double>(rows, c);
        var y = new Tensor<double>(rows, c);
        for (int i = 0; i < p.Length; i++)
        {
            p[i] = logits ? 3 * rng.NextGaussian() : rng.NextDouble();
            y[i] = rng.Next(3) switch { 0 => 0, 1 => 1, _ => rng.NextDouble() };
        }
        if (!logits) { p[0] = 0; p[4] = 1; }
        var loss = new BinaryFocalCrossEntropy<double>(balancing, alpha, gamma, logits, smoothing);
        var d = new Tensor<double>(p.Shape);
        double ours = loss.ComputeWithGradient(p, y, d);

        using var scope = NewDisposeScope();
        var tp = tensor(p.ToArray(), [rows, c], ScalarType.Float64).requires_grad_(true);
        var ty = tensor(y.ToArray(), [rows, c], ScalarType.Float64);
        if (smoothing != 0) ty = ty * (1 - smoothing) + 0.5 * smoothing;
        var prob = logits ? tp.sigmoid() : tp;
        var o = prob.clamp(Eps, 1 - Eps);
        var bce = -(ty * o.log() + (1 - ty) * (1 - o).log());
        var pt = ty * prob + (1 - ty) * (1 - prob);
        var focal = (1 - pt).pow(gamma) * bce;
        if (balancing) focal = (ty * alpha + (1 - ty) * (1 - alpha)) * focal;
        var tl = focal.mean([-1]).mean();
        tl.backward();

        Assert.Equal(tl.item<double>(), ours, 1e-12);
        var cmp = Tolerance.Compare<double>(tp.grad!.data<double>().ToArray(), d.ToArray(), 1e-10, 1e-13);
        Assert.True(cmp.Passed, $"dPrediction: {cmp}");
    }

    [Theory]
    [InlineData(false, 2.0, 0.0, 0.25)]
    [InlineData(true, 2.0, 0.0, 0.25)]
    [InlineData(false, 1.5, 0.1, 0.5)]
    [InlineData(true, 0.5, 0.2, 1.0)]
    public void CategoricalFocal_MatchesTorchComposition(bool logits, double gamma, double smoothing, double alpha)
    {
        const int rows = 4, c = 5;
        var rng = new Random(12);
        var p = new Tensor<double>(rows, c);
        var y = new Tensor<double>(rows, c);
        for (int r = 0; r < rows; r++)
        {
            y[r, rng.Next(c)] = 1;
            for (int j = 0; j < c; j++) p[r, j] = logits ? 3 * rng.NextGaussian() : 0.05 + rng.NextDouble();
        }
        if (!logits) p[0, 1] = 0;
        var loss = new CategoricalFocalCrossEntropy<double>(alpha, gamma, logits, smoothing);
        var d = new Tensor<double>(p.Shape);
        double ours = loss.ComputeWithGradient(p, y, d);

        using var scope = NewDisposeScope();
        var tp = tensor(p.ToArray(), [rows, c], ScalarType.Float64).requires_grad_(true);
        var ty = tensor(y.ToArray(), [rows, c], ScalarType.Float64);
        if (smoothing != 0) ty = ty * (1 - smoothing) + smoothing / c;
        var prob = logits ? tp.softmax(-1) : tp;
        var o = (prob / prob.sum([-1], keepdim: true)).clamp(Eps, 1 - Eps);
        var focal = (1 - o).pow(gamma) * alpha * (-ty * o.log());
        var tl = focal.sum([-1]).mean();
        tl.backward();

        Assert.Equal(tl.item<double>(), ours, 1e-12);
        var cmp = Tolerance.Compare<double>(tp.grad!.data<double>().ToArray(), d.ToArray(), 1e-10, 1e-13);
        Assert.True(cmp.Passed, $"dPrediction: {cmp}");
    }
}
