using System.Numerics;
using Nn.Simd.Tensors;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Training.Losses;

// Shapes: prediction p [B, C] (or [B, T, C]); target: class indices [B] or [B, 1] (or [B, T]), stored as T.

/// <summary>
/// Categorical cross-entropy with integer class labels, Keras' <c>SparseCategoricalCrossentropy</c>. Labels
/// are whole numbers stored in a <c>Tensor&lt;T&gt;</c> of shape <c>[batch]</c> or <c>[batch, 1]</c>.
/// </summary>
/// <remarks>On probabilities it renormalises and clips as <see cref="CategoricalCrossEntropy{T}"/>; on logits it
/// is the fused softmax cross-entropy with gradient <c>(softmax(z) − onehot(label)) / R</c>.</remarks>
public sealed class SparseCategoricalCrossEntropy<T> : Loss<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the loss.</summary>
    /// <param name="fromLogits">Whether predictions are logits rather than probabilities.</param>
    public SparseCategoricalCrossEntropy(bool fromLogits = false) => FromLogits = fromLogits;

    /// <summary>Whether predictions are logits.</summary>
    public bool FromLogits { get; }

    /// <inheritdoc/>
    public override string Name => "sparse_categorical_crossentropy";

    /// <inheritdoc/>
    protected override void CheckTargetShape(TensorShape prediction, TensorShape target)
    {
        bool ok = target.Length == prediction.Rows && target[0] == prediction[0]
            && (target.Rank == prediction.Rank - 1 || (target.Rank == prediction.Rank && target[-1] == 1));
        if (!ok)
            throw new ArgumentException($"{Name}: target shape {target} does not fit prediction shape {prediction}; expected class indices shaped like the prediction without its last axis (e.g. [{prediction[0]}] or [{prediction[0]}, 1]).", nameof(target));
    }

    /// <inheritdoc/>
    protected override void CheckTargetValues(ReadOnlySpan<T> target, TensorShape predictionShape)
    {
        int c = predictionShape.Columns;
        for (int i = 0; i < target.Length; i++) SoftmaxCrossEntropy.Label(target[i], i, c);
    }

    /// <inheritdoc/>
    protected override T Evaluate(Tensor<T> prediction, Tensor<T> target, Tensor<T>? dPrediction)
    {
        int c = prediction.Shape.Columns, rows = prediction.Shape.Rows;
        if (rows == 0) return T.Zero;
        T invRows = T.One / T.CreateChecked(rows);
        if (FromLogits)
            return SoftmaxCrossEntropy.Sparse(prediction.ReadOnlySpan, target.ReadOnlySpan, c, invRows,
                dPrediction is null ? default : dPrediction.Span) * invRows;
        var p = prediction.ReadOnlySpan;
        var labels = target.ReadOnlySpan;
        var d = dPrediction is null ? default : dPrediction.Span;
        T total = T.Zero, hi = T.One - Epsilon;
        for (int row = 0, r = 0; row < rows; row++, r += c)
        {
            int label = SoftmaxCrossEntropy.Label(labels[row], row, c);
            var pr = p.Slice(r, c);
            T s = TensorPrimitives.Sum(pr);
            T q = pr[label] / s;
            T qc = T.Clamp(q, Epsilon, hi);
            total -= T.Log(qc);
            if (dPrediction is null) continue;
            // Only g_label = −1/q is non-zero (when unclipped): ∂L/∂p_k = (g_k − g_label·q) / s.
            var dr = d.Slice(r, c);
            if (q != qc) { dr.Clear(); continue; }
            T scale = invRows / s;
            dr.Fill(scale);                     // (0 − (−1/q)·q) / s = 1/s
            dr[label] = (-T.One / q + T.One) * scale;
        }
        return total * invRows;
    }
}
