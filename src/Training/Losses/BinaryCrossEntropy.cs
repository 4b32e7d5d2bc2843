using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Training.Losses;

/// <summary>
/// Binary cross-entropy, Keras' <c>BinaryCrossentropy(from_logits, label_smoothing)</c>, averaged over every element
/// (Keras' mean over the last axis, then over samples). With label smoothing s the targets are squeezed towards 0.5,
/// <c>ỹ = y·(1 − s) + 0.5·s</c>, before the loss below is taken with ỹ for y.
/// </summary>
/// <remarks>
/// <para>On probabilities, as Keras 3: <c>p</c> is clipped to [1e-7, 1 − 1e-7] and
/// <c>loss = −(ỹ·log p + (1 − ỹ)·log(1 − p))</c>; the gradient is zero where <c>p</c> was clipped.</para>
/// <para>On logits it uses the stable form <c>max(z, 0) − z·ỹ + log(1 + exp(−|z|))</c> (as TensorFlow's
/// <c>sigmoid_cross_entropy_with_logits</c>), with gradient <c>(σ(z) − ỹ) / N</c>. Keras' NumPy backend instead
/// takes the sigmoid and clips, which differs once |z| exceeds about 16.</para>
/// <para>With s = 0 (the default) the targets are used as given, so the loss is bit for bit the unsmoothed one.
/// PyTorch has no smoothing option on <c>binary_cross_entropy</c>; passing it ỹ gives the same loss.</para>
/// </remarks>
public sealed class BinaryCrossEntropy<T> : Loss<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T _smoothing;

    /// <summary>Creates the loss.</summary>
    /// <param name="fromLogits">Whether predictions are logits rather than probabilities.</param>
    /// <param name="labelSmoothing">s in [0, 1]: targets become <c>y·(1 − s) + 0.5·s</c>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="labelSmoothing"/> is outside [0, 1].</exception>
    public BinaryCrossEntropy(bool fromLogits = false, double labelSmoothing = 0.0)
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
        // ỹ = y·(1 − s) + 0.5·s; with s = 0 the target is read as is, so the default is the unsmoothed loss bit for bit.
        T keep = T.One - _smoothing, shift = T.CreateChecked(0.5) * _smoothing;
        bool smooth = _smoothing != T.Zero;
        if (FromLogits)
        {
            for (int i = 0; i < n; i++)
            {
                T z = p[i], yt = smooth ? y[i] * keep + shift : y[i];
                total += T.Max(z, T.Zero) - z * yt + T.LogP1(T.Exp(-T.Abs(z)));
                if (grad) d[i] = (T.One / (T.One + T.Exp(-z)) - yt) * invN;
            }
        }
        else
        {
            for (int i = 0; i < n; i++)
            {
                T pc = T.Clamp(p[i], Epsilon, hi), yt = smooth ? y[i] * keep + shift : y[i];
                total -= yt * T.Log(pc) + (T.One - yt) * T.Log(T.One - pc);
                if (grad) d[i] = pc == p[i] ? (-yt / pc + (T.One - yt) / (T.One - pc)) * invN : T.Zero;
            }
        }
        return total * invN;
    }

    internal IReadOnlyDictionary<string, string> GetConfig() => LossOptions.SmoothingConfig(LabelSmoothing);
}
