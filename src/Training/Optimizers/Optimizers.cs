using System.Numerics;
using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Training.Optimizers;

/// <summary>
/// Stochastic gradient descent with optional (Nesterov) momentum, in Keras' form:
/// <c>v = μ·v − lr·g; w += v</c> (Nesterov: <c>w += μ·v − lr·g</c>). Defaults are Keras': lr 0.01, μ 0.
/// </summary>
/// <remarks>
/// PyTorch keeps <c>b = μ·b + g</c> and steps <c>w −= lr·b</c>. With a constant learning rate the two are the
/// same (<c>v = −lr·b</c>), but they diverge when the learning rate changes (a schedule, a decay or
/// ReduceLROnPlateau): here the velocity carries steps already scaled by earlier learning rates, while
/// PyTorch rescales the whole accumulated buffer by the new one. nnfs uses this (Keras) form.
/// </remarks>
public sealed class Sgd : Optimizer
{
    /// <summary>Creates the optimizer.</summary>
    /// <param name="learningRate">lr; positive.</param>
    /// <param name="momentum">μ in [0, 1).</param>
    /// <param name="nesterov">Whether to use Nesterov momentum (needs μ &gt; 0).</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    /// <exception cref="ArgumentException">Nesterov without momentum.</exception>
    public Sgd(double learningRate = 0.01, double momentum = 0.0, bool nesterov = false) : base(learningRate)
    {
        Momentum = CheckUnit(momentum, nameof(momentum));
        if (nesterov && momentum == 0)
            throw new ArgumentException("Nesterov momentum needs momentum > 0; got momentum = 0.", nameof(nesterov));
        Nesterov = nesterov;
    }

    /// <summary>μ.</summary>
    public double Momentum { get; }

    /// <summary>Whether Nesterov momentum is used.</summary>
    public bool Nesterov { get; }

    /// <inheritdoc/>
    public override string Name => "sgd";

    /// <inheritdoc/>
    protected override int StateSlots => Momentum == 0 ? 0 : 1;

    /// <inheritdoc/>
    protected override void AddConfig(IDictionary<string, string> config)
    {
        config["momentum"] = Str(Momentum);
        config["nesterov"] = Nesterov ? "true" : "false";
    }

    /// <inheritdoc/>
    protected override void Update<T>(Parameter<T> parameter, double learningRate, long step, Tensor<T>[] state) =>
        SgdUpdate.Apply(parameter.Grad.ReadOnlySpan, T.CreateChecked(learningRate), T.CreateChecked(Momentum), Nesterov,
            state.Length == 0 ? default : state[0].Span, parameter.Value.Span);
}

/// <summary>
/// What Adam, <see cref="Nadam"/> and <see cref="Adamax"/> share: the decay rates β1 of the first moment and β2 of the
/// second (or, for Adamax, of the infinity norm), and ε in the denominator, with Keras' names in the saved config.
/// </summary>
public abstract class AdaptiveMomentOptimizer : Optimizer
{
    /// <summary>Checks and sets the shared settings.</summary>
    /// <param name="learningRate">lr; positive.</param>
    /// <param name="beta1">β1 in [0, 1).</param>
    /// <param name="beta2">β2 in [0, 1).</param>
    /// <param name="epsilon">ε; positive.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    private protected AdaptiveMomentOptimizer(double learningRate, double beta1, double beta2, double epsilon) : base(learningRate)
    {
        Beta1 = CheckUnit(beta1, nameof(beta1));
        Beta2 = CheckUnit(beta2, nameof(beta2));
        Epsilon = CheckPositive(epsilon, nameof(epsilon));
    }

    /// <summary>β1.</summary>
    public double Beta1 { get; }

    /// <summary>β2.</summary>
    public double Beta2 { get; }

    /// <summary>ε.</summary>
    public double Epsilon { get; }

    /// <inheritdoc/>
    protected override void AddConfig(IDictionary<string, string> config)
    {
        config["beta_1"] = Str(Beta1);
        config["beta_2"] = Str(Beta2);
        config["epsilon"] = Str(Epsilon);
    }
}

/// <summary>
/// Adam (Kingma &amp; Ba, 2015) in Keras' "epsilon hat" form, with Keras' defaults: lr 1e-3, β1 0.9, β2 0.999, ε 1e-7.
/// <c>m += (g − m)(1 − β1); v += (g² − v)(1 − β2); w −= α·m / (√v + ε)</c> with <c>α = lr·√(1 − β2^t) / (1 − β1^t)</c>.
/// </summary>
/// <remarks>PyTorch bias-corrects <c>m</c> and <c>v</c> and adds ε to <c>√v̂</c> with ε = 1e-8; Keras' ε acts like a
/// PyTorch ε of <c>ε/√(1 − β2^t)</c>, about 3.2e-6 at t = 1. nnfs uses PyTorch's placement with ε = 1e-7.</remarks>
public class Adam : AdaptiveMomentOptimizer
{
    /// <summary>Creates the optimizer.</summary>
    /// <param name="learningRate">lr; positive.</param>
    /// <param name="beta1">β1 in [0, 1).</param>
    /// <param name="beta2">β2 in [0, 1).</param>
    /// <param name="epsilon">ε; positive.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public Adam(double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-7)
        : base(learningRate, beta1, beta2, epsilon) { }

    /// <summary>The AMSGrad variant (Keras' and PyTorch's <c>amsgrad</c>, Reddi et al., 2018): the denominator uses the
    /// running maximum of the second moment, kept as a third state slot.</summary>
    public bool AmsGrad { get; init; }

    /// <inheritdoc/>
    public override string Name => "adam";

    /// <inheritdoc/>
    protected override int StateSlots => AmsGrad ? 3 : 2;

    /// <inheritdoc/>
    protected override void AddConfig(IDictionary<string, string> config)
    {
        base.AddConfig(config);
        if (AmsGrad) config["amsgrad"] = "true";
    }

    /// <inheritdoc/>
    /// <remarks>Adam fuses <see cref="Optimizer.WeightDecay"/> into <see cref="AdamUpdate"/>: <c>w − w·(lr·wd)</c> before the step.</remarks>
    protected sealed override bool FusesWeightDecay => true;

    /// <inheritdoc/>
    protected override void Update<T>(Parameter<T> parameter, double learningRate, long step, Tensor<T>[] state)
    {
        // α in double, then rounded once: the bias corrections are the only transcendental work per parameter.
        double alpha = learningRate * Math.Sqrt(1 - Math.Pow(Beta2, step)) / (1 - Math.Pow(Beta1, step));
        AdamUpdate.Apply(parameter.Grad.ReadOnlySpan, T.CreateChecked(alpha), T.CreateChecked(Beta1), T.CreateChecked(Beta2),
            T.CreateChecked(Epsilon), T.CreateChecked(learningRate * WeightDecay), state[0].Span, state[1].Span,
            AmsGrad ? state[2].Span : default, parameter.Value.Span);
    }
}

/// <summary>
/// AdamW (Loshchilov &amp; Hutter, 2019): Adam plus decoupled weight decay applied before the Adam step,
/// <c>w −= w·lr·weightDecay</c>, as Keras does. Keras' default weight decay is 0.004; PyTorch's is 0.01 and
/// TorchSharp's 0. The rate is the base <see cref="Optimizer.WeightDecay"/>, which this constructor sets, so
/// <c>new Adam { WeightDecay = λ }</c> is the same optimizer under Adam's name, as in Keras.
/// </summary>
public sealed class AdamW : Adam
{
    /// <summary>Creates the optimizer.</summary>
    /// <param name="learningRate">lr; positive.</param>
    /// <param name="weightDecay">The decoupled decay rate; non-negative.</param>
    /// <param name="beta1">β1 in [0, 1).</param>
    /// <param name="beta2">β2 in [0, 1).</param>
    /// <param name="epsilon">ε; positive.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public AdamW(double learningRate = 1e-3, double weightDecay = 0.004, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-7)
        : base(learningRate, beta1, beta2, epsilon)
    {
        if (!(weightDecay >= 0) || !double.IsFinite(weightDecay))
            throw new ArgumentOutOfRangeException(nameof(weightDecay), $"weightDecay must be non-negative; got {weightDecay}.");
        WeightDecay = weightDecay;
    }

    /// <inheritdoc/>
    public override string Name => "adamw";

    /// <inheritdoc/>
    protected override void AddConfig(IDictionary<string, string> config)
    {
        base.AddConfig(config);
        config["weight_decay"] = Str(WeightDecay);   // always, even 0: it is AdamW's own argument
    }
}

/// <summary>
/// RMSprop (Hinton, Lecture 6e), Keras' form and defaults: lr 1e-3, ρ 0.9, μ 0, ε 1e-7 <em>inside</em> the square root,
/// <c>v = ρv + (1 − ρ)g²; w −= lr·g / √(v + ε)</c> (centred: <c>√(v − a² + ε)</c>; momentum: <c>s = μs + …; w −= s</c>).
/// </summary>
/// <remarks>PyTorch/TorchSharp differ: ε = 1e-8 outside the root (<c>lr·g / (√v + ε)</c>), ρ ("alpha") = 0.99 and
/// lr = 0.01; nnfs puts ε = 1e-7 outside the root.</remarks>
public sealed class RmsProp : Optimizer
{
    /// <summary>Creates the optimizer.</summary>
    /// <param name="learningRate">lr; positive.</param>
    /// <param name="rho">ρ in [0, 1).</param>
    /// <param name="momentum">μ in [0, 1).</param>
    /// <param name="epsilon">ε; positive.</param>
    /// <param name="centered">Whether to normalise by the estimated variance rather than the second moment.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public RmsProp(double learningRate = 1e-3, double rho = 0.9, double momentum = 0.0, double epsilon = 1e-7, bool centered = false)
        : base(learningRate)
    {
        Rho = CheckUnit(rho, nameof(rho));
        Momentum = CheckUnit(momentum, nameof(momentum));
        Epsilon = CheckPositive(epsilon, nameof(epsilon));
        Centered = centered;
    }

    /// <summary>ρ.</summary>
    public double Rho { get; }

    /// <summary>μ.</summary>
    public double Momentum { get; }

    /// <summary>ε.</summary>
    public double Epsilon { get; }

    /// <summary>Whether the centred variant is used.</summary>
    public bool Centered { get; }

    /// <inheritdoc/>
    public override string Name => "rmsprop";

    /// <inheritdoc/>
    protected override int StateSlots => 1 + (Centered ? 1 : 0) + (Momentum != 0 ? 1 : 0);

    /// <inheritdoc/>
    protected override void AddConfig(IDictionary<string, string> config)
    {
        config["rho"] = Str(Rho);
        config["momentum"] = Str(Momentum);
        config["epsilon"] = Str(Epsilon);
        config["centered"] = Centered ? "true" : "false";
    }

    /// <inheritdoc/>
    /// <remarks>State slots: velocity, then the average gradient (centred), then the momentum (μ &gt; 0).</remarks>
    protected override void Update<T>(Parameter<T> parameter, double learningRate, long step, Tensor<T>[] state) =>
        RmsPropUpdate.Apply(parameter.Grad.ReadOnlySpan, T.CreateChecked(learningRate), T.CreateChecked(Rho), T.CreateChecked(Momentum),
            T.CreateChecked(Epsilon), Centered, state[0].Span, Centered ? state[1].Span : default,
            Momentum != 0 ? state[state.Length - 1].Span : default, parameter.Value.Span);
}

/// <summary>
/// Adagrad (Duchi et al., 2011) with Keras' defaults and form: <c>a += g²; w −= lr·g/√(a + ε)</c>, the accumulator
/// starting at <see cref="InitialAccumulatorValue"/> (see <see cref="AdagradUpdate"/>). The nnfs book's Adagrad is
/// <c>Adagrad(1.0, initialAccumulatorValue: 0)</c> with ε outside the root, which differs only near a = 0; PyTorch's
/// default is <c>Adagrad(0.01, initialAccumulatorValue: 0, epsilon: 1e-10)</c>, also with ε outside.
/// </summary>
public sealed class Adagrad : Optimizer
{
    /// <summary>Creates the optimizer.</summary>
    /// <param name="learningRate">lr (Keras' default 0.001).</param>
    /// <param name="initialAccumulatorValue">The accumulator's start; non-negative (Keras' default 0.1).</param>
    /// <param name="epsilon">ε, inside the square root; positive.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public Adagrad(double learningRate = 1e-3, double initialAccumulatorValue = 0.1, double epsilon = 1e-7) : base(learningRate)
    {
        if (!(initialAccumulatorValue >= 0) || !double.IsFinite(initialAccumulatorValue))
            throw new ArgumentOutOfRangeException(nameof(initialAccumulatorValue), $"initialAccumulatorValue must be non-negative; got {initialAccumulatorValue}.");
        InitialAccumulatorValue = initialAccumulatorValue;
        Epsilon = CheckPositive(epsilon, nameof(epsilon));
    }

    /// <summary>The accumulator's starting value.</summary>
    public double InitialAccumulatorValue { get; }

    /// <summary>ε.</summary>
    public double Epsilon { get; }

    /// <inheritdoc/>
    public override string Name => "adagrad";

    /// <inheritdoc/>
    protected override int StateSlots => 1;

    /// <inheritdoc/>
    protected override double InitialStateValue(int slot) => InitialAccumulatorValue;

    /// <inheritdoc/>
    protected override void AddConfig(IDictionary<string, string> config)
    {
        config["initial_accumulator_value"] = Str(InitialAccumulatorValue);
        config["epsilon"] = Str(Epsilon);
    }

    /// <inheritdoc/>
    /// <remarks>State slot: the accumulator.</remarks>
    protected override void Update<T>(Parameter<T> parameter, double learningRate, long step, Tensor<T>[] state) =>
        AdagradUpdate.Apply(parameter.Grad.ReadOnlySpan, T.CreateChecked(learningRate), T.CreateChecked(Epsilon), state[0].Span, parameter.Value.Span);
}

/// <summary>
/// Nadam (Dozat, 2016): Adam with Nesterov momentum, in Keras 3's form and with its defaults (lr 1e-3, β1 0.9,
/// β2 0.999, ε 1e-7):
/// <c>m += (g − m)(1 − β1); v += (g² − v)(1 − β2);
/// w −= lr·(u_{t+1}·m / (1 − Π_{t+1}) + (1 − u_t)·g / (1 − Π_t)) / (√(v / (1 − β2^t)) + ε)</c>,
/// with the momentum schedule <c>u_t = β1·(1 − 0.5·0.96^t)</c> and <c>Π_t = u_1·u_2·…·u_t</c> (see <see cref="NadamUpdate"/>).
/// </summary>
/// <remarks>
/// <para>Keras 3 decays the momentum as <c>0.96^t</c>. Keras 2 and PyTorch use <c>0.96^(0.004·t)</c>
/// (PyTorch's <c>momentum_decay = 0.004</c>), which rises from 0.5·β1 towards β1 only over thousands of steps. Keras 3's
/// <c>u_t</c> is already about β1 after a hundred steps. PyTorch's <c>NAdam(momentum_decay: 1)</c> is
/// this rule. Both put ε outside the square root of the bias-corrected <c>v̂</c>. PyTorch's defaults are
/// lr 2e-3 and ε 1e-8.</para>
/// <para><c>Π_t</c> depends only on t. It is kept as a running product, the way Keras keeps it, and is
/// recomputed from u_1 when the step count jumps (after loading a checkpoint or <see cref="Optimizer.Reset"/>).
/// The recomputation multiplies in the same order, so a resumed run gets the same bits.</para>
/// </remarks>
public sealed class Nadam : AdaptiveMomentOptimizer
{
    private long _productStep;
    private double _product = 1;

    /// <summary>Creates the optimizer.</summary>
    /// <param name="learningRate">lr; positive.</param>
    /// <param name="beta1">β1 in [0, 1).</param>
    /// <param name="beta2">β2 in [0, 1).</param>
    /// <param name="epsilon">ε; positive.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public Nadam(double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-7)
        : base(learningRate, beta1, beta2, epsilon) { }

    /// <inheritdoc/>
    public override string Name => "nadam";

    /// <inheritdoc/>
    protected override int StateSlots => 2;

    /// <summary>u_t = β1·(1 − 0.5·0.96^t), the momentum coefficient of step t (1-based).</summary>
    private double MomentumAt(long step) => Beta1 * (1 - 0.5 * Math.Pow(0.96, step));

    /// <summary>Π_t = u_1·…·u_t, multiplied in step order; t is 1-based.</summary>
    private double MomentumProductAt(long step)
    {
        if (step < _productStep) { _productStep = 0; _product = 1; }
        while (_productStep < step) _product *= MomentumAt(++_productStep);
        return _product;
    }

    /// <inheritdoc/>
    /// <remarks>State slots: the first moment m, then the second moment v.</remarks>
    protected override void Update<T>(Parameter<T> parameter, double learningRate, long step, Tensor<T>[] state)
    {
        // The per-step scalars in double, each rounded once.
        double u = MomentumAt(step), uNext = MomentumAt(step + 1);
        double product = MomentumProductAt(step), productNext = product * uNext;
        double a = learningRate * uNext / (1 - productNext);
        double b = learningRate * (1 - u) / (1 - product);
        double r = 1 / (1 - Math.Pow(Beta2, step));
        NadamUpdate.Apply(parameter.Grad.ReadOnlySpan, T.CreateChecked(a), T.CreateChecked(b), T.CreateChecked(Beta1), T.CreateChecked(Beta2),
            T.CreateChecked(r), T.CreateChecked(Epsilon), state[0].Span, state[1].Span, parameter.Value.Span);
    }
}

/// <summary>
/// Adamax (Kingma &amp; Ba, 2015, §7.1), Adam with the infinity norm, in Keras 3's form and with its defaults
/// (lr 1e-3, β1 0.9, β2 0.999, ε 1e-7): <c>m += (g − m)(1 − β1); u = max(β2·u, |g|); w −= lr/(1 − β1^t) · m/(u + ε)</c>
/// (see <see cref="AdamaxUpdate"/>).
/// </summary>
/// <remarks>PyTorch puts ε inside the maximum, <c>u = max(β2·u, |g| + ε)</c>, and steps <c>m/u</c>, with lr 2e-3 and
/// ε 1e-8. The rules differ by about ε/u relative to the step, nothing for gradients far from 0.</remarks>
public sealed class Adamax : AdaptiveMomentOptimizer
{
    /// <summary>Creates the optimizer.</summary>
    /// <param name="learningRate">lr; positive.</param>
    /// <param name="beta1">β1 in [0, 1).</param>
    /// <param name="beta2">β2 in [0, 1).</param>
    /// <param name="epsilon">ε; positive.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public Adamax(double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-7)
        : base(learningRate, beta1, beta2, epsilon) { }

    /// <inheritdoc/>
    public override string Name => "adamax";

    /// <inheritdoc/>
    protected override int StateSlots => 2;

    /// <inheritdoc/>
    /// <remarks>State slots: the first moment m, then the infinity norm u.</remarks>
    protected override void Update<T>(Parameter<T> parameter, double learningRate, long step, Tensor<T>[] state) =>
        AdamaxUpdate.Apply(parameter.Grad.ReadOnlySpan, T.CreateChecked(learningRate / (1 - Math.Pow(Beta1, step))), T.CreateChecked(Beta1),
            T.CreateChecked(Beta2), T.CreateChecked(Epsilon), state[0].Span, state[1].Span, parameter.Value.Span);
}

/// <summary>
/// Adadelta (Zeiler, 2012), Keras 3's form and defaults (lr 1e-3, ρ 0.95, ε 1e-7):
/// <c>a = ρa + (1 − ρ)g²; Δ = √(d + ε)·g/√(a + ε); d = ρd + (1 − ρ)Δ²; w −= lr·Δ</c> (see <see cref="AdadeltaUpdate"/>).
/// </summary>
/// <remarks>PyTorch has the same rule with other defaults: lr 1, ρ 0.9, ε 1e-6. Zeiler's paper has no learning
/// rate (lr = 1). Keras' lr of 1e-3 makes steps a thousand times smaller.</remarks>
public sealed class Adadelta : Optimizer
{
    /// <summary>Creates the optimizer.</summary>
    /// <param name="learningRate">lr; positive.</param>
    /// <param name="rho">ρ in [0, 1).</param>
    /// <param name="epsilon">ε; positive.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public Adadelta(double learningRate = 1e-3, double rho = 0.95, double epsilon = 1e-7) : base(learningRate)
    {
        Rho = CheckUnit(rho, nameof(rho));
        Epsilon = CheckPositive(epsilon, nameof(epsilon));
    }

    /// <summary>ρ.</summary>
    public double Rho { get; }

    /// <summary>ε.</summary>
    public double Epsilon { get; }

    /// <inheritdoc/>
    public override string Name => "adadelta";

    /// <inheritdoc/>
    protected override int StateSlots => 2;

    /// <inheritdoc/>
    protected override void AddConfig(IDictionary<string, string> config)
    {
        config["rho"] = Str(Rho);
        config["epsilon"] = Str(Epsilon);
    }

    /// <inheritdoc/>
    /// <remarks>State slots: the squared-gradient average a, then the squared-update average d.</remarks>
    protected override void Update<T>(Parameter<T> parameter, double learningRate, long step, Tensor<T>[] state) =>
        AdadeltaUpdate.Apply(parameter.Grad.ReadOnlySpan, T.CreateChecked(learningRate), T.CreateChecked(Rho), T.CreateChecked(Epsilon),
            state[0].Span, state[1].Span, parameter.Value.Span);
}

/// <summary>
/// Lion (Chen et al., 2023, "Symbolic Discovery of Optimization Algorithms"), Keras 3's form and defaults (lr 1e-4,
/// β1 0.9, β2 0.99): <c>w −= lr·sign(β1·m + (1 − β1)·g); m = β2·m + (1 − β2)·g</c> (see <see cref="LionUpdate"/>).
/// </summary>
/// <remarks>Every element moves by exactly ±lr (or 0), so Lion wants a learning rate 3–10× smaller than Adam's,
/// as the paper says. PyTorch has no Lion. As Keras does, β1 must lie in (0, 1]; β1 = 0 would make it signSGD.</remarks>
public sealed class Lion : Optimizer
{
    /// <summary>Creates the optimizer.</summary>
    /// <param name="learningRate">lr; positive.</param>
    /// <param name="beta1">β1 in (0, 1].</param>
    /// <param name="beta2">β2 in [0, 1].</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public Lion(double learningRate = 1e-4, double beta1 = 0.9, double beta2 = 0.99) : base(learningRate)
    {
        if (beta1 is not (> 0 and <= 1))
            throw new ArgumentOutOfRangeException(nameof(beta1), $"beta1 must be in (0, 1] (0 makes Lion signSGD); got {beta1}.");
        if (beta2 is not (>= 0 and <= 1))
            throw new ArgumentOutOfRangeException(nameof(beta2), $"beta2 must be in [0, 1]; got {beta2}.");
        Beta1 = beta1;
        Beta2 = beta2;
    }

    /// <summary>β1.</summary>
    public double Beta1 { get; }

    /// <summary>β2.</summary>
    public double Beta2 { get; }

    /// <inheritdoc/>
    public override string Name => "lion";

    /// <inheritdoc/>
    protected override int StateSlots => 1;

    /// <inheritdoc/>
    protected override void AddConfig(IDictionary<string, string> config)
    {
        config["beta_1"] = Str(Beta1);
        config["beta_2"] = Str(Beta2);
    }

    /// <inheritdoc/>
    /// <remarks>State slot: the momentum m.</remarks>
    protected override void Update<T>(Parameter<T> parameter, double learningRate, long step, Tensor<T>[] state) =>
        LionUpdate.Apply(parameter.Grad.ReadOnlySpan, T.CreateChecked(learningRate), T.CreateChecked(Beta1), T.CreateChecked(Beta2),
            state[0].Span, parameter.Value.Span);
}
