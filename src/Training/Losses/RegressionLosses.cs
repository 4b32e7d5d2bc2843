using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Training.Losses;

/// <summary>Shared plumbing for element-wise regression losses averaged over every element.</summary>
public abstract class ElementwiseLoss<T> : Loss<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The loss of one element for the difference <c>d = prediction − target</c>.</summary>
    protected abstract T Value(T d);

    /// <summary>The derivative of <see cref="Value"/> with respect to the prediction.</summary>
    protected abstract T Derivative(T d);

    /// <inheritdoc/>
    protected override T Evaluate(Tensor<T> prediction, Tensor<T> target, Tensor<T>? dPrediction) =>
        Core(prediction.ReadOnlySpan, target.ReadOnlySpan, dPrediction is null ? default : dPrediction.Span);

    private T Core(ReadOnlySpan<T> p, ReadOnlySpan<T> y, Span<T> d)
    {
        int n = p.Length;
        if (n == 0) return T.Zero;
        T invN = T.One / T.CreateChecked(n), total = T.Zero;
        bool grad = !d.IsEmpty;
        for (int i = 0; i < n; i++)
        {
            T diff = p[i] - y[i];
            total += Value(diff);
            if (grad) d[i] = Derivative(diff) * invN;
        }
        return total * invN;
    }
}

/// <summary>Mean squared error, <c>mean((p − y)²)</c> over every element (Keras' <c>MeanSquaredError</c>); gradient <c>2(p − y)/N</c>.</summary>
public sealed class MeanSquaredError<T> : ElementwiseLoss<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Name => "mean_squared_error";

    /// <inheritdoc/>
    protected override T Value(T d) => d * d;

    /// <inheritdoc/>
    protected override T Derivative(T d) => d + d;
}

/// <summary>Mean absolute error, <c>mean(|p − y|)</c> over every element (Keras' <c>MeanAbsoluteError</c>);
/// gradient <c>sign(p − y)/N</c>, 0 where they are equal.</summary>
public sealed class MeanAbsoluteError<T> : ElementwiseLoss<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Name => "mean_absolute_error";

    /// <inheritdoc/>
    protected override T Value(T d) => T.Abs(d);

    /// <inheritdoc/>
    protected override T Derivative(T d) => d > T.Zero ? T.One : d < T.Zero ? -T.One : T.Zero;
}

/// <summary>
/// Huber loss (Keras' <c>Huber</c>), averaged over every element: for <c>d = p − y</c>,
/// <c>0.5·d²</c> where <c>|d| ≤ δ</c>, else <c>δ·|d| − 0.5·δ²</c>; gradient <c>d</c> or <c>δ·sign(d)</c>.
/// </summary>
public sealed class Huber<T> : ElementwiseLoss<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T _delta, _halfDeltaSq;
    private static readonly T Half = T.CreateChecked(0.5);

    /// <summary>Creates the loss.</summary>
    /// <param name="delta">δ, where the loss turns from quadratic to linear; positive.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delta"/> is not positive.</exception>
    public Huber(double delta = 1.0)
    {
        if (!(delta > 0)) throw new ArgumentOutOfRangeException(nameof(delta), $"delta must be positive; got {delta}.");
        Delta = delta;
        _delta = T.CreateChecked(delta);
        _halfDeltaSq = Half * _delta * _delta;
    }

    /// <summary>δ.</summary>
    public double Delta { get; }

    /// <inheritdoc/>
    public override string Name => "huber";

    /// <inheritdoc/>
    protected override T Value(T d)
    {
        T a = T.Abs(d);
        return a <= _delta ? Half * d * d : _delta * a - _halfDeltaSq;
    }

    /// <inheritdoc/>
    protected override T Derivative(T d) => T.Abs(d) <= _delta ? d : d > T.Zero ? _delta : -_delta;
}
