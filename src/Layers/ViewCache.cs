using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>A reshaped view of a tensor, kept while the same tensor comes back with the same target shape (a model's
/// batch buffers do), so that a layer that only re-views its data allocates nothing in steady steps.</summary>
internal sealed class ViewCache<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private Tensor<T>? _source, _view;

    /// <summary>The tensor last viewed, or null.</summary>
    public Tensor<T>? Source => _source;

    /// <summary>The view last returned, or null.</summary>
    public Tensor<T>? View => _view;

    /// <summary><paramref name="source"/> viewed as <paramref name="shape"/> (same values, no copy).</summary>
    public Tensor<T> Get(Tensor<T> source, TensorShape shape)
    {
        if (!ReferenceEquals(source, _source) || _view!.Shape != shape)
        {
            _source = source;
            _view = source.Reshape(shape);
        }
        return _view;
    }
}
