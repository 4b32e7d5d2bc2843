using System.Numerics;
using Nn.Simd.Layers.Activations;
using Nn.Simd.Layers.Initializers;
using Nn.Simd.Tensors;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Layers;

// Shapes: B = batch, T = time, F = input features, H = units; gates packed i, f, c, o along 4H (Keras).
// kernel W [F, 4H], recurrent_kernel U [H, 4H], bias b [4H].
// z = x_t·W + h_{t−1}·U + b;  i = σ(z_i), f = σ(z_f), g = tanh(z_c), o = σ(z_o);
// c_t = f⊙c_{t−1} + i⊙g;  h_t = o⊙tanh(c_t).
// Extra cache: pre [T, B, 4H] (pre-activations, only for non-default activations). tanh(c) is recomputed in backward.

/// <summary>
/// Long short-term memory (Hochreiter &amp; Schmidhuber, 1997), Keras' <c>LSTM</c> with its weight layout and
/// defaults. Input <c>[batch, time, features]</c>; output <c>[batch, units]</c>, or <c>[batch, time, units]</c>
/// with <c>returnSequences</c>.
/// </summary>
/// <remarks>
/// <para>Defaults follow Keras: tanh activation, sigmoid recurrent activation, Glorot-uniform kernel,
/// orthogonal recurrent kernel, zero bias with <c>unitForgetBias</c> (the forget gate's bias starts at 1,
/// Jozefowicz et al., 2015).</para>
/// <para>With the default activations the gate math of each step is one fused vectorised pass
/// (<see cref="LstmGates"/>), and the forward pass runs each step as one kernel, <see cref="LstmStep"/>, which
/// forms the gates in registers and applies that math to them (same bits as a GEMM followed by
/// <see cref="LstmGates"/>); other activations take a general row-wise path through the activation objects.
/// The time loop, options and BPTT are described on <see cref="RecurrentLayer{T}"/>.</para>
/// <para>PyTorch's <c>nn.LSTM</c> has the same gate order (i, f, g, o): Keras' kernel is <c>weight_ih_l0ᵀ</c>,
/// the recurrent kernel <c>weight_hh_l0ᵀ</c> and the bias <c>bias_ih_l0 + bias_hh_l0</c>.</para>
/// </remarks>
/// <example><code>
/// var lstm = new Lstm&lt;float&gt;(64);
/// var y = lstm.Forward(x, training: true);   // x [32, 60, 5] → y [32, 64]
/// var dx = lstm.Backward(dy);                // dy [32, 64] → dx [32, 60, 5]
/// </code></example>
public sealed class Lstm<T> : RecurrentLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Workspace<T> _wPre = new(), _wRow = new(), _wUnit = new(), _wActC = new();
    private Tensor<T>? _pre, _row, _unit, _actC;
    private Parameter<T>? _kernel, _recurrent, _bias;

    /// <summary>Creates the layer.</summary>
    /// <param name="units">H; positive.</param>
    /// <param name="activation">The activation of the candidate and of the cell output; null means linear.</param>
    /// <param name="recurrentActivation">The gates' activation; null means linear.</param>
    /// <param name="useBias">Whether to add a bias.</param>
    /// <param name="kernelInitializer">Defaults to Glorot-uniform.</param>
    /// <param name="recurrentInitializer">Defaults to orthogonal.</param>
    /// <param name="biasInitializer">Defaults to zeros.</param>
    /// <param name="unitForgetBias">Set the forget gate's bias to 1 at initialisation (the other gates use
    /// <paramref name="biasInitializer"/>).</param>
    /// <param name="returnSequences">Return every step's h, [B, T, H].</param>
    /// <param name="returnState">Expose the final states as <see cref="RecurrentLayer{T}.FinalH"/> and <see cref="RecurrentLayer{T}.FinalC"/>.</param>
    /// <param name="goBackwards">Process the sequence from the last step to the first.</param>
    /// <param name="stateful">Carry the final states into the next call.</param>
    /// <param name="truncateBptt">0 for full BPTT, else the truncation window k.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="units"/> is not positive or <paramref name="truncateBptt"/> is negative.</exception>
    /// <exception cref="ArgumentException">An activation name is unknown.</exception>
    public Lstm(int units, string? activation = "tanh", string? recurrentActivation = "sigmoid", bool useBias = true,
        Initializer? kernelInitializer = null, Initializer? recurrentInitializer = null, Initializer? biasInitializer = null,
        bool unitForgetBias = true, bool returnSequences = false, bool returnState = false, bool goBackwards = false,
        bool stateful = false, int truncateBptt = 0)
        : base(units, 4, true, Activations.Activations.Get<T>(activation), useBias, kernelInitializer, recurrentInitializer, biasInitializer, returnSequences, returnState, goBackwards, stateful, truncateBptt)
    {
        RecurrentActivation = Activations.Activations.Get<T>(recurrentActivation);
        UnitForgetBias = unitForgetBias;
    }

    /// <inheritdoc/>
    public override string TypeName => "lstm";

    /// <summary>The activation of the input, forget and output gates (sigmoid by default).</summary>
    public Activation<T> RecurrentActivation { get; }

    /// <summary>Whether the forget gate's bias is initialised to 1.</summary>
    public bool UnitForgetBias { get; }

    /// <summary>The kernel W, [F, 4H], gates i, f, c, o.</summary>
    public Parameter<T> Kernel => _kernel ?? throw new InvalidOperationException($"{Name} is not built yet.");

    /// <summary>The recurrent kernel U, [H, 4H].</summary>
    public Parameter<T> RecurrentKernel => _recurrent ?? throw new InvalidOperationException($"{Name} is not built yet.");

    /// <summary>The bias b, [4H]; null without a bias.</summary>
    public Parameter<T>? Bias => _bias;

    /// <summary>For tests: take the general row-wise path even with the default activations.</summary>
    internal bool ForceGeneralGates { get; set; }

    /// <summary>For tests: with the default activations, run each step as the GEMM + <see cref="LstmGates"/> pair
    /// instead of the fused <see cref="LstmStep"/> (the two must agree bit for bit).</summary>
    internal bool DisableFusedStep { get; set; }

    private bool Fused => !ForceGeneralGates && Activation is Tanh<T> && RecurrentActivation is Sigmoid<T>;

    private protected override Parameter<T> KernelParameter => Kernel;
    private protected override Parameter<T> RecurrentKernelParameter => RecurrentKernel;
    private protected override Parameter<T>? BiasParameter => _bias;
    private protected override ReadOnlySpan<T> InputBiasValue => _bias is null ? default : _bias.Value.ReadOnlySpan;
    private protected override Span<T> InputBiasGrad => _bias is null ? default : _bias.Grad.Span;

    private protected override void BuildCell(int features, Random rng)
    {
        int h = Units;
        _kernel = AddParameter("kernel", new TensorShape(features, 4 * h), KernelInitializer, rng);
        _recurrent = AddParameter("recurrent_kernel", new TensorShape(h, 4 * h), RecurrentInitializer, rng);
        if (!UseBias) { _bias = null; return; }
        if (!UnitForgetBias)
        {
            _bias = AddParameter("bias", new TensorShape(4 * h), BiasInitializer, rng);
            return;
        }
        // Keras: concat(bias_initializer([H]), ones([H]), bias_initializer([2H])).
        _bias = AddParameter("bias", new TensorShape(4 * h), new Constant(0), rng);
        var first = new Tensor<T>(h);
        var rest = new Tensor<T>(2 * h);
        BiasInitializer.Initialize(first, rng);
        BiasInitializer.Initialize(rest, rng);
        var bs = _bias.Value.Span;
        first.ReadOnlySpan.CopyTo(bs);
        bs.Slice(h, h).Fill(T.One);
        rest.ReadOnlySpan.CopyTo(bs.Slice(2 * h));
    }

    private protected override void PrepareCaches(int batch, int steps)
    {
        if (!Fused)
        {
            _pre = _wPre.Get(steps, batch, 4 * Units);
            _row = _wRow.Get(new TensorShape(4 * Units));
            _unit = _wUnit.Get(new TensorShape(Units));
            _actC = _wActC.Get(new TensorShape(Units));
        }
    }

    private protected override bool CanSplitRows => Fused;   // the general path shares scratch rows

    private RecurrentStepWeights<T>? _stepWeights;

    // With the default activations every step is one kernel (LstmStep): the gates are formed in registers and the
    // gate math applied to them, with [W; b] and U packed side by side once per pass. Training also stores the
    // activated gates for the backward pass. Same bits as the GEMM + LstmGates path it replaces.
    private protected override bool PrepareFusedForward(int inputColumns)
    {
        if (!Fused || DisableFusedStep || !LstmStep.IsSupported<T>()) return false;
        // With an input bias the step adds [W; b]'s last row instead of multiplying it by the inputs' column of ones.
        bool biasRow = inputColumns > F;
        if (_stepWeights is null || _stepWeights.InputColumns != inputColumns || _stepWeights.Units != Units || _stepWeights.BiasRow != biasRow)
            _stepWeights = new RecurrentStepWeights<T>(inputColumns, Units, 4, biasRow);
        _stepWeights.Pack(KernelWithBias(), RecurrentKernel.Value.ReadOnlySpan);
        return true;
    }

    private protected override void FusedStep(int s, int r0, int rows)
    {
        int h = Units, bh = B * h, n = rows * h, g4 = 4 * h;
        var gates = IsTraining ? GatesCache.Span.Slice((s * B + r0) * g4, rows * g4) : default;
        LstmStep.Forward(StepInput(s, r0, rows), RecurrentInput(s, r0, rows), CCache.ReadOnlySpan.Slice(s * bh + r0 * h, n),
            _stepWeights!, CCache.Span.Slice((s + 1) * bh + r0 * h, n), HCache.Span.Slice((s + 1) * bh + r0 * h, n), rows, gates);
    }

    private protected override bool HasSequenceKernel => true;

    private protected override bool FusedSteps(int r0, int rows)
    {
        int h = Units, g4 = 4 * h, f = F, t = Steps;
        var gates = IsTraining ? GatesCache.Span.Slice(r0 * g4) : default;
        // In inference the kernel reads the input rows where they are ([B, T, F]: rows T·F apart, steps F apart); it
        // skips the column of ones of [x, 1] anyway (the bias row is added). Training reads the [T, B, F'] copy that
        // the input-weight gradient needs.
        if (DirectInput)
            LstmStep.ForwardSequence(Input.Slice(r0 * t * f), t * f, f, HCache.Span.Slice(r0 * h), CCache.Span.Slice(r0 * h), B * h,
                _stepWeights!, rows, t);
        else
            LstmStep.ForwardSequence(StepInputsFrom(r0), XColumns, B * XColumns, HCache.Span.Slice(r0 * h), CCache.Span.Slice(r0 * h), B * h,
                _stepWeights!, rows, t, gates, B * g4);
        return true;
    }

    private protected override void StepForward(int s, int r0, int rows)
    {
        int h = Units, g4 = 4 * h, bh = B * h, n = rows * h;
        var z = GatesCache.Span.Slice((s * B + r0) * g4, rows * g4);
        // z += h_{s−1}·U: one GEMM on the block's contiguous rows, with U packed once for all steps.
        Gemm.Compute(false, rows, T.One, RecurrentInput(s, r0, rows), h, PackedRecurrent, T.One, z, g4);
        var cPrev = CCache.ReadOnlySpan.Slice(s * bh + r0 * h, n);
        var c = CCache.Span.Slice((s + 1) * bh + r0 * h, n);
        var hNext = HCache.Span.Slice((s + 1) * bh + r0 * h, n);
        if (Fused)
        {
            LstmGates.Forward(cPrev, z, c, hNext, rows, h, keepGates: IsTraining);
            return;
        }
        var tr = _actC!.Span;
        z.CopyTo(_pre!.Span.Slice((s * B + r0) * g4, rows * g4));
        for (int r = 0; r < rows; r++)
        {
            var row = z.Slice(r * g4, g4);
            var i = row.Slice(0, h); var f = row.Slice(h, h); var g = row.Slice(2 * h, h); var o = row.Slice(3 * h, h);
            RecurrentActivation.Forward(i, i, h);
            RecurrentActivation.Forward(f, f, h);
            Activation.Forward(g, g, h);
            RecurrentActivation.Forward(o, o, h);
            var cr = c.Slice(r * h, h);
            TensorPrimitives.Multiply(f, cPrev.Slice(r * h, h), cr);
            TensorPrimitives.MultiplyAdd(i, g, cr, cr);
            Activation.Forward(cr, tr, h);
            TensorPrimitives.Multiply(o, tr, hNext.Slice(r * h, h));
        }
    }

    private protected override void StepBackward(int s, int r0, int rows, Span<T> dH, Span<T> dHPrev, Span<T> dC, bool carry)
    {
        int h = Units, g4 = 4 * h, bh = B * h, n = rows * h;
        var z = GatesCache.Span.Slice((s * B + r0) * g4, rows * g4);
        var cPrev = CCache.ReadOnlySpan.Slice(s * bh + r0 * h, n);
        var c = CCache.ReadOnlySpan.Slice((s + 1) * bh + r0 * h, n);
        if (Fused) LstmGates.Backward(z, cPrev, c, dH, dC, z, rows, h);
        else GeneralBackward(s, r0, rows, z, cPrev, c, dH, dC);
        // dh_{s−1} = dZ·Uᵀ, with Uᵀ packed once for all steps.
        if (carry) CarryThroughRecurrent(r0, rows, z, g4, PackedRecurrentTransposed, dHPrev, accumulate: false);
    }

    private void GeneralBackward(int s, int r0, int rows, Span<T> z, ReadOnlySpan<T> cPrev, ReadOnlySpan<T> c, Span<T> dH, Span<T> dC)
    {
        int h = Units, g4 = 4 * h;
        var pre = _pre!.ReadOnlySpan.Slice((s * B + r0) * g4, rows * g4);
        var post = _row!.Span;
        var t = _unit!.Span;
        var tc = _actC!.Span;
        for (int r = 0; r < rows; r++)
        {
            var row = z.Slice(r * g4, g4);
            var pr = pre.Slice(r * g4, g4);
            var i = row.Slice(0, h); var f = row.Slice(h, h); var g = row.Slice(2 * h, h); var o = row.Slice(3 * h, h);
            var dh = dH.Slice(r * h, h); var dc = dC.Slice(r * h, h);
            Activation.Forward(c.Slice(r * h, h), tc, h);   // act(c), recomputed rather than cached
            // dc += act'(c)·(dh⊙o)
            TensorPrimitives.Multiply(dh, o, t);
            Activation.Backward(c.Slice(r * h, h), tc, t, t, h);
            TensorPrimitives.Add(dc, t, dc);
            // Gradients with respect to the activated gates.
            TensorPrimitives.Multiply(dc, g, post.Slice(0, h));
            TensorPrimitives.Multiply(dc, cPrev.Slice(r * h, h), post.Slice(h, h));
            TensorPrimitives.Multiply(dc, i, post.Slice(2 * h, h));
            TensorPrimitives.Multiply(dh, tc, post.Slice(3 * h, h));
            TensorPrimitives.Multiply(dc, f, dc);
            // ... and with respect to their pre-activations.
            for (int k = 0; k < 4; k++)
            {
                var act = k == 2 ? Activation : RecurrentActivation;
                var d = post.Slice(k * h, h);
                act.Backward(pr.Slice(k * h, h), row.Slice(k * h, h), d, d, h);
            }
            post.CopyTo(row);
        }
    }

    /// <inheritdoc/>
    public override RecurrentLayer<T> CloneReversed() => new Lstm<T>(Units, Activation.Name, RecurrentActivation.Name, UseBias,
        KernelInitializer, RecurrentInitializer, BiasInitializer, UnitForgetBias, ReturnSequences, ReturnState, !GoBackwards,
        Stateful, TruncateBptt) { ForceGeneralGates = ForceGeneralGates, KernelRegularizer = KernelRegularizer, RecurrentRegularizer = RecurrentRegularizer, BiasRegularizer = BiasRegularizer, KernelConstraint = KernelConstraint, RecurrentConstraint = RecurrentConstraint, BiasConstraint = BiasConstraint, Dropout = Dropout, RecurrentDropout = RecurrentDropout };

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig()
    {
        var c = BaseConfig();
        c["recurrent_activation"] = RecurrentActivation.Name;
        c["unit_forget_bias"] = Str(UnitForgetBias);
        return c;
    }
}
