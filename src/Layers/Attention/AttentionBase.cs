using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>
/// Shared plumbing for the attention layers (<see cref="AttentionLayer{T}"/>, <see cref="MultiHeadAttention{T}"/>): the
/// inputs <c>[query, value]</c> or <c>[query, value, key]</c> (key defaults to value) and their checks, the causal
/// shift S[i, j] −= 10⁹ where j &gt; i, and inverted dropout on the attention weights, W' = W ⊙ M with M = 0 with
/// probability <see cref="Dropout"/>, else 1/(1 − <see cref="Dropout"/>), while training.
/// </summary>
/// <remarks>Dropout draws from a generator seeded by <see cref="Seed"/> (the sequence of <c>new Random(Seed)</c>, as
/// <see cref="Dropout{T}"/>), row-major over the weights; <see cref="Reseed"/> before every forward pass holds the mask
/// fixed for a gradient check, and a checkpoint saves and restores the generator's state.</remarks>
public abstract class AttentionBase<T> : MultiInputLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Keras' bias on masked scores (<c>1e9</c>; Keras uses 65504 only for float16).</summary>
    public const double MaskedScoreBias = 1e9;

    private readonly Workspace<T> _wMask = new(), _wDropped = new();
    private readonly TensorShape[] _shapes2 = new TensorShape[2], _shapes3 = new TensorShape[3];
    private ResumableRandom _rng;
    private Tensor<T>? _mask, _dropped;

    /// <summary>Checks and keeps the dropout options and starts the dropout generator.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dropout"/> is outside [0, 1).</exception>
    private protected AttentionBase(double dropout, bool useCausalMask, int? seed)
    {
        Dropout = dropout >= 0 && dropout < 1 ? dropout
            : throw new ArgumentOutOfRangeException(nameof(dropout), $"dropout must be in [0, 1); got {dropout}.");
        UseCausalMask = useCausalMask;
        Seed = seed ?? Random.Shared.Next();
        _rng = new ResumableRandom(Seed);
    }

    /// <summary>Keras' <c>dropout</c>: the fraction of attention weights dropped while training, in [0, 1).</summary>
    public double Dropout { get; }

    /// <summary>Keras' <c>use_causal_mask</c> (a call argument in Keras, an option here): position i attends only to
    /// positions j ≤ i.</summary>
    public bool UseCausalMask { get; }

    /// <summary>The seed the dropout generator started from (the last one given to <see cref="Reseed"/>).</summary>
    public int Seed { get; private set; }

    /// <summary>Restarts the dropout generator from <paramref name="seed"/>, so the next masks repeat.</summary>
    public void Reseed(int seed)
    {
        Seed = seed;
        _rng = new ResumableRandom(seed);
    }

    /// <summary>Appends the dropout generator, so that a checkpoint saves and restores its state (as
    /// <see cref="Layer{T}"/>'s noise layers do).</summary>
    internal void AddGenerators(List<ResumableRandom> generators) => generators.Add(_rng);

    /// <summary>The checks both attention layers make of their input shapes: 2 or 3 of them, each of rank 3 with
    /// positive sizes, one batch size, and key's Tv equal to value's. Returns the query, value and key shapes (value's
    /// for the key when there is none).</summary>
    /// <exception cref="ArgumentException">A check fails; the message names the shapes.</exception>
    private protected (TensorShape Query, TensorShape Value, TensorShape Key) CheckInputShapes(IReadOnlyList<TensorShape> inputShapes)
    {
        ArgumentNullException.ThrowIfNull(inputShapes);
        if (inputShapes.Count is < 2 or > 3)
            throw new ArgumentException($"{Name} takes [query, value] or [query, value, key]; got {inputShapes.Count} input(s).", nameof(inputShapes));
        var q = inputShapes[0];
        var v = inputShapes[1];
        bool hasKey = inputShapes.Count == 3;
        var k = hasKey ? inputShapes[2] : v;
        CheckRank3(q, "query");
        CheckRank3(v, "value");
        if (hasKey) CheckRank3(k, "key");
        if (v[0] != q[0] || k[0] != q[0])
            throw new ArgumentException($"{Name}: the batch sizes differ: query {q}, value {v}{(hasKey ? $", key {k}" : "")}.", nameof(inputShapes));
        if (hasKey && k[1] != v[1])
            throw new ArgumentException($"{Name}: key has Tv = {k[1]} ({k}) but value has Tv = {v[1]} ({v}).", nameof(inputShapes));
        return (q, v, k);

        void CheckRank3(TensorShape s, string what)
        {
            if (s.Rank != 3 || s[0] <= 0 || s[1] <= 0 || s[2] <= 0)
                throw new ArgumentException($"{Name}: {what} must be [batch, time, features] with positive sizes; got {s}.", nameof(inputShapes));
        }
    }

    /// <summary>Checks <see cref="MultiInputLayer{T}.Forward"/>'s inputs as <see cref="MultiInputLayer{T}.ComputeOutputShape"/>
    /// does, without allocating, and returns query, value, key (value when there is none) and the output shape.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="inputs"/> or one of its tensors is null.</exception>
    /// <exception cref="ArgumentException">Not 2 or 3 inputs, or shapes that do not fit; the message names them.</exception>
    private protected (Tensor<T> Query, Tensor<T> Value, Tensor<T> Key, TensorShape Output) CheckInputs(IReadOnlyList<Tensor<T>> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        int n = inputs.Count;
        if (n is < 2 or > 3)
            throw new ArgumentException($"{Name} takes [query, value] or [query, value, key]; got {n} input(s).", nameof(inputs));
        var q = inputs[0];
        var v = inputs[1];
        var k = n == 3 ? inputs[2] : v;
        ArgumentNullException.ThrowIfNull(q, "inputs[0]");
        ArgumentNullException.ThrowIfNull(v, "inputs[1]");
        ArgumentNullException.ThrowIfNull(k, "inputs[2]");
        TensorShape output;
        if (n == 3)
        {
            _shapes3[0] = q.Shape;
            _shapes3[1] = v.Shape;
            _shapes3[2] = k.Shape;
            output = ComputeOutputShape(_shapes3);
        }
        else
        {
            _shapes2[0] = q.Shape;
            _shapes2[1] = v.Shape;
            output = ComputeOutputShape(_shapes2);
        }
        return (q, v, k, output);
    }

    /// <summary>W' = W ⊙ M: while <paramref name="training"/> with <see cref="Dropout"/> &gt; 0, draws a new mask M shaped
    /// like <paramref name="weights"/> and returns W' (owned by the layer); otherwise returns <paramref name="weights"/>.
    /// Either way <see cref="DroppedWeights"/> and <see cref="DropoutBackward"/> then refer to this call.</summary>
    private protected Tensor<T> DropWeights(Tensor<T> weights, bool training)
    {
        _mask = _dropped = null;
        if (!(training && Dropout > 0)) return weights;
        _mask = _wMask.Get(weights.Shape);
        DrawDropoutMask(_rng, Dropout, _mask.Span);
        _dropped = _wDropped.Get(weights.Shape);
        TensorPrimitives.Multiply(weights.ReadOnlySpan, _mask.ReadOnlySpan, _dropped.Span);
        return _dropped;
    }

    /// <summary>W' of the last <see cref="DropWeights"/> call, or null when it dropped nothing.</summary>
    private protected Tensor<T>? DroppedWeights => _dropped;

    /// <summary>dW = dW' ⊙ M in place, for the mask of the last <see cref="DropWeights"/> call (nothing when it dropped
    /// nothing).</summary>
    private protected void DropoutBackward(Tensor<T> dWeights)
    {
        if (_mask is not null) TensorPrimitives.Multiply(dWeights.ReadOnlySpan, _mask.ReadOnlySpan, dWeights.Span);
    }

    /// <summary>Keras' query mask (the query's timestep mask, <c>mask[0]</c>), <c>[batch, Tq]</c>, for the following
    /// calls; null for none. A functional graph sets it from the masks that reach the layer. Attention multiplies the
    /// output rows of masked queries by 0; MultiHeadAttention drops their scores (Keras' attention mask). The layer's
    /// output mask is this mask, as in Keras.</summary>
    public SequenceMask? QueryMask { get; set; }

    /// <summary>Keras' value mask (<c>mask[1]</c>), <c>[batch, Tv]</c>: the scores of masked value steps get −1e9 before
    /// the softmax, so no query attends to them. Null for none.</summary>
    public SequenceMask? ValueMask { get; set; }

    /// <summary>Subtracts <see cref="MaskedScoreBias"/> once from every score whose (query i, value j) pair the combined
    /// mask drops, as Keras merges its masks with a logical and before the softmax: the causal mask (j &gt; i), a masked
    /// value step (<see cref="ValueMask"/>, and <paramref name="keyMask"/>), and with <paramref name="queryInScores"/> a
    /// masked query step. <paramref name="scores"/> holds <paramref name="batch"/>·<paramref name="heads"/> matrices
    /// <c>[Tq, Tv]</c>, those of sample <paramref name="firstSample"/> + b at b·heads … b·heads + heads − 1.</summary>
    private protected void ApplyScoreMasks(Span<T> scores, int batch, int heads, int tq, int tv, bool queryInScores, SequenceMask? keyMask = null,
        int firstSample = 0)
    {
        var queryMask = queryInScores ? QueryMask : null;
        if (queryMask is null && ValueMask is null && keyMask is null)
        {
            if (UseCausalMask) ApplyCausalMask(scores, batch * heads, tq, tv);
            return;
        }
        T bias = T.CreateChecked(MaskedScoreBias);
        for (int g = 0; g < batch * heads; g++)
        {
            int b = firstSample + g / heads;
            for (int i = 0; i < tq; i++)
            {
                bool queryKept = queryMask is null || queryMask[b, i];
                var row = scores.Slice((g * tq + i) * tv, tv);
                for (int j = 0; j < tv; j++)
                {
                    bool kept = queryKept && (!UseCausalMask || j <= i) && (ValueMask is null || ValueMask[b, j]) && (keyMask is null || keyMask[b, j]);
                    if (!kept) row[j] -= bias;
                }
            }
        }
    }

    /// <summary>Throws unless the masks fit the inputs: the query mask <c>[B, Tq]</c>, the value (and key) mask <c>[B, Tv]</c>.</summary>
    private protected void CheckMasks(TensorShape query, TensorShape value, SequenceMask? keyMask = null)
    {
        QueryMask?.CheckShape(query, Name);
        ValueMask?.CheckShape(value, Name);
        keyMask?.CheckShape(value, Name);
    }

    /// <summary>S[s, i, j] −= 1e9 where j &gt; i, for <paramref name="b"/> score matrices <c>[Tq, Tv]</c> (Keras:
    /// row_index &gt;= col_index is kept).</summary>
    internal static void ApplyCausalMask(Span<T> scores, int b, int tq, int tv)
    {
        T bias = T.CreateChecked(MaskedScoreBias);
        for (int s = 0; s < b; s++)
            for (int i = 0; i < tq && i + 1 < tv; i++)
            {
                var row = scores.Slice((s * tq + i) * tv + i + 1, tv - i - 1);
                TensorPrimitives.Subtract(row, bias, row);
            }
    }

    /// <summary>Inverted-dropout keep values from <paramref name="rng"/>: 0 with probability <paramref name="rate"/>, else
    /// 1/(1 − rate), as <see cref="Dropout{T}"/>.</summary>
    internal static void DrawDropoutMask(ResumableRandom rng, double rate, Span<T> mask)
    {
        T scale = T.CreateChecked(1 / (1 - rate));
        for (int i = 0; i < mask.Length; i++) mask[i] = rng.NextDouble() < rate ? T.Zero : scale;
    }
}
