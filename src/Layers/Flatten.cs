using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>Keras' <c>Flatten</c>: <c>[batch, d1, d2, …]</c> to <c>[batch, d1·d2·…]</c>, a view of the same data (no
/// copy), for feeding images such as <c>[N, 28, 28]</c> to a Dense layer.</summary>
public sealed class Flatten<T> : ReshapingLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string TypeName => "flatten";

    /// <inheritdoc/>
    public override TensorShape ComputeOutputShape(TensorShape inputShape)
    {
        if (inputShape.Rank < 2)
            throw new ArgumentException($"{Name} takes [batch, ...]; got {inputShape}.", nameof(inputShape));
        long f = Features(inputShape);
        if (f > int.MaxValue) throw new ArgumentException($"{Name}: a sample of {inputShape} has {f} values, more than a dimension can hold.", nameof(inputShape));
        return new TensorShape(inputShape[0], (int)f);
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() => new Dictionary<string, string>();
}
