using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Training.Losses;

/// <summary>
/// A loss: a scalar from predictions and targets, reduced as Keras' <c>sum_over_batch_size</c> (the mean
/// over samples), and its gradient with respect to the predictions.
/// </summary>
public interface ILoss<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The Keras name, e.g. <c>categorical_crossentropy</c>.</summary>
    string Name { get; }

    /// <summary>The loss value.</summary>
    /// <param name="prediction">The model output, e.g. <c>[batch, classes]</c>.</param>
    /// <param name="target">The targets; shape depends on the loss (sparse losses take <c>[batch]</c> class indices).</param>
    /// <exception cref="ArgumentException">The shapes do not fit; the message names both.</exception>
    T Compute(Tensor<T> prediction, Tensor<T> target);

    /// <summary>Writes <c>∂loss/∂prediction</c> into <paramref name="dPrediction"/> (overwrites it).</summary>
    /// <exception cref="ArgumentException">The shapes do not fit; the message names them.</exception>
    void Gradient(Tensor<T> prediction, Tensor<T> target, Tensor<T> dPrediction);

    /// <summary>Computes the value and writes the gradient; losses that share work between the two (e.g. a
    /// fused softmax cross-entropy) override it to make one pass.</summary>
    /// <exception cref="ArgumentException">The shapes do not fit; the message names them.</exception>
    T ComputeWithGradient(Tensor<T> prediction, Tensor<T> target, Tensor<T> dPrediction)
    {
        Gradient(prediction, target, dPrediction);
        return Compute(prediction, target);
    }

    /// <summary>Checks, before training, that <paramref name="target"/> fits predictions of
    /// <paramref name="predictionShape"/> and holds valid values (e.g. class indices in range).</summary>
    /// <param name="predictionShape">The model's output shape for all samples.</param>
    /// <param name="target">All targets.</param>
    /// <exception cref="ArgumentException">The shape or a value is wrong; the message names the shapes, or the value and its index.</exception>
    void ValidateTargets(TensorShape predictionShape, Tensor<T> target) { }
}
