using Nn.Simd.Tensors;
using Nn.Simd.Training.Losses;
using static TorchSharp.torch;

namespace Nn.Simd.Parity.Tests;

/// <summary>
/// Label smoothing against libtorch in float64, value and gradient by autograd:
/// <list type="bullet">
/// <item>categorical from logits: <c>cross_entropy(z, y, label_smoothing=s)</c> with probability targets, which smooths
/// as Keras (<c>(1 − s)·y + s/C</c>);</item>
/// <item>binary from logits: <c>binary_cross_entropy_with_logits(z, ỹ)</c> on the smoothed targets
/// <c>ỹ = y·(1 − s) + s/2</c> (torch has no smoothing option there), and on probabilities
/// <c>binary_cross_entropy(p, ỹ)</c> with p inside (1e-7, 1 − 1e-7), where Keras' clip and torch's log clamp at −100
/// are both inactive;</item>
/// <item>categorical on probabilities, which torch lacks: Keras' formula composed from torch ops
/// (<c>p / Σp</c>, clamp to [1e-7, 1 − 1e-7], <c>−Σ ỹ·log</c>), one probability at 0 so the clip's zero gradient counts.</item>
/// </list>
/// </summary>
public class LabelSmoothingParityTests
{
    private static (Tensor<double> P, Tensor<double> Y) Data(int rows, int c, bool logits, bool oneHot, int seed)
    {
        var rng = new Random(seed);
        var p = new Tensor<double>(rows, c);
        var y = new Tensor<double>(rows, c);
        for (int r = 0; r < rows; r++)
        {
            int hot = rng.Next(c);
            for (int j = 0; j < c; j++)
            {
                p[r, j] = logits ? 3 * rng.NextGaussian() : 0.01 + 0.98 * rng.NextDouble();
                y[r, j] = oneHot ? (j == hot ? 1 : 0) : rng.Next(3) switch { 0 => 0, 1 => 1, _ => rng.NextDouble() };
            }
        }
        return (p, y);
    }

    private static void AssertMatches(ILoss<double> loss, Tensor<double> p, Tensor<double> y, Func<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor> torchLoss)
    {
        var d = new Tensor<double>(p.Shape);
        double ours = loss.ComputeWithGradient(p, y, d);
        using var scope = NewDisposeScope();
        var tp = tensor(p.ToArray(), [p.Shape[0], p.Shape[1]], ScalarType.Float64).requires_grad_(true);
        var tl = torchLoss(tp);
        tl.backward();
        double theirs = tl.item<double>();
        Assert.True(Math.Abs(theirs - ours) <= 1e-12 * Math.Max(1, Math.Abs(theirs)), $"{loss.Name}: torch {theirs:R}, ours {ours:R}");
        var cmp = Tolerance.Compare<double>(tp.grad!.data<double>().ToArray(), d.ToArray(), 1e-10, 1e-13);
        Assert.True(cmp.Passed, $"{loss.Name} dPrediction: {cmp}");
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.1)]
    [InlineData(0.45)]
    [InlineData(1.0)]
    public void CategoricalLogits_MatchesTorchCrossEntropyWithLabelSmoothing(double s)
    {
        const int rows = 6, c = 5;
        var (p, y) = Data(rows, c, logits: true, oneHot: true, seed: 21);
        var ty = tensor(y.ToArray(), [rows, c], ScalarType.Float64);
        AssertMatches(new CategoricalCrossEntropy<double>(fromLogits: true, labelSmoothing: s), p, y,
            tp => nn.functional.cross_entropy(tp, ty, reduction: nn.Reduction.Mean, label_smoothing: s));
    }

    [Theory]
    [InlineData(true, 0.0)]
    [InlineData(true, 0.2)]
    [InlineData(true, 1.0)]
    [InlineData(false, 0.1)]
    [InlineData(false, 0.7)]
    public void Binary_MatchesTorchOnSmoothedTargets(bool logits, double s)
    {
        const int rows = 5, c = 3;
        var (p, y) = Data(rows, c, logits, oneHot: false, seed: 22);
        var ty = tensor(y.ToArray(), [rows, c], ScalarType.Float64) * (1 - s) + 0.5 * s;
        AssertMatches(new BinaryCrossEntropy<double>(logits, s), p, y,
            tp => logits ? nn.functional.binary_cross_entropy_with_logits(tp, ty) : nn.functional.binary_cross_entropy(tp, ty));
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(0.5)]
    public void CategoricalProbabilities_MatchesTorchComposition(double s)
    {
        const int rows = 4, c = 5;
        var (p, y) = Data(rows, c, logits: false, oneHot: true, seed: 23);
        p[0, 1] = 0;
        var ty = tensor(y.ToArray(), [rows, c], ScalarType.Float64) * (1 - s) + s / c;
        AssertMatches(new CategoricalCrossEntropy<double>(labelSmoothing: s), p, y,
            tp => (-(ty * (tp / tp.sum([-1], keepdim: true)).clamp(1e-7, 1 - 1e-7).log()).sum([-1])).mean());
    }
}
