using Nn.Simd.Tensors;
using Nn.Simd.Training.Optimizers;
using TorchSharp;
using TorchParameter = TorchSharp.Modules.Parameter;
using static TorchSharp.torch;

namespace Nn.Simd.Parity.Tests;

/// <summary>
/// Our optimizers against torch.optim where the formulas agree. Each runs 12 steps on the same parameter with
/// the same sequence of gradients (fed to torch by back-propagating <c>Σ p ⊙ g</c>), in float64.
/// Where Keras and PyTorch differ only by where ε sits (Adam's ε-hat, RMSprop's ε inside the square root),
/// both use ε = 1e-30 so the comparison is of everything else; the ε placement itself is covered by
/// hand-computed tests in Training.Tests.
/// </summary>
public class OptimizerParityTests
{
    private const int Steps = 12, Length = 37;

    public static TheoryData<string> Cases => new() { "sgd", "sgd_momentum", "sgd_nesterov", "adam", "adamw", "rmsprop", "rmsprop_momentum", "adagrad", "adam_amsgrad", "nadam", "adamax", "adadelta", "adadelta_keras_defaults" };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Optimizer_MatchesTorch(string name)
    {
        const double eps = 1e-30;
        (Optimizer ours, Func<IList<TorchParameter>, TorchSharp.Modules.OptimizerHelper> theirs) = name switch
        {
            "sgd" => ((Optimizer)new Sgd(0.1), (Func<IList<TorchParameter>, TorchSharp.Modules.OptimizerHelper>)(p => optim.SGD(p, 0.1))),
            "sgd_momentum" => (new Sgd(0.1, momentum: 0.9), p => optim.SGD(p, 0.1, momentum: 0.9)),
            "sgd_nesterov" => (new Sgd(0.1, momentum: 0.9, nesterov: true), p => optim.SGD(p, 0.1, momentum: 0.9, nesterov: true)),
            "adam" => (new Adam(0.01, epsilon: eps), p => optim.Adam(p, 0.01, eps: eps)),
            "adamw" => (new AdamW(0.01, weightDecay: 0.05, epsilon: eps), p => optim.AdamW(p, 0.01, eps: eps, weight_decay: 0.05)),
            "rmsprop" => (new RmsProp(0.01, rho: 0.9, epsilon: eps), p => optim.RMSProp(p, 0.01, alpha: 0.9, eps: eps)),
            "adam_amsgrad" => (new Adam(0.01, epsilon: eps) { AmsGrad = true }, p => optim.Adam(p, 0.01, eps: eps, amsgrad: true)),
            "adagrad" => (new Adagrad(0.1, initialAccumulatorValue: 0.1, epsilon: eps), p => optim.Adagrad(p, 0.1, initial_accumulator_value: 0.1, eps: eps)),
            // Keras 3 decays Nadam's momentum as 0.96^t, torch as 0.96^(momentum_decay·t): momentum_decay 1 is Keras 3's
            // schedule. ε sits in the same place (after the square root of the bias-corrected v), so a real ε is compared.
            "nadam" => (new Nadam(0.01, epsilon: 1e-3), p => optim.NAdam(p, 0.01, eps: 1e-3, momentum_decay: 1.0)),
            // torch takes max(β2·u, |g| + ε) and divides by it, Keras max(β2·u, |g|) and divides by u + ε: with ε = 1e-30
            // on both sides neither ε changes a float64 value, so the rest of the rule is compared.
            "adamax" => (new Adamax(0.01, epsilon: eps), p => optim.Adamax(p, 0.01, eps: eps)),
            // The same rule; torch's defaults (lr 1, ρ 0.9, ε 1e-6) given to ours, then Keras' to torch.
            "adadelta" => (new Adadelta(1.0, rho: 0.9, epsilon: 1e-6), p => optim.Adadelta(p)),
            "adadelta_keras_defaults" => (new Adadelta(), p => optim.Adadelta(p, 1e-3, rho: 0.95, eps: 1e-7)),
            _ => (new RmsProp(0.01, rho: 0.9, momentum: 0.5, epsilon: eps), p => optim.RMSProp(p, 0.01, alpha: 0.9, eps: eps, momentum: 0.5)),
        };

        var start = Tensor<double>.RandomNormal(new TensorShape(Length), seed: 1);
        var ourParam = new Nn.Simd.Layers.Parameter<double>("w", start.Clone());
        using var scope = NewDisposeScope();
        var torchParam = new TorchParameter(tensor(start.ToArray(), ScalarType.Float64));
        var opt = theirs([torchParam]);

        for (int step = 0; step < Steps; step++)
        {
            var g = Tensor<double>.RandomNormal(new TensorShape(Length), seed: 100 + step);
            g.CopyTo(ourParam.Grad);
            ours.Step([ourParam]);

            opt.zero_grad();
            (torchParam * tensor(g.ToArray(), ScalarType.Float64)).sum().backward();
            opt.step();
        }

        double[] expected = torchParam.detach().data<double>().ToArray();
        var r = Tolerance.Compare<double>(expected, ourParam.Value.ToArray(), 1e-10, 1e-12);
        Assert.True(r.Passed, $"{name}: {r}");
    }
}
