using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>
/// The per-image random augmentation layers (<see cref="RandomFlip{T}"/>, the affine <see cref="RandomAffineLayer{T}"/>
/// ones, the intensity <see cref="RandomIntensityLayer{T}"/> ones) on <c>[batch, height, width, channels]</c> (channels
/// last), output shaped as the input: while training, d = <see cref="NoiseLayer{T}.NextNoise"/> of shape
/// <c>[batch, k]</c> (k = <see cref="DrawsPerSample"/>) and y = f(x; d) (<see cref="Augment"/>); at inference y = x, the
/// input itself. Backward: dx = dy after an inference pass, else dx = f′(x; d)ᵀ·dy (<see cref="AugmentBackward"/>) with
/// the draws of the last training pass.
/// </summary>
/// <remarks>
/// This class owns only the skeleton the layers share (the rank-4 shape check, the inference identity and the
/// pass-through backward after it); how each layer draws is its <see cref="NoiseLayer{T}"/> <c>Draw</c>, so draws,
/// seeding, <see cref="NoiseLayer{T}.FreezeMask"/> and saved generator state behave as in the other noise layers.
/// <see cref="RandomCrop{T}"/> changes the shape and resizes at inference, so it does not derive from this.
/// </remarks>
public abstract class RandomImageLayer<T> : NoiseLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Workspace<T> _wY = new(), _wDx = new();
    private Tensor<T>? _lastOutput;
    private bool _lastWasIdentity;

    private protected RandomImageLayer(int? seed) : base(seed) { }

    /// <summary>How many values are drawn per sample (the second axis of the draws).</summary>
    private protected virtual int DrawsPerSample => 1;

    private protected sealed override bool IsOff => false;

    /// <summary>Writes y = f(x; d) for a training pass: <paramref name="x"/> and <paramref name="y"/> are
    /// <paramref name="shape"/>, <paramref name="draws"/> is <c>[batch, </c><see cref="DrawsPerSample"/><c>]</c>.</summary>
    private protected abstract void Augment(ReadOnlySpan<T> x, Span<T> y, TensorShape shape, ReadOnlySpan<T> draws);

    /// <summary>Writes dx = f′(x; d)ᵀ·dy, the adjoint of the last <see cref="Augment"/> with the same
    /// <paramref name="draws"/>, into <paramref name="dx"/> (its contents on entry are unspecified).</summary>
    private protected abstract void AugmentBackward(ReadOnlySpan<T> dy, Span<T> dx, TensorShape shape, ReadOnlySpan<T> draws);

    /// <inheritdoc/>
    public override TensorShape ComputeOutputShape(TensorShape inputShape)
    {
        if (inputShape.Rank != 4)
            throw new ArgumentException($"{Name} takes [batch, height, width, channels]; got {inputShape}.", "input");
        return inputShape;
    }

    /// <inheritdoc/>
    /// <remarks>At inference the input itself is returned, as in Keras.</remarks>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        EnsureBuilt(input);
        if (!training)
        {
            _lastWasIdentity = true;
            _lastOutput = input;
            return input;
        }
        _lastWasIdentity = false;
        var s = input.Shape;
        var draws = NextNoise(new TensorShape(s[0], DrawsPerSample));
        var y = _wY.Get(s);
        Augment(input.ReadOnlySpan, y.Span, s, draws.ReadOnlySpan);
        _lastOutput = y;
        return y;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_lastOutput, dOutput, Name);
        var dx = _wDx.Get(dOutput.Shape);
        if (_lastWasIdentity) dOutput.ReadOnlySpan.CopyTo(dx.Span);
        else AugmentBackward(dOutput.ReadOnlySpan, dx.Span, dOutput.Shape, LastNoise!.ReadOnlySpan);
        return dx;
    }
}
