using System.Buffers;
using System.Numerics;

namespace Nn.Simd.Tensors.Kernels;

// Shapes: R = rows (samples, or samples × time steps), C = classes. logits z [R, C]; targets y [R, C] or labels [R].

/// <summary>
/// Softmax cross-entropy on logits, fused and max-subtracted so it never takes the log of a rounded-to-zero
/// probability: per row, <c>lse = max + log Σ exp(z − max)</c>, <c>loss = Σ_j y_j·(lse − z_j)</c>, and its
/// gradient <c>∂loss/∂z_j = (Σ_k y_k)·softmax(z)_j − y_j</c> (which is <c>softmax − y</c> for a one-hot or
/// probability row), scaled by <c>gradientScale</c> (e.g. 1/R for a mean).
/// </summary>
public static class SoftmaxCrossEntropy
{
    /// <summary>Computes Σ over rows of the cross-entropy, and optionally the scaled gradient.</summary>
    /// <param name="logits">z [R, C].</param>
    /// <param name="target">y [R, C], one-hot or probability rows.</param>
    /// <param name="classes">C, the row width.</param>
    /// <param name="gradientScale">Multiplies the gradient.</param>
    /// <param name="dLogits">The gradient destination [R, C]; empty to skip the gradient. May alias <paramref name="logits"/>.</param>
    /// <returns>The sum of the per-row losses.</returns>
    /// <exception cref="ArgumentException">A length does not fit <paramref name="classes"/>.</exception>
    public static T Dense<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> target, int classes, T gradientScale, Span<T> dLogits)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckRows(logits.Length, classes);
        if (target.Length != logits.Length)
            throw new ArgumentException($"target has length {target.Length} but logits have {logits.Length}.", nameof(target));
        bool grad = !dLogits.IsEmpty;
        if (grad) TensorChecks.Destination(dLogits.Length, logits.Length, nameof(dLogits));
        T[]? rented = null;
        Span<T> scratch = grad ? default : classes * System.Runtime.CompilerServices.Unsafe.SizeOf<T>() <= 4096
            ? stackalloc T[classes] : (rented = ArrayPool<T>.Shared.Rent(classes)).AsSpan(0, classes);
        T total = T.Zero;
        for (int r = 0; r < logits.Length; r += classes)
        {
            var z = logits.Slice(r, classes);
            var y = target.Slice(r, classes);
            var e = grad ? dLogits.Slice(r, classes) : scratch;
            T max = TensorPrimitives.Max(z);
            T yz = TensorPrimitives.Dot(y, z);   // read z before e (which may alias it) is written
            T ySum = TensorPrimitives.Sum(y);
            TensorPrimitives.Subtract(z, max, e);
            TensorPrimitives.Exp(e, e);
            T sum = TensorPrimitives.Sum<T>(e);
            T lse = max + T.Log(sum);
            total += ySum * lse - yz;
            if (grad)
            {
                // e_j = scale·(ySum·exp_j / sum − y_j)
                T a = gradientScale * ySum / sum;
                for (int j = 0; j < classes; j++) e[j] = a * e[j] - gradientScale * y[j];
            }
        }
        if (rented is not null) ArrayPool<T>.Shared.Return(rented);
        return total;
    }

    /// <summary>Like <see cref="Dense{T}"/> with class indices instead of one-hot rows:
    /// <c>loss = lse − z_label</c>, <c>∂loss/∂z = softmax(z) − onehot(label)</c>.</summary>
    /// <param name="logits">z [R, C].</param>
    /// <param name="labels">[R] class indices stored as integers in T, each in [0, C).</param>
    /// <param name="classes">C.</param>
    /// <param name="gradientScale">Multiplies the gradient.</param>
    /// <param name="dLogits">The gradient destination [R, C]; empty to skip it. May alias <paramref name="logits"/>.</param>
    /// <returns>The sum of the per-row losses.</returns>
    /// <exception cref="ArgumentException">A length does not fit, or a label is not an integer in [0, C); the
    /// message gives the value and its index.</exception>
    public static T Sparse<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> labels, int classes, T gradientScale, Span<T> dLogits)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckRows(logits.Length, classes);
        if (labels.Length * classes != logits.Length)
            throw new ArgumentException($"labels has length {labels.Length} but logits hold {logits.Length / classes} rows of {classes}.", nameof(labels));
        bool grad = !dLogits.IsEmpty;
        if (grad) TensorChecks.Destination(dLogits.Length, logits.Length, nameof(dLogits));
        T[]? rented = null;
        Span<T> scratch = grad ? default : classes * System.Runtime.CompilerServices.Unsafe.SizeOf<T>() <= 4096
            ? stackalloc T[classes] : (rented = ArrayPool<T>.Shared.Rent(classes)).AsSpan(0, classes);
        T total = T.Zero;
        for (int row = 0, r = 0; r < logits.Length; row++, r += classes)
        {
            int label = Label(labels[row], row, classes);
            var z = logits.Slice(r, classes);
            var e = grad ? dLogits.Slice(r, classes) : scratch;
            T max = TensorPrimitives.Max(z);
            T zl = z[label];
            TensorPrimitives.Subtract(z, max, e);
            TensorPrimitives.Exp(e, e);
            T sum = TensorPrimitives.Sum<T>(e);
            total += max + T.Log(sum) - zl;
            if (grad)
            {
                TensorPrimitives.Multiply(e, gradientScale / sum, e);
                e[label] -= gradientScale;
            }
        }
        if (rented is not null) ArrayPool<T>.Shared.Return(rented);
        return total;
    }

    /// <summary>Converts a label stored in T to an index, throwing with its value and index when it is not an integer in [0, classes).</summary>
    /// <exception cref="ArgumentException">The label is out of range or not an integer.</exception>
    public static int Label<T>(T value, int index, int classes) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!(value >= T.Zero && value < T.CreateChecked(classes)) || !T.IsInteger(value))
            throw new ArgumentException($"Label {value} at index {index} is not a class index in [0, {classes}).", "labels");
        return int.CreateTruncating(value);
    }

    private static void CheckRows(int length, int classes)
    {
        if (classes <= 0 || length % classes != 0)
            throw new ArgumentException($"logits have length {length}, which is not a multiple of classes = {classes}.", "logits");
    }
}
