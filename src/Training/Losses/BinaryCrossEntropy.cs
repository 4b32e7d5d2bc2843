using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Training.Losses;

/// <summary>
/// Binary cross-entropy, Keras' <c>BinaryCrossentropy</c>, averaged over every element (Keras' mean over the
/// last axis, then over samples).
/// </summary>
/// <remarks>
/// <para>On probabilities, as Keras 3: <c>p</c> is clipped to [1e-7, 1 − 1e-7] and
/// <c>loss = −(y·log p + (1 − y)·log(1 − p))</c>; the gradient is zero where <c>p</c> was clipped.</para>
/// <para>On logits it uses the stable form <c>max(z, 0) − z·y + log(1 + exp(−|z|))</c> (as TensorFlow's
/// <c>sigmoid_cross_entropy_with_logits</c>), with gradient <c>(σ(z) − y) / N</c>. Keras' NumPy backend instead
/// takes the sigmoid and clips, which differs once |z| exceeds about 16.</para>
/// </remarks>
public sealed class BinaryCrossEntropy<T> : Loss<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the loss.</summary>
    /// <param name="fromLogits">Whether predictions are logits rather than probabilities.</param>
    public BinaryCrossEntropy(bool fromLogits = false) => FromLogits = fromLogits;

    /// <summary>Whether predictions are logits.</summary>
    public bool FromLogits { get; }

    /// <inheritdoc/>
    public override string Name => "binary_crossentropy";

    /// <inheritdoc/>
    protected override void CheckTargetValues(ReadOnlySpan<T> target, TensorShape predictionShape) => CheckUnitInterval(target);

    /// <inheritdoc/>
    protected override T Evaluate(Tensor<T> prediction, Tensor<T> target, Tensor<T>? dPrediction) =>
        Core(prediction.ReadOnlySpan, target.ReadOnlySpan, dPrediction is null ? default : dPrediction.Span);

    private T Core(ReadOnlySpan<T> p, ReadOnlySpan<T> y, Span<T> d)
    {
        int n = p.Length;
        if (n == 0) return T.Zero;
        bool grad = !d.IsEmpty;
        T invN = T.One / T.CreateChecked(n), total = T.Zero, hi = T.One - Epsilon;
        if (FromLogits)
        {
            for (int i = 0; i < n; i++)
            {
                T z = p[i];
                total += T.Max(z, T.Zero) - z * y[i] + T.LogP1(T.Exp(-T.Abs(z)));
                if (grad) d[i] = (T.One / (T.One + T.Exp(-z)) - y[i]) * invN;
            }
        }
        else
        {
            for (int i = 0; i < n; i++)
            {
                T pc = T.Clamp(p[i], Epsilon, hi);
                total -= y[i] * T.Log(pc) + (T.One - y[i]) * T.Log(T.One - pc);
                if (grad) d[i] = pc == p[i] ? (-y[i] / pc + (T.One - y[i]) / (T.One - pc)) * invN : T.Zero;
            }
        }
        return total * invN;
    }
}
