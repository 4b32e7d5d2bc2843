using Nn.Simd.Tensors;
using Nn.Simd.Training.Losses;
using static TorchSharp.torch;

namespace Nn.Simd.Parity.Tests;

/// <summary>
/// The Keras losses that libtorch also has, value and gradient in float64 against autograd. Mapping:
/// <list type="bullet">
/// <item><c>kl_divergence</c> = <c>kl_div(log(p), y, reduction="sum") / rows</c>: torch takes log-probabilities and does
/// not clip, so p and y stay inside (1e-7, 1) where Keras' clip is inactive.</item>
/// <item><c>poisson</c> = <c>poisson_nll_loss(log(p + 1e-7), y, log_input=true, full=false, reduction="mean") − 1e-7</c>
/// (<c>exp(x) − y·x</c> with <c>x = log(p + ε)</c> is <c>p + ε − y·log(p + ε)</c>). PyTorch's
/// <c>log_input=false, eps=1e-7</c> form is the same function, but TorchSharp's binding was seen to ignore its
/// <c>eps</c> argument (1e-7 and 1e-3 gave the same value), so the log-input form is used.</item>
/// <item><c>cosine_similarity</c> = <c>−mean(cosine_similarity(p, y, dim=−1))</c>: torch divides by
/// max(‖p‖·‖y‖, 1e-8), Keras by each norm clipped at 1e-7, which agree for norms well above ε.</item>
/// </list>
/// </summary>
public class LossParityTests
{
    [Theory]
    [InlineData("kld", 7, 5)]
    [InlineData("poisson", 6, 4)]
    [InlineData("cosine_similarity", 9, 3)]
    [InlineData("kld", 1, 1)]
    public void Loss_MatchesTorch(string name, int rows, int c)
    {
        var rng = new Random(rows * 31 + c);
        var p = new Tensor<double>(rows, c);
        var y = new Tensor<double>(rows, c);
        for (int i = 0; i < p.Length; i++)
        {
            (p[i], y[i]) = name switch
            {
                "kld" => (0.01 + 0.98 * rng.NextDouble(), 0.01 + 0.98 * rng.NextDouble()),
                "poisson" => (0.05 + 4 * rng.NextDouble(), rng.Next(5)),
                _ => (rng.NextGaussian(), rng.NextGaussian()),
            };
        }
        var loss = LossFactory.Get<double>(name);
        var d = new Tensor<double>(p.Shape);
        double ours = loss.ComputeWithGradient(p, y, d);

        using var scope = NewDisposeScope();
        var tp = tensor(p.ToArray(), [rows, c], ScalarType.Float64).requires_grad_(true);
        var ty = tensor(y.ToArray(), [rows, c], ScalarType.Float64);
        var tl = name switch
        {
            "kld" => nn.functional.kl_div(tp.log(), ty, reduction: nn.Reduction.Sum, log_target: false) / rows,
            "poisson" => nn.functional.poisson_nll_loss((tp + 1e-7).log(), ty, log_input: true, full: false, reduction: nn.Reduction.Mean) - 1e-7,
            _ => -nn.functional.cosine_similarity(tp, ty, dim: -1).mean(),
        };
        tl.backward();
        double theirs = tl.item<double>();
        Assert.True(Math.Abs(theirs - ours) <= 1e-12 * Math.Max(1, Math.Abs(theirs)), $"{name}: torch {theirs:R}, ours {ours:R}");
        var r = Tolerance.Compare<double>(tp.grad!.data<double>().ToArray(), d.ToArray(), 1e-10, 1e-12);
        Assert.True(r.Passed, $"{name} gradient: {r}");
    }
}
