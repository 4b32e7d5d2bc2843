using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Training.Losses;

/// <summary>Shared plumbing for losses whose element value depends on the prediction and the target separately
/// (not only on their difference), averaged over every element: Keras' mean over the last axis, then over samples.</summary>
public abstract class PointwiseLoss<T> : Loss<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The loss of one element, prediction <paramref name="p"/> and target <paramref name="y"/>.</summary>
    protected abstract T Value(T p, T y);

    /// <summary>The derivative of <see cref="Value"/> with respect to <paramref name="p"/>.</summary>
    protected abstract T Derivative(T p, T y);

    /// <inheritdoc/>
    protected override T Evaluate(Tensor<T> prediction, Tensor<T> target, Tensor<T>? dPrediction)
    {
        var p = prediction.ReadOnlySpan;
        var y = target.ReadOnlySpan;
        int n = p.Length;
        if (n == 0) return T.Zero;
        T invN = T.One / T.CreateChecked(n), total = T.Zero;
        if (dPrediction is null)
        {
            for (int i = 0; i < n; i++) total += Value(p[i], y[i]);
            return total * invN;
        }
        var d = dPrediction.Span;
        for (int i = 0; i < n; i++)
        {
            total += Value(p[i], y[i]);
            d[i] = Derivative(p[i], y[i]) * invN;
        }
        return total * invN;
    }
}

/// <summary>
/// Mean absolute percentage error (Keras' <c>MeanAbsolutePercentageError</c>, <c>mape</c>):
/// <c>100·|y − p| / max(|y|, ε)</c> averaged over every element, ε = 1e-7; gradient
/// <c>100·sign(p − y) / max(|y|, ε) / N</c>, 0 where <c>p = y</c>.
/// </summary>
/// <remarks>A target of 0 divides by ε, so the loss is 1e9·|p| there, as in Keras.</remarks>
public sealed class MeanAbsolutePercentageError<T> : PointwiseLoss<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly T Hundred = T.CreateChecked(100);

    /// <inheritdoc/>
    public override string Name => "mean_absolute_percentage_error";

    /// <inheritdoc/>
    protected override T Value(T p, T y) => Hundred * T.Abs(y - p) / T.Max(T.Abs(y), Epsilon);

    /// <inheritdoc/>
    protected override T Derivative(T p, T y)
    {
        T s = p > y ? T.One : p < y ? -T.One : T.Zero;
        return Hundred * s / T.Max(T.Abs(y), Epsilon);
    }
}

/// <summary>
/// Mean squared logarithmic error (Keras' <c>MeanSquaredLogarithmicError</c>, <c>msle</c>):
/// <c>(log(max(p, ε) + 1) − log(max(y, ε) + 1))²</c> averaged over every element, ε = 1e-7; gradient
/// <c>2·(log(max(p, ε) + 1) − log(max(y, ε) + 1)) / (p + 1) / N</c> where <c>p ≥ ε</c>, else 0 (the derivative of
/// the clip).
/// </summary>
public sealed class MeanSquaredLogarithmicError<T> : PointwiseLoss<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Name => "mean_squared_logarithmic_error";

    private static T Diff(T p, T y) => T.LogP1(T.Max(p, Epsilon)) - T.LogP1(T.Max(y, Epsilon));

    /// <inheritdoc/>
    protected override T Value(T p, T y)
    {
        T d = Diff(p, y);
        return d * d;
    }

    /// <inheritdoc/>
    protected override T Derivative(T p, T y) => p >= Epsilon ? (Diff(p, y) + Diff(p, y)) / (p + T.One) : T.Zero;
}

/// <summary>
/// Log-cosh loss (Keras' <c>LogCosh</c>, <c>log_cosh</c>): <c>log(cosh(x))</c> with <c>x = p − y</c>, averaged over
/// every element, computed as Keras does in the overflow-free form <c>x + softplus(−2x) − log 2</c>; gradient
/// <c>tanh(x) / N</c>.
/// </summary>
/// <remarks>The stable form stays finite for any finite x (it tends to <c>|x| − log 2</c>), where
/// <c>log(cosh(x))</c> itself overflows past |x| ≈ 89 in float32.</remarks>
public sealed class LogCosh<T> : PointwiseLoss<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly T Two = T.CreateChecked(2), Log2 = T.Log(T.CreateChecked(2));

    /// <inheritdoc/>
    public override string Name => "log_cosh";

    /// <inheritdoc/>
    protected override T Value(T p, T y)
    {
        T x = p - y, z = -Two * x;
        return x + T.Max(z, T.Zero) + T.LogP1(T.Exp(-T.Abs(z))) - Log2;
    }

    /// <inheritdoc/>
    protected override T Derivative(T p, T y) => T.Tanh(p - y);
}

/// <summary>
/// Poisson loss (Keras' <c>Poisson</c>): <c>p − y·log(p + ε)</c> averaged over every element, ε = 1e-7; gradient
/// <c>(1 − y / (p + ε)) / N</c>. Predictions are rates, so they must be ≥ 0 (a softplus or exp output); a
/// negative one gives NaN, as in Keras.
/// </summary>
/// <remarks>PyTorch's <c>poisson_nll_loss(log_input=False, eps=1e-7, full=False)</c> is the same function.</remarks>
public sealed class Poisson<T> : PointwiseLoss<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Name => "poisson";

    /// <inheritdoc/>
    protected override void CheckTargetValues(ReadOnlySpan<T> target, TensorShape predictionShape)
    {
        for (int i = 0; i < target.Length; i++)
            if (!(target[i] >= T.Zero) || !T.IsFinite(target[i]))
                throw new ArgumentException($"{Name}: target value {target[i]} at index {i} is not a finite non-negative count.", nameof(target));
    }

    /// <inheritdoc/>
    protected override T Value(T p, T y) => p - y * T.Log(p + Epsilon);

    /// <inheritdoc/>
    protected override T Derivative(T p, T y) => T.One - y / (p + Epsilon);
}

/// <summary>
/// Hinge loss (Keras' <c>Hinge</c>): <c>max(1 − y·p, 0)</c> averaged over every element; gradient <c>−y / N</c>
/// where <c>y·p &lt; 1</c>, else 0. Targets are −1 or 1; 0/1 targets are mapped to −1/1, as Keras does.
/// </summary>
/// <remarks>Keras decides per batch: it maps <c>2y − 1</c> only when every target is 0 or 1. Targets here must be
/// all in {0, 1} or all in {−1, 1} (checked by <see cref="ILoss{T}.ValidateTargets"/>), so mapping each 0 to −1
/// gives the same result element by element.</remarks>
public sealed class Hinge<T> : PointwiseLoss<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Name => "hinge";

    /// <inheritdoc/>
    protected override void CheckTargetValues(ReadOnlySpan<T> target, TensorShape predictionShape) => HingeTargets.Check(Name, target);

    /// <inheritdoc/>
    protected override T Value(T p, T y) => T.Max(T.One - HingeTargets.Sign(y) * p, T.Zero);

    /// <inheritdoc/>
    protected override T Derivative(T p, T y)
    {
        T s = HingeTargets.Sign(y);
        return T.One - s * p > T.Zero ? -s : T.Zero;
    }
}

/// <summary>
/// Squared hinge loss (Keras' <c>SquaredHinge</c>): <c>max(1 − y·p, 0)²</c> averaged over every element; gradient
/// <c>−2y·max(1 − y·p, 0) / N</c>. Targets as <see cref="Hinge{T}"/> (0/1 mapped to −1/1).
/// </summary>
public sealed class SquaredHinge<T> : PointwiseLoss<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Name => "squared_hinge";

    /// <inheritdoc/>
    protected override void CheckTargetValues(ReadOnlySpan<T> target, TensorShape predictionShape) => HingeTargets.Check(Name, target);

    /// <inheritdoc/>
    protected override T Value(T p, T y)
    {
        T m = T.Max(T.One - HingeTargets.Sign(y) * p, T.Zero);
        return m * m;
    }

    /// <inheritdoc/>
    protected override T Derivative(T p, T y)
    {
        T s = HingeTargets.Sign(y);
        T m = T.Max(T.One - s * p, T.Zero);
        return -(s + s) * m;
    }
}

/// <summary>Keras' hinge target convention: 0 stands for −1.</summary>
internal static class HingeTargets
{
    public static T Sign<T>(T y) where T : IFloatingPointIeee754<T> => y == T.Zero ? -T.One : y;

    /// <exception cref="ArgumentException">A target is not −1, 0 or 1, or the targets mix 0 and −1.</exception>
    public static void Check<T>(string name, ReadOnlySpan<T> target) where T : IFloatingPointIeee754<T>
    {
        int zero = -1, minusOne = -1;
        for (int i = 0; i < target.Length; i++)
        {
            T v = target[i];
            if (v == T.Zero) zero = zero < 0 ? i : zero;
            else if (v == -T.One) minusOne = minusOne < 0 ? i : minusOne;
            else if (v != T.One)
                throw new ArgumentException($"{name}: target value {v} at index {i} is not −1, 0 or 1 (targets are −1/1, or 0/1 which is mapped to −1/1).", "target");
        }
        if (zero >= 0 && minusOne >= 0)
            throw new ArgumentException($"{name}: targets mix 0 (index {zero}) and −1 (index {minusOne}); use either 0/1 or −1/1 labels.", "target");
    }
}
