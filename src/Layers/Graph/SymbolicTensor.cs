using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>
/// A placeholder for a tensor in a graph of layers, Keras' <c>KerasTensor</c>: it holds no data, only the per-sample
/// shape (without the batch axis) and the call that produces it. Start from an <see cref="Input{T}"/>, call layers on
/// it with <see cref="LayerCalls.Call{T}(ILayer{T}, SymbolicTensor{T})"/>, and turn the result into a model with
/// <see cref="Functional{T}"/> (or <c>Model.Create</c>).
/// </summary>
public class SymbolicTensor<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private protected SymbolicTensor(TensorShape shape)
    {
        Shape = shape;
        Sources = [];
    }

    internal SymbolicTensor(TensorShape shape, ILayer<T>? layer, IMergeLayer<T>? merge, SymbolicTensor<T>[] sources)
    {
        Shape = shape;
        Layer = layer;
        Merge = merge;
        Sources = sources;
    }

    /// <summary>The shape of one sample (no batch axis), e.g. <c>[28, 28, 1]</c>.</summary>
    public TensorShape Shape { get; }

    /// <summary>The single-input layer whose call produced this tensor, or null (an input or a merge).</summary>
    internal ILayer<T>? Layer { get; }

    /// <summary>The merge layer whose call produced this tensor, or null.</summary>
    internal IMergeLayer<T>? Merge { get; }

    /// <summary>The tensors the call took, in order (empty for an input).</summary>
    internal SymbolicTensor<T>[] Sources { get; }

    /// <summary>The name of the layer that produced it (for messages).</summary>
    internal virtual string Producer => Layer?.Name ?? Merge!.Name;

    /// <summary>The shape with a batch axis in front.</summary>
    internal TensorShape WithBatch(int batch) => Shape.Prepend(batch);

    /// <summary>The shape as Keras prints it, e.g. <c>(None, 28, 28, 1)</c>.</summary>
    public override string ToString() => $"<SymbolicTensor shape=(None, {string.Join(", ", Shape.ToArray())}) from {Producer}>";
}

/// <summary>The input of a graph of layers, Keras' <c>keras.Input(shape)</c>: a <see cref="SymbolicTensor{T}"/> for
/// samples of the given shape (without the batch axis).</summary>
public sealed class Input<T> : SymbolicTensor<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>An input for samples shaped <paramref name="shape"/>, e.g. <c>new Input&lt;float&gt;(28, 28, 1)</c>.</summary>
    /// <exception cref="ArgumentException">The shape is empty, has rank above <c>TensorShape.MaxRank − 1</c> (a batch
    /// of them must fit a tensor), or has a dimension below 1.</exception>
    public Input(params int[] shape) : base(Check(shape)) { }

    private static int s_counter;

    /// <summary>The name shown in summaries and messages: <c>input_layer</c>, then <c>input_layer_1</c>, … (as Keras
    /// names them), unless set.</summary>
    public string Name { get; init; } = Interlocked.Increment(ref s_counter) is var n && n == 1 ? "input_layer" : $"input_layer_{n - 1}";

    internal override string Producer => Name;

    private static TensorShape Check(int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Length is 0 || shape.Length >= TensorShape.MaxRank)
            throw new ArgumentException(
                $"An input's sample shape has 1 to {TensorShape.MaxRank - 1} axes (the batch axis makes it at most rank {TensorShape.MaxRank}); got [{string.Join(", ", shape)}].", nameof(shape));
        foreach (int d in shape)
            if (d < 1) throw new ArgumentException($"Every axis of an input's shape must be at least 1; got [{string.Join(", ", shape)}].", nameof(shape));
        return new TensorShape(shape);
    }
}

/// <summary>Calling layers on <see cref="SymbolicTensor{T}"/>s, Keras' <c>layer(x)</c>, to describe a graph.</summary>
public static class LayerCalls
{
    /// <summary>The symbolic output of <paramref name="layer"/> applied to <paramref name="input"/>, Keras'
    /// <c>layer(input)</c>. Nothing runs: the output's shape is computed, and the call is recorded for
    /// <see cref="Functional{T}"/>.</summary>
    /// <exception cref="ArgumentException">The layer cannot take inputs of that shape; the message names both.</exception>
    public static SymbolicTensor<T> Call<T>(this ILayer<T> layer, SymbolicTensor<T> input) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(input);
        TensorShape output;
        try
        {
            output = layer.ComputeOutputShape(input.WithBatch(1));
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{layer.Name} cannot be called on the output of {input.Producer}, shaped (None, {string.Join(", ", input.Shape.ToArray())}): {e.Message}", nameof(input), e);
        }
        return new SymbolicTensor<T>(output.DropFirst(), layer, null, [input]);
    }

    /// <summary>The symbolic output of the merge layer <paramref name="layer"/> applied to <paramref name="inputs"/>,
    /// Keras' <c>layer([a, b, …])</c>.</summary>
    /// <exception cref="ArgumentException">The inputs cannot be merged; the message names their shapes.</exception>
    public static SymbolicTensor<T> Call<T>(this IMergeLayer<T> layer, params SymbolicTensor<T>[] inputs) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(inputs);
        foreach (var i in inputs) ArgumentNullException.ThrowIfNull(i, nameof(inputs));
        TensorShape output;
        try
        {
            output = layer.ComputeOutputShape(inputs.Select(i => i.WithBatch(1)).ToArray());
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{layer.Name} cannot merge the outputs of {string.Join(", ", inputs.Select(i => $"{i.Producer} (None, {string.Join(", ", i.Shape.ToArray())})"))}: {e.Message}", nameof(inputs), e);
        }
        return new SymbolicTensor<T>(output.DropFirst(), null, layer, (SymbolicTensor<T>[])inputs.Clone());
    }
}
