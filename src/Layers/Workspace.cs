using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>
/// A reusable buffer that hands out a tensor of a requested shape. Storage grows to the largest request
/// and is never shrunk; the view for the last shape is cached, so repeating a shape allocates nothing and
/// alternating between a full and a partial last batch allocates only a small view object.
/// </summary>
public sealed class Workspace<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private Tensor<T>? _storage;
    private Tensor<T>? _view;

    /// <summary>A tensor of <paramref name="shape"/> backed by this workspace. Contents are unspecified unless <paramref name="clear"/>.</summary>
    public Tensor<T> Get(TensorShape shape, bool clear = false)
    {
        if (_view is null || _view.Shape != shape)
        {
            if (_storage is null || _storage.Length < shape.Length)
                _storage = new Tensor<T>(Math.Max(1, shape.Length));
            _view = _storage.Slice(0, shape.Length).Reshape(shape);
        }
        if (clear) _view.Clear();
        return _view;
    }

    /// <summary>A tensor with the given dimensions backed by this workspace.</summary>
    public Tensor<T> Get(int d0, int d1) => Get(new TensorShape(d0, d1));

    /// <summary>A tensor with the given dimensions backed by this workspace.</summary>
    public Tensor<T> Get(int d0, int d1, int d2) => Get(new TensorShape(d0, d1, d2));
}
