using System.Numerics;
using Nn.Simd.Tensors;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Layers;

/// <summary>
/// Keras' <c>Attention</c> (Luong-style, type name <c>attention</c>): for inputs <c>[query, value]</c> or
/// <c>[query, value, key]</c>, scores S[i, j] = σ·(q_i · k_j) (<c>score_mode="dot"</c>) or
/// S[i, j] = c·Σ_d tanh(σ·(q_id + k_jd)) (<c>score_mode="concat"</c>), where σ is the trainable scalar <c>scale</c>
/// (only with <c>use_scale</c>, else 1) and c the trainable scalar <c>concat_score_weight</c> (concat only), both
/// initialised to 1; then weights W = softmax over Tv of S (causally masked if asked), output O = W·V. See
/// <see cref="AttentionLayer{T}"/> for shapes, dropout and the backward pass.
/// </summary>
/// <remarks>
/// <para>Parameters, in Keras' order: <c>scale</c> (with <c>use_scale</c>), then <c>concat_score_weight</c> (concat
/// mode). Keras makes them shape <c>()</c>; here they are <c>[1]</c> (tensors have rank 1 to 4).</para>
/// <para>Config (<see cref="GetConfig"/>): Keras' <c>use_scale</c>, <c>score_mode</c>, <c>dropout</c>, plus
/// <c>use_causal_mask</c> (a call argument in Keras, a layer option here, since a graph node calls the layer with
/// fixed arguments) and <c>seed</c> (Keras' constructor takes a seed but does not save it; it is saved here so a
/// reloaded layer draws the same dropout masks). Keras' query/value masks are not supported.</para>
/// </remarks>
public sealed class Attention<T> : AttentionLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private Parameter<T>? _scale, _concatWeight;

    /// <summary>Creates the layer (Keras' defaults).</summary>
    /// <param name="useScale">Keras' <c>use_scale</c>: multiply the scores by a trainable scalar (initially 1).</param>
    /// <param name="scoreMode">Keras' <c>score_mode</c>: <c>dot</c> or <c>concat</c>.</param>
    /// <param name="dropout">Keras' <c>dropout</c>: the fraction of attention weights dropped while training, in [0, 1).</param>
    /// <param name="useCausalMask">Keras' <c>use_causal_mask</c> call argument: position i attends only to j ≤ i.</param>
    /// <param name="seed">The seed of the dropout masks; null draws one at random.</param>
    /// <exception cref="ArgumentException"><paramref name="scoreMode"/> is not <c>dot</c> or <c>concat</c>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dropout"/> is outside [0, 1).</exception>
    public Attention(bool useScale = false, string scoreMode = "dot", double dropout = 0, bool useCausalMask = false, int? seed = null)
        : base(dropout, useCausalMask, seed)
    {
        ArgumentNullException.ThrowIfNull(scoreMode);
        ScoreMode = scoreMode is "dot" or "concat" ? scoreMode
            : throw new ArgumentException($"score_mode must be one of dot, concat; got '{scoreMode}'.", nameof(scoreMode));
        UseScale = useScale;
    }

    /// <inheritdoc/>
    public override string TypeName => "attention";

    /// <summary>Keras' <c>use_scale</c>.</summary>
    public bool UseScale { get; }

    /// <summary>Keras' <c>score_mode</c>: <c>dot</c> or <c>concat</c>.</summary>
    public string ScoreMode { get; }

    private bool IsConcat => ScoreMode == "concat";

    private protected override void BuildCore(int dim, Random rng)
    {
        var one = new Initializers.Constant(1);
        _scale = UseScale ? AddParameter("scale", new TensorShape(1), one, rng) : null;
        _concatWeight = IsConcat ? AddParameter("concat_score_weight", new TensorShape(1), one, rng) : null;
    }

    private T Sigma => _scale is null ? T.One : _scale.Value[0];

    private protected override void Score(Tensor<T> q, Tensor<T> k, Span<T> scores)
    {
        int b = q.Shape[0], tq = q.Shape[1], tv = k.Shape[1], d = q.Shape[2];
        if (IsConcat)
        {
            // raw = Σ_d tanh(σ(q + k)), kept for d(concat_score_weight); S = c·raw.
            var raw = RawScores(new TensorShape(b, tq, tv));
            TanhSumScores(q, k, Ones(d), Sigma, raw.Span);
            TensorPrimitives.Multiply(raw.ReadOnlySpan, _concatWeight!.Value[0], scores);
            return;
        }
        // raw = Q·Kᵀ per sample; with a scale it is kept for d(scale) and S = σ·raw.
        var target = _scale is null ? scores : RawScores(new TensorShape(b, tq, tv)).Span;
        var qs = q.ReadOnlySpan;
        var ks = k.ReadOnlySpan;
        for (int s = 0; s < b; s++)
            Gemm.Compute(false, true, tq, tv, d, T.One, qs.Slice(s * tq * d, tq * d), d, ks.Slice(s * tv * d, tv * d), d,
                T.Zero, target.Slice(s * tq * tv, tq * tv), tv);
        if (_scale is not null) TensorPrimitives.Multiply(target, Sigma, scores);
    }

    private protected override void ScoreBackward(ReadOnlySpan<T> dScores, Tensor<T> q, Tensor<T> k, Span<T> dq, Span<T> dk)
    {
        int b = q.Shape[0], tq = q.Shape[1], tv = k.Shape[1], d = q.Shape[2];
        var raw = _scale is null && !IsConcat ? default : RawScores(new TensorShape(b, tq, tv)).ReadOnlySpan;
        if (IsConcat)
        {
            var cw = _concatWeight!;
            bool wantSigma = _scale is { Trainable: true };
            T dSigma = TanhSumBackward(dScores, cw.Value[0], q, k, Ones(d), Sigma, dq, dk, default, wantSigma);
            if (wantSigma) _scale!.Grad[0] += dSigma;
            if (cw.Trainable) cw.Grad[0] += TensorPrimitives.Dot(dScores, raw);
            return;
        }
        // dQ = σ·dS·K, dK = σ·dSᵀ·Q, dσ = Σ dS ⊙ (Q·Kᵀ).
        T sigma = Sigma;
        var qs = q.ReadOnlySpan;
        var ks = k.ReadOnlySpan;
        int sq = tq * tv;
        for (int s = 0; s < b; s++)
        {
            var dss = dScores.Slice(s * sq, sq);
            Gemm.Compute(false, false, tq, d, tv, sigma, dss, tv, ks.Slice(s * tv * d, tv * d), d, T.Zero, dq.Slice(s * tq * d, tq * d), d);
            Gemm.Compute(true, false, tv, d, tq, sigma, dss, tv, qs.Slice(s * tq * d, tq * d), d, T.Zero, dk.Slice(s * tv * d, tv * d), d);
        }
        if (_scale is { Trainable: true }) _scale.Grad[0] += TensorPrimitives.Dot(dScores, raw);
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig()
    {
        var config = BaseConfig();
        config["use_scale"] = Str(UseScale);
        config["score_mode"] = ScoreMode;
        return config;
    }
}
