using System.Globalization;
using System.Numerics;
using Nn.Simd.Tensors;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Layers;

/// <summary>
/// The shared part of Keras' attention layers (<see cref="Attention{T}"/>, <see cref="AdditiveAttention{T}"/>): for
/// inputs <c>[query, value]</c> or <c>[query, value, key]</c> (key defaults to value), per sample
/// scores S = score(Q, K) <c>[Tq, Tv]</c>, S[i, j] −= 10⁹ where j &gt; i when causal, W = softmax over Tv of S,
/// W' = W ⊙ M (inverted dropout mask M while training, else W' = W), and output O = W'·V <c>[Tq, dv]</c>.
/// The score is the subclass's.
/// </summary>
/// <remarks>
/// <para>Shapes: query <c>[batch, Tq, dim]</c>, value <c>[batch, Tv, dv]</c>, key <c>[batch, Tv, dim]</c>; the output is
/// <c>[batch, Tq, dv]</c> (Keras' <c>compute_output_shape</c>). Without a key, value is the key, so dv = dim.</para>
/// <para>Backward: dW' = dO·Vᵀ, dV = W'ᵀ·dO, dW = dW' ⊙ M, dS = W ⊙ (dW − Σⱼ dW ⊙ W) row-wise, then the score's backward
/// gives dQ, dK and the parameter gradients; without a key, dK is added into dV. The causal shift is a constant, so
/// its gradient is the identity (the masked weights are 0 and so are their dS).</para>
/// <para>Dropout draws from a generator seeded by <see cref="AttentionBase{T}.Seed"/> (the sequence of
/// <c>new Random(Seed)</c>, as <see cref="Dropout{T}"/>); <see cref="AttentionBase{T}.Reseed"/> before every forward pass
/// holds the mask fixed for a gradient check (see <see cref="AttentionBase{T}"/>). Parameters are created by
/// <see cref="Build"/>, or on the first <see cref="Forward"/> with a seed derived from the name, as <see cref="Layer{T}"/>
/// does.</para>
/// </remarks>
public abstract class AttentionLayer<T> : AttentionBase<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Workspace<T> _wScores = new(), _wWeights = new(), _wOut = new(), _wdOut = new(),
        _wdW = new(), _wdS = new(), _wdQ = new(), _wdV = new(), _wdK = new(), _wTanh = new(), _wOnes = new(), _wRaw = new();
    private readonly Tensor<T>[] _grads2 = new Tensor<T>[2], _grads3 = new Tensor<T>[3];
    private Tensor<T>? _q, _v, _k, _weights, _lastOutput;
    private SequenceMask? _queryMask;   // the query mask of the last forward pass
    private bool _hasKey;

    private protected AttentionLayer(double dropout, bool useCausalMask, int? seed) : base(dropout, useCausalMask, seed) { }

    /// <summary>Whether <see cref="Build"/> has created the parameters.</summary>
    public bool IsBuilt { get; private set; }

    /// <summary>The query feature size the layer was built for, or 0 before build.</summary>
    public int BuiltDim { get; private set; }

    /// <summary>The attention weights of the last forward pass, <c>[batch, Tq, Tv]</c>, after masking, softmax and (while
    /// training) dropout: Keras' <c>return_attention_scores</c> output. Null before the first pass; owned by the layer.</summary>
    public Tensor<T>? LastAttentionScores => DroppedWeights ?? _weights;

    /// <summary>Creates the parameters for inputs of these shapes (batch and time sizes are ignored) from
    /// <paramref name="seed"/>. Calling it again with the same query feature size does nothing.</summary>
    /// <exception cref="ArgumentException">The shapes do not fit (see <see cref="ComputeOutputShape"/>), or the layer was
    /// built for another query feature size; the message names the shapes.</exception>
    public sealed override void Build(IReadOnlyList<TensorShape> inputShapes, int seed)
    {
        ComputeOutputShape(inputShapes);
        int dim = inputShapes[0][2];
        if (IsBuilt)
        {
            if (dim != BuiltDim)
                throw new ArgumentException($"{Name} was built for query feature size {BuiltDim} but got query {inputShapes[0]}.", nameof(inputShapes));
            return;
        }
        ClearParameters();
        BuildCore(dim, new Random(seed));
        BuiltDim = dim;
        IsBuilt = true;
    }

    /// <summary>Creates and registers the parameters for query feature size <paramref name="dim"/>.</summary>
    private protected abstract void BuildCore(int dim, Random rng);

    /// <summary>Writes the scores S = score(Q, K), <c>[batch, Tq, Tv]</c>, and keeps what <see cref="ScoreBackward"/> needs.</summary>
    private protected abstract void Score(Tensor<T> q, Tensor<T> k, Span<T> scores);

    /// <summary>From dS <c>[batch, Tq, Tv]</c>, overwrites dQ and dK and adds into the trainable parameters' gradients.</summary>
    private protected abstract void ScoreBackward(ReadOnlySpan<T> dScores, Tensor<T> q, Tensor<T> k, Span<T> dq, Span<T> dk);

    /// <inheritdoc/>
    /// <remarks>Output <c>[batch, Tq, dv]</c>. Checks: 2 or 3 inputs, each of rank 3 with positive sizes, one batch size,
    /// value's Tv equal to key's, and query's feature size equal to key's (value's without a key).</remarks>
    public sealed override TensorShape ComputeOutputShape(IReadOnlyList<TensorShape> inputShapes)
    {
        var (q, v, k) = CheckInputShapes(inputShapes);
        string kName = inputShapes.Count == 3 ? "key" : "value (the key)";
        if (k[2] != q[2])
            throw new ArgumentException($"{Name}: query's feature size {q[2]} ({q}) differs from {kName}'s {k[2]} ({k}).", nameof(inputShapes));
        return new TensorShape(q[0], q[1], v[2]);
    }

    /// <inheritdoc/>
    public sealed override Tensor<T> Forward(IReadOnlyList<Tensor<T>> inputs, bool training)
    {
        var (q, v, k, outShape) = CheckInputs(inputs);
        int n = inputs.Count;
        if (!IsBuilt) Build(n == 3 ? [q.Shape, v.Shape, k.Shape] : [q.Shape, v.Shape], StableHash(Name));
        else if (q.Shape[2] != BuiltDim)
            throw new ArgumentException($"{Name} was built for query feature size {BuiltDim} but got query {q.Shape}.", nameof(inputs));

        int b = q.Shape[0], tq = q.Shape[1], tv = v.Shape[1], dv = v.Shape[2];
        CheckMasks(q.Shape, v.Shape);
        var scoreShape = new TensorShape(b, tq, tv);
        var scores = _wScores.Get(scoreShape);
        Score(q, k, scores.Span);
        ApplyScoreMasks(scores.Span, b, 1, tq, tv, queryInScores: false);
        var weights = _wWeights.Get(scoreShape);
        Elementwise.SoftmaxRows<T>(scores.ReadOnlySpan, weights.Span, tv);
        var used = DropWeights(weights, training);
        var output = _wOut.Get(outShape);
        var ws = used.ReadOnlySpan;
        var vs = v.ReadOnlySpan;
        var os = output.Span;
        for (int s = 0; s < b; s++)
            Gemm.Compute(false, false, tq, dv, tv, T.One, ws.Slice(s * tq * tv, tq * tv), tv,
                vs.Slice(s * tv * dv, tv * dv), dv, T.Zero, os.Slice(s * tq * dv, tq * dv), dv);
        // Keras: result *= q_mask, a masked query's output row is zero.
        _queryMask = QueryMask;
        if (_queryMask is { } qm) ZeroMaskedRows(os, qm, b, tq, dv);
        _q = q;
        _v = v;
        _k = k;
        _hasKey = n == 3;
        _weights = weights;
        _lastOutput = output;
        return output;
    }

    /// <inheritdoc/>
    public sealed override IReadOnlyList<Tensor<T>> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_lastOutput, dOutput);
        var q = _q!;
        var v = _v!;
        var k = _k!;
        int b = q.Shape[0], tq = q.Shape[1], tv = v.Shape[1], dv = v.Shape[2];
        var scoreShape = new TensorShape(b, tq, tv);
        var used = (DroppedWeights ?? _weights!).ReadOnlySpan;
        var dW = _wdW.Get(scoreShape);
        var dV = _wdV.Get(v.Shape);
        var dOs = dOutput.ReadOnlySpan;
        if (_queryMask is { } qm)
        {
            // The output was multiplied by the query mask: so is its gradient.
            var masked = _wdOut.Get(dOutput.Shape);
            dOs.CopyTo(masked.Span);
            ZeroMaskedRows(masked.Span, qm, b, tq, dv);
            dOs = masked.ReadOnlySpan;
        }
        var vs = v.ReadOnlySpan;
        int sq = tq * tv, so = tq * dv, sv = tv * dv;
        for (int s = 0; s < b; s++)
        {
            // dW' = dO·Vᵀ [Tq, Tv]; dV = W'ᵀ·dO [Tv, dv].
            Gemm.Compute(false, true, tq, tv, dv, T.One, dOs.Slice(s * so, so), dv, vs.Slice(s * sv, sv), dv, T.Zero, dW.Span.Slice(s * sq, sq), tv);
            Gemm.Compute(true, false, tv, dv, tq, T.One, used.Slice(s * sq, sq), tv, dOs.Slice(s * so, so), dv, T.Zero, dV.Span.Slice(s * sv, sv), dv);
        }
        DropoutBackward(dW);
        var dS = _wdS.Get(scoreShape);
        Elementwise.SoftmaxRowsBackward<T>(_weights!.ReadOnlySpan, dW.ReadOnlySpan, dS.Span, tv);
        var dQ = _wdQ.Get(q.Shape);
        var dK = _wdK.Get(k.Shape);
        ScoreBackward(dS.ReadOnlySpan, q, k, dQ.Span, dK.Span);
        if (_hasKey)
        {
            _grads3[0] = dQ;
            _grads3[1] = dV;
            _grads3[2] = dK;
            return _grads3;
        }
        TensorPrimitives.Add(dV.ReadOnlySpan, dK.ReadOnlySpan, dV.Span);
        _grads2[0] = dQ;
        _grads2[1] = dV;
        return _grads2;
    }

    /// <summary>Zeroes the rows <c>[dv]</c> of the masked queries in <paramref name="rows"/> <c>[B, Tq, dv]</c>.</summary>
    private static void ZeroMaskedRows(Span<T> rows, SequenceMask mask, int b, int tq, int dv)
    {
        for (int s = 0; s < b; s++)
            for (int i = 0; i < tq; i++)
                if (!mask[s, i]) rows.Slice((s * tq + i) * dv, dv).Clear();
    }

    /// <summary>The <c>dropout</c>, <c>use_causal_mask</c> and <c>seed</c> entries of <see cref="MultiInputLayer{T}.GetConfig"/>.</summary>
    private protected Dictionary<string, string> BaseConfig() => new()
    {
        ["dropout"] = Dropout.ToString("R", CultureInfo.InvariantCulture),
        ["use_causal_mask"] = UseCausalMask ? "true" : "false",
        ["seed"] = Seed.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>The additive score S[s, i, j] = Σ_d a_d·tanh(σ·(q[s, i, d] + k[s, j, d])) into <paramref name="scores"/>.</summary>
    private protected void TanhSumScores(Tensor<T> q, Tensor<T> k, ReadOnlySpan<T> a, T sigma, Span<T> scores)
    {
        int b = q.Shape[0], tq = q.Shape[1], tv = k.Shape[1], d = q.Shape[2];
        var scratch = _wTanh.Get(3, d).Span; // one shape for both passes, so the view is reused
        var x = scratch[..d];
        var t = scratch.Slice(d, d);
        var qs = q.ReadOnlySpan;
        var ks = k.ReadOnlySpan;
        for (int s = 0; s < b; s++)
            for (int i = 0; i < tq; i++)
            {
                var qi = qs.Slice((s * tq + i) * d, d);
                for (int j = 0; j < tv; j++)
                {
                    TensorPrimitives.Add(qi, ks.Slice((s * tv + j) * d, d), x);
                    if (sigma != T.One) TensorPrimitives.Multiply(x, sigma, x);
                    TensorPrimitives.Tanh(x, t);
                    scores[(s * tq + i) * tv + j] = TensorPrimitives.Dot(a, t);
                }
            }
    }

    /// <summary>The backward pass of <see cref="TanhSumScores"/> for upstream g = <paramref name="factor"/>·dS, recomputing
    /// t = tanh(σ·x), x = q_i + k_j: with u = g·a ⊙ (1 − t²), dq_i += σ·u, dk_j += σ·u (both overwritten first),
    /// <paramref name="da"/> += g·t when not empty, and the returned dσ = Σ u·x when <paramref name="wantSigma"/>.
    /// Pairs with g = 0 (causally masked, whose weights underflow to 0) contribute nothing and are skipped.</summary>
    private protected T TanhSumBackward(ReadOnlySpan<T> dScores, T factor, Tensor<T> q, Tensor<T> k, ReadOnlySpan<T> a,
        T sigma, Span<T> dq, Span<T> dk, Span<T> da, bool wantSigma)
    {
        int b = q.Shape[0], tq = q.Shape[1], tv = k.Shape[1], d = q.Shape[2];
        var scratch = _wTanh.Get(3, d).Span;
        var x = scratch[..d];
        var t = scratch.Slice(d, d);
        var u = scratch.Slice(2 * d, d);
        var qs = q.ReadOnlySpan;
        var ks = k.ReadOnlySpan;
        dq.Clear();
        dk.Clear();
        T dSigma = T.Zero;
        for (int s = 0; s < b; s++)
            for (int i = 0; i < tq; i++)
            {
                var qi = qs.Slice((s * tq + i) * d, d);
                var dqi = dq.Slice((s * tq + i) * d, d);
                for (int j = 0; j < tv; j++)
                {
                    T g = factor * dScores[(s * tq + i) * tv + j];
                    if (g == T.Zero) continue;
                    var kj = ks.Slice((s * tv + j) * d, d);
                    TensorPrimitives.Add(qi, kj, x);
                    TensorPrimitives.Multiply(x, sigma, t);
                    TensorPrimitives.Tanh(t, t);
                    if (!da.IsEmpty) TensorPrimitives.MultiplyAdd(t, g, da, da);
                    TensorPrimitives.Multiply(t, t, u);
                    TensorPrimitives.Subtract(T.One, u, u);
                    TensorPrimitives.Multiply(u, a, u);
                    TensorPrimitives.Multiply(u, g, u);
                    if (wantSigma) dSigma += TensorPrimitives.Dot(u, x);
                    TensorPrimitives.MultiplyAdd(u, sigma, dqi, dqi);
                    var dkj = dk.Slice((s * tv + j) * d, d);
                    TensorPrimitives.MultiplyAdd(u, sigma, dkj, dkj);
                }
            }
        return dSigma;
    }

    /// <summary>A vector of <paramref name="d"/> ones, owned by the layer.</summary>
    private protected ReadOnlySpan<T> Ones(int d)
    {
        var ones = _wOnes.Get(new TensorShape(d));
        ones.Fill(T.One);
        return ones.ReadOnlySpan;
    }

    /// <summary>A <c>[batch, Tq, Tv]</c> tensor owned by the layer for a subclass's cached scores.</summary>
    private protected Tensor<T> RawScores(TensorShape shape) => _wRaw.Get(shape);
}
