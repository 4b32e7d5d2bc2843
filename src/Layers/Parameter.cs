using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>A trainable tensor and its gradient, both of one shape, owned by a layer.</summary>
/// <remarks><see cref="ILayer{T}.Backward"/> adds into <see cref="Grad"/>; the model clears it once per step.</remarks>
public sealed class Parameter<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates a parameter with a zero gradient of the value's shape.</summary>
    /// <param name="name">The name, e.g. <c>kernel</c>, <c>recurrent_kernel</c> or <c>bias</c>.</param>
    /// <param name="value">The value tensor.</param>
    public Parameter(string name, Tensor<T> value) : this(name, value, isBuffer: false) { }

    /// <summary>Creates a parameter, or with <paramref name="isBuffer"/> a buffer: state saved with the weights
    /// that no optimizer trains (PyTorch's buffers, Keras' non-trainable weights such as BatchNormalization's
    /// moving statistics). A buffer's <see cref="Trainable"/> is always false and its gradient stays zero.</summary>
    /// <param name="name">The name.</param>
    /// <param name="value">The value tensor.</param>
    /// <param name="isBuffer">Whether it is a buffer.</param>
    public Parameter(string name, Tensor<T> value, bool isBuffer)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(value);
        Name = name;
        Value = value;
        Grad = new Tensor<T>(value.Shape);
        IsBuffer = isBuffer;
        _trainable = !isBuffer;
    }

    private bool _trainable;

    /// <summary>A weight penalty the model adds to the loss (and its gradient to <see cref="Grad"/>) while this
    /// parameter is trainable; null for none. Layers set it from their <c>KernelRegularizer</c> and similar options.</summary>
    public Regularizers.Regularizer? Regularizer { get; set; }

    /// <summary>A projection the optimizer applies to <see cref="Value"/> right after each step (Keras' variable
    /// <c>constraint</c>); null for none. Layers set it from their <c>KernelConstraint</c> and similar options.</summary>
    public Constraints.Constraint? Constraint { get; set; }

    /// <summary>Whether this is a buffer (layer state such as moving statistics), never trained.</summary>
    public bool IsBuffer { get; }

    /// <summary>The parameter's name within its layer.</summary>
    public string Name { get; }

    /// <summary>The current value.</summary>
    public Tensor<T> Value { get; }

    /// <summary>The accumulated gradient of the loss with respect to <see cref="Value"/>.</summary>
    public Tensor<T> Grad { get; }

    /// <summary>Incremented by whoever changes <see cref="Value"/> in place (an optimizer step, a weight load),
    /// so layers can tell when cached copies such as packed weights are stale.</summary>
    public int Version { get; private set; }

    /// <summary>Whether the optimizer updates this parameter (PyTorch's <c>requires_grad</c>, Keras' per-layer
    /// <c>trainable</c>; see <see cref="Layer{T}.Trainable"/>). The built-in layers skip a frozen parameter's gradient
    /// (its <see cref="Grad"/> stays zero, and the GEMM that would form it is not run) while still passing gradients
    /// to the layers below; the model's optimizer step, clipping, penalties and trainable count leave it out.
    /// Default: true.</summary>
    /// <exception cref="InvalidOperationException">Set to true on a buffer.</exception>
    public bool Trainable
    {
        get => _trainable;
        set
        {
            if (value && IsBuffer) throw new InvalidOperationException($"'{Name}' is a buffer (layer state, not a weight); it cannot be made trainable.");
            _trainable = value;
        }
    }

    /// <summary>Marks <see cref="Value"/> as changed.</summary>
    public void MarkChanged() => Version++;

    /// <inheritdoc/>
    public override string ToString() => Trainable ? $"{Name} {Value.Shape}" : $"{Name} {Value.Shape} (frozen)";
}
