using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Training.Losses;

// Shapes: R = rows (samples, or samples × time steps), C = the last axis. prediction p [.., C]; target y [.., C].

/// <summary>Shared plumbing for losses that reduce each row (the last axis) to one value, then average over rows.</summary>
public abstract class RowLoss<T> : Loss<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The loss of one row, and when <paramref name="d"/> is not empty its gradient written there (overwritten,
    /// not yet divided by the number of rows).</summary>
    protected abstract T Row(ReadOnlySpan<T> p, ReadOnlySpan<T> y, Span<T> d);

    /// <inheritdoc/>
    protected override T Evaluate(Tensor<T> prediction, Tensor<T> target, Tensor<T>? dPrediction)
    {
        var p = prediction.ReadOnlySpan;
        var y = target.ReadOnlySpan;
        if (p.Length == 0) return T.Zero;
        int c = prediction.Shape.Columns, rows = p.Length / c;
        T total = T.Zero;
        var d = dPrediction is null ? default : dPrediction.Span;
        for (int r = 0; r < p.Length; r += c)
            total += Row(p.Slice(r, c), y.Slice(r, c), d.IsEmpty ? default : d.Slice(r, c));
        T invRows = T.One / T.CreateChecked(rows);
        if (!d.IsEmpty) TensorPrimitives.Multiply(d, invRows, d);
        return total * invRows;
    }
}

/// <summary>
/// Kullback–Leibler divergence (Keras' <c>KLDivergence</c>, <c>kl_divergence</c>, <c>kld</c>):
/// <c>Σ_j ỹ_j·log(ỹ_j / p̃_j)</c> over the last axis with <c>ỹ = clip(y, ε, 1)</c> and <c>p̃ = clip(p, ε, 1)</c>,
/// ε = 1e-7, averaged over rows; gradient <c>−ỹ_j / p_j / R</c> where <c>p_j</c> is inside [ε, 1], else 0.
/// </summary>
/// <remarks>PyTorch's <c>kl_div(input, target)</c> takes log-probabilities as input and does not clip:
/// <c>kl_div(log p̃, ỹ, reduction="sum") / R</c> is this loss. Predictions are not renormalised (as Keras).</remarks>
public sealed class KLDivergence<T> : RowLoss<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Name => "kl_divergence";

    /// <inheritdoc/>
    protected override void CheckTargetShape(TensorShape prediction, TensorShape target)
    {
        if (prediction != target)
            throw new ArgumentException($"{Name}: target shape {target} must equal the prediction shape {prediction} (a distribution per row).", nameof(target));
    }

    /// <inheritdoc/>
    protected override void CheckTargetValues(ReadOnlySpan<T> target, TensorShape predictionShape) => CheckUnitInterval(target);

    /// <inheritdoc/>
    protected override T Row(ReadOnlySpan<T> p, ReadOnlySpan<T> y, Span<T> d)
    {
        T sum = T.Zero;
        for (int j = 0; j < p.Length; j++)
        {
            T yc = T.Clamp(y[j], Epsilon, T.One), pc = T.Clamp(p[j], Epsilon, T.One);
            sum += yc * T.Log(yc / pc);
            if (!d.IsEmpty) d[j] = pc == p[j] ? -yc / pc : T.Zero;
        }
        return sum;
    }
}

/// <summary>
/// Cosine similarity loss (Keras' <c>CosineSimilarity</c>, <c>cosine_similarity</c>): the <b>negative</b> cosine
/// similarity over the last axis, <c>−Σ_j ŷ_j·p̂_j</c> with <c>x̂ = x / max(‖x‖₂, ε)</c>, ε = 1e-7, averaged over rows.
/// It lies in [−1, 1]; −1 when prediction and target point the same way.
/// </summary>
/// <remarks>
/// <para>Gradient per row, with <c>s = ‖p‖</c>: <c>−(ŷ − (ŷ·p̂)·p̂) / s / R</c> where <c>s ≥ ε</c>, and <c>−ŷ / ε / R</c>
/// where the norm is clipped. A zero target row gives 0 loss and 0 gradient.</para>
/// <para>PyTorch's <c>cosine_similarity(p, y, dim=-1, eps)</c> is positive and divides by
/// <c>max(‖p‖·‖y‖, eps)</c> (older versions: each norm clipped separately); for norms well above ε the two agree as
/// <c>loss = −mean(cosine_similarity)</c>. Keras only: the similarity axis is the last one.</para>
/// </remarks>
public sealed class CosineSimilarity<T> : RowLoss<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Name => "cosine_similarity";

    /// <inheritdoc/>
    protected override void CheckTargetShape(TensorShape prediction, TensorShape target)
    {
        if (prediction != target)
            throw new ArgumentException($"{Name}: target shape {target} must equal the prediction shape {prediction} (a vector per row).", nameof(target));
    }

    /// <inheritdoc/>
    protected override T Row(ReadOnlySpan<T> p, ReadOnlySpan<T> y, Span<T> d)
    {
        T pNorm = T.Sqrt(TensorPrimitives.SumOfSquares(p)), yNorm = T.Sqrt(TensorPrimitives.SumOfSquares(y));
        T ps = T.Max(pNorm, Epsilon), ys = T.Max(yNorm, Epsilon);
        T dot = TensorPrimitives.Dot(p, y) / (ps * ys);   // ŷ·p̂
        if (!d.IsEmpty)
        {
            if (pNorm >= Epsilon)
            {
                // ∂(ŷ·p/‖p‖)/∂p = (ŷ − (ŷ·p̂)·p̂) / ‖p‖, negated.
                T a = -T.One / (ys * ps), b = dot / (ps * ps);
                for (int j = 0; j < p.Length; j++) d[j] = a * y[j] + b * p[j];
            }
            else
            {
                T a = -T.One / (ys * Epsilon);
                for (int j = 0; j < p.Length; j++) d[j] = a * y[j];
            }
        }
        return -dot;
    }
}

/// <summary>
/// Categorical hinge loss (Keras' <c>CategoricalHinge</c>): per row <c>max(neg − pos + 1, 0)</c> with
/// <c>pos = Σ_j y_j·p_j</c> and <c>neg = max_j (1 − y_j)·p_j</c>, averaged over rows; gradient, where the row loss is
/// positive, <c>(−y_j + (1 − y_k)·[j = k]) / R</c> with k the arg-max of <c>(1 − y)·p</c>, else 0.
/// </summary>
/// <remarks>On a tie for the maximum the gradient goes to the first index (TensorFlow splits it evenly; the
/// loss value is the same).</remarks>
public sealed class CategoricalHinge<T> : RowLoss<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Name => "categorical_hinge";

    /// <inheritdoc/>
    protected override void CheckTargetShape(TensorShape prediction, TensorShape target)
    {
        if (prediction != target)
            throw new ArgumentException($"{Name}: target shape {target} must equal the prediction shape {prediction} (one-hot rows).", nameof(target));
    }

    /// <inheritdoc/>
    protected override T Row(ReadOnlySpan<T> p, ReadOnlySpan<T> y, Span<T> d)
    {
        T pos = T.Zero, neg = T.NegativeInfinity;
        int k = 0;
        for (int j = 0; j < p.Length; j++)
        {
            pos += y[j] * p[j];
            T v = (T.One - y[j]) * p[j];
            if (v > neg) { neg = v; k = j; }
        }
        T loss = neg - pos + T.One;
        if (!d.IsEmpty)
        {
            if (loss > T.Zero)
            {
                for (int j = 0; j < p.Length; j++) d[j] = -y[j];
                d[k] += T.One - y[k];
            }
            else d.Clear();
        }
        return T.Max(loss, T.Zero);
    }
}
