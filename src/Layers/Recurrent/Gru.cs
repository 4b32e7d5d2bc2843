using System.Numerics;
using Nn.Simd.Layers.Activations;
using Nn.Simd.Layers.Initializers;
using Nn.Simd.Tensors;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Layers;

// Shapes: B = batch, T = time, F = input features, H = units; gates packed z, r, h along 3H (Keras).
// kernel W [F, 3H], recurrent_kernel U [H, 3H], bias [2, 3H] (row 0: input bias, row 1: recurrent bias).
// x = x_t·W + b_in, u = h_{t−1}·U + b_rec;  z = σ(x_z + u_z), r = σ(x_r + u_r), ĥ = tanh(x_h + r⊙u_h);
// h_t = z⊙h_{t−1} + (1 − z)⊙ĥ.
// Extra caches: rec [T, B, 3H] (u, then its gradient in backward); pre [T, B, 3H] (non-default activations only).

/// <summary>
/// Gated recurrent unit (Cho et al., 2014), Keras' <c>GRU</c> with <c>reset_after = true</c> (the default,
/// cuDNN-compatible variant: the reset gate multiplies <c>h_{t−1}·U_h + b_rh</c> after the matrix product).
/// Input <c>[batch, time, features]</c>; output <c>[batch, units]</c>, or <c>[batch, time, units]</c> with
/// <c>returnSequences</c>.
/// </summary>
/// <remarks>
/// <para>Defaults follow Keras: tanh activation, sigmoid recurrent activation, Glorot-uniform kernel,
/// orthogonal recurrent kernel, zero biases. The time loop, options and BPTT are described on
/// <see cref="RecurrentLayer{T}"/>; with the default activations each step's gate math is one fused pass
/// (<see cref="GruGates"/>), and each forward step runs as one kernel, <see cref="GruStep"/>, which forms both sums
/// in registers and applies that math to them (same bits as a GEMM followed by <see cref="GruGates"/>).</para>
/// <para><b>Mapping to PyTorch <c>nn.GRU</c></b> (gate order r, z, n; <c>n = tanh(W_in x + b_in + r⊙(W_hn h + b_hn))</c>,
/// <c>h' = (1 − z)⊙n + z⊙h</c>, the same function). With PyTorch blocks split by gate as
/// <c>weight_ih = [W_ir; W_iz; W_in]</c> ([3H, F]) and likewise <c>weight_hh</c>, <c>bias_ih</c>, <c>bias_hh</c>:
/// <c>Kernel = [W_iz | W_ir | W_in]ᵀ</c> (i.e. <c>weight_ihᵀ</c> with its first two column blocks swapped),
/// <c>RecurrentKernel = [W_hz | W_hr | W_hn]ᵀ</c>, <c>Bias[0] = [b_iz, b_ir, b_in]</c> and
/// <c>Bias[1] = [b_hz, b_hr, b_hn]</c>. Unlike the LSTM, the two biases cannot be summed, because
/// <c>b_hn</c> sits inside the reset gate's product.</para>
/// </remarks>
public sealed class Gru<T> : RecurrentLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Workspace<T> _wRec = new(), _wPre = new(), _wRow = new();
    private Tensor<T>? _rec, _pre, _row;
    private Parameter<T>? _kernel, _recurrent, _bias;

    /// <summary>Creates the layer.</summary>
    /// <param name="units">H; positive.</param>
    /// <param name="activation">The candidate's activation; null means linear.</param>
    /// <param name="recurrentActivation">The update and reset gates' activation; null means linear.</param>
    /// <param name="useBias">Whether to add the input and recurrent biases.</param>
    /// <param name="kernelInitializer">Defaults to Glorot-uniform.</param>
    /// <param name="recurrentInitializer">Defaults to orthogonal.</param>
    /// <param name="biasInitializer">Defaults to zeros.</param>
    /// <param name="returnSequences">Return every step's h, [B, T, H].</param>
    /// <param name="returnState">Expose the final state as <see cref="RecurrentLayer{T}.FinalH"/>.</param>
    /// <param name="goBackwards">Process the sequence from the last step to the first.</param>
    /// <param name="stateful">Carry the final state into the next call.</param>
    /// <param name="truncateBptt">0 for full BPTT, else the truncation window k.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="units"/> is not positive or <paramref name="truncateBptt"/> is negative.</exception>
    /// <exception cref="ArgumentException">An activation name is unknown.</exception>
    public Gru(int units, string? activation = "tanh", string? recurrentActivation = "sigmoid", bool useBias = true,
        Initializer? kernelInitializer = null, Initializer? recurrentInitializer = null, Initializer? biasInitializer = null,
        bool returnSequences = false, bool returnState = false, bool goBackwards = false, bool stateful = false, int truncateBptt = 0)
        : base(units, 3, false, Activations.Activations.Get<T>(activation), useBias, kernelInitializer, recurrentInitializer, biasInitializer, returnSequences, returnState, goBackwards, stateful, truncateBptt)
    {
        RecurrentActivation = Activations.Activations.Get<T>(recurrentActivation);
    }

    /// <inheritdoc/>
    public override string TypeName => "gru";

    /// <summary>The update and reset gates' activation (sigmoid by default).</summary>
    public Activation<T> RecurrentActivation { get; }

    /// <summary>The kernel W, [F, 3H], gates z, r, h.</summary>
    public Parameter<T> Kernel => _kernel ?? throw new InvalidOperationException($"{Name} is not built yet.");

    /// <summary>The recurrent kernel U, [H, 3H].</summary>
    public Parameter<T> RecurrentKernel => _recurrent ?? throw new InvalidOperationException($"{Name} is not built yet.");

    /// <summary>The biases, [2, 3H]: row 0 is added to <c>x·W</c>, row 1 to <c>h·U</c>; null without a bias.</summary>
    public Parameter<T>? Bias => _bias;

    /// <summary>For tests: take the general row-wise path even with the default activations.</summary>
    internal bool ForceGeneralGates { get; set; }

    private bool Fused => !ForceGeneralGates && Activation is Tanh<T> && RecurrentActivation is Sigmoid<T>;

    private protected override Parameter<T> KernelParameter => Kernel;
    private protected override Parameter<T> RecurrentKernelParameter => RecurrentKernel;
    private protected override ReadOnlySpan<T> InputBiasValue => _bias is null ? default : _bias.Value.ReadOnlySpan.Slice(0, 3 * Units);
    private protected override Span<T> InputBiasGrad => _bias is null ? default : _bias.Grad.Span.Slice(0, 3 * Units);
    private protected override Span<T> RecurrentBiasGrad => _bias is null ? default : _bias.Grad.Span.Slice(3 * Units);
    private protected override Tensor<T> RecurrentGradients => _rec!;

    private protected override void BuildCell(int features, Random rng)
    {
        int h = Units;
        _kernel = AddParameter("kernel", new TensorShape(features, 3 * h), KernelInitializer, rng);
        _recurrent = AddParameter("recurrent_kernel", new TensorShape(h, 3 * h), RecurrentInitializer, rng);
        _bias = UseBias ? AddParameter("bias", new TensorShape(2, 3 * h), BiasInitializer, rng) : null;
    }

    private protected override void PrepareCaches(int batch, int steps)
    {
        _rec = _wRec.Get(steps, batch, 3 * Units);
        if (!Fused)
        {
            _pre = _wPre.Get(steps, batch, 3 * Units);
            _row = _wRow.Get(new TensorShape(3 * Units));
        }
    }

    private protected override bool CanSplitRows => Fused;   // the general path shares a scratch row

    private RecurrentStepWeights<T>? _stepWeights;

    /// <summary>For tests: with the default activations, run each step as the GEMM + <see cref="GruGates"/> pair
    /// instead of the fused <see cref="GruStep"/> (the two must agree bit for bit).</summary>
    internal bool DisableFusedStep { get; set; }

    // With the default activations every forward step is one kernel (GruStep): both sums are formed in registers
    // and the gate math applied to them, with [W; b_in] and U packed side by side once per pass. Training also
    // stores the activated gates and u_h for the backward pass. Same bits as the GEMM + GruGates path it replaces.
    private protected override bool PrepareFusedForward(int inputColumns)
    {
        if (!Fused || DisableFusedStep || !GruStep.IsSupported<T>()) return false;
        if (_stepWeights is null || _stepWeights.InputColumns != inputColumns || _stepWeights.Units != Units)
            _stepWeights = new RecurrentStepWeights<T>(inputColumns, Units, 3);
        _stepWeights.Pack(KernelWithBias(), RecurrentKernel.Value.ReadOnlySpan);
        return true;
    }

    private protected override void FusedStep(int s, int r0, int rows)
    {
        int h = Units, bh = B * h, n = rows * h, g3 = 3 * h;
        var bias = _bias is null ? default : _bias.Value.ReadOnlySpan.Slice(g3);
        var gates = IsTraining ? GatesCache.Span.Slice((s * B + r0) * g3, rows * g3) : default;
        var rec = IsTraining ? _rec!.Span.Slice((s * B + r0) * g3, rows * g3) : default;
        GruStep.Forward(StepInput(s, r0, rows), HCache.ReadOnlySpan.Slice(s * bh + r0 * h, n), _stepWeights!, bias,
            HCache.Span.Slice((s + 1) * bh + r0 * h, n), rows, gates, rec);
    }

    private protected override void StepForward(int s, int r0, int rows)
    {
        int h = Units, g3 = 3 * h, bh = B * h, n = rows * h, ng = rows * g3;
        var x = GatesCache.Span.Slice((s * B + r0) * g3, ng);
        var u = _rec!.Span.Slice((s * B + r0) * g3, ng);
        var hPrev = HCache.ReadOnlySpan.Slice(s * bh + r0 * h, n);
        var hNext = HCache.Span.Slice((s + 1) * bh + r0 * h, n);
        // u = h_{s−1}·U + b_rec: one GEMM on the block's contiguous rows, U packed once for all steps.
        if (_bias is not null) BroadcastRows(_bias.Value.ReadOnlySpan.Slice(g3), u, rows);
        Gemm.Compute(false, rows, T.One, hPrev, h, PackedRecurrent, _bias is not null ? T.One : T.Zero, u, g3);
        if (Fused)
        {
            GruGates.Forward(hPrev, u, x, hNext, rows, h);
            return;
        }
        var pre = _pre!.Span.Slice((s * B + r0) * g3, ng);
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * g3, g3); var ur = u.Slice(r * g3, g3); var pr = pre.Slice(r * g3, g3);
            TensorPrimitives.Add(xr.Slice(0, 2 * h), ur.Slice(0, 2 * h), pr.Slice(0, 2 * h));
            RecurrentActivation.Forward(pr.Slice(0, h), xr.Slice(0, h), h);
            RecurrentActivation.Forward(pr.Slice(h, h), xr.Slice(h, h), h);
            // pre_h = x_h + r⊙u_h;  ĥ = act(pre_h)
            TensorPrimitives.MultiplyAdd(xr.Slice(h, h), ur.Slice(2 * h, h), xr.Slice(2 * h, h), pr.Slice(2 * h, h));
            var hh = xr.Slice(2 * h, h);
            Activation.Forward(pr.Slice(2 * h, h), hh, h);
            // h = ĥ + z⊙(h_prev − ĥ)
            var hn = hNext.Slice(r * h, h);
            TensorPrimitives.Subtract(hPrev.Slice(r * h, h), hh, hn);
            TensorPrimitives.MultiplyAdd(xr.Slice(0, h), hn, hh, hn);
        }
    }

    private protected override void StepBackward(int s, int r0, int rows, Span<T> dH, Span<T> dHPrev, Span<T> dC, bool carry)
    {
        int h = Units, g3 = 3 * h, bh = B * h, ng = rows * g3;
        var x = GatesCache.Span.Slice((s * B + r0) * g3, ng);
        var u = _rec!.Span.Slice((s * B + r0) * g3, ng);
        var hPrev = HCache.ReadOnlySpan.Slice(s * bh + r0 * h, rows * h);
        if (Fused) GruGates.Backward(x, hPrev, dH, u, x, dHPrev, rows, h);
        else GeneralBackward(s, r0, rows, x, u, hPrev, dH, dHPrev);
        if (carry)
            Gemm.Compute(false, rows, T.One, u, g3, PackedRecurrentTransposed, T.One, dHPrev, h);
    }

    private void GeneralBackward(int s, int r0, int rows, Span<T> x, Span<T> u, ReadOnlySpan<T> hPrev, Span<T> dH, Span<T> dHPrev)
    {
        int h = Units, g3 = 3 * h;
        var pre = _pre!.ReadOnlySpan.Slice((s * B + r0) * g3, rows * g3);
        var post = _row!.Span;
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * g3, g3); var ur = u.Slice(r * g3, g3); var pr = pre.Slice(r * g3, g3);
            var z = xr.Slice(0, h); var rg = xr.Slice(h, h); var hh = xr.Slice(2 * h, h);
            var dh = dH.Slice(r * h, h); var dhp = dHPrev.Slice(r * h, h);
            var dz = post.Slice(0, h); var dr = post.Slice(h, h); var da = post.Slice(2 * h, h);
            TensorPrimitives.Multiply(dh, z, dhp);                       // direct part of dh_prev: dh⊙z
            TensorPrimitives.Subtract(dh, dhp, da);                      // dĥ = dh⊙(1 − z)
            TensorPrimitives.Subtract(hPrev.Slice(r * h, h), hh, dz);
            TensorPrimitives.Multiply(dz, dh, dz);                       // dz = dh⊙(h_prev − ĥ)
            Activation.Backward(pr.Slice(2 * h, h), hh, da, da, h);     // dĥ_pre
            TensorPrimitives.Multiply(da, ur.Slice(2 * h, h), dr);       // dr = dĥ_pre⊙u_h
            RecurrentActivation.Backward(pr.Slice(0, h), z, dz, dz, h);
            RecurrentActivation.Backward(pr.Slice(h, h), rg, dr, dr, h);
            TensorPrimitives.Multiply(da, rg, ur.Slice(2 * h, h));      // du_h = dĥ_pre⊙r (r still intact)
            post.Slice(0, 2 * h).CopyTo(ur);
            post.CopyTo(xr);
        }
    }

    /// <inheritdoc/>
    public override RecurrentLayer<T> CloneReversed() => new Gru<T>(Units, Activation.Name, RecurrentActivation.Name, UseBias,
        KernelInitializer, RecurrentInitializer, BiasInitializer, ReturnSequences, ReturnState, !GoBackwards, Stateful, TruncateBptt)
    { ForceGeneralGates = ForceGeneralGates };

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig()
    {
        var c = BaseConfig();
        c["recurrent_activation"] = RecurrentActivation.Name;
        c["reset_after"] = "true";
        return c;
    }
}
