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
    private protected SymbolicTensor(TensorShape shape, TensorShape probe)
    {
        Shape = shape;
        Probe = probe;
        Sources = [];
    }

    internal SymbolicTensor(TensorShape shape, TensorShape probe, ILayer<T>? layer, IMergeLayer<T>? merge, SymbolicTensor<T>[] sources)
    {
        Shape = shape;
        Probe = probe;
        Layer = layer;
        Merge = merge;
        Sources = sources;
    }

    /// <summary>The shape of one sample (no batch axis), e.g. <c>[28, 28, 1]</c>. An axis that varies with an input's
    /// <c>None</c> axis holds its size at the reference length <see cref="Input{T}.ReferenceLength"/> here; see
    /// <see cref="Dimensions"/> for the shape with <c>None</c> marked.</summary>
    public TensorShape Shape { get; }

    /// <summary>The same shape inferred at a second length of the inputs' <c>None</c> axes
    /// (<see cref="Input{T}.ProbeLength"/>): an axis where it differs from <see cref="Shape"/> varies with them.</summary>
    internal TensorShape Probe { get; }

    /// <summary>The sample shape as Keras reports it: each axis's size, or <see cref="Input{T}.None"/> (−1) for an axis
    /// that varies with an input's <c>None</c> axis, e.g. <c>[-1, 16]</c> for an LSTM's sequence output on
    /// <c>Input(None, 5)</c>.</summary>
    public IReadOnlyList<int> Dimensions => Input<T>.Mark(Shape, Probe);

    /// <summary>Whether some axis varies with an input's <c>None</c> axis.</summary>
    public bool HasNone => Shape != Probe;

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

    /// <summary>The sample shape as Keras prints it after the batch axis, e.g. <c>None, 28, 28, 1</c>.</summary>
    internal string ShapeText => Input<T>.Format(Shape, Probe);

    /// <summary>The shape as Keras prints it, e.g. <c>(None, 28, 28, 1)</c> or <c>(None, None, 5)</c>.</summary>
    public override string ToString() => $"<SymbolicTensor shape=(None, {ShapeText}) from {Producer}>";
}

/// <summary>The input of a graph of layers, Keras' <c>keras.Input(shape)</c>: a <see cref="SymbolicTensor{T}"/> for
/// samples of the given shape (without the batch axis). An axis given as <see cref="None"/> takes any size, Keras'
/// <c>keras.Input(shape=(None, 5))</c>: a model of the graph trains on 60-step windows and predicts on 200-step sequences.</summary>
/// <remarks>Shapes are inferred at two lengths of the <c>None</c> axes, <see cref="ReferenceLength"/> and
/// <see cref="ProbeLength"/>: an axis whose size differs between them is <c>None</c> too (an LSTM's sequence output, a
/// <c>Conv1D</c>'s steps), and a layer whose weights would depend on it (a <c>Dense</c> after <c>Flatten</c> over time)
/// is refused when the graph is built, as Keras refuses it. A layer that cannot take one of those lengths (a
/// <c>Conv1D</c> whose window is longer) cannot follow a <c>None</c> axis here.</remarks>
public sealed class Input<T> : SymbolicTensor<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Keras' <c>None</c> in an input's shape (−1): the axis takes any size, e.g.
    /// <c>new Input&lt;float&gt;(Input&lt;float&gt;.None, 5)</c> for sequences of any length with 5 features.</summary>
    public const int None = -1;

    /// <summary>The size a <c>None</c> axis has in <see cref="SymbolicTensor{T}.Shape"/> and in the shapes a model of the
    /// graph is built for (32).</summary>
    public const int ReferenceLength = 32;

    /// <summary>The second size at which shapes are inferred, to find the axes that vary with a <c>None</c> axis (47).</summary>
    public const int ProbeLength = 47;

    /// <summary>An input for samples shaped <paramref name="shape"/>, e.g. <c>new Input&lt;float&gt;(28, 28, 1)</c>;
    /// <see cref="None"/> marks an axis of any size, e.g. <c>new Input&lt;float&gt;(Input&lt;float&gt;.None, 5)</c>.</summary>
    /// <exception cref="ArgumentException">The shape is empty, has rank above <c>TensorShape.MaxRank − 1</c> (a batch
    /// of them must fit a tensor), or has a dimension below 1 other than <see cref="None"/>.</exception>
    public Input(params int[] shape) : base(Check(shape, ReferenceLength), Check(shape, ProbeLength))
    {
        _none = [.. shape.Select(d => d == None)];
    }

    private readonly bool[] _none;

    /// <summary>Whether axis <paramref name="axis"/> of a sample (0 = the first after the batch axis) is <c>None</c>.</summary>
    public bool IsNone(int axis) => _none[axis];

    private static int s_counter;

    /// <summary>The name shown in summaries and messages: <c>input_layer</c>, then <c>input_layer_1</c>, … (as Keras
    /// names them), unless set.</summary>
    public string Name { get; init; } = Interlocked.Increment(ref s_counter) is var n && n == 1 ? "input_layer" : $"input_layer_{n - 1}";

    internal override string Producer => Name;

    /// <summary>The shape with each <c>None</c> axis at <paramref name="length"/>.</summary>
    private static TensorShape Check(int[] shape, int length)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Length is 0 || shape.Length >= TensorShape.MaxRank)
            throw new ArgumentException(
                $"An input's sample shape has 1 to {TensorShape.MaxRank - 1} axes (the batch axis makes it at most rank {TensorShape.MaxRank}); got [{string.Join(", ", shape)}].", nameof(shape));
        foreach (int d in shape)
            if (d < 1 && d != None)
                throw new ArgumentException($"Every axis of an input's shape must be at least 1, or Input.None (-1) for any size; got [{string.Join(", ", shape)}].", nameof(shape));
        return new TensorShape([.. shape.Select(d => d == None ? length : d)]);
    }

    /// <summary>The dimensions of <paramref name="shape"/>, <see cref="None"/> where <paramref name="probe"/> differs.</summary>
    internal static int[] Mark(TensorShape shape, TensorShape probe)
    {
        var d = shape.ToArray();
        for (int i = 0; i < d.Length; i++)
            if (d[i] != probe[i]) d[i] = None;
        return d;
    }

    /// <summary>The dimensions as Keras prints them, <c>None</c> for a varying axis: <c>None, 5</c>.</summary>
    internal static string Format(TensorShape shape, TensorShape probe) =>
        string.Join(", ", Mark(shape, probe).Select(d => d == None ? "None" : d.ToString(System.Globalization.CultureInfo.InvariantCulture)));
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
        TensorShape output, probe;
        try
        {
            output = layer.ComputeOutputShape(input.WithBatch(1));
            // At a second length of the None axes, to find the output axes that vary with them.
            probe = input.HasNone ? layer.ComputeOutputShape(input.Probe.Prepend(1)) : output;
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{layer.Name} cannot be called on the output of {input.Producer}, shaped (None, {input.ShapeText}){(input.HasNone ? $" (tried with the None axes at {Input<T>.ReferenceLength} and {Input<T>.ProbeLength})" : "")}: {e.Message}", nameof(input), e);
        }
        if (probe.Rank != output.Rank)
            throw new ArgumentException($"{layer.Name} gives outputs of rank {output.Rank} and {probe.Rank} for two lengths of the None axes of {input.Producer} (None, {input.ShapeText}); it cannot follow a None axis.", nameof(input));
        return new SymbolicTensor<T>(output.DropFirst(), probe.DropFirst(), layer, null, [input]);
    }

    /// <summary>The symbolic output of the merge layer <paramref name="layer"/> applied to <paramref name="inputs"/>,
    /// Keras' <c>layer([a, b, …])</c>.</summary>
    /// <exception cref="ArgumentException">The inputs cannot be merged; the message names their shapes.</exception>
    public static SymbolicTensor<T> Call<T>(this IMergeLayer<T> layer, params SymbolicTensor<T>[] inputs) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(inputs);
        foreach (var i in inputs) ArgumentNullException.ThrowIfNull(i, nameof(inputs));
        TensorShape output, probe;
        bool none = inputs.Any(i => i.HasNone);
        try
        {
            output = layer.ComputeOutputShape(inputs.Select(i => i.WithBatch(1)).ToArray());
            probe = none ? layer.ComputeOutputShape(inputs.Select(i => i.Probe.Prepend(1)).ToArray()) : output;
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{layer.Name} cannot merge the outputs of {string.Join(", ", inputs.Select(i => $"{i.Producer} (None, {i.ShapeText})"))}{(none ? $" (tried with the None axes at {Input<T>.ReferenceLength} and {Input<T>.ProbeLength})" : "")}: {e.Message}", nameof(inputs), e);
        }
        if (probe.Rank != output.Rank)
            throw new ArgumentException($"{layer.Name} gives outputs of rank {output.Rank} and {probe.Rank} for two lengths of the None axes; it cannot follow a None axis.", nameof(inputs));
        return new SymbolicTensor<T>(output.DropFirst(), probe.DropFirst(), null, layer, (SymbolicTensor<T>[])inputs.Clone());
    }
}
