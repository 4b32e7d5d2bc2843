using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Training.Losses;

/// <summary>Shared shape checks and target validation for the built-in losses.</summary>
public abstract class Loss<T> : ILoss<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public abstract string Name { get; }

    /// <inheritdoc/>
    public T Compute(Tensor<T> prediction, Tensor<T> target)
    {
        CheckCall(prediction, target, null);
        return Evaluate(prediction, target, null);
    }

    /// <inheritdoc/>
    public void Gradient(Tensor<T> prediction, Tensor<T> target, Tensor<T> dPrediction)
    {
        CheckCall(prediction, target, dPrediction);
        Evaluate(prediction, target, dPrediction);
    }

    /// <inheritdoc/>
    public T ComputeWithGradient(Tensor<T> prediction, Tensor<T> target, Tensor<T> dPrediction)
    {
        CheckCall(prediction, target, dPrediction);
        return Evaluate(prediction, target, dPrediction);
    }

    /// <summary>The loss value and, when <paramref name="dPrediction"/> is not null, its gradient written there
    /// (one pass for both). Shapes are already checked.</summary>
    protected abstract T Evaluate(Tensor<T> prediction, Tensor<T> target, Tensor<T>? dPrediction);

    /// <inheritdoc/>
    public virtual void ValidateTargets(TensorShape predictionShape, Tensor<T> target)
    {
        ArgumentNullException.ThrowIfNull(target);
        CheckTargetShape(predictionShape, target.Shape);
        CheckTargetValues(target.ReadOnlySpan, predictionShape);
    }

    /// <summary>Throws unless a target of <paramref name="target"/> fits predictions of <paramref name="prediction"/>.
    /// The default accepts the same shape, or the same element count with the same first dimension
    /// (e.g. <c>[N]</c> for <c>[N, 1]</c>).</summary>
    /// <exception cref="ArgumentException">The shapes do not fit.</exception>
    protected virtual void CheckTargetShape(TensorShape prediction, TensorShape target)
    {
        if (prediction == target) return;
        if (target.Length == prediction.Length && target[0] == prediction[0]) return;
        throw new ArgumentException($"{Name}: target shape {target} does not match prediction shape {prediction}.", nameof(target));
    }

    /// <summary>Throws for a target value the loss cannot take; the default rejects NaN and infinities.</summary>
    /// <exception cref="ArgumentException">A value is invalid; the message gives it and its index.</exception>
    protected virtual void CheckTargetValues(ReadOnlySpan<T> target, TensorShape predictionShape)
    {
        for (int i = 0; i < target.Length; i++)
            if (!T.IsFinite(target[i]))
                throw new ArgumentException($"{Name}: target value {target[i]} at index {i} is not finite.", nameof(target));
    }

    /// <summary>Throws for a target value outside [0, 1] (probability or one-hot targets).</summary>
    /// <exception cref="ArgumentException">A value is outside [0, 1]; the message gives it and its index.</exception>
    protected void CheckUnitInterval(ReadOnlySpan<T> target)
    {
        for (int i = 0; i < target.Length; i++)
            if (!(target[i] >= T.Zero && target[i] <= T.One))
                throw new ArgumentException($"{Name}: target value {target[i]} at index {i} is outside [0, 1].", "target");
    }

    /// <summary>Checks the shapes of one call: prediction, target and (optionally) the gradient destination.</summary>
    /// <exception cref="ArgumentException">A shape does not fit.</exception>
    protected void CheckCall(Tensor<T> prediction, Tensor<T> target, Tensor<T>? dPrediction)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        CheckTargetShape(prediction.Shape, target.Shape);
        if (dPrediction is not null && dPrediction.Shape != prediction.Shape)
            throw new ArgumentException($"{Name}: dPrediction has shape {dPrediction.Shape} but the prediction is {prediction.Shape}.", nameof(dPrediction));
    }

    /// <summary>Keras' fuzz factor, 1e-7, used to clip probabilities.</summary>
    protected static readonly T Epsilon = T.CreateChecked(1e-7);

    /// <inheritdoc/>
    public override string ToString() => Name;
}
