using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>
/// Keras' <c>AdditiveAttention</c> (Bahdanau-style, type name <c>additive_attention</c>): for inputs
/// <c>[query, value]</c> or <c>[query, value, key]</c>, scores S[i, j] = Σ_d w_d·tanh(q_id + k_jd), where w is the
/// trainable vector <c>scale</c> <c>[dim]</c> (Glorot-uniform initialised; with <c>use_scale=false</c> w = 1); then
/// weights W = softmax over Tv of S (causally masked if asked), output O = W·V. See <see cref="AttentionLayer{T}"/> for
/// shapes, dropout and the backward pass.
/// </summary>
/// <remarks>
/// <para>This is Keras 3's formula, which is not <see cref="Attention{T}"/> with <c>score_mode="concat"</c>: the scale is
/// a per-feature vector applied outside the tanh, and there is no <c>concat_score_weight</c>.</para>
/// <para>The <c>scale</c> vector's Glorot-uniform limit is √(6 / (dim + dim)) (Keras' fans of a vector), drawn from the
/// seed given to <see cref="AttentionLayer{T}.Build"/>.</para>
/// <para>Config (<see cref="GetConfig"/>): Keras' <c>use_scale</c> and <c>dropout</c>, plus <c>use_causal_mask</c> (a
/// call argument in Keras) and <c>seed</c> (of the dropout masks).</para>
/// </remarks>
public sealed class AdditiveAttention<T> : AttentionLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private Parameter<T>? _scale;

    /// <summary>Creates the layer (Keras' defaults).</summary>
    /// <param name="useScale">Keras' <c>use_scale</c>: weight the tanh terms by a trainable vector <c>[dim]</c>.</param>
    /// <param name="dropout">Keras' <c>dropout</c>: the fraction of attention weights dropped while training, in [0, 1).</param>
    /// <param name="useCausalMask">Keras' <c>use_causal_mask</c> call argument: position i attends only to j ≤ i.</param>
    /// <param name="seed">The seed of the dropout masks; null draws one at random.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dropout"/> is outside [0, 1).</exception>
    public AdditiveAttention(bool useScale = true, double dropout = 0, bool useCausalMask = false, int? seed = null)
        : base(dropout, useCausalMask, seed) => UseScale = useScale;

    /// <inheritdoc/>
    public override string TypeName => "additive_attention";

    /// <summary>Keras' <c>use_scale</c>.</summary>
    public bool UseScale { get; }

    private protected override void BuildCore(int dim, Random rng) =>
        _scale = UseScale ? AddParameter("scale", new TensorShape(dim), new Initializers.GlorotUniform(), rng) : null;

    private ReadOnlySpan<T> Weights(int d) => _scale is null ? Ones(d) : _scale.Value.ReadOnlySpan;

    private protected override void Score(Tensor<T> q, Tensor<T> k, Span<T> scores) =>
        TanhSumScores(q, k, Weights(q.Shape[2]), T.One, scores);

    private protected override void ScoreBackward(ReadOnlySpan<T> dScores, Tensor<T> q, Tensor<T> k, Span<T> dq, Span<T> dk)
    {
        var dw = _scale is { Trainable: true } ? _scale.Grad.Span : default;
        TanhSumBackward(dScores, T.One, q, k, Weights(q.Shape[2]), T.One, dq, dk, dw, wantSigma: false);
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig()
    {
        var config = BaseConfig();
        config["use_scale"] = Str(UseScale);
        return config;
    }
}
