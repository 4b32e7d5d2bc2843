using System.Globalization;
using System.Numerics;
using Nn.Simd.Layers.Initializers;
using Nn.Simd.Tensors;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Layers;

// Shapes: B = batch, Tq = query time, Tv = key/value time, dq, dv, dk = input feature sizes, H = heads,
// Dk = key_dim, Dv = value_dim, O = output features (output_shape, else dq).
// query [B, Tq, dq], value [B, Tv, dv], key [B, Tv, dk] (defaults to value).
// Q = query·Wq + bq [B·Tq, H·Dk];  K = key·Wk + bk [B·Tv, H·Dk];  V = value·Wv + bv [B·Tv, H·Dv]   (rows b·T + t, column h·D + d)
// S[b, h] = (Q[b, :, h] / √Dk)·K[b, :, h]ᵀ [Tq, Tv];  A = softmax_Tv(S − 1e9·causal) [B, H, Tq, Tv];  A' = A ⊙ M (dropout)
// C[b, :, h] = A'[b, h]·V[b, :, h] [B·Tq, H·Dv];  y = C·Wo + bo [B, Tq, O].

/// <summary>
/// Keras' <c>MultiHeadAttention</c> (type name <c>multi_head_attention</c>), Vaswani et al. 2017: for inputs
/// <c>[query, value]</c> or <c>[query, value, key]</c> (key defaults to value), per head h the projections
/// Q_h = query·Wq_h + bq_h, K_h = key·Wk_h + bk_h, V_h = value·Wv_h + bv_h, the weights
/// A_h = softmax over Tv of (Q_h/√key_dim)·K_hᵀ (entries j &gt; i shifted by −10⁹ when causal), dropout on A_h while
/// training, and the output y = Σ_h (A_h·V_h)·Wo_h + bo, <c>[batch, Tq, output_shape ?? dq]</c>.
/// </summary>
/// <remarks>
/// <para>Shapes: query <c>[batch, Tq, dq]</c>, value <c>[batch, Tv, dv]</c>, key <c>[batch, Tv, dk]</c>; the three feature
/// sizes may differ. Parameters, in Keras' order and shapes (Keras' sub-layer names, <c>query/kernel</c> written
/// <c>query.kernel</c>): <c>query.kernel</c> <c>[dq, heads, key_dim]</c>, <c>query.bias</c> <c>[heads, key_dim]</c>,
/// <c>key.kernel</c> <c>[dk, heads, key_dim]</c>, <c>key.bias</c>, <c>value.kernel</c> <c>[dv, heads, value_dim]</c>,
/// <c>value.bias</c> <c>[heads, value_dim]</c>, <c>attention_output.kernel</c> <c>[heads, value_dim, O]</c>,
/// <c>attention_output.bias</c> <c>[O]</c>; no biases without <c>use_bias</c>. Kernels are drawn one after another from
/// one generator seeded by the build seed, so each differs (Keras clones the initializer per sub-layer for the same
/// reason); fans follow Keras' <c>compute_fans</c> for a rank-3 kernel (glorot_uniform of <c>[dq, H, Dk]</c> has
/// fanIn = dq·H, fanOut = dq·Dk).</para>
/// <para>Keras multiplies the projected query by 1/√key_dim before the product; here the factor is applied to the
/// product (the GEMM's alpha), the same value up to rounding. Backward: dC = dy·Woᵀ, dA' = dC_h·V_hᵀ,
/// dV_h = A'ᵀ·dC_h, dA = dA' ⊙ M, dS = A ⊙ (dA − Σⱼ dA ⊙ A), dQ_h = dS·K_h/√Dk, dK_h = dSᵀ·Q_h/√Dk, then each
/// projection's backward; without a key, the key projection's input gradient is added into value's.</para>
/// <para>Differences from Keras: <c>use_causal_mask</c> is a layer option (a call argument in Keras), since a graph node
/// calls the layer with fixed arguments; <c>output_shape</c> is one integer (Keras also takes a tuple);
/// <c>attention_axes</c>, the query/value/key masks, the attention_mask argument, regularizers and constraints are not
/// supported; <c>seed</c> is saved (Keras does too) so a reloaded layer draws the same dropout masks. Dropout draws
/// from a generator seeded by <see cref="AttentionBase{T}.Seed"/> as <see cref="AttentionLayer{T}"/> does, row-major over
/// <c>[batch, heads, Tq, Tv]</c>.</para>
/// </remarks>
public sealed class MultiHeadAttention<T> : AttentionBase<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Workspace<T> _wQ = new(), _wK = new(), _wV = new(), _wScores = new(), _wWeights = new(), _wContext = new(), _wOut = new(), _wdContext = new(), _wdA = new(), _wdS = new(), _wdQp = new(),
        _wdKp = new(), _wdVp = new(), _wdQuery = new(), _wdValue = new(), _wdKey = new();
    private readonly Tensor<T>[] _grads2 = new Tensor<T>[2], _grads3 = new Tensor<T>[3];
    private Parameter<T>? _qKernel, _qBias, _kKernel, _kBias, _vKernel, _vBias, _oKernel, _oBias;
    private Tensor<T>? _query, _value, _key, _q, _k, _v, _scores, _weights, _used, _context, _lastOutput, _dContext, _dA, _dS, _dQp, _dKp, _dVp;
    private bool _hasKey;
    private readonly SampleLoop _forwardLoop, _backwardLoop;

    /// <summary>Creates the layer (Keras' defaults).</summary>
    /// <param name="numHeads">Keras' <c>num_heads</c>: H, the number of heads; positive.</param>
    /// <param name="keyDim">Keras' <c>key_dim</c>: Dk, the size of each head for query and key; positive.</param>
    /// <param name="valueDim">Keras' <c>value_dim</c>: Dv, the size of each head for value; null means <paramref name="keyDim"/>.</param>
    /// <param name="dropout">Keras' <c>dropout</c>: the fraction of attention weights dropped while training, in [0, 1).</param>
    /// <param name="useBias">Keras' <c>use_bias</c>: whether the four projections add a bias.</param>
    /// <param name="outputShape">Keras' <c>output_shape</c>: O, the output feature size; null means the query's feature size.</param>
    /// <param name="kernelInitializer">Keras' <c>kernel_initializer</c> for the four kernels; defaults to Glorot-uniform.</param>
    /// <param name="biasInitializer">Keras' <c>bias_initializer</c> for the four biases; defaults to zeros.</param>
    /// <param name="useCausalMask">Keras' <c>use_causal_mask</c> call argument: query position i attends only to j ≤ i.</param>
    /// <param name="seed">The seed of the dropout masks; null draws one at random.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, or <paramref name="dropout"/> is outside [0, 1).</exception>
    public MultiHeadAttention(int numHeads, int keyDim, int? valueDim = null, double dropout = 0, bool useBias = true,
        int? outputShape = null, Initializer? kernelInitializer = null, Initializer? biasInitializer = null,
        bool useCausalMask = false, int? seed = null)
        : base(CheckSizes(numHeads, keyDim, valueDim, outputShape, dropout), useCausalMask, seed)
    {
        NumHeads = numHeads;
        KeyDim = keyDim;
        ValueDim = valueDim ?? keyDim;
        OutputShape = outputShape;
        UseBias = useBias;
        KernelInitializer = kernelInitializer ?? new GlorotUniform();
        BiasInitializer = biasInitializer ?? new Constant(0);
        // The per-(sample, head) GEMMs run over the batch on the worker threads, all heads of a sample in one body;
        // the body's flag picks the part of the pass before (false) or after (true) the dropout step, which needs
        // every weight at once (its mask is drawn row-major over the whole tensor).
        _forwardLoop = new SampleLoop((n, second) => { if (second) ForwardContext(n); else ForwardWeights(n); });
        _backwardLoop = new SampleLoop((n, second) => { if (second) BackwardScores(n); else BackwardContext(n); });
    }

    // The size checks, made before the base constructor checks dropout (the order the exceptions always had); returns dropout.
    private static double CheckSizes(int numHeads, int keyDim, int? valueDim, int? outputShape, double dropout)
    {
        if (numHeads <= 0)
            throw new ArgumentOutOfRangeException(nameof(numHeads), $"num_heads must be a positive integer; got {numHeads}.");
        if (keyDim <= 0)
            throw new ArgumentOutOfRangeException(nameof(keyDim), $"key_dim must be a positive integer; got {keyDim}.");
        if (valueDim is not (null or > 0))
            throw new ArgumentOutOfRangeException(nameof(valueDim), $"value_dim must be a positive integer; got {valueDim}.");
        if (outputShape is not (null or > 0))
            throw new ArgumentOutOfRangeException(nameof(outputShape), $"output_shape must be a positive integer; got {outputShape}.");
        return dropout;
    }

    /// <inheritdoc/>
    public override string TypeName => "multi_head_attention";

    /// <summary>Keras' key mask, <c>[batch, Tv]</c> of the key input (joined with <see cref="AttentionBase{T}.ValueMask"/>;
    /// Keras ignores it when the key is the value); null for none.</summary>
    public SequenceMask? KeyMask { get; set; }

    /// <summary>Keras' <c>num_heads</c>.</summary>
    public int NumHeads { get; }

    /// <summary>Keras' <c>key_dim</c>: the size of each query and key head.</summary>
    public int KeyDim { get; }

    /// <summary>Keras' <c>value_dim</c>: the size of each value head (key_dim when not given).</summary>
    public int ValueDim { get; }

    /// <summary>Keras' <c>output_shape</c>: the output feature size, or null for the query's feature size.</summary>
    public int? OutputShape { get; }

    /// <summary>Keras' <c>use_bias</c>.</summary>
    public bool UseBias { get; }

    /// <summary>Keras' <c>kernel_initializer</c>, used for all four kernels.</summary>
    public Initializer KernelInitializer { get; }

    /// <summary>Keras' <c>bias_initializer</c>, used for all four biases.</summary>
    public Initializer BiasInitializer { get; }

    /// <summary>Whether <see cref="Build"/> has created the parameters.</summary>
    public bool IsBuilt { get; private set; }

    /// <summary>The (query, value, key) feature sizes the layer was built for; zeros before build.</summary>
    public (int Query, int Value, int Key) BuiltDims { get; private set; }

    /// <summary>The attention weights of the last forward pass, <c>[batch, heads, Tq, Tv]</c>, after masking and softmax and
    /// before dropout: Keras' <c>return_attention_scores</c> output (Keras returns them before dropout too). Null before
    /// the first pass; owned by the layer.</summary>
    public Tensor<T>? LastAttentionScores => _weights;

    /// <inheritdoc/>
    /// <remarks>Output <c>[batch, Tq, output_shape ?? dq]</c>. Checks: 2 or 3 inputs, each of rank 3 with positive sizes,
    /// one batch size, and value's Tv equal to key's (Keras: all dimensions of value and key but the last).</remarks>
    public override TensorShape ComputeOutputShape(IReadOnlyList<TensorShape> inputShapes)
    {
        var (q, _, _) = CheckInputShapes(inputShapes);
        return new TensorShape(q[0], q[1], OutputShape ?? q[2]);
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">The shapes do not fit (see <see cref="ComputeOutputShape"/>), or the layer was
    /// built for other feature sizes; the message names the shapes.</exception>
    public override void Build(IReadOnlyList<TensorShape> inputShapes, int seed)
    {
        ComputeOutputShape(inputShapes);
        var dims = (inputShapes[0][2], inputShapes[1][2], inputShapes[^1][2]);
        if (IsBuilt)
        {
            CheckBuiltDims(dims, inputShapes[0], inputShapes[1], inputShapes[^1], nameof(inputShapes));
            return;
        }
        var (dq, dv, dk) = dims;
        int h = NumHeads, o = OutputShape ?? dq;
        var rng = new Random(seed);
        ClearParameters();
        _qKernel = AddParameter("query.kernel", new TensorShape(dq, h, KeyDim), KernelInitializer, rng);
        _qBias = UseBias ? AddParameter("query.bias", new TensorShape(h, KeyDim), BiasInitializer, rng) : null;
        _kKernel = AddParameter("key.kernel", new TensorShape(dk, h, KeyDim), KernelInitializer, rng);
        _kBias = UseBias ? AddParameter("key.bias", new TensorShape(h, KeyDim), BiasInitializer, rng) : null;
        _vKernel = AddParameter("value.kernel", new TensorShape(dv, h, ValueDim), KernelInitializer, rng);
        _vBias = UseBias ? AddParameter("value.bias", new TensorShape(h, ValueDim), BiasInitializer, rng) : null;
        _oKernel = AddParameter("attention_output.kernel", new TensorShape(h, ValueDim, o), KernelInitializer, rng);
        _oBias = UseBias ? AddParameter("attention_output.bias", new TensorShape(o), BiasInitializer, rng) : null;
        BuiltDims = dims;
        IsBuilt = true;
    }

    private void CheckBuiltDims((int, int, int) dims, TensorShape q, TensorShape v, TensorShape k, string paramName)
    {
        if (dims != BuiltDims)
            throw new ArgumentException($"{Name} was built for feature sizes (query {BuiltDims.Query}, value {BuiltDims.Value}, key {BuiltDims.Key}) "
                + $"but got query {q}, value {v}, key {k}.", paramName);
    }

    /// <inheritdoc/>
    public override Tensor<T> Forward(IReadOnlyList<Tensor<T>> inputs, bool training)
    {
        var (query, value, key, outShape) = CheckInputs(inputs);
        int n = inputs.Count;
        if (!IsBuilt) Build(n == 3 ? [query.Shape, value.Shape, key.Shape] : [query.Shape, value.Shape], StableHash(Name));
        else CheckBuiltDims((query.Shape[2], value.Shape[2], key.Shape[2]), query.Shape, value.Shape, key.Shape, nameof(inputs));

        int b = query.Shape[0], tq = query.Shape[1], tv = value.Shape[1], h = NumHeads, dk = KeyDim, dvh = ValueDim;
        int hk = h * dk, hv = h * dvh;
        var q = Project(query, _qKernel!, _qBias, _wQ, hk);
        var k = Project(key, _kKernel!, _kBias, _wK, hk);
        var v = Project(value, _vKernel!, _vBias, _wV, hv);

        // Per sample: S[b, h] = (Q_bh/√Dk)·K_bhᵀ, one [Tq, Tv] block per head (a head is a column slice of Q, K, V),
        // the causal shift and the softmax; then dropout over all of A; then C[b, :, h] = A'[b, h]·V[b, :, h], written
        // into head h's columns of C [B·Tq, H·Dv].
        var scoreShape = new TensorShape(b, h, tq, tv);
        (_query, _value, _key, _q, _k, _v) = (query, value, key, q, k, v);
        _scores = _wScores.Get(scoreShape);
        _weights = _wWeights.Get(scoreShape);
        _context = _wContext.Get(new TensorShape(b * tq, hv));
        long work = (long)b * h * tq * tv * Math.Max(dk, dvh);
        CheckMasks(query.Shape, value.Shape, KeyMask);
        _forwardLoop.Run(b, work, backward: false);
        _used = DropWeights(_weights, training);
        _forwardLoop.Run(b, work, backward: true);
        var context = _context;

        // y = C·Wo + bo: the bias broadcast into y, then the product accumulated onto it.
        var output = _wOut.Get(outShape);
        int o = outShape[2], rows = b * tq;
        var ys = output.Span;
        if (_oBias is { } ob)
            for (int r = 0; r < rows; r++) ob.Value.ReadOnlySpan.CopyTo(ys.Slice(r * o, o));
        Gemm.Compute(false, false, rows, o, hv, T.One, context.ReadOnlySpan, hv, _oKernel!.Value.ReadOnlySpan, o,
            _oBias is null ? T.Zero : T.One, ys, o);

        _hasKey = n == 3;
        _lastOutput = output;
        return output;
    }

    /// <summary>Sample n of the forward pass up to dropout: S = (Q_h/√Dk)·K_hᵀ for every head, the causal shift, A = softmax(S).</summary>
    private void ForwardWeights(int n)
    {
        int tq = _query!.Shape[1], tv = _value!.Shape[1], h = NumHeads, dk = KeyDim, hk = h * dk, sq = tq * tv;
        T alpha = T.One / T.Sqrt(T.CreateChecked(dk));
        var qs = _q!.ReadOnlySpan;
        var ks = _k!.ReadOnlySpan;
        var ss = _scores!.Span.Slice(n * h * sq, h * sq);
        for (int head = 0; head < h; head++)
            Gemm.Compute(false, true, tq, tv, dk, alpha, qs.Slice(n * tq * hk + head * dk), hk, ks.Slice(n * tv * hk + head * dk), hk,
                T.Zero, ss.Slice(head * sq, sq), tv);
        // Keras merges the query, value and key masks and the causal mask into one attention mask [B, Tq, Tv].
        ApplyScoreMasks(ss, 1, h, tq, tv, queryInScores: true, KeyMask, firstSample: n);
        Elementwise.SoftmaxRows<T>(ss, _weights!.Span.Slice(n * h * sq, h * sq), tv);
    }

    /// <summary>Sample n of the forward pass after dropout: C[n, :, h] = A'[n, h]·V[n, :, h] for every head.</summary>
    private void ForwardContext(int n)
    {
        int tq = _query!.Shape[1], tv = _value!.Shape[1], h = NumHeads, dvh = ValueDim, hv = h * dvh, sq = tq * tv;
        var us = _used!.ReadOnlySpan;
        var vs = _v!.ReadOnlySpan;
        var cs = _context!.Span;
        for (int head = 0; head < h; head++)
            Gemm.Compute(false, false, tq, dvh, tv, T.One, us.Slice((n * h + head) * sq, sq), tv, vs.Slice(n * tv * hv + head * dvh), hv,
                T.Zero, cs.Slice(n * tq * hv + head * dvh), hv);
    }

    /// <summary>Sample n of the backward pass up to dropout: dA' = dC_h·V_hᵀ and dV_h = A'ᵀ·dC_h for every head.</summary>
    private void BackwardContext(int n)
    {
        int tq = _query!.Shape[1], tv = _value!.Shape[1], h = NumHeads, dvh = ValueDim, hv = h * dvh, sq = tq * tv;
        var used = _used!.ReadOnlySpan;
        var dcs = _dContext!.ReadOnlySpan;
        var vs = _v!.ReadOnlySpan;
        for (int head = 0; head < h; head++)
        {
            int at = (n * h + head) * sq, c = n * tq * hv + head * dvh, vAt = n * tv * hv + head * dvh;
            Gemm.Compute(false, true, tq, tv, dvh, T.One, dcs[c..], hv, vs[vAt..], hv, T.Zero, _dA!.Span.Slice(at, sq), tv);
            Gemm.Compute(true, false, tv, dvh, tq, T.One, used.Slice(at, sq), tv, dcs[c..], hv, T.Zero, _dVp!.Span[vAt..], hv);
        }
    }

    /// <summary>Sample n of the backward pass after dropout: dS = A ⊙ (dA − Σⱼ dA ⊙ A), dQ_h = dS·K_h/√Dk and
    /// dK_h = dSᵀ·Q_h/√Dk for every head.</summary>
    private void BackwardScores(int n)
    {
        int tq = _query!.Shape[1], tv = _value!.Shape[1], h = NumHeads, dk = KeyDim, hk = h * dk, sq = tq * tv;
        var dss = _dS!.Span.Slice(n * h * sq, h * sq);
        Elementwise.SoftmaxRowsBackward<T>(_weights!.ReadOnlySpan.Slice(n * h * sq, h * sq), _dA!.ReadOnlySpan.Slice(n * h * sq, h * sq), dss, tv);
        T alpha = T.One / T.Sqrt(T.CreateChecked(dk));
        var qs = _q!.ReadOnlySpan;
        var ks = _k!.ReadOnlySpan;
        for (int head = 0; head < h; head++)
        {
            int at = head * sq, qAt = n * tq * hk + head * dk, kAt = n * tv * hk + head * dk;
            Gemm.Compute(false, false, tq, dk, tv, alpha, dss.Slice(at, sq), tv, ks[kAt..], hk, T.Zero, _dQp!.Span[qAt..], hk);
            Gemm.Compute(true, false, tv, dk, tq, alpha, dss.Slice(at, sq), tv, qs[qAt..], hk, T.Zero, _dKp!.Span[kAt..], hk);
        }
    }

    /// <summary>P = x·W + b for x <c>[B, T, d]</c> viewed as <c>[B·T, d]</c> and W <c>[d, H, D]</c> viewed as <c>[d, H·D]</c>.</summary>
    private static Tensor<T> Project(Tensor<T> x, Parameter<T> kernel, Parameter<T>? bias, Workspace<T> ws, int width)
    {
        int rows = x.Shape[0] * x.Shape[1], d = x.Shape[2];
        var p = ws.Get(new TensorShape(rows, width));
        var ps = p.Span;
        if (bias is not null)
            for (int r = 0; r < rows; r++) bias.Value.ReadOnlySpan.CopyTo(ps.Slice(r * width, width));
        Gemm.Compute(false, false, rows, width, d, T.One, x.ReadOnlySpan, d, kernel.Value.ReadOnlySpan, width,
            bias is null ? T.Zero : T.One, ps, width);
        return p;
    }

    /// <summary>The backward pass of <see cref="Project"/>: db += Σ_rows dP, dW += xᵀ·dP (trainable ones only), and
    /// dx = dP·Wᵀ + beta·dx.</summary>
    private static void ProjectBackward(Tensor<T> x, ReadOnlySpan<T> dP, Parameter<T> kernel, Parameter<T>? bias, int width, T beta, Span<T> dx)
    {
        int rows = x.Shape[0] * x.Shape[1], d = x.Shape[2];
        if (bias is { Trainable: true }) Elementwise.SumColumns(dP[..(rows * width)], bias.Grad.Span, width, accumulate: true);
        if (kernel.Trainable)
            Gemm.Compute(true, false, d, width, rows, T.One, x.ReadOnlySpan, d, dP, width, T.One, kernel.Grad.Span, width);
        Gemm.Compute(false, true, rows, d, width, T.One, dP, width, kernel.Value.ReadOnlySpan, width, beta, dx, d);
    }

    /// <inheritdoc/>
    public override IReadOnlyList<Tensor<T>> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_lastOutput, dOutput);
        var query = _query!;
        var value = _value!;
        var key = _key!;
        int b = query.Shape[0], tq = query.Shape[1], tv = value.Shape[1], h = NumHeads, dk = KeyDim, dvh = ValueDim;
        int hk = h * dk, hv = h * dvh, o = dOutput.Shape[2], rows = b * tq, sq = tq * tv;
        var dy = dOutput.ReadOnlySpan;

        // Output projection: dbo += Σ dy, dWo += Cᵀ·dy, dC = dy·Woᵀ.
        if (_oBias is { Trainable: true } ob) Elementwise.SumColumns(dy, ob.Grad.Span, o, accumulate: true);
        if (_oKernel!.Trainable)
            Gemm.Compute(true, false, hv, o, rows, T.One, _context!.ReadOnlySpan, hv, dy, o, T.One, _oKernel.Grad.Span, o);
        _dContext = _wdContext.Get(new TensorShape(rows, hv));
        Gemm.Compute(false, true, rows, hv, o, T.One, dy, o, _oKernel.Value.ReadOnlySpan, o, T.Zero, _dContext.Span, hv);

        // Per sample and head: dA' = dC_h·V_hᵀ, dV_h = A'ᵀ·dC_h; then dropout's backward over all of dA; then per sample
        // and head the softmax backward, dQ_h = dS·K_h/√Dk and dK_h = dSᵀ·Q_h/√Dk.
        var scoreShape = new TensorShape(b, h, tq, tv);
        _used = DroppedWeights ?? _weights!;
        _dA = _wdA.Get(scoreShape);
        _dVp = _wdVp.Get(_v!.Shape);
        _dS = _wdS.Get(scoreShape);
        _dQp = _wdQp.Get(_q!.Shape);
        _dKp = _wdKp.Get(_k!.Shape);
        long work = (long)b * h * sq * Math.Max(dk, dvh);
        _backwardLoop.Run(b, work, backward: false);
        DropoutBackward(_dA);
        _backwardLoop.Run(b, work, backward: true);
        var dQp = _dQp;
        var dKp = _dKp;
        var dVp = _dVp;

        // The input projections; without a key, value receives both the value and the key projection's gradients.
        var dQuery = _wdQuery.Get(query.Shape);
        var dValue = _wdValue.Get(value.Shape);
        ProjectBackward(query, dQp.ReadOnlySpan, _qKernel!, _qBias, hk, T.Zero, dQuery.Span);
        ProjectBackward(value, dVp.ReadOnlySpan, _vKernel!, _vBias, hv, T.Zero, dValue.Span);
        if (_hasKey)
        {
            var dKey = _wdKey.Get(key.Shape);
            ProjectBackward(key, dKp.ReadOnlySpan, _kKernel!, _kBias, hk, T.Zero, dKey.Span);
            _grads3[0] = dQuery;
            _grads3[1] = dValue;
            _grads3[2] = dKey;
            return _grads3;
        }
        ProjectBackward(key, dKp.ReadOnlySpan, _kKernel!, _kBias, hk, T.One, dValue.Span);
        _grads2[0] = dQuery;
        _grads2[1] = dValue;
        return _grads2;
    }

    /// <inheritdoc/>
    /// <remarks>Keras' <c>num_heads</c>, <c>key_dim</c>, <c>value_dim</c>, <c>dropout</c>, <c>use_bias</c>,
    /// <c>output_shape</c> (only when set), <c>kernel_initializer</c>, <c>bias_initializer</c>, plus <c>use_causal_mask</c>
    /// and <c>seed</c>.</remarks>
    public override IReadOnlyDictionary<string, string> GetConfig()
    {
        var c = new Dictionary<string, string>
        {
            ["num_heads"] = NumHeads.ToString(CultureInfo.InvariantCulture),
            ["key_dim"] = KeyDim.ToString(CultureInfo.InvariantCulture),
            ["value_dim"] = ValueDim.ToString(CultureInfo.InvariantCulture),
            ["dropout"] = Dropout.ToString("R", CultureInfo.InvariantCulture),
            ["use_bias"] = UseBias ? "true" : "false",
            ["kernel_initializer"] = KernelInitializer.Name,
            ["bias_initializer"] = BiasInitializer.Name,
            ["use_causal_mask"] = UseCausalMask ? "true" : "false",
            ["seed"] = Seed.ToString(CultureInfo.InvariantCulture),
        };
        if (OutputShape is { } o) c["output_shape"] = o.ToString(CultureInfo.InvariantCulture);
        return c;
    }
}
