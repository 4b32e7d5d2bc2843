using System.Numerics;
using Nn.Simd.Tensors;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Training.Losses;

// Shapes: R = rows (samples, or samples × time steps), C = classes. prediction p [.., C]; target y [.., C].

/// <summary>
/// Categorical cross-entropy with one-hot (or probability) targets, Keras' <c>CategoricalCrossentropy(from_logits,
/// label_smoothing)</c>. With label smoothing s each target row is mixed with the uniform distribution over the C
/// classes, <c>ỹ = y·(1 − s) + s/C</c>, before the loss below is taken with ỹ for y.
/// </summary>
/// <remarks>
/// <para>On probabilities (<see cref="FromLogits"/> false), as Keras: each row is renormalised
/// <c>q = p / Σp</c>, clipped to [1e-7, 1 − 1e-7], and <c>loss = −Σ y·log q</c>, averaged over rows. Where
/// a probability is clipped its gradient is zero, as the derivative of a clip is. nnfs clips the same way
/// but does not renormalise.</para>
/// <para>On logits, the loss is the fused, max-subtracted log-softmax cross-entropy and the gradient is
/// <c>(softmax(z) − y) / R</c>: prefer it to a softmax layer plus this loss on probabilities, which
/// saturates at the clip when the network is confident and wrong.</para>
/// <para>With s = 0 (the default) the targets are used as given, so the loss is bit for bit the unsmoothed one.
/// PyTorch's <c>cross_entropy(logits, target, label_smoothing=s)</c> smooths the same way (<c>(1 − s)·y + s/C</c>).
/// Keras 3's <c>SparseCategoricalCrossentropy</c> has no label smoothing, so neither has
/// <see cref="SparseCategoricalCrossEntropy{T}"/>.</para>
/// </remarks>
public sealed class CategoricalCrossEntropy<T> : Loss<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T _smoothing;
    private T[] _smoothed = [];

    /// <summary>Creates the loss.</summary>
    /// <param name="fromLogits">Whether predictions are logits (no softmax applied) rather than probabilities.</param>
    /// <param name="labelSmoothing">s in [0, 1]: target rows become <c>y·(1 − s) + s/C</c>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="labelSmoothing"/> is outside [0, 1].</exception>
    public CategoricalCrossEntropy(bool fromLogits = false, double labelSmoothing = 0.0)
    {
        LossOptions.CheckLabelSmoothing(labelSmoothing);
        FromLogits = fromLogits;
        LabelSmoothing = labelSmoothing;
        _smoothing = T.CreateChecked(labelSmoothing);
    }

    /// <summary>Whether predictions are logits.</summary>
    public bool FromLogits { get; }

    /// <summary>The label smoothing s (Keras' <c>label_smoothing</c>).</summary>
    public double LabelSmoothing { get; }

    /// <inheritdoc/>
    public override string Name => "categorical_crossentropy";

    /// <inheritdoc/>
    protected override void CheckTargetShape(TensorShape prediction, TensorShape target)
    {
        if (prediction != target)
            throw new ArgumentException($"{Name}: target shape {target} must equal the prediction shape {prediction} (one-hot rows; use sparse_categorical_crossentropy for class indices).", nameof(target));
    }

    /// <inheritdoc/>
    protected override void CheckTargetValues(ReadOnlySpan<T> target, TensorShape predictionShape) => CheckUnitInterval(target);

    /// <inheritdoc/>
    protected override T Evaluate(Tensor<T> prediction, Tensor<T> target, Tensor<T>? dPrediction) =>
        dPrediction is null ? Value(prediction, target) : ValueAndGradient(prediction, target, dPrediction);

    private T Value(Tensor<T> prediction, Tensor<T> target)
    {
        int c = prediction.Shape.Columns, rows = prediction.Shape.Rows;
        if (rows == 0) return T.Zero;
        if (FromLogits)
        {
            if (_smoothing == T.Zero)
                return SoftmaxCrossEntropy.Dense(prediction.ReadOnlySpan, target.ReadOnlySpan, c, T.Zero, default) / T.CreateChecked(rows);
            return SmoothedLogits(prediction.ReadOnlySpan, target.ReadOnlySpan, c, T.Zero, default) / T.CreateChecked(rows);
        }
        var p = prediction.ReadOnlySpan;
        var y = target.ReadOnlySpan;
        T total = T.Zero, hi = T.One - Epsilon;
        T keep = T.One - _smoothing, shift = _smoothing / T.CreateChecked(c);
        bool smooth = _smoothing != T.Zero;
        for (int r = 0; r < p.Length; r += c)
        {
            var pr = p.Slice(r, c);
            T s = TensorPrimitives.Sum(pr);
            T row = T.Zero;
            for (int j = 0; j < c; j++)
                row += (smooth ? y[r + j] * keep + shift : y[r + j]) * T.Log(T.Clamp(pr[j] / s, Epsilon, hi));
            total -= row;
        }
        return total / T.CreateChecked(rows);
    }

    private T ValueAndGradient(Tensor<T> prediction, Tensor<T> target, Tensor<T> dPrediction)
    {
        int c = prediction.Shape.Columns, rows = prediction.Shape.Rows;
        if (rows == 0) return T.Zero;
        T invRows = T.One / T.CreateChecked(rows);
        if (FromLogits)
        {
            if (_smoothing == T.Zero)
                return SoftmaxCrossEntropy.Dense(prediction.ReadOnlySpan, target.ReadOnlySpan, c, invRows, dPrediction.Span) * invRows;
            return SmoothedLogits(prediction.ReadOnlySpan, target.ReadOnlySpan, c, invRows, dPrediction.Span) * invRows;
        }
        var p = prediction.ReadOnlySpan;
        var y = target.ReadOnlySpan;
        var d = dPrediction.Span;
        T total = T.Zero, hi = T.One - Epsilon;
        T keep = T.One - _smoothing, shift = _smoothing / T.CreateChecked(c);
        bool smooth = _smoothing != T.Zero;
        for (int r = 0; r < p.Length; r += c)
        {
            // q_j = p_j / s (clipped); g_j = ∂L/∂q_j = −y_j / q_j where unclipped, else 0;
            // ∂L/∂p_k = (g_k − Σ_j g_j q_j) / s, since ∂q_j/∂p_k = (δ_jk − q_j) / s.
            var pr = p.Slice(r, c);
            var dr = d.Slice(r, c);
            T s = TensorPrimitives.Sum(pr);
            T dot = T.Zero, row = T.Zero;
            for (int j = 0; j < c; j++)
            {
                T q = pr[j] / s;
                T qc = T.Clamp(q, Epsilon, hi);
                T yt = smooth ? y[r + j] * keep + shift : y[r + j];
                row += yt * T.Log(qc);
                T g = q == qc ? -yt / q : T.Zero;
                dr[j] = g;
                dot += g * q;
            }
            total -= row;
            T scale = invRows / s;
            for (int j = 0; j < c; j++) dr[j] = (dr[j] - dot) * scale;
        }
        return total * invRows;
    }

    /// <summary>The fused softmax cross-entropy on logits, one row at a time against the smoothed row
    /// <c>ỹ = y·(1 − s) + s/C</c> (built in a reused row buffer, so a training step allocates nothing); the gradient is
    /// <c>(softmax(z) − ỹ)·gradientScale</c>, since Σỹ = Σy·(1 − s) + s = 1 for a one-hot or probability row.</summary>
    private T SmoothedLogits(ReadOnlySpan<T> z, ReadOnlySpan<T> y, int c, T gradientScale, Span<T> d)
    {
        if (_smoothed.Length < c) _smoothed = new T[c];
        var yt = _smoothed.AsSpan(0, c);
        T keep = T.One - _smoothing, shift = _smoothing / T.CreateChecked(c), total = T.Zero;
        for (int r = 0; r < z.Length; r += c)
        {
            var yr = y.Slice(r, c);
            for (int j = 0; j < c; j++) yt[j] = yr[j] * keep + shift;
            total += SoftmaxCrossEntropy.Dense(z.Slice(r, c), yt, c, gradientScale, d.IsEmpty ? default : d.Slice(r, c));
        }
        return total;
    }

    internal IReadOnlyDictionary<string, string> GetConfig() => LossOptions.SmoothingConfig(LabelSmoothing);
}
