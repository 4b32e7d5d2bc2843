using System.Numerics;
using Nn.Simd.Tensors;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Layers;

/// <summary>
/// Pooling over every axis between the batch and the channels (Keras' <c>BaseGlobalPooling</c>, channels last):
/// <c>[batch, …, channels]</c> to <c>[batch, channels]</c>, one window covering the whole sample. The usual head after
/// convolutions.
/// </summary>
public abstract class GlobalPooling<T> : PoolingLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private protected GlobalPooling() { }

    private protected override PoolWindow Windows(TensorShape input)
    {
        var (_, h, w, c) = Image(input);
        if (h == 0 || w == 0)
            throw new ArgumentException($"{Name}: {input} has no positions to pool.", "input");
        return new PoolWindow(h, w, c, 1, 1, h, w, h, w, 0, 0);
    }

    private protected override TensorShape OutputShape(TensorShape input, in PoolWindow g) => new(input[0], g.C);

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() => new Dictionary<string, string>();
}

/// <summary>The mean over every position per channel: y[n, c] = (1/m)·Σ x[n, …, c] over the m positions of a sample
/// (Keras' <c>GlobalAveragePooling1D</c>/<c>2D</c>).</summary>
public abstract class GlobalAveragePooling<T> : GlobalPooling<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private protected GlobalAveragePooling() { }

    private protected override bool TakesMax => false;
}

/// <summary>The maximum over every position per channel: y[n, c] = max x[n, …, c] (Keras' <c>GlobalMaxPooling1D</c>/<c>2D</c>,
/// PyTorch's <c>adaptive_max_pool</c> to size 1). The gradient goes to the first maximum in memory order.</summary>
public abstract class GlobalMaxPooling<T> : GlobalPooling<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private protected GlobalMaxPooling() { }

    private protected override bool TakesMax => true;
}

/// <summary>Keras' <c>GlobalAveragePooling1D</c>: <c>[batch, steps, channels]</c> to <c>[batch, channels]</c>.</summary>
public sealed class GlobalAveragePooling1D<T> : GlobalAveragePooling<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string TypeName => "global_average_pooling1d";

    private protected override int SpatialRank => 1;
}

/// <summary>Keras' <c>GlobalAveragePooling2D</c>: <c>[batch, height, width, channels]</c> to <c>[batch, channels]</c>.</summary>
public sealed class GlobalAveragePooling2D<T> : GlobalAveragePooling<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string TypeName => "global_average_pooling2d";

    private protected override int SpatialRank => 2;
}

/// <summary>Keras' <c>GlobalMaxPooling1D</c>: <c>[batch, steps, channels]</c> to <c>[batch, channels]</c>.</summary>
public sealed class GlobalMaxPooling1D<T> : GlobalMaxPooling<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string TypeName => "global_max_pooling1d";

    private protected override int SpatialRank => 1;
}

/// <summary>Keras' <c>GlobalMaxPooling2D</c>: <c>[batch, height, width, channels]</c> to <c>[batch, channels]</c>.</summary>
public sealed class GlobalMaxPooling2D<T> : GlobalMaxPooling<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string TypeName => "global_max_pooling2d";

    private protected override int SpatialRank => 2;
}
