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
// reset_after = false (Keras' original form): bias [3H], added to x·W only; u_zr = h_{t−1}·U_zr, z and r as above,
// then u_h = (r⊙h_{t−1})·U_h and ĥ = tanh(x_h + u_h). Caches: pre [T, B, 3H], rh [T, B, H] = r⊙h_{t−1} (for dU_h);
// rec [T, B, 3H] is per-step scratch (u, then d(r⊙h) in backward).

/// <summary>
/// Gated recurrent unit (Cho et al., 2014), Keras' <c>GRU</c>: by default with <c>reset_after = true</c> (the
/// cuDNN- and PyTorch-compatible variant: the reset gate multiplies <c>h_{t−1}·U_h + b_rh</c> after the matrix
/// product), or with <c>resetAfter: false</c> the original form, <c>ĥ = tanh(x·W_h + (r⊙h_{t−1})·U_h + b_h)</c>
/// with a single bias row.
/// Input <c>[batch, time, features]</c>; output <c>[batch, units]</c>, or <c>[batch, time, units]</c> with
/// <c>returnSequences</c>.
/// </summary>
/// <remarks>
/// <para>The <c>reset_after = false</c> form runs the general path on one thread: two GEMMs per step (the second
/// needs r first) and row-wise gate math. It exists to load and train models built that way (Keras 2's
/// <c>GRU(reset_after=False)</c>, TF1's <c>GRUCell</c>); new models should keep the default.</para>
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
    private readonly Workspace<T> _wRec = new(), _wPre = new(), _wRow = new(), _wRh = new();
    private Tensor<T>? _rec, _pre, _row, _rh;
    private PackedMatrix<T>? _packedUzr, _packedUh, _packedUzrT, _packedUhT;
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
    /// <param name="resetAfter">Keras' <c>reset_after</c>: true (the default) applies the reset gate after the
    /// recurrent product and keeps two bias rows; false applies it to h_{t−1} before the product, with one bias row.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="units"/> is not positive or <paramref name="truncateBptt"/> is negative.</exception>
    /// <exception cref="ArgumentException">An activation name is unknown.</exception>
    public Gru(int units, string? activation = "tanh", string? recurrentActivation = "sigmoid", bool useBias = true,
        Initializer? kernelInitializer = null, Initializer? recurrentInitializer = null, Initializer? biasInitializer = null,
        bool returnSequences = false, bool returnState = false, bool goBackwards = false, bool stateful = false, int truncateBptt = 0,
        bool resetAfter = true)
        : base(units, 3, false, Activations.Activations.Get<T>(activation), useBias, kernelInitializer, recurrentInitializer, biasInitializer, returnSequences, returnState, goBackwards, stateful, truncateBptt)
    {
        RecurrentActivation = Activations.Activations.Get<T>(recurrentActivation);
        ResetAfter = resetAfter;
    }

    /// <summary>Keras' <c>reset_after</c>: whether the reset gate multiplies the recurrent product (true, the
    /// default) or h_{t−1} before it (false).</summary>
    public bool ResetAfter { get; }

    /// <inheritdoc/>
    public override string TypeName => "gru";

    /// <summary>The update and reset gates' activation (sigmoid by default).</summary>
    public Activation<T> RecurrentActivation { get; }

    /// <summary>The kernel W, [F, 3H], gates z, r, h.</summary>
    public Parameter<T> Kernel => _kernel ?? throw new InvalidOperationException($"{Name} is not built yet.");

    /// <summary>The recurrent kernel U, [H, 3H].</summary>
    public Parameter<T> RecurrentKernel => _recurrent ?? throw new InvalidOperationException($"{Name} is not built yet.");

    /// <summary>The biases, [2, 3H]: row 0 is added to <c>x·W</c>, row 1 to <c>h·U</c>; with <c>resetAfter: false</c>
    /// one row, [3H], added to <c>x·W</c>; null without a bias.</summary>
    public Parameter<T>? Bias => _bias;

    /// <summary>For tests: take the general row-wise path even with the default activations.</summary>
    internal bool ForceGeneralGates { get; set; }

    private bool Fused => ResetAfter && !ForceGeneralGates && Activation is Tanh<T> && RecurrentActivation is Sigmoid<T>;

    private protected override Parameter<T> KernelParameter => Kernel;
    private protected override Parameter<T> RecurrentKernelParameter => RecurrentKernel;
    private protected override Parameter<T>? BiasParameter => _bias;
    private protected override ReadOnlySpan<T> InputBiasValue => _bias is null ? default : _bias.Value.ReadOnlySpan.Slice(0, 3 * Units);
    private protected override Span<T> InputBiasGrad => _bias is null ? default : _bias.Grad.Span.Slice(0, 3 * Units);
    private protected override Span<T> RecurrentBiasGrad => _bias is null || !ResetAfter ? default : _bias.Grad.Span.Slice(3 * Units);
    // reset_after = false: every recurrent product's gradient is dZ itself (u_h's input is r⊙h, handled below).
    private protected override Tensor<T> RecurrentGradients => ResetAfter ? _rec! : GatesCache;

    private protected override void BuildCell(int features, Random rng)
    {
        int h = Units;
        _kernel = AddParameter("kernel", new TensorShape(features, 3 * h), KernelInitializer, rng);
        _recurrent = AddParameter("recurrent_kernel", new TensorShape(h, 3 * h), RecurrentInitializer, rng);
        _bias = UseBias ? AddParameter("bias", ResetAfter ? new TensorShape(2, 3 * h) : new TensorShape(3 * h), BiasInitializer, rng) : null;
    }

    private protected override void PrepareCaches(int batch, int steps)
    {
        _rec = _wRec.Get(steps, batch, 3 * Units);
        if (!Fused)
        {
            _pre = _wPre.Get(steps, batch, 3 * Units);
            _row = _wRow.Get(new TensorShape(3 * Units));
        }
        if (!ResetAfter)
        {
            _rh = _wRh.Get(steps, batch, Units);
            // U_zr = U[:, :2H] and U_h = U[:, 2H:] packed apart (the second product needs r first); once per pass.
            int h = Units;
            var u = RecurrentKernel.Value.ReadOnlySpan;
            Repack(ref _packedUzr, false, h, 2 * h, u);
            Repack(ref _packedUh, false, h, h, u.Slice(2 * h));
            if (IsTraining)
            {
                Repack(ref _packedUzrT, true, 2 * h, h, u);
                Repack(ref _packedUhT, true, h, h, u.Slice(2 * h));
            }
        }
    }

    private void Repack(ref PackedMatrix<T>? packed, bool transposed, int k, int n, ReadOnlySpan<T> u)
    {
        if (packed is null) packed = Gemm.Pack(transposed, k, n, u, 3 * Units);
        else packed.Repack(u, 3 * Units);
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
        // The fused step reads h_{t−1} once, for the product and the blend; recurrent dropout masks only the product.
        if (!Fused || DisableFusedStep || StateDropoutActive || !GruStep.IsSupported<T>()) return false;
        // With an input bias the step adds [W; b]'s last row instead of multiplying it by the inputs' column of ones.
        bool biasRow = inputColumns > F;
        if (_stepWeights is null || _stepWeights.InputColumns != inputColumns || _stepWeights.Units != Units || _stepWeights.BiasRow != biasRow)
            _stepWeights = new RecurrentStepWeights<T>(inputColumns, Units, 3, biasRow);
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
        if (!ResetAfter)
        {
            StepForwardResetBefore(s, r0, rows);
            return;
        }
        int h = Units, g3 = 3 * h, bh = B * h, n = rows * h, ng = rows * g3;
        var x = GatesCache.Span.Slice((s * B + r0) * g3, ng);
        var u = _rec!.Span.Slice((s * B + r0) * g3, ng);
        var hPrev = HCache.ReadOnlySpan.Slice(s * bh + r0 * h, n);
        var hNext = HCache.Span.Slice((s + 1) * bh + r0 * h, n);
        // u = h_{s−1}·U + b_rec: one GEMM on the block's contiguous rows, U packed once for all steps.
        if (_bias is not null) BroadcastRows(_bias.Value.ReadOnlySpan.Slice(g3), u, rows);
        Gemm.Compute(false, rows, T.One, RecurrentInput(s, r0, rows), h, PackedRecurrent, _bias is not null ? T.One : T.Zero, u, g3);
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
        if (!ResetAfter)
        {
            StepBackwardResetBefore(s, r0, rows, dH, dHPrev, carry);
            return;
        }
        int h = Units, g3 = 3 * h, bh = B * h, ng = rows * g3;
        var x = GatesCache.Span.Slice((s * B + r0) * g3, ng);
        var u = _rec!.Span.Slice((s * B + r0) * g3, ng);
        var hPrev = HCache.ReadOnlySpan.Slice(s * bh + r0 * h, rows * h);
        if (Fused) GruGates.Backward(x, hPrev, dH, u, x, dHPrev, rows, h);
        else GeneralBackward(s, r0, rows, x, u, hPrev, dH, dHPrev);
        if (carry) CarryThroughRecurrent(r0, rows, u, g3, PackedRecurrentTransposed, dHPrev, accumulate: true);
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

    // ***** reset_after = false *****

    private void StepForwardResetBefore(int s, int r0, int rows)
    {
        int h = Units, g3 = 3 * h, bh = B * h, n = rows * h, ng = rows * g3, off = (s * B + r0) * g3;
        var x = GatesCache.Span.Slice(off, ng);          // x·W + b, then z, r, ĥ
        var u = _rec!.Span.Slice(off, ng);                // u_zr, u_h
        var pre = _pre!.Span.Slice(off, ng);
        var rh = _rh!.Span.Slice(s * bh + r0 * h, n);
        var hPrev = HCache.ReadOnlySpan.Slice(s * bh + r0 * h, n);
        var hm = RecurrentInput(s, r0, rows);            // h_{s−1}, masked with recurrent dropout
        var hNext = HCache.Span.Slice((s + 1) * bh + r0 * h, n);
        // u_zr = h_{s−1}·U_zr, then z, r and r⊙h_{s−1}.
        Gemm.Compute(false, rows, T.One, hm, h, _packedUzr!, T.Zero, u, g3);
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * g3, g3); var pr = pre.Slice(r * g3, g3);
            TensorPrimitives.Add(xr.Slice(0, 2 * h), u.Slice(r * g3, 2 * h), pr.Slice(0, 2 * h));
            RecurrentActivation.Forward(pr.Slice(0, h), xr.Slice(0, h), h);
            RecurrentActivation.Forward(pr.Slice(h, h), xr.Slice(h, h), h);
            TensorPrimitives.Multiply(xr.Slice(h, h), hm.Slice(r * h, h), rh.Slice(r * h, h));
        }
        // u_h = (r⊙h_{s−1})·U_h, then ĥ = act(x_h + u_h) and h = ĥ + z⊙(h_{s−1} − ĥ).
        Gemm.Compute(false, rows, T.One, rh, h, _packedUh!, T.Zero, u.Slice(2 * h), g3);
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * g3, g3); var pr = pre.Slice(r * g3, g3);
            TensorPrimitives.Add(xr.Slice(2 * h, h), u.Slice(r * g3 + 2 * h, h), pr.Slice(2 * h, h));
            var hh = xr.Slice(2 * h, h);
            Activation.Forward(pr.Slice(2 * h, h), hh, h);
            var hn = hNext.Slice(r * h, h);
            TensorPrimitives.Subtract(hPrev.Slice(r * h, h), hh, hn);
            TensorPrimitives.MultiplyAdd(xr.Slice(0, h), hn, hh, hn);
        }
    }

    private void StepBackwardResetBefore(int s, int r0, int rows, Span<T> dH, Span<T> dHPrev, bool carry)
    {
        int h = Units, g3 = 3 * h, bh = B * h, n = rows * h, ng = rows * g3, off = (s * B + r0) * g3;
        var x = GatesCache.Span.Slice(off, ng);           // z, r, ĥ; becomes dZ
        var scratch = _rec!.Span.Slice(off, ng);           // d(r⊙h) in the first H columns of each row
        var pre = _pre!.ReadOnlySpan.Slice(off, ng);
        var hPrev = HCache.ReadOnlySpan.Slice(s * bh + r0 * h, n);
        var hm = RecurrentInput(s, r0, rows);
        var post = _row!.Span;
        var da = post.Slice(2 * h, h);
        // dĥ_pre first, for every row: it feeds d(r⊙h) = dĥ_pre·U_hᵀ, which dr needs.
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * g3, g3);
            var dh = dH.Slice(r * h, h);
            var dar = scratch.Slice(r * g3 + h, h);       // parked in columns H..2H until the row is finished
            TensorPrimitives.Multiply(dh, xr.Slice(0, h), dar);
            TensorPrimitives.Subtract(dh, dar, dar);                        // dĥ = dh⊙(1 − z)
            Activation.Backward(pre.Slice(r * g3 + 2 * h, h), xr.Slice(2 * h, h), dar, dar, h);
        }
        Gemm.Compute(false, rows, T.One, scratch.Slice(h), g3, _packedUhT!, T.Zero, scratch, g3);
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * g3, g3); var pr = pre.Slice(r * g3, g3);
            var z = xr.Slice(0, h); var rg = xr.Slice(h, h); var hh = xr.Slice(2 * h, h);
            var dh = dH.Slice(r * h, h); var dhp = dHPrev.Slice(r * h, h); var hp = hPrev.Slice(r * h, h);
            var drh = scratch.Slice(r * g3, h);
            var viaReset = scratch.Slice(r * g3 + h, h);   // free once dĥ_pre is copied out
            var dz = post.Slice(0, h); var dr = post.Slice(h, h);
            scratch.Slice(r * g3 + h, h).CopyTo(da);
            TensorPrimitives.Subtract(hp, hh, dz);
            TensorPrimitives.Multiply(dz, dh, dz);                          // dz = dh⊙(h_prev − ĥ)
            TensorPrimitives.Multiply(drh, hm.Slice(r * h, h), dr);        // dr = d(r⊙h)⊙h_prev (masked h)
            TensorPrimitives.Multiply(dh, z, dhp);                          // dh_prev = dh⊙z + d(r⊙h)⊙r (+ dZ_zr·U_zrᵀ below)
            TensorPrimitives.Multiply(drh, rg, viaReset);
            MaskStateGradient(r0 + r, 1, viaReset);
            TensorPrimitives.Add(dhp, viaReset, dhp);
            RecurrentActivation.Backward(pr.Slice(0, h), z, dz, dz, h);
            RecurrentActivation.Backward(pr.Slice(h, h), rg, dr, dr, h);
            post.CopyTo(xr);
        }
        if (carry) CarryThroughRecurrent(r0, rows, x, g3, _packedUzrT!, dHPrev, accumulate: true);
    }

    // dU_zr += h[0..T)ᵀ·dZ_zr and dU_h += (r⊙h)[0..T)ᵀ·dĥ_pre: the candidate's product took r⊙h_{t−1}, not h_{t−1}.
    private protected override void AccumulateRecurrentKernelGradient(int rows, ReadOnlySpan<T> dZr, Span<T> dU)
    {
        if (ResetAfter)
        {
            base.AccumulateRecurrentKernelGradient(rows, dZr, dU);
            return;
        }
        int h = Units, g3 = 3 * h;
        Gemm.Compute(true, false, h, 2 * h, rows, T.One, RecurrentInputs, h, dZr, g3, T.One, dU, g3);
        Gemm.Compute(true, false, h, h, rows, T.One, _rh!.ReadOnlySpan, h, dZr.Slice(2 * h), g3, T.One, dU.Slice(2 * h), g3);
    }

    /// <inheritdoc/>
    public override RecurrentLayer<T> CloneReversed() => new Gru<T>(Units, Activation.Name, RecurrentActivation.Name, UseBias,
        KernelInitializer, RecurrentInitializer, BiasInitializer, ReturnSequences, ReturnState, !GoBackwards, Stateful, TruncateBptt, ResetAfter)
    { ForceGeneralGates = ForceGeneralGates, KernelRegularizer = KernelRegularizer, RecurrentRegularizer = RecurrentRegularizer, BiasRegularizer = BiasRegularizer, KernelConstraint = KernelConstraint, RecurrentConstraint = RecurrentConstraint, BiasConstraint = BiasConstraint, Dropout = Dropout, RecurrentDropout = RecurrentDropout };

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig()
    {
        var c = BaseConfig();
        c["recurrent_activation"] = RecurrentActivation.Name;
        c["reset_after"] = Str(ResetAfter);
        return c;
    }
}
