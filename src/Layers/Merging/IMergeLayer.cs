using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>
/// A layer of several inputs, Keras' merge layers (<c>Add</c>, <c>Concatenate</c>, …): used inside a
/// functional graph (<c>Functional&lt;T&gt;</c>), where it joins branches. Shapes are batch-first, as for <see cref="ILayer{T}"/>.
/// </summary>
/// <remarks>
/// The contract is <see cref="ILayer{T}"/>'s with a list of inputs: <see cref="Forward"/> keeps what the backward
/// pass needs in workspaces the layer owns (a steady-state step allocates nothing), <see cref="Backward"/> returns one
/// gradient per input of the last forward call, in order, and every returned tensor belongs to the layer and is
/// overwritten by its next call.
/// </remarks>
public interface IMergeLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The layer's name, unique within a model, e.g. <c>add_1</c>.</summary>
    string Name { get; set; }

    /// <summary>The Keras type name used in saved models, e.g. <c>add</c> or <c>concatenate</c>.</summary>
    string TypeName { get; }

    /// <summary>The trainable parameters (none for Keras' merge layers).</summary>
    IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>Creates the parameters, if the layer has any, for inputs of these shapes (batch dimensions included,
    /// their sizes ignored), initialised from <paramref name="seed"/>; the graph calls it before the first forward pass.
    /// Calling it again with the same feature sizes does nothing.</summary>
    /// <exception cref="ArgumentException">The shapes cannot be merged, or differ from those the layer was built for.</exception>
    void Build(IReadOnlyList<TensorShape> inputShapes, int seed);

    /// <summary>The output shape for these input shapes, batch dimension included.</summary>
    /// <exception cref="ArgumentException">The shapes cannot be merged (too few inputs, or shapes that disagree); the
    /// message names the shapes.</exception>
    TensorShape ComputeOutputShape(IReadOnlyList<TensorShape> inputShapes);

    /// <summary>Merges the inputs.</summary>
    /// <param name="inputs">The inputs, each <c>[batch, ...]</c>.</param>
    /// <param name="training">True while training.</param>
    /// <returns>The output, owned by the layer.</returns>
    /// <exception cref="ArgumentException">The shapes cannot be merged; the message names them.</exception>
    Tensor<T> Forward(IReadOnlyList<Tensor<T>> inputs, bool training);

    /// <summary>Back-propagates <paramref name="dOutput"/> through the last forward call.</summary>
    /// <param name="dOutput">The gradient of the loss with respect to the last output; same shape.</param>
    /// <returns>The gradient with respect to each input of the last forward call, in order, owned by the layer.</returns>
    /// <exception cref="InvalidOperationException">No forward pass precedes it.</exception>
    /// <exception cref="ArgumentException">The shape differs from the last output's.</exception>
    IReadOnlyList<Tensor<T>> Backward(Tensor<T> dOutput);

    /// <summary>The options that recreate this layer (Keras' names, invariant-culture strings).</summary>
    IReadOnlyDictionary<string, string> GetConfig();
}
