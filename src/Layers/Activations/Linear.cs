using System.Numerics;

namespace Nn.Simd.Layers.Activations;

/// <summary>The identity, <c>x</c> (Keras' <c>linear</c>, the default for Dense).</summary>
public sealed class Linear<T> : Activation<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Name => "linear";

    /// <inheritdoc/>
    public override bool BackwardNeedsOnlyOutput => true;

    /// <inheritdoc/>
    public override void Forward(ReadOnlySpan<T> x, Span<T> y, int features)
    {
        if (!x.Overlaps(y)) x.CopyTo(y);
        else if (!System.Runtime.CompilerServices.Unsafe.AreSame(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x), ref System.Runtime.InteropServices.MemoryMarshal.GetReference(y)))
            x.CopyTo(y);
    }

    /// <inheritdoc/>
    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int features)
    {
        if (!System.Runtime.CompilerServices.Unsafe.AreSame(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(dy), ref System.Runtime.InteropServices.MemoryMarshal.GetReference(dx)))
            dy.CopyTo(dx);
    }
}
