using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>
/// The mean over every axis between the batch and the channels: <c>[batch, …, channels]</c> to <c>[batch, channels]</c>
/// (Keras' <c>GlobalAveragePooling1D</c>/<c>2D</c>, channels last). The usual head after convolutions.
/// </summary>
public abstract class GlobalAveragePooling<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Workspace<T> _wY = new(), _wDx = new();
    private Tensor<T>? _input, _lastY;

    /// <summary>The input rank: 3 for sequences, 4 for images.</summary>
    private protected abstract int InputRank { get; }

    /// <inheritdoc/>
    protected override void BuildCore(TensorShape inputShape, Random rng) => ComputeOutputShape(inputShape);

    /// <inheritdoc/>
    protected override void CheckFeatures(TensorShape inputShape, string paramName)
    {
        base.CheckFeatures(inputShape, paramName);
        ComputeOutputShape(inputShape);
    }

    /// <inheritdoc/>
    public override TensorShape ComputeOutputShape(TensorShape inputShape)
    {
        if (inputShape.Rank != InputRank)
            throw new ArgumentException(InputRank == 3
                ? $"{Name} takes sequences [batch, steps, channels]; got {inputShape}."
                : $"{Name} takes channels-last images [batch, height, width, channels]; got {inputShape}.", "input");
        return new TensorShape(inputShape[0], inputShape[-1]);
    }

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        EnsureBuilt(input);
        int b = input.Shape[0], c = input.Shape[-1], cells = input.Length / Math.Max(1, b * c);
        var y = _wY.Get(ComputeOutputShape(input.Shape));
        var ys = y.Span;
        var x = input.ReadOnlySpan;
        T inv = T.One / T.CreateChecked(Math.Max(1, cells));
        for (int n = 0; n < b; n++)
        {
            var dst = ys.Slice(n * c, c);
            dst.Clear();
            for (int k = 0; k < cells; k++) TensorPrimitives.Add(dst, x.Slice((n * cells + k) * c, c), dst);
            TensorPrimitives.Multiply(dst, inv, dst);
        }
        _input = input;
        _lastY = y;
        return y;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_lastY, dOutput, Name);
        var input = _input!;
        int b = input.Shape[0], c = input.Shape[-1], cells = input.Length / Math.Max(1, b * c);
        var dx = _wDx.Get(input.Shape);
        var dxs = dx.Span;
        var dy = dOutput.ReadOnlySpan;
        T inv = T.One / T.CreateChecked(Math.Max(1, cells));
        for (int n = 0; n < b; n++)
        {
            var first = dxs.Slice(n * cells * c, c);
            TensorPrimitives.Multiply(dy.Slice(n * c, c), inv, first);
            for (int k = 1; k < cells; k++) first.CopyTo(dxs.Slice((n * cells + k) * c, c));
        }
        return dx;
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() => new Dictionary<string, string>();
}

/// <summary>Keras' <c>GlobalAveragePooling1D</c>: <c>[batch, steps, channels]</c> to <c>[batch, channels]</c>.</summary>
public sealed class GlobalAveragePooling1D<T> : GlobalAveragePooling<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string TypeName => "global_average_pooling1d";

    private protected override int InputRank => 3;
}

/// <summary>Keras' <c>GlobalAveragePooling2D</c>: <c>[batch, height, width, channels]</c> to <c>[batch, channels]</c>.</summary>
public sealed class GlobalAveragePooling2D<T> : GlobalAveragePooling<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string TypeName => "global_average_pooling2d";

    private protected override int InputRank => 4;
}
