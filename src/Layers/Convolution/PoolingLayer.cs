using System.Numerics;
using Nn.Simd.Tensors;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Layers;

/// <summary>
/// The shared machinery of the pooling layers (<see cref="MaxPooling2D{T}"/>, <see cref="AveragePooling1D{T}"/>,
/// <see cref="GlobalMaxPooling1D{T}"/>, …): on channels-last inputs, every output channel is the maximum or the mean
/// of one channel over a window of cells of one sample. The subclasses say where the windows lie.
/// </summary>
/// <remarks>The samples are pooled independently, blocks of them on the worker threads; nothing is allocated once the
/// batch shape repeats. Max pooling routes each gradient to the first maximum of its window (TensorFlow's tie rule);
/// average pooling spreads it evenly over the window's cells inside the input.</remarks>
public abstract class PoolingLayer<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Workspace<T> _wY = new(), _wDx = new();
    private readonly SampleLoop _samples;
    private Tensor<T>? _input, _lastY, _dOutput, _dx;
    private PoolWindow _g;

    /// <summary>Sets up the per-sample loop.</summary>
    private protected PoolingLayer() => _samples = new SampleLoop((n, backward) =>
    {
        int inLen = _g.H * _g.W * _g.C, outLen = _g.Ho * _g.Wo * _g.C;
        var x = _input!.ReadOnlySpan.Slice(n * inLen, inLen);
        var y = _lastY!.ReadOnlySpan.Slice(n * outLen, outLen);
        if (!backward)
        {
            var dst = _lastY.Span.Slice(n * outLen, outLen);
            if (TakesMax) Pooling.MaxForward(_g, x, dst);
            else Pooling.AverageForward(_g, x, dst);
            return;
        }
        var dy = _dOutput!.ReadOnlySpan.Slice(n * outLen, outLen);
        var dx = _dx!.Span.Slice(n * inLen, inLen);
        if (TakesMax) Pooling.MaxBackward(_g, x, y, dy, dx);
        else Pooling.AverageBackward(_g, dy, dx);
    });

    /// <summary>True for the maximum, false for the mean.</summary>
    private protected abstract bool TakesMax { get; }

    /// <summary>1 for sequences <c>[batch, steps, channels]</c>, 2 for images <c>[batch, height, width, channels]</c>.</summary>
    private protected abstract int SpatialRank { get; }

    /// <summary>The windows over one sample of <paramref name="input"/> (whose rank is checked).</summary>
    /// <exception cref="ArgumentException">No window fits; the message names the input shape.</exception>
    private protected abstract PoolWindow Windows(TensorShape input);

    /// <summary>The output shape for <paramref name="input"/> pooled by <paramref name="g"/>.</summary>
    private protected abstract TensorShape OutputShape(TensorShape input, in PoolWindow g);

    /// <summary>The input as an image [B, H, W, C]: a sequence [B, T, C] is one pixel high.</summary>
    private protected (int B, int H, int W, int C) Image(TensorShape s)
    {
        if (s.Rank != SpatialRank + 2)
            throw new ArgumentException(SpatialRank == 2
                ? $"{Name} takes channels-last images [batch, height, width, channels]; got {s}."
                : $"{Name} takes sequences [batch, steps, channels]; got {s}.", "input");
        return SpatialRank == 2 ? (s[0], s[1], s[2], s[3]) : (s[0], 1, s[1], s[2]);
    }

    /// <inheritdoc/>
    protected override void BuildCore(TensorShape inputShape, Random rng) => ComputeOutputShape(inputShape);

    /// <inheritdoc/>
    protected override void CheckFeatures(TensorShape inputShape, string paramName)
    {
        base.CheckFeatures(inputShape, paramName);
        ComputeOutputShape(inputShape);
    }

    /// <inheritdoc/>
    public override TensorShape ComputeOutputShape(TensorShape inputShape) => OutputShape(inputShape, Windows(inputShape));

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        EnsureBuilt(input);
        _g = Windows(input.Shape);
        _input = input;
        _lastY = _wY.Get(OutputShape(input.Shape, _g));
        _samples.Run(input.Shape[0], input.Length, backward: false);
        return _lastY;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_lastY, dOutput, Name);
        _dOutput = dOutput;
        _dx = _wDx.Get(_input!.Shape);
        _samples.Run(_input.Shape[0], _input.Length, backward: true);
        _dOutput = null;
        return _dx;
    }
}
