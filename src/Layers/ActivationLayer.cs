using System.Numerics;
using Nn.Simd.Layers.Activations;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

// Shapes: any [batch, ..., features]; the activation is applied over rows of the last dimension.

/// <summary>
/// An activation used as a layer, Keras' <c>Activation("relu")</c> (and the <c>ReLU</c>, <c>Softmax</c>, …
/// layers): <c>y = f(x)</c> with no parameters.
/// </summary>
public sealed class ActivationLayer<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Workspace<T> _y = new(), _dx = new();
    private Tensor<T>? _x, _lastY;

    /// <summary>Creates the layer from an activation name (see <see cref="Activations.Activations.Names"/>).</summary>
    /// <exception cref="ArgumentException">The name is unknown.</exception>
    public ActivationLayer(string activation) : this(Activations.Activations.Get<T>(activation)) { }

    /// <summary>Creates the layer from an activation object (e.g. a custom one).</summary>
    public ActivationLayer(Activation<T> activation)
    {
        ArgumentNullException.ThrowIfNull(activation);
        Activation = activation;
    }

    /// <inheritdoc/>
    public override string TypeName => "activation";

    /// <summary>The activation applied.</summary>
    public Activation<T> Activation { get; }

    /// <inheritdoc/>
    protected override void BuildCore(TensorShape inputShape, Random rng) { }

    /// <inheritdoc/>
    protected override void CheckFeatures(TensorShape inputShape, string paramName) { }

    /// <inheritdoc/>
    public override TensorShape ComputeOutputShape(TensorShape inputShape) => inputShape;

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        EnsureBuilt(input);
        var y = _y.Get(input.Shape);
        Activation.Forward(input.ReadOnlySpan, y.Span, input.Shape.Columns);
        _x = input;
        _lastY = y;
        return y;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_lastY, dOutput, Name);
        var dx = _dx.Get(dOutput.Shape);
        Activation.Backward(_x!.ReadOnlySpan, _lastY!.ReadOnlySpan, dOutput.ReadOnlySpan, dx.Span, dOutput.Shape.Columns);
        return dx;
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() => new Dictionary<string, string>
    {
        ["activation"] = Activation.Name,
    };
}
