using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>
/// A layer whose output is its input under another shape with the same values per sample (<see cref="Flatten{T}"/>,
/// <see cref="Reshape{T}"/>): a view of the same data, no copy; the input gradient is dOutput viewed with the input's
/// shape.
/// </summary>
public abstract class ReshapingLayer<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    // The views are kept while the same tensor comes back (a model's batch buffers), so steady steps allocate nothing.
    private readonly ViewCache<T> _output = new(), _dx = new();

    private protected ReshapingLayer() { }

    /// <inheritdoc/>
    protected override void BuildCore(TensorShape inputShape, Random rng) => ComputeOutputShape(inputShape);

    /// <inheritdoc/>
    protected override void CheckFeatures(TensorShape inputShape, string paramName)
    {
        if (BuiltInputShape is { } b && Features(b) != Features(inputShape))
            throw new ArgumentException($"{Name} was built for samples of {Features(b)} values ({b}) but got {inputShape}.", paramName);
    }

    /// <summary>The values per sample: the product of every dimension after the batch.</summary>
    private protected static long Features(TensorShape s)
    {
        long n = 1;
        for (int i = 1; i < s.Rank; i++) n *= s[i];
        return n;
    }

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        EnsureBuilt(input);
        return _output.Get(input, ComputeOutputShape(input.Shape));
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_output.View, dOutput, Name);
        return _dx.Get(dOutput, _output.Source!.Shape);
    }
}
