using static TorchSharp.torch;

namespace Nn.Simd.Reference;

/// <summary>Losses with Keras' exact numerics, in torch.</summary>
public static class ReferenceLosses
{
    /// <summary>
    /// Keras' sparse categorical cross-entropy on probabilities: renormalise each row, clip to
    /// [1e-7, 1 − 1e-7], take <c>−log p[label]</c>, average over the batch.
    /// </summary>
    /// <param name="probabilities">[B, C].</param>
    /// <param name="labels">[B], int64 class indices.</param>
    public static Tensor SparseCategoricalCrossEntropy(Tensor probabilities, Tensor labels)
    {
        var p = probabilities / probabilities.sum(-1, keepdim: true);
        p = p.clamp(1e-7, 1 - 1e-7);
        return -p.log().gather(1, labels.unsqueeze(1)).mean();
    }

    /// <summary>Mean squared error over all elements.</summary>
    public static Tensor MeanSquaredError(Tensor prediction, Tensor target) => (prediction - target).square().mean();
}
