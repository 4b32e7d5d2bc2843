using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Training;

/// <summary>One-row views of a tensor seen as [rows, ·], made once per tensor (the model's batch buffers and output
/// workspace come back every step), so weighting a step or a metric row by row allocates nothing.</summary>
internal sealed class RowViews<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private Tensor<T>? _of, _flat;
    private Tensor<T>?[] _rows = [];

    public Tensor<T> Get(Tensor<T> t, int i, int rows)
    {
        if (!ReferenceEquals(t, _of) || _rows.Length != rows)
        {
            _of = t;
            _flat = rows == t.Shape[0] ? t : t.Reshape(rows, t.Length / rows);
            _rows = new Tensor<T>?[rows];
        }
        return _rows[i] ??= _flat!.Slice(i, 1);
    }
}
