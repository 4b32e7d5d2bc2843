using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>
/// Keras' <c>Permute</c>: reorders the axes after the batch, y[b, i₁, …, i_k] = x[b, j₁, …, j_k] with j_{dims[m]} = i_m,
/// so output axis m is input axis <c>dims[m]</c>. The dims are 1-based and exclude the batch, as in Keras:
/// <c>Permute(2, 1)</c> turns <c>[batch, steps, features]</c> into <c>[batch, features, steps]</c>. Backward applies the
/// inverse permutation to dOutput.
/// </summary>
/// <remarks>PyTorch's <c>permute</c> counts from 0 and includes the batch: Keras' <c>Permute(2, 1)</c> is
/// <c>x.permute(0, 2, 1)</c>.</remarks>
public sealed class Permute<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int[] _dims;
    private readonly Workspace<T> _wY = new(), _wDx = new();
    private Tensor<T>? _input, _lastY;

    /// <summary>Creates the layer.</summary>
    /// <param name="dims">A permutation of 1 … k, k the number of axes after the batch (1 to 3).</param>
    /// <exception cref="ArgumentNullException"><paramref name="dims"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="dims"/> is not a permutation of 1 … k for k from 1 to 3.</exception>
    public Permute(params int[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        if (dims.Length is < 1 or >= TensorShape.MaxRank || !dims.Order().SequenceEqual(Enumerable.Range(1, dims.Length)))
            throw new ArgumentException(
                $"dims must be a permutation of 1 … k (1-based, the batch excluded; k at most {TensorShape.MaxRank - 1}); got ({string.Join(", ", dims)}).", nameof(dims));
        _dims = (int[])dims.Clone();
    }

    /// <inheritdoc/>
    public override string TypeName => "permute";

    /// <summary>The permutation, 1-based, batch excluded.</summary>
    public IReadOnlyList<int> Dims => _dims;

    /// <inheritdoc/>
    protected override void BuildCore(TensorShape inputShape, Random rng) => ComputeOutputShape(inputShape);

    /// <inheritdoc/>
    public override TensorShape ComputeOutputShape(TensorShape inputShape)
    {
        if (inputShape.Rank != _dims.Length + 1)
            throw new ArgumentException(
                $"{Name} permutes {_dims.Length} axes after the batch, dims ({string.Join(", ", _dims)}), so it takes inputs of rank {_dims.Length + 1}; got {inputShape}.", "input");
        Span<int> o = stackalloc int[inputShape.Rank];
        o[0] = inputShape[0];
        for (int m = 0; m < _dims.Length; m++) o[m + 1] = inputShape[_dims[m]];
        return new TensorShape(o);
    }

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        EnsureBuilt(input);
        _input = input;
        _lastY = _wY.Get(ComputeOutputShape(input.Shape));
        Move(input.Shape, input.ReadOnlySpan, _lastY.Span, backward: false);
        return _lastY;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_lastY, dOutput, Name);
        var dx = _wDx.Get(_input!.Shape);
        Move(_input.Shape, dOutput.ReadOnlySpan, dx.Span, backward: true);
        return dx;
    }

    /// <summary>Walks the output in order, each output cell reading (forward) or writing back (backward) the input cell
    /// it comes from. Sample axes beyond the rank are taken as size 1.</summary>
    private void Move(TensorShape inputShape, ReadOnlySpan<T> src, Span<T> dst, bool backward)
    {
        Span<int> size = [1, 1, 1], stride = [0, 0, 0], outSize = [1, 1, 1], outStride = [0, 0, 0];
        int k = _dims.Length;
        for (int a = 0; a < k; a++) size[a] = inputShape[a + 1];
        for (int a = k - 1, s = 1; a >= 0; a--) { stride[a] = s; s *= size[a]; }
        for (int m = 0; m < k; m++) (outSize[m], outStride[m]) = (size[_dims[m] - 1], stride[_dims[m] - 1]);
        int sample = inputShape.Length / Math.Max(1, inputShape[0]);
        for (int n = 0, o = 0; n < inputShape[0]; n++)
        {
            int baseAt = n * sample;
            for (int i0 = 0; i0 < outSize[0]; i0++)
                for (int i1 = 0; i1 < outSize[1]; i1++)
                {
                    int at = baseAt + i0 * outStride[0] + i1 * outStride[1];
                    if (backward) for (int i2 = 0; i2 < outSize[2]; i2++, o++) dst[at + i2 * outStride[2]] = src[o];
                    else for (int i2 = 0; i2 < outSize[2]; i2++, o++) dst[o] = src[at + i2 * outStride[2]];
                }
        }
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() => new Dictionary<string, string>
    {
        ["dims"] = string.Join(",", _dims),
    };
}
