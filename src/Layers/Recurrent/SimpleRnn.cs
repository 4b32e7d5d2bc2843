using System.Numerics;
using Nn.Simd.Layers.Activations;
using Nn.Simd.Layers.Initializers;
using Nn.Simd.Tensors;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Layers;

// Shapes: B = batch, T = time, F = input features, H = units.
// kernel W [F, H], recurrent_kernel U [H, H], bias b [H];  h_t = act(x_t·W + h_{t−1}·U + b).

/// <summary>
/// A fully connected recurrent layer, Keras' <c>SimpleRNN</c>: <c>h_t = activation(x_t·W + h_{t−1}·U + b)</c>.
/// Input <c>[batch, time, features]</c>; output <c>[batch, units]</c>, or <c>[batch, time, units]</c> with
/// <c>returnSequences</c>.
/// </summary>
/// <remarks>Defaults follow Keras: tanh, Glorot-uniform kernel, orthogonal recurrent kernel, zero bias. The
/// time loop, options and BPTT are described on <see cref="RecurrentLayer{T}"/>.</remarks>
/// <example><code>
/// var rnn = new SimpleRnn&lt;float&gt;(32, returnSequences: true);
/// var y = rnn.Forward(x, training: true);   // x [16, 50, 8] → y [16, 50, 32]
/// </code></example>
public sealed class SimpleRnn<T> : RecurrentLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private Parameter<T>? _kernel, _recurrent, _bias;

    /// <summary>Creates the layer.</summary>
    /// <param name="units">H; positive.</param>
    /// <param name="activation">The activation's name; null means linear (as in Keras).</param>
    /// <param name="useBias">Whether to add a bias.</param>
    /// <param name="kernelInitializer">Defaults to Glorot-uniform.</param>
    /// <param name="recurrentInitializer">Defaults to orthogonal.</param>
    /// <param name="biasInitializer">Defaults to zeros.</param>
    /// <param name="returnSequences">Return every step's h, [B, T, H].</param>
    /// <param name="returnState">Expose the final state as <see cref="RecurrentLayer{T}.FinalH"/>.</param>
    /// <param name="goBackwards">Process the sequence from the last step to the first.</param>
    /// <param name="stateful">Carry the final state into the next call.</param>
    /// <param name="truncateBptt">0 for full BPTT, else the truncation window k.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="units"/> is not positive or <paramref name="truncateBptt"/> is negative.</exception>
    /// <exception cref="ArgumentException">The activation name is unknown.</exception>
    public SimpleRnn(int units, string? activation = "tanh", bool useBias = true,
        Initializer? kernelInitializer = null, Initializer? recurrentInitializer = null, Initializer? biasInitializer = null,
        bool returnSequences = false, bool returnState = false, bool goBackwards = false, bool stateful = false, int truncateBptt = 0)
        : base(units, 1, false, Activations.Activations.Get<T>(activation), useBias, kernelInitializer, recurrentInitializer, biasInitializer, returnSequences, returnState, goBackwards, stateful, truncateBptt)
    {
    }

    /// <inheritdoc/>
    public override string TypeName => "simple_rnn";

    /// <summary>The kernel W, [F, H].</summary>
    public Parameter<T> Kernel => _kernel ?? throw new InvalidOperationException($"{Name} is not built yet.");

    /// <summary>The recurrent kernel U, [H, H].</summary>
    public Parameter<T> RecurrentKernel => _recurrent ?? throw new InvalidOperationException($"{Name} is not built yet.");

    /// <summary>The bias b, [H]; null without a bias.</summary>
    public Parameter<T>? Bias => _bias;

    private protected override Parameter<T> KernelParameter => Kernel;
    private protected override Parameter<T> RecurrentKernelParameter => RecurrentKernel;
    private protected override Parameter<T>? BiasParameter => _bias;
    private protected override ReadOnlySpan<T> InputBiasValue => _bias is null ? default : _bias.Value.ReadOnlySpan;
    private protected override Span<T> InputBiasGrad => _bias is null ? default : _bias.Grad.Span;

    private protected override void BuildCell(int features, Random rng)
    {
        _kernel = AddParameter("kernel", new TensorShape(features, Units), KernelInitializer, rng);
        _recurrent = AddParameter("recurrent_kernel", new TensorShape(Units, Units), RecurrentInitializer, rng);
        _bias = UseBias ? AddParameter("bias", new TensorShape(Units), BiasInitializer, rng) : null;
    }

    // Built-in activations keep no state; a user's own might, so only they run on several threads at once.
    private protected override bool CanSplitRows => Activation.GetType().Assembly == typeof(SimpleRnn<T>).Assembly;

    private protected override void StepForward(int s, int r0, int rows)
    {
        int bh = B * Units, h = Units, n = rows * h;
        var z = GatesCache.Span.Slice(s * bh + r0 * h, n);
        Gemm.Compute(false, rows, T.One, RecurrentInput(s, r0, rows), h, PackedRecurrent, T.One, z, h);
        Activation.Forward(z, HCache.Span.Slice((s + 1) * bh + r0 * h, n), h);
    }

    private protected override void StepBackward(int s, int r0, int rows, Span<T> dH, Span<T> dHPrev, Span<T> dC, bool carry)
    {
        int bh = B * Units, h = Units, n = rows * h;
        var z = GatesCache.Span.Slice(s * bh + r0 * h, n);
        // dZ = act'(z)·dH, computed in dH (allowed to alias), then stored over the pre-activations.
        Activation.Backward(z, HCache.ReadOnlySpan.Slice((s + 1) * bh + r0 * h, n), dH, dH, h);
        dH.CopyTo(z);
        if (carry) CarryThroughRecurrent(r0, rows, z, h, PackedRecurrentTransposed, dHPrev, accumulate: false);
    }

    /// <inheritdoc/>
    public override RecurrentLayer<T> CloneReversed() => new SimpleRnn<T>(Units, Activation.Name, UseBias, KernelInitializer,
        RecurrentInitializer, BiasInitializer, ReturnSequences, ReturnState, !GoBackwards, Stateful, TruncateBptt)
    { KernelRegularizer = KernelRegularizer, RecurrentRegularizer = RecurrentRegularizer, BiasRegularizer = BiasRegularizer, KernelConstraint = KernelConstraint, RecurrentConstraint = RecurrentConstraint, BiasConstraint = BiasConstraint, Dropout = Dropout, RecurrentDropout = RecurrentDropout };

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig()
    {
        var c = BaseConfig();
        return c;
    }
}
