using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>
/// A layer with an explicit backward pass. Shapes are batch-first: <c>[batch, features]</c> or
/// <c>[batch, time, features]</c>.
/// </summary>
/// <remarks>
/// The contract:
/// <list type="bullet">
/// <item><see cref="Forward"/> stores what the backward pass needs in workspaces the layer owns. These are
/// allocated once for a given input shape and reused, so a steady-state step allocates nothing.</item>
/// <item><see cref="Backward"/> reads only those caches and its argument, <em>adds</em> into each
/// parameter's <see cref="Parameter{T}.Grad"/>, and returns the gradient with respect to the input of the
/// last <see cref="Forward"/> call.</item>
/// <item>The returned tensors belong to the layer and are overwritten by its next call.</item>
/// </list>
/// </remarks>
public interface ILayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The layer's name, unique within a model, e.g. <c>dense_1</c>.</summary>
    string Name { get; set; }

    /// <summary>Whether <see cref="Build"/> has created the parameters.</summary>
    bool IsBuilt { get; }

    /// <summary>Creates the parameters for inputs of this shape (the batch dimension is ignored) and
    /// initialises them from <paramref name="seed"/>. Calling it again with the same feature shape does nothing.</summary>
    /// <param name="inputShape">A sample input shape, including a batch dimension of any size.</param>
    /// <param name="seed">The seed for the initializers.</param>
    /// <exception cref="ArgumentException">The shape's rank or feature size does not fit the layer.</exception>
    void Build(TensorShape inputShape, int seed);

    /// <summary>The output shape for an input shape, batch dimension included.</summary>
    /// <exception cref="ArgumentException">The shape does not fit the layer.</exception>
    TensorShape ComputeOutputShape(TensorShape inputShape);

    /// <summary>The trainable parameters, in a fixed order (Keras' order for the same layer).</summary>
    IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>Runs the layer forward.</summary>
    /// <param name="input">The input, e.g. <c>[batch, features]</c> or <c>[batch, time, features]</c>.</param>
    /// <param name="training">True while training (dropout active, caches kept for backward).</param>
    /// <returns>The output, owned by the layer.</returns>
    /// <exception cref="ArgumentException">The input shape does not fit the layer; the message names both shapes.</exception>
    Tensor<T> Forward(Tensor<T> input, bool training);

    /// <summary>Back-propagates <paramref name="dOutput"/> through the last forward call.</summary>
    /// <param name="dOutput">The gradient of the loss with respect to the last output; same shape.</param>
    /// <returns>The gradient with respect to the last input, owned by the layer.</returns>
    /// <exception cref="InvalidOperationException">No forward pass precedes it (the recurrent layers also need
    /// that pass to have been a training pass).</exception>
    /// <exception cref="ArgumentException">The shape differs from the last output's.</exception>
    Tensor<T> Backward(Tensor<T> dOutput);

    /// <summary>The options that recreate this layer (type-specific), used by save/load and <c>Summary()</c>.
    /// Keys are Keras' option names, values are invariant-culture strings.</summary>
    IReadOnlyDictionary<string, string> GetConfig();
}

/// <summary>A layer that can skip the gradient with respect to its input: when it is a model's first layer, that
/// gradient is of the data and nothing uses it, so <c>Sequential</c> turns it off and the product that forms it is
/// not computed (as autograd does not differentiate a tensor that does not require grad).</summary>
public interface IInputGradientOptional
{
    /// <summary>Whether <c>Backward</c> forms the input gradient; when false it returns zeros of the input's shape.</summary>
    bool ComputeInputGradient { get; set; }
}
