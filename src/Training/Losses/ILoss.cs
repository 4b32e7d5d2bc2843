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
}
