using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Nn.Simd.Reference;

/// <summary>
/// Adam in Keras' epsilon-hat form, applied to torch parameters, so both engines take the same steps:
/// <c>m += (g − m)(1 − β1)</c>, <c>v += (g² − v)(1 − β2)</c>, <c>α = lr·√(1 − β2ᵗ)/(1 − β1ᵗ)</c>,
/// <c>w −= α·m/(√v + ε)</c>. (torch.optim.Adam bias-corrects ε as well and defaults to ε = 1e-8.)
/// </summary>
public sealed class KerasAdam : IDisposable
{
    private readonly IReadOnlyList<Parameter> _params;
    private readonly List<Tensor> _m = [], _v = [];
    private long _t;

    /// <summary>Creates the optimizer over <paramref name="parameters"/> with Keras' defaults.</summary>
    public KerasAdam(IReadOnlyList<Parameter> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-7)
    {
        _params = parameters;
        LearningRate = learningRate; Beta1 = beta1; Beta2 = beta2; Epsilon = epsilon;
        foreach (var p in parameters)
        {
            _m.Add(zeros_like(p).detach());
            _v.Add(zeros_like(p).detach());
        }
    }

    /// <summary>The learning rate.</summary>
    public double LearningRate { get; set; }

    /// <summary>β1.</summary>
    public double Beta1 { get; }

    /// <summary>β2.</summary>
    public double Beta2 { get; }

    /// <summary>ε (epsilon hat).</summary>
    public double Epsilon { get; }

    /// <summary>Applies one update from the parameters' current gradients.</summary>
    public void Step()
    {
        _t++;
        double alpha = LearningRate * Math.Sqrt(1 - Math.Pow(Beta2, _t)) / (1 - Math.Pow(Beta1, _t));
        using var _ = no_grad();
        for (int i = 0; i < _params.Count; i++)
        {
            var g = _params[i].grad;
            if (g is null) continue;
            _m[i].add_(g.sub(_m[i]).mul_(1 - Beta1));
            _v[i].add_(g.square().sub_(_v[i]).mul_(1 - Beta2));
            _params[i].sub_(_m[i].div(_v[i].sqrt().add_(Epsilon)).mul_(alpha));
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var t in _m) t.Dispose();
        foreach (var t in _v) t.Dispose();
    }
}
