using System.Globalization;
using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

// Shapes: B = batch. The graph takes x [B, ...input] and returns y [B, ...output]; every node's tensors are batch-first.

/// <summary>
/// A graph of layers from one or more inputs to one or more outputs, Keras' functional API (<c>keras.Model(inputs, outputs)</c>):
/// branches, skip connections and merges (<see cref="IMergeLayer{T}"/>: <c>Add</c>, <c>Concatenate</c>, …) that a
/// linear stack cannot express. It is itself a layer, so <c>Model.Create(inputs, outputs)</c> trains it with the
/// whole <c>Sequential</c> API (fit, evaluate, predict, callbacks, save/load), and it can also sit inside a larger model.
/// <code>
/// var inputs = new Input&lt;float&gt;(784);
/// var h = new Dense&lt;float&gt;(64, "relu").Call(inputs);
/// var r = new Dense&lt;float&gt;(64, "relu").Call(h);
/// var outputs = new Dense&lt;float&gt;(10, "softmax").Call(new Add&lt;float&gt;().Call(h, r));   // a skip connection
/// var model = Model.Create(inputs, outputs, seed: 1);
/// </code>
/// </summary>
/// <remarks>
/// <para>The nodes run in a topological order found from the output (a depth-first walk that visits a call's inputs
/// in order): forward once each, then backward in reverse. The gradient of a tensor that several calls read (a branch
/// point, the input of a skip connection) is the sum of their gradients, accumulated in a buffer the graph owns; a
/// tensor read once passes its consumer's gradient on without a copy. Steady-state steps allocate nothing.</para>
/// <para>Build seeds node <c>i</c> (and the noise a dropout node draws) from the graph's build seed, so a model's
/// <c>Seed</c> fixes every weight and mask, as in a <c>Sequential</c> with a seed.</para>
/// <para>Timestep masks (<see cref="Masking{T}"/>, <c>Embedding(maskZero)</c>, or a mask from the model's layers
/// before the graph) flow through the graph as in Keras: through the layers that keep the time axis to the recurrent
/// layers that consume them, combined by merges (the steps every masked input keeps; joined along time by a
/// <c>Concatenate</c> on the time axis), into the attention layers as Keras' query, value and key masks (their output
/// has the query's mask), and out as <see cref="OutputMask"/>, which the model's loss uses.</para>
/// <para>A graph of several inputs (Keras' <c>Model([a, b], outputs)</c>) is also an <see cref="IMergeLayer{T}"/>: its
/// forward pass takes one tensor per input and its backward pass returns one gradient per input; a model made of it
/// takes a list of input tensors (<c>model.Fit([xa, xb], y)</c>).</para>
/// <para>A layer called on several tensors shares its weights between the calls, as in Keras (a Siamese encoder,
/// a shared embedding): the graph stacks the calls' inputs along the batch axis, runs the layer once on the stack and
/// hands each call its rows of the output (and, backward, sums the calls' weight gradients in that one pass). This is
/// exact for layers that treat the rows of a batch independently; a shared <see cref="BatchNormalization{T}"/>
/// (statistics over the batch), a stateful recurrent layer, a nested graph, or one whose calls take differently
/// shaped inputs, depend on each other's results, or carry timestep masks are refused.</para>
/// <para>A graph of several outputs (Keras' <c>Model(inputs, [a, b])</c>, e.g. a regression head and a classification
/// head on one trunk) runs with <see cref="ForwardOutputs"/> and <see cref="BackwardOutputs"/>: one tensor per output, in
/// order, named by <see cref="OutputNames"/> (the name of the layer that produced it, as Keras 3 names them; a repeated
/// name gets <c>_1</c>, <c>_2</c>, … as Keras 2 did). An output that other calls also read, the same tensor listed twice,
/// or two outputs from the calls of one shared layer get the sum of their gradients. Such a graph is a model's only
/// layer; its single-tensor calls (<see cref="Forward(Tensor{T}, bool)"/>, <see cref="Backward(Tensor{T})"/>) throw.</para>
/// <para>An input with a <c>None</c> axis (<c>new Input&lt;float&gt;(Input&lt;float&gt;.None, 5)</c>, Keras'
/// <c>keras.Input(shape=(None, 5))</c>) takes any size there: each forward pass at a new size re-infers the nodes' shapes
/// (<c>ComputeOutputShape</c>), and the layers and the graph re-size their buffers, which they then reuse while the size
/// stays (no allocation per step at a fixed length). The graph is built at <see cref="Input{T}.ReferenceLength"/> and its
/// layers checked at <see cref="Input{T}.ProbeLength"/> too: a layer whose weights depend on the <c>None</c> axis (a
/// <c>Dense</c> after <c>Flatten</c> over time) is refused then, with a message naming it and both shapes. A graph whose
/// inputs have fixed shapes takes only those shapes, as before.</para>
/// <para>Differences from Keras: a shared layer as above; a graph of several outputs carries no timestep masks and is not nested in another graph
/// (<see cref="NotSupportedException"/>).</para>
/// <para>Saved weights are named <c>{graph}.{layer}.{parameter}</c>, e.g. <c>functional_1.dense_2.kernel</c>.</para>
/// </remarks>
public sealed class Functional<T> : Layer<T>, IMergeLayer<T>, IInputGradientOptional, IMaskConsumer where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>A tensor of the graph: one of its inputs (the first values) or one call's output.</summary>
    private sealed class Value(string producer)
    {
        public readonly string Producer = producer;         // the input's or the layer's name
        public readonly Workspace<T> GradientSum = new();  // used when more than one call reads it
        public int Readers;                                 // reads by calls (+1 for the graph's output)
        public int Received;
        public Tensor<T>? Tensor, Gradient;
        public SequenceMask? Mask;                          // its timestep mask, when masks flow
    }

    /// <summary>A view of rows [start, start + count) of a tensor, kept while the same tensor and rows come back.</summary>
    private sealed class RowView
    {
        private Tensor<T>? _source, _view;
        private int _start;

        public Tensor<T> Get(Tensor<T> source, int start, int count)
        {
            if (!ReferenceEquals(source, _source) || start != _start || _view!.Shape[0] != count)
            {
                _source = source;
                _start = start;
                _view = source.Slice(start, count);
            }
            return _view;
        }
    }

    /// <summary>One layer of the graph: a merge layer's call, or every call of a single-input layer (one source and one
    /// output value per call; more than one call shares the layer's weights).</summary>
    private sealed class Node(ILayer<T>? layer, IMergeLayer<T>? merge, int[] sources, int[] outputs)
    {
        public readonly ILayer<T>? Layer = layer;
        public readonly IMergeLayer<T>? Merge = merge;
        public readonly int[] Sources = sources;            // the values it reads: a merge's inputs, or one per call
        public readonly int[] Outputs = outputs;            // the values it writes: one, or one per call
        public readonly Tensor<T>[] MergeInputs = new Tensor<T>[merge is null ? 0 : sources.Length];
        public readonly Workspace<T> Stacked = new(), StackedGradient = new();            // a shared layer's batch of calls
        public readonly RowView[] OutputRows = [.. outputs.Select(_ => new RowView())];
        public readonly RowView[] InputGradientRows = [.. outputs.Select(_ => new RowView())];
        public readonly Workspace<T>?[] ActivityGradients = new Workspace<T>?[outputs.Length];
        public Tensor<T>? StackedOutput;
        public SequenceMask? MaskBuffer;                    // a merge's combined mask
        public bool Shared => Layer is not null && Sources.Length > 1;
        public string Name => Layer?.Name ?? Merge!.Name;
        public IReadOnlyList<Parameter<T>> Parameters => Layer?.Parameters ?? Merge!.Parameters;
    }

    private readonly Input<T>[] _inputs;
    private readonly Value[] _values;                    // the inputs first, then the calls' outputs
    private readonly Node[] _nodes;                      // in run order
    private readonly int _output;                        // the value the graph returns (its first output)
    private readonly int[] _outputValues;                // every output's value, in order
    private readonly string[] _outputNames;
    private readonly Tensor<T>[] _outputTensors;         // the outputs of the last forward pass (ForwardOutputs)
    private readonly Tensor<T>[] _oneInput = new Tensor<T>[1];
    private readonly List<string> _parameterKeys = [];
    private readonly Workspace<T>[] _zeros;
    private readonly Tensor<T>[] _inputGradients;       // returned by Backward, one per input
    private IReadOnlyList<TensorShape>? _buildShapes;    // every input's shape while a multi-input Build runs
    private bool _computeInputGradient = true;
    private TensorShape _lastShapeIn, _lastShapeOut;
    private TensorShape[]? _shapes;                      // per-sample output shape of each node, once built
    private TensorShape[]? _probeShapes;                 // the same at the None axes' second length (== _shapes without None)

    /// <summary>The graph from <paramref name="inputs"/> to <paramref name="outputs"/>, Keras' <c>Model(inputs, outputs)</c>.</summary>
    /// <param name="inputs">The graph's input.</param>
    /// <param name="outputs">A tensor computed from <paramref name="inputs"/> by calls of layers.</param>
    /// <exception cref="ArgumentException">The output does not depend on the input, or depends on another input; a
    /// layer cannot be shared as called (see the remarks); or two layers share a name. The message names the layers.</exception>
    public Functional(Input<T> inputs, SymbolicTensor<T> outputs) : this([inputs ?? throw new ArgumentNullException(nameof(inputs))], outputs) { }

    /// <summary>The graph from <paramref name="inputs"/> to several outputs, Keras' <c>Model(inputs, [a, b, …])</c>.</summary>
    /// <param name="inputs">The graph's input.</param>
    /// <param name="outputs">The tensors it returns, in order; at least one.</param>
    /// <exception cref="ArgumentException">No outputs, an output that does not depend on the input, or as for one output.</exception>
    /// <exception cref="NotSupportedException">Several outputs and a layer that makes timestep masks, or a nested graph of several outputs.</exception>
    public Functional(Input<T> inputs, IReadOnlyList<SymbolicTensor<T>> outputs) : this([inputs ?? throw new ArgumentNullException(nameof(inputs))], outputs) { }

    /// <summary>The graph from several inputs to <paramref name="outputs"/>, Keras' <c>Model([a, b, …], outputs)</c>.</summary>
    /// <param name="inputs">The graph's inputs, in the order the model takes them; each used by the graph.</param>
    /// <param name="outputs">A tensor computed from the inputs by calls of layers.</param>
    /// <exception cref="ArgumentException">No inputs, an input given twice or not used, the output depending on an input
    /// not listed, a layer that cannot be shared as called, or two layers sharing a name. The message names them.</exception>
    public Functional(IReadOnlyList<Input<T>> inputs, SymbolicTensor<T> outputs)
        : this(inputs, [outputs ?? throw new ArgumentNullException(nameof(outputs))]) { }

    /// <summary>The graph from several inputs to one or more outputs, Keras' <c>Model([a, b, …], [y, z, …])</c>: a
    /// multi-input graph runs as a merge layer (<see cref="IMergeLayer{T}"/>: one tensor per input, in this order), and a
    /// model made of it takes a list of input tensors (<c>Fit([xa, xb], y)</c>); a graph of several outputs returns one
    /// tensor per output (<see cref="ForwardOutputs"/>), and a model made of it takes one target per output.</summary>
    /// <param name="inputs">The graph's inputs, in the order the model takes them; each used by the graph.</param>
    /// <param name="outputs">The tensors it returns, in order, computed from the inputs by calls of layers; at least one.</param>
    /// <exception cref="ArgumentException">No inputs or outputs, an input given twice or not used, an output depending on an
    /// input not listed, a layer that cannot be shared as called, or two layers sharing a name. The message names them.</exception>
    /// <exception cref="NotSupportedException">Several outputs and a layer that makes timestep masks, or a nested graph of several outputs.</exception>
    public Functional(IReadOnlyList<Input<T>> inputs, IReadOnlyList<SymbolicTensor<T>> outputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        if (inputs.Count == 0) throw new ArgumentException("A graph needs at least one input.", nameof(inputs));
        if (outputs.Count == 0) throw new ArgumentException("A graph needs at least one output.", nameof(outputs));
        for (int k = 0; k < outputs.Count; k++)
            if (outputs[k] is null) throw new ArgumentNullException(nameof(outputs), $"outputs[{k}] is null.");
        _inputs = new Input<T>[inputs.Count];
        for (int k = 0; k < inputs.Count; k++)
        {
            _inputs[k] = inputs[k] ?? throw new ArgumentNullException(nameof(inputs), $"inputs[{k}] is null.");
            if (Array.IndexOf(_inputs, _inputs[k], 0, k) >= 0)
                throw new ArgumentException($"The input '{_inputs[k].Name}' is listed twice (at {Array.IndexOf(_inputs, _inputs[k], 0, k)} and {k}).", nameof(inputs));
            for (int o = 0; o < outputs.Count; o++)
                if (ReferenceEquals(_inputs[k], outputs[o]))
                    throw new ArgumentException($"{(outputs.Count == 1 ? "outputs" : $"outputs[{o}]")} is the input '{_inputs[k].Name}' itself: the graph has no layers.", nameof(outputs));
        }

        // Depth-first from the output, a call's inputs in order: the post-order is a topological order of the calls.
        var calls = new List<SymbolicTensor<T>>();
        var callIndex = new Dictionary<SymbolicTensor<T>, int>(ReferenceEqualityComparer.Instance);
        var reached = new bool[_inputs.Length];
        void Visit(SymbolicTensor<T> t)
        {
            if (t is Input<T> other)
            {
                int k = Array.IndexOf(_inputs, other);
                if (k < 0)
                    throw new ArgumentException(
                        $"The graph reaches the input '{other.Name}' (None, {other.ShapeText}), which is not among its inputs [{string.Join(", ", _inputs.Select(i => "'" + i.Name + "'"))}].", nameof(outputs));
                reached[k] = true;
                return;
            }
            if (callIndex.ContainsKey(t)) return;
            if (t.Layer is Functional<T> { OutputCount: > 1 } nested)
                throw new NotSupportedException($"The graph '{nested.Name}' of {nested.OutputCount} outputs is called inside another graph; a graph of several outputs is a model's only layer here.");
            foreach (var s in t.Sources) Visit(s);
            callIndex[t] = calls.Count;
            calls.Add(t);
        }
        // Each output in turn: for one output this is the order it always had.
        foreach (var o in outputs) Visit(o);
        for (int k = 0; k < _inputs.Length; k++)
            if (!reached[k])
                throw new ArgumentException($"{(outputs.Count == 1 ? "outputs" : "No output")} (from {string.Join(", ", outputs.Select(o => o.Producer))}) does not depend on the input '{_inputs[k].Name}'.", nameof(outputs));

        // Values: the inputs, then each call's output. The calls of one layer object form one node.
        _values = new Value[_inputs.Length + calls.Count];
        for (int k = 0; k < _inputs.Length; k++) _values[k] = new Value(_inputs[k].Name);
        int ValueOf(SymbolicTensor<T> t) => t is Input<T> input ? Array.IndexOf(_inputs, input) : _inputs.Length + callIndex[t];
        var groups = new Dictionary<object, List<SymbolicTensor<T>>>(ReferenceEqualityComparer.Instance);
        var groupOrder = new List<object>();
        foreach (var t in calls)
        {
            _values[ValueOf(t)] = new Value(t.Producer);
            object layer = (object?)t.Layer ?? t.Merge!;
            if (!groups.TryGetValue(layer, out var list)) { groups[layer] = list = []; groupOrder.Add(layer); }
            list.Add(t);
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        var pending = new List<(Node Node, int Key)>();
        foreach (var layer in groupOrder)
        {
            var group = groups[layer];
            string name = group[0].Producer;
            if (!names.Add(name))
                throw new ArgumentException($"Two layers in the graph are named '{name}'; names must be unique within a model.", nameof(outputs));
            if (group.Count > 1) CheckShareable(group, nameof(outputs));
            if (group[0].Layer is { } l && ProducesMask(l)) IsMaskSource = true;
            var node = group[0].Merge is { } merge
                ? new Node(null, merge, group[0].Sources.Select(ValueOf).ToArray(), [ValueOf(group[0])])
                : new Node(group[0].Layer, null, group.Select(c => ValueOf(c.Sources[0])).ToArray(), group.Select(ValueOf).ToArray());
            // A node runs once every call's input is ready; among ready nodes the one whose last call comes first in the
            // post-order runs first, which keeps that order exactly when no layer is shared.
            pending.Add((node, group.Max(c => callIndex[c])));
        }
        _nodes = Schedule(pending, nameof(outputs));
        foreach (var n in _nodes)
            foreach (int v in n.Sources) _values[v].Readers++;
        _outputValues = outputs.Select(ValueOf).ToArray();
        foreach (int v in _outputValues) _values[v].Readers++;   // a tensor listed twice is read twice: its gradients sum
        _output = _outputValues[0];
        OutputShape = outputs[0].Shape;
        OutputShapes = outputs.Select(o => o.Shape).ToArray();
        // Keras 3 names an output after the layer that produced it; a repeated name gets _1, _2, … (as Keras 2 did).
        _outputNames = new string[outputs.Count];
        var taken = new HashSet<string>(StringComparer.Ordinal);
        for (int k = 0; k < outputs.Count; k++)
        {
            string name = outputs[k].Producer;
            for (int i = 1; !taken.Add(name); i++) name = $"{outputs[k].Producer}_{i.ToString(CultureInfo.InvariantCulture)}";
            _outputNames[k] = name;
        }
        _outputTensors = new Tensor<T>[outputs.Count];
        if (outputs.Count > 1 && IsMaskSource)
            throw new NotSupportedException(
                $"A graph of {outputs.Count} outputs [{string.Join(", ", _outputNames)}] has a layer that makes timestep masks ({string.Join(", ", _nodes.Where(n => n.Layer is { } l && ProducesMask(l)).Select(n => "'" + n.Name + "'"))}); per-output masked losses are not supported here.");
        _zeros = _inputs.Select(_ => new Workspace<T>()).ToArray();
        _inputGradients = new Tensor<T>[_inputs.Length];
    }

    /// <summary>Orders the nodes so that each runs after the nodes whose outputs it reads (Kahn's algorithm, the smallest
    /// key first among the ready ones).</summary>
    /// <exception cref="ArgumentException">A shared layer's call reads the output of another of its calls.</exception>
    private Node[] Schedule(List<(Node Node, int Key)> pending, string paramName)
    {
        var producer = new Dictionary<int, Node>();
        foreach (var (n, _) in pending)
            foreach (int v in n.Outputs) producer[v] = n;
        var done = new HashSet<Node>(ReferenceEqualityComparer.Instance);
        var order = new List<Node>(pending.Count);
        var left = pending.OrderBy(p => p.Key).Select(p => p.Node).ToList();
        while (left.Count > 0)
        {
            int i = left.FindIndex(n => n.Sources.All(v => v < _inputs.Length || done.Contains(producer[v])));
            if (i < 0)
            {
                var stuck = left.First(n => n.Shared);
                throw new ArgumentException(
                    $"Layer '{stuck.Name}' is called on a tensor computed from its own output (a chain of calls through one layer); a shared layer's calls must not depend on each other here, because they run as one batch.", paramName);
            }
            done.Add(left[i]);
            order.Add(left[i]);
            left.RemoveAt(i);
        }
        return [.. order];
    }

    /// <summary>Refuses a layer that the stacked run of its calls would compute wrongly (see the remarks).</summary>
    private static void CheckShareable(List<SymbolicTensor<T>> calls, string paramName)
    {
        string name = calls[0].Producer;
        if (calls[0].Layer is not { } layer)
            throw new ArgumentException($"The merge layer '{name}' is called more than once in the graph; create one per call.", paramName);
        string? why = Innermost(layer) switch
        {
            BatchNormalization<T> => "its training statistics are over the batch, and Keras computes them for each call apart",
            RecurrentLayer<T> { Stateful: true } => "a stateful layer keeps one state per batch row, which the calls would mix",
            Bidirectional<T> b when b.ForwardLayer.Stateful || b.BackwardLayer.Stateful => "a stateful layer keeps one state per batch row, which the calls would mix",
            Functional<T> => "a nested graph is not shared here",
            RandomCrop<T> => "it draws one crop window per batch, and Keras draws one for each call",
            var l when ProducesMask(l) => "it makes timestep masks, which shared calls do not pass on",
            _ => null,
        };
        if (why is not null)
            throw new ArgumentException($"Layer '{name}' is called {calls.Count} times in the graph, so it would share its weights between the calls, but {why}; create one layer per call.", paramName);
        var shape = calls[0].Sources[0].Shape;
        foreach (var c in calls)
            if (c.Sources[0].Shape != shape || c.Sources[0].Probe != calls[0].Sources[0].Probe)
                throw new ArgumentException(
                    $"Layer '{name}' is called on tensors shaped (None, {calls[0].Sources[0].ShapeText}) and (None, {c.Sources[0].ShapeText}); a shared layer's calls run as one batch, so their inputs must have one shape.", paramName);
    }

    /// <inheritdoc/>
    public override string TypeName => "functional";

    /// <summary>The graph's (first) input.</summary>
    public Input<T> Input => _inputs[0];

    /// <summary>The graph's inputs, in the order it takes them.</summary>
    public IReadOnlyList<Input<T>> Inputs => _inputs;

    /// <summary>The per-sample output shape (the first output's in a graph of several outputs).</summary>
    public TensorShape OutputShape { get; }

    /// <summary>The per-sample shape of each output, in order.</summary>
    public IReadOnlyList<TensorShape> OutputShapes { get; }

    /// <summary>How many tensors the graph returns.</summary>
    public int OutputCount => _outputValues.Length;

    /// <summary>Each output's name, in order: the name of the layer that produced it (Keras 3's <c>output_names</c>, the
    /// keys of per-output losses, metrics and logs), with <c>_1</c>, <c>_2</c>, … appended to a repeated name.</summary>
    public IReadOnlyList<string> OutputNames => _outputNames;

    /// <summary>The single-input layers of the graph, each once, in the order they run (merge layers are in
    /// <see cref="MergeLayers"/>).</summary>
    public IEnumerable<ILayer<T>> Layers => _nodes.Where(n => n.Layer is not null).Select(n => n.Layer!);

    /// <summary>The merge layers of the graph, in the order they run.</summary>
    public IEnumerable<IMergeLayer<T>> MergeLayers => _nodes.Where(n => n.Merge is not null).Select(n => n.Merge!);

    /// <summary>The layers of the graph in the order they run (see <see cref="GraphCall"/>; a shared layer once, with the
    /// inputs of all its calls); output shapes and parameter counts are known once the graph is built.</summary>
    public IReadOnlyList<GraphCall> Calls =>
        _nodes.Select((n, i) => new GraphCall(n.Name, TypeOf(n), n.Sources.Select(v => _values[v].Producer).ToArray(),
            _shapes is null ? (TensorShape?)null : _shapes[i], n.Parameters.Sum(p => (long)p.Value.Length))).ToArray();

    /// <summary>The layer object of node <paramref name="index"/> (an <see cref="ILayer{T}"/> or an
    /// <see cref="IMergeLayer{T}"/>), for the model summary.</summary>
    internal object LayerOf(int index) => (object?)_nodes[index].Layer ?? _nodes[index].Merge!;

    /// <summary>The layer called <paramref name="name"/> in the graph (a merge layer's name gives an
    /// <see cref="ArgumentException"/> that says so; use <see cref="MergeLayers"/>).</summary>
    /// <exception cref="ArgumentException">No single-input layer has that name; the message lists the names.</exception>
    public ILayer<T> GetLayer(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (var n in _nodes)
            if (n.Layer is { } l && l.Name == name) return l;
        throw new ArgumentException(
            $"No such layer: {name}. The graph's layers are: [{string.Join(", ", _nodes.Select(n => "'" + n.Name + "'"))}]" +
            (_nodes.Any(n => n.Merge?.Name == name) ? $"; '{name}' is a merge layer (see MergeLayers)." : "."), nameof(name));
    }

    /// <summary>Each parameter's key within the graph, <c>{layer}.{parameter}</c>, in <see cref="ILayer{T}.Parameters"/>
    /// order (what <c>Save</c> names the weights after the graph's own name).</summary>
    internal IReadOnlyList<string> ParameterKeys => _parameterKeys;

    /// <inheritdoc/>
    public bool ComputeInputGradient
    {
        get => _computeInputGradient;
        set
        {
            _computeInputGradient = value;
            // The layers that read only graph inputs need not form their gradient either.
            foreach (var n in _nodes)
                if (n.Layer is { } l && n.Sources.All(IsInput) && Innermost(l) is IInputGradientOptional o) o.ComputeInputGradient = value;
        }
    }

    private bool IsInput(int value) => value < _inputs.Length;

    private static ILayer<T> Innermost(ILayer<T> layer)
    {
        while (layer is TimeDistributed<T> wrapper) layer = wrapper.Layer;
        return layer;
    }

    private static bool ProducesMask(ILayer<T> layer) => Innermost(layer) switch
    {
        Masking<T> => true,
        Embedding<T> e => e.MaskZero,
        _ => false,
    };

    /// <summary>Whether a layer of the graph makes timestep masks (<see cref="Masking{T}"/>, <c>Embedding(maskZero)</c>),
    /// so that the graph passes masks on (and its model uses <see cref="OutputMask"/> for the loss).</summary>
    public bool IsMaskSource { get; }

    /// <summary>The timestep mask of the graph's input (set by a model whose earlier layers make one); the graph's
    /// layers then receive masks as they would in a <c>Sequential</c>.</summary>
    public SequenceMask? InputMask { get; set; }

    /// <summary>The timestep mask of the last output: the mask that reaches the output, or null.</summary>
    public SequenceMask? OutputMask => _values[_output].Mask;

    private static string TypeOf(Node n) => n.Layer is { } l ? TimeDistributed<T>.TypeNameOf(l) : n.Merge!.TypeName;

    private void CheckSample(TensorShape shape, int k, string paramName)
    {
        var input = _inputs[k];
        var sample = input.Shape;
        bool fits = shape.Rank == sample.Rank + 1;
        // A None axis takes any size of at least 1.
        for (int i = 0; fits && i < sample.Rank; i++) fits = shape[i + 1] == sample[i] || (shape[i + 1] > 0 && input.HasNone && input.IsNone(i));
        if (!fits)
            throw new ArgumentException(
                $"{Name} takes {(_inputs.Length == 1 ? "inputs" : $"as input {k}")} shaped (batch, {input.ShapeText}), as its input '{input.Name}'; got {shape}.", paramName);
    }

    /// <summary>Checks one shape per input, all with the same batch size.</summary>
    private void CheckSamples(IReadOnlyList<TensorShape> shapes, string paramName)
    {
        if (shapes.Count != _inputs.Length)
            throw new ArgumentException(
                $"{Name} takes {_inputs.Length} input(s) [{string.Join(", ", _inputs.Select(i => $"'{i.Name}' (None, {i.ShapeText})"))}]; got {shapes.Count}: [{string.Join(", ", shapes)}].", paramName);
        for (int k = 0; k < shapes.Count; k++)
        {
            CheckSample(shapes[k], k, paramName);
            if (shapes[k][0] != shapes[0][0])
                throw new ArgumentException($"{Name}: the inputs have different batch sizes: [{string.Join(", ", shapes)}].", paramName);
        }
    }

    /// <summary>Throws unless the graph has one output (the calls that return one tensor).</summary>
    private void RequireSingleOutput()
    {
        if (_outputValues.Length != 1)
            throw new InvalidOperationException(
                $"{Name} has {_outputValues.Length} outputs [{string.Join(", ", _outputNames.Select(n => "'" + n + "'"))}]: use ForwardOutputs and BackwardOutputs (a model made of it takes and returns one tensor per output).");
    }

    /// <summary>Throws unless the graph has one input (the single-tensor calls of <see cref="ILayer{T}"/>).</summary>
    private void RequireSingleInput()
    {
        if (_inputs.Length != 1)
            throw new InvalidOperationException(
                $"{Name} takes {_inputs.Length} inputs [{string.Join(", ", _inputs.Select(i => "'" + i.Name + "'"))}]: use the calls that take one tensor per input (as a merge layer; a model made of it takes a list of inputs).");
    }

    /// <inheritdoc/>
    protected override void CheckFeatures(TensorShape inputShape, string paramName)
    {
        if (_buildShapes is { } all) CheckSamples(all, paramName);
        else
        {
            RequireSingleInput();
            CheckSample(inputShape, 0, paramName);
        }
    }

    /// <summary>Builds a graph for inputs of these shapes (one per input, batch axes included).</summary>
    /// <exception cref="ArgumentException">The shapes do not fit the inputs, or a layer cannot take its input.</exception>
    public void Build(IReadOnlyList<TensorShape> inputShapes, int seed)
    {
        ArgumentNullException.ThrowIfNull(inputShapes);
        CheckSamples(inputShapes, nameof(inputShapes));
        _buildShapes = inputShapes;
        try { Build(inputShapes[0], seed); }
        finally { _buildShapes = null; }
    }

    /// <inheritdoc/>
    protected override void BuildCore(TensorShape inputShape, Random rng)
    {
        var inputShapes = _buildShapes ?? [inputShape];
        CheckFeatures(inputShape, nameof(inputShape));
        var shapes = new TensorShape[_values.Length];
        for (int k = 0; k < inputShapes.Count; k++) shapes[k] = inputShapes[k];
        var nodeShapes = new TensorShape[_nodes.Length];
        for (int i = 0; i < _nodes.Length; i++)
        {
            var n = _nodes[i];
            int seed = rng.Next();
            if (n.Layer is { } layer)
            {
                var x = shapes[n.Sources[0]];
                try
                {
                    if (Innermost(layer) is NoiseLayer<T> noise) noise.Reseed(seed);
                    layer.Build(x, seed);
                    var y = layer.ComputeOutputShape(x);
                    foreach (int v in n.Outputs) shapes[v] = y;
                    nodeShapes[i] = y;
                }
                catch (ArgumentException e)
                {
                    throw new ArgumentException($"{Name}: layer '{layer.Name}' cannot take inputs shaped {x}: {e.Message}", nameof(inputShape), e);
                }
            }
            else
            {
                var merge = n.Merge!;
                var xs = n.Sources.Select(v => shapes[v]).ToArray();
                if (merge is AttentionBase<T> attention) attention.Reseed(seed);
                merge.Build(xs, seed);
                shapes[n.Outputs[0]] = nodeShapes[i] = merge.ComputeOutputShape(xs);
            }
            foreach (var p in n.Parameters)
            {
                AddParameter(p);
                _parameterKeys.Add($"{n.Name}.{p.Name}");
            }
        }
        _shapes = nodeShapes.Select(s => s.DropFirst()).ToArray();
        _probeShapes = HasNone ? CheckNoneAxes(inputShapes, shapes) : _shapes;
        if (!_computeInputGradient) ComputeInputGradient = false;
    }

    /// <summary>Whether an input has a <c>None</c> axis (<see cref="Input{T}.None"/>), so that the graph takes any size there.</summary>
    public bool HasNone => _inputs.Any(i => i.HasNone);

    /// <summary>Checks the built layers at a second size of the inputs' <c>None</c> axes and returns each node's
    /// per-sample output shape there (the axes that differ from the built shapes vary with the <c>None</c> axes).</summary>
    /// <exception cref="ArgumentException">A layer cannot take its input at that size, or its weights depend on the
    /// <c>None</c> axis (built for one size of an axis that varies); the message names the layer and both shapes.</exception>
    private TensorShape[] CheckNoneAxes(IReadOnlyList<TensorShape> built, TensorShape[] shapes)
    {
        var probe = new TensorShape[_values.Length];
        for (int k = 0; k < _inputs.Length; k++)
        {
            var d = built[k].ToArray();
            for (int i = 1; i < d.Length; i++)
                if (_inputs[k].IsNone(i - 1)) d[i] = d[i] == Input<T>.ProbeLength ? Input<T>.ReferenceLength : Input<T>.ProbeLength;
            probe[k] = new TensorShape(d);
        }
        string Lengths() => string.Join(", ", _inputs.Where(i => i.HasNone).Select(i => $"'{i.Name}' (None, {i.ShapeText})"));
        var result = new TensorShape[_nodes.Length];
        for (int i = 0; i < _nodes.Length; i++)
        {
            var n = _nodes[i];
            if (n.Layer is { } layer)
            {
                var a = shapes[n.Sources[0]];
                var b = probe[n.Sources[0]];
                TensorShape y;
                try
                {
                    // Built already: Build checks that the input fits the layer's weights (a Dense its features).
                    layer.Build(b, 0);
                    y = layer.ComputeOutputShape(b);
                }
                catch (ArgumentException e)
                {
                    throw new ArgumentException(
                        $"{Name}: layer '{layer.Name}' cannot follow the None axis of {Lengths()}: built for inputs shaped {a}, it gets {b} at another length{(a.Rank == b.Rank && a[-1] != b[-1] ? ", and its weights depend on the last axis, which varies with the None axis (as a Dense after Flatten over time)" : "")}; give that input a fixed size. {e.Message}", "inputShape", e);
                }
                foreach (int v in n.Outputs) probe[v] = y;
                result[i] = y.DropFirst();
            }
            else
            {
                var merge = n.Merge!;
                var xs = n.Sources.Select(v => probe[v]).ToArray();
                var changed = n.Sources.FirstOrDefault(v => shapes[v][-1] != probe[v][-1], -1);
                if (merge.Parameters.Count > 0 && changed >= 0)
                    throw new ArgumentException(
                        $"{Name}: layer '{merge.Name}' cannot follow the None axis of {Lengths()}: its weights depend on the last axis of its input from '{_values[changed].Producer}', which is {shapes[changed]} at one length and {probe[changed]} at another; give that input a fixed size.", "inputShape");
                try { probe[n.Outputs[0]] = merge.ComputeOutputShape(xs); }
                catch (ArgumentException e)
                {
                    throw new ArgumentException(
                        $"{Name}: layer '{merge.Name}' cannot follow the None axis of {Lengths()}: at another length it gets [{string.Join(", ", xs.Select(x => x.ToString()))}]. {e.Message}", "inputShape", e);
                }
                result[i] = probe[n.Outputs[0]].DropFirst();
            }
        }
        return result;
    }

    /// <summary>Node <paramref name="index"/>'s per-sample output shape as Keras prints it (<c>None</c> for an axis that
    /// varies with an input's <c>None</c> axis), once built.</summary>
    internal string CallShapeText(int index) => Input<T>.Format(_shapes![index], _probeShapes![index]);

    /// <summary>The per-sample output shape of each output as Keras prints it (see <see cref="CallShapeText"/>).</summary>
    internal string OutputShapeText(int output) => CallShapeText(OutputNode(output));

    /// <summary>The per-sample shapes of output <paramref name="output"/> at the built size of the <c>None</c> axes and at
    /// the second size they were checked at (equal on the axes that do not vary), once built.</summary>
    internal (TensorShape Built, TensorShape Probe) OutputSampleShapes(int output)
    {
        int node = OutputNode(output);
        return (_shapes![node], _probeShapes![node]);
    }

    private int OutputNode(int output)
    {
        int v = _outputValues[output];
        return Array.FindIndex(_nodes, n => Array.IndexOf(n.Outputs, v) >= 0);
    }

    /// <summary>The output shape (batch included) for inputs of these shapes, each node's shape re-inferred (a graph
    /// with <c>None</c> axes at a new size).</summary>
    private TensorShape InferOutputShape(IReadOnlyList<TensorShape> inputShapes, int output)
    {
        var shapes = new TensorShape[_values.Length];
        for (int k = 0; k < _inputs.Length; k++) shapes[k] = inputShapes[k];
        foreach (var n in _nodes)
        {
            if (n.Layer is { } layer)
            {
                var x = shapes[n.Sources[0]];
                var y = layer.ComputeOutputShape(x);   // a shared layer's calls take one shape
                foreach (int v in n.Outputs) shapes[v] = y;
            }
            else shapes[n.Outputs[0]] = n.Merge!.ComputeOutputShape(n.Sources.Select(v => shapes[v]).ToArray());
        }
        return shapes[_outputValues[output]];
    }

    /// <summary>The per-sample shape of each output for one sample shape per input (batch axes dropped): the built
    /// <see cref="OutputShapes"/> unless a <c>None</c> axis has another size.</summary>
    internal IReadOnlyList<TensorShape> SampleOutputShapes(IReadOnlyList<TensorShape> inputShapes)
    {
        if (!HasNone || inputShapes.Select((s, k) => s.DropFirst() == _inputs[k].Shape).All(b => b)) return OutputShapes;
        CheckSamples(inputShapes, nameof(inputShapes));
        return [.. Enumerable.Range(0, _outputValues.Length).Select(o => InferOutputShape(inputShapes, o).DropFirst())];
    }

    internal override void AddGenerators(List<ResumableRandom> generators)
    {
        foreach (var n in _nodes)
        {
            if (n.Layer is Layer<T> l) l.AddGenerators(generators);
            if (n.Merge is AttentionBase<T> a) a.AddGenerators(generators);
        }
    }

    /// <inheritdoc/>
    public override TensorShape ComputeOutputShape(TensorShape inputShape)
    {
        RequireSingleInput();
        CheckSample(inputShape, 0, nameof(inputShape));
        if (inputShape == _lastShapeIn && _lastShapeOut.Rank > 0) return _lastShapeOut;
        // A None axis at another size: the nodes' shapes are inferred again (and kept while the shape stays).
        var output = HasNone && inputShape.DropFirst() != Input.Shape ? InferOutputShape([inputShape], 0) : OutputShape.Prepend(inputShape[0]);
        _lastShapeIn = inputShape;
        _lastShapeOut = output;
        return _lastShapeOut;
    }

    /// <summary>The output shape for one shape per input (batch axes included).</summary>
    /// <exception cref="ArgumentException">The shapes do not fit the inputs; the message names them.</exception>
    public TensorShape ComputeOutputShape(IReadOnlyList<TensorShape> inputShapes)
    {
        ArgumentNullException.ThrowIfNull(inputShapes);
        CheckSamples(inputShapes, nameof(inputShapes));
        return HasNone ? InferOutputShape(inputShapes, 0) : OutputShape.Prepend(inputShapes[0][0]);
    }

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        ArgumentNullException.ThrowIfNull(input);
        RequireSingleInput();
        RequireSingleOutput();
        CheckSample(input.Shape, 0, nameof(input));
        EnsureBuilt(input);
        _values[0].Tensor = input;
        return Run(training);
    }

    /// <summary>Runs the graph on one tensor per input (in the order of <see cref="Inputs"/>) and returns one tensor per
    /// output (in the order of <see cref="OutputNames"/>); the list and its tensors are the graph's own, valid until the
    /// next forward pass. Built on first use.</summary>
    /// <exception cref="ArgumentException">The count or shapes do not fit the inputs; the message names them.</exception>
    public IReadOnlyList<Tensor<T>> ForwardOutputs(IReadOnlyList<Tensor<T>> inputs, bool training)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        for (int k = 0; k < inputs.Count; k++) ArgumentNullException.ThrowIfNull(inputs[k], nameof(inputs));   // no enumerator per call
        CheckSamples(inputs.Select(x => x.Shape).ToArray(), nameof(inputs));
        if (!IsBuilt)
        {
            if (_inputs.Length == 1) EnsureBuilt(inputs[0]);
            else Build(inputs.Select(x => x.Shape).ToArray(), StableHash(Name));
        }
        for (int k = 0; k < _inputs.Length; k++) _values[k].Tensor = inputs[k];
        Run(training);
        return _outputTensors;
    }

    /// <summary>As <see cref="ForwardOutputs(IReadOnlyList{Tensor{T}}, bool)"/> for inputs already checked (the model's
    /// steady path: no array of shapes per call).</summary>
    internal IReadOnlyList<Tensor<T>> ForwardOutputsUnchecked(Tensor<T>[] inputs, bool training)
    {
        for (int k = 0; k < _inputs.Length; k++) _values[k].Tensor = inputs[k];
        Run(training);
        return _outputTensors;
    }

    /// <summary>Back-propagates one gradient per output (each shaped as its output of the last forward pass) through the
    /// graph: a tensor read by several calls or listed as several outputs gets the sum of its gradients. Returns the
    /// gradient with respect to each input, in order (zeros when <see cref="ComputeInputGradient"/> is false).</summary>
    /// <exception cref="ArgumentException">Not one gradient per output, or one shaped unlike its output; the message names them.</exception>
    public IReadOnlyList<Tensor<T>> BackwardOutputs(IReadOnlyList<Tensor<T>> dOutputs)
    {
        ArgumentNullException.ThrowIfNull(dOutputs);
        if (dOutputs.Count != _outputValues.Length)
            throw new ArgumentException($"{Name} has {_outputValues.Length} outputs [{string.Join(", ", _outputNames)}]; got {dOutputs.Count} gradient(s).", nameof(dOutputs));
        for (int k = 0; k < dOutputs.Count; k++)
        {
            ArgumentNullException.ThrowIfNull(dOutputs[k], nameof(dOutputs));
            var y = _values[_outputValues[k]].Tensor ?? throw new InvalidOperationException($"{Name}: call ForwardOutputs before BackwardOutputs.");
            if (dOutputs[k].Shape != y.Shape)
                throw new ArgumentException($"dOutputs[{k}] (output '{_outputNames[k]}') is shaped {dOutputs[k].Shape}, but that output was {y.Shape}.", nameof(dOutputs));
        }
        BackwardMany(dOutputs);
        return _inputGradients;
    }

    /// <summary>Runs the graph on one tensor per input, in the order of <see cref="Inputs"/> (a multi-input graph's
    /// forward pass; built on first use, as a layer used alone).</summary>
    /// <exception cref="ArgumentException">The count or shapes do not fit the inputs; the message names them.</exception>
    public Tensor<T> Forward(IReadOnlyList<Tensor<T>> inputs, bool training)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        RequireSingleOutput();
        for (int k = 0; k < inputs.Count; k++) ArgumentNullException.ThrowIfNull(inputs[k], nameof(inputs));   // no enumerator per call
        if (!IsBuilt) Build(inputs.Select(x => x.Shape).ToArray(), StableHash(Name));
        else if (inputs.Count != _inputs.Length) CheckSamples(inputs.Select(x => x.Shape).ToArray(), nameof(inputs));
        else
        {
            // The steady path checks each input in place (no array of shapes per call).
            for (int k = 0; k < inputs.Count; k++)
            {
                CheckSample(inputs[k].Shape, k, nameof(inputs));
                if (inputs[k].Shape[0] != inputs[0].Shape[0])
                    throw new ArgumentException($"{Name}: the inputs have different batch sizes: [{string.Join(", ", inputs.Select(x => x.Shape))}].", nameof(inputs));
            }
        }
        for (int k = 0; k < _inputs.Length; k++) _values[k].Tensor = inputs[k];
        return Run(training);
    }

    private Tensor<T> Run(bool training)
    {
        // Masks flow as in a Sequential (and Keras): from a mask source through the layers that keep the time axis to
        // the recurrent layers, which consume them; merges combine them (see MergeMask). Without a source (here or in
        // front of a one-input graph) a mask a user set on a layer is left alone.
        bool masks = IsMaskSource || InputMask is not null;
        InputMask?.CheckShape(_values[0].Tensor!.Shape, Name);
        for (int k = 0; k < _inputs.Length; k++) _values[k].Mask = _inputs.Length == 1 ? InputMask : null;
        foreach (var n in _nodes)
        {
            if (n.Merge is { } merge)
            {
                for (int k = 0; k < n.Sources.Length; k++) n.MergeInputs[k] = _values[n.Sources[k]].Tensor!;
                if (masks && merge is AttentionBase<T> attention)
                {
                    // Keras hands an attention layer its inputs' masks: query, value (and MultiHeadAttention's key).
                    attention.QueryMask = _values[n.Sources[0]].Mask;
                    attention.ValueMask = _values[n.Sources[1]].Mask;
                    if (attention is MultiHeadAttention<T> mha) mha.KeyMask = n.Sources.Length > 2 ? _values[n.Sources[2]].Mask : null;
                }
                var output = _values[n.Outputs[0]];
                output.Tensor = merge.Forward(n.MergeInputs, training);
                output.Mask = masks ? MergeMask(n) : null;
            }
            else if (!n.Shared)
            {
                var layer = n.Layer!;
                var source = _values[n.Sources[0]];
                var mask = masks ? source.Mask : null;
                if (masks && layer is IMaskConsumer consumer) consumer.InputMask = mask;
                var y = layer.Forward(source.Tensor!, training);
                var output = _values[n.Outputs[0]];
                output.Tensor = y;
                output.Mask = !masks ? null : layer is IMaskProducer producer ? producer.OutputMask : y.Rank == 3 ? mask : null;
            }
            else RunShared(n, masks, training);
        }
        for (int k = 0; k < _outputValues.Length; k++) _outputTensors[k] = _values[_outputValues[k]].Tensor!;
        return _values[_output].Tensor!;
    }

    /// <summary>A shared layer's calls as one batch: the inputs stacked along the batch axis, one forward pass, and each
    /// call's rows of the output as its output.</summary>
    private void RunShared(Node n, bool masks, bool training)
    {
        var first = _values[n.Sources[0]].Tensor!;
        int rows = first.Shape[0], calls = n.Sources.Length;
        var stacked = n.Stacked.Get(first.Shape.WithFirst(rows * calls));
        for (int c = 0; c < calls; c++)
        {
            var source = _values[n.Sources[c]];
            if (masks && source.Mask is not null)
                throw new InvalidOperationException(
                    $"{Name}: a timestep mask reaches the shared layer '{n.Name}', whose calls run as one batch and do not take masks here; give each call its own layer.");
            source.Tensor!.ReadOnlySpan.CopyTo(stacked.Span.Slice(c * first.Length, first.Length));
        }
        if (masks && n.Layer is IMaskConsumer consumer) consumer.InputMask = null;
        var y = n.Layer!.Forward(stacked, training);
        n.StackedOutput = y;
        for (int c = 0; c < calls; c++)
        {
            var output = _values[n.Outputs[c]];
            output.Tensor = n.OutputRows[c].Get(y, c * rows, rows);
            output.Mask = null;
        }
    }

    /// <summary>The activity penalties (<see cref="Layer{T}.ActivityRegularizer"/>) of the graph's layers in the last
    /// forward pass, <c>Σ r(yᵢ) / B</c> over every call, for the model to add to its loss.</summary>
    internal double ActivityLoss()
    {
        double sum = 0;
        foreach (var n in _nodes)
            if (n.Layer is Layer<T> { ActivityRegularizer: { } activity })
                foreach (int v in n.Outputs)
                    if (_values[v].Tensor is { } y) sum += Regularizers.ActivityRegularization.Penalty(activity, y);
        return sum;
    }

    /// <summary>
    /// The mask of a merge's output, as Keras' merge layers compute it: none when no input has one or the output has
    /// no time axis (rank ≠ 3, e.g. <c>Dot</c>); the inputs' masks joined along time when <c>Concatenate</c> joins along
    /// time (an input without a mask counting as all kept); otherwise the steps every masked input keeps (logical and).
    /// </summary>
    /// <remarks>An attention layer takes its inputs' masks (set before its forward pass) and its output has the query's
    /// mask.</remarks>
    private SequenceMask? MergeMask(Node n)
    {
        SequenceMask? single = null;
        int masked = 0;
        foreach (int v in n.Sources)
            if (_values[v].Mask is { } m) { single = m; masked++; }
        var y = _values[n.Outputs[0]].Tensor!;
        if (masked == 0 || y.Rank != 3) return null;
        // An attention layer's output keeps its query's mask, as Keras' compute_mask returns mask[0].
        if (n.Merge is AttentionBase<T>) return _values[n.Sources[0]].Mask;
        int batch = y.Shape[0], steps = y.Shape[1];
        bool alongTime = n.Merge is Concatenate<T> c && (c.Axis == 1 || c.Axis == -2);
        if (!alongTime && masked == 1 && single!.Batch == batch && single.Steps == steps) return single;
        if (n.MaskBuffer is not { } buffer || buffer.Batch != batch || buffer.Steps != steps) n.MaskBuffer = buffer = new SequenceMask(batch, steps);
        var kept = buffer.Values;
        kept.Fill(true);
        int offset = 0;
        foreach (int v in n.Sources)
        {
            var m = _values[v].Mask;
            var x = _values[v].Tensor!;
            int t = alongTime ? x.Shape[1] : steps;
            if (m is not null)
            {
                if (m.Batch != batch || m.Steps != t)
                    throw new InvalidOperationException($"{Name}: the mask [{m.Batch}, {m.Steps}] reaching '{n.Merge!.Name}' does not fit its input {x.Shape}.");
                var from = m.Values;
                for (int b = 0; b < batch; b++)
                    for (int i = 0; i < t; i++)
                        kept[b * steps + offset + i] &= from[b * t + i];
            }
            if (alongTime) offset += t;
        }
        return buffer;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        RequireSingleInput();
        RequireSingleOutput();
        BackwardCore(dOutput);
        return _inputGradients[0];
    }

    /// <summary>Back-propagates through the last forward call; returns the gradient with respect to each input, in order
    /// (zeros when <see cref="ComputeInputGradient"/> is false).</summary>
    IReadOnlyList<Tensor<T>> IMergeLayer<T>.Backward(Tensor<T> dOutput)
    {
        RequireSingleOutput();
        BackwardCore(dOutput);
        return _inputGradients;
    }

    private void BackwardCore(Tensor<T> dOutput)
    {
        CheckBackward(_values[_output].Tensor, dOutput, Name);
        foreach (var v in _values)
        {
            v.Received = 0;
            v.Gradient = null;
        }
        Deliver(_output, dOutput);
        BackwardNodes();
    }

    /// <summary>The backward pass of a graph of several outputs: every output's gradient delivered, then the nodes.</summary>
    private void BackwardMany(IReadOnlyList<Tensor<T>> dOutputs)
    {
        foreach (var v in _values)
        {
            v.Received = 0;
            v.Gradient = null;
        }
        for (int k = 0; k < _outputValues.Length; k++) Deliver(_outputValues[k], dOutputs[k]);
        BackwardNodes();
    }

    /// <summary>Runs the nodes' backward passes in reverse order once the outputs' gradients are delivered.</summary>
    private void BackwardNodes()
    {
        for (int i = _nodes.Length - 1; i >= 0; i--)
        {
            var n = _nodes[i];
            if (n.Merge is { } merge)
            {
                var grads = merge.Backward(_values[n.Outputs[0]].Gradient!);
                for (int k = 0; k < n.Sources.Length; k++) Deliver(n.Sources[k], grads[k]);
            }
            else if (!n.Shared)
            {
                var layer = n.Layer!;
                var g = _values[n.Outputs[0]].Gradient!;
                // An activity penalty's gradient joins the gradient arriving at its layer, as in Sequential.
                if (layer is Layer<T> { ActivityRegularizer: { } activity })
                    g = Regularizers.ActivityRegularization.AddGradient(activity, _values[n.Outputs[0]].Tensor!, g, n.ActivityGradients[0] ??= new Workspace<T>());
                Deliver(n.Sources[0], layer.Backward(g));
            }
            else BackwardShared(n);
        }
        for (int k = 0; k < _inputs.Length; k++)
            _inputGradients[k] = _computeInputGradient ? _values[k].Gradient! : _zeros[k].Get(_values[k].Tensor!.Shape, clear: true);
    }

    /// <summary>A shared layer's calls as one batch: the calls' output gradients stacked, one backward pass (which sums
    /// the calls' weight gradients), and each call's rows of the input gradient to its input.</summary>
    private void BackwardShared(Node n)
    {
        var y = n.StackedOutput!;
        var stacked = n.StackedGradient.Get(y.Shape);
        int calls = n.Outputs.Length, rows = y.Shape[0] / calls, length = y.Length / calls;
        for (int c = 0; c < calls; c++)
        {
            var output = _values[n.Outputs[c]];
            var g = output.Gradient!;
            if (n.Layer is Layer<T> { ActivityRegularizer: { } activity })
                g = Regularizers.ActivityRegularization.AddGradient(activity, output.Tensor!, g, n.ActivityGradients[c] ??= new Workspace<T>());
            g.ReadOnlySpan.CopyTo(stacked.Span.Slice(c * length, length));
        }
        var dx = n.Layer!.Backward(stacked);
        for (int c = 0; c < calls; c++) Deliver(n.Sources[c], n.InputGradientRows[c].Get(dx, c * rows, rows));
    }

    /// <summary>Hands the gradient <paramref name="d"/> of one reader to value <paramref name="v"/>: as it is when the
    /// value has one reader, else summed into its buffer (the first copied, the rest added).</summary>
    private void Deliver(int v, Tensor<T> d)
    {
        if (IsInput(v) && !_computeInputGradient) return;
        var value = _values[v];
        if (value.Readers == 1)
        {
            value.Gradient = d;
            return;
        }
        if (value.Received++ == 0)
        {
            var buffer = value.GradientSum.Get(d.Shape);
            d.ReadOnlySpan.CopyTo(buffer.Span);
            value.Gradient = buffer;
            return;
        }
        TensorPrimitives.Add(value.Gradient!.ReadOnlySpan, d.ReadOnlySpan, value.Gradient.Span);
    }

    /// <summary>The graph as options: <c>input_shape</c> and <c>input_name</c> (with several inputs, <c>inputs</c> (the
    /// count) and <c>input.k.shape</c>, <c>input.k.name</c>), <c>nodes</c> (the count), and for layer <c>i</c> in run
    /// order <c>node.i.kind</c> (<c>layer</c> or <c>merge</c>), <c>node.i.type</c>, <c>node.i.name</c>,
    /// <c>node.i.inputs</c> (the tensors it reads, comma-separated: <c>j</c> for the output of layer j, <c>j/c</c> for the
    /// output of call c of a shared layer j, <c>input</c>, or <c>input:k</c> with several inputs, for a graph input;
    /// a shared layer's calls separated by <c>;</c>) and the layer's own options as <c>node.i.config.*</c>; with several
    /// outputs, <c>outputs</c> (their references, comma-separated, in order).</summary>
    public override IReadOnlyDictionary<string, string> GetConfig()
    {
        // A None axis is saved as None, as Keras writes it.
        static string ShapeText(Input<T> i) => string.Join(",", i.Dimensions.Select(d => d == Input<T>.None ? "None" : d.ToString(CultureInfo.InvariantCulture)));
        var c = new Dictionary<string, string> { ["nodes"] = _nodes.Length.ToString(CultureInfo.InvariantCulture) };
        if (_inputs.Length == 1)
        {
            c["input_shape"] = ShapeText(Input);
            c["input_name"] = Input.Name;
        }
        else
        {
            c["inputs"] = _inputs.Length.ToString(CultureInfo.InvariantCulture);
            for (int k = 0; k < _inputs.Length; k++)
            {
                c[$"input.{k.ToString(CultureInfo.InvariantCulture)}.shape"] = ShapeText(_inputs[k]);
                c[$"input.{k.ToString(CultureInfo.InvariantCulture)}.name"] = _inputs[k].Name;
            }
        }
        var reference = new Dictionary<int, string>();
        for (int k = 0; k < _inputs.Length; k++) reference[k] = _inputs.Length == 1 ? "input" : "input:" + k.ToString(CultureInfo.InvariantCulture);
        for (int i = 0; i < _nodes.Length; i++)
        {
            var n = _nodes[i];
            string index = i.ToString(CultureInfo.InvariantCulture);
            for (int k = 0; k < n.Outputs.Length; k++)
                reference[n.Outputs[k]] = n.Outputs.Length == 1 ? index : index + "/" + k.ToString(CultureInfo.InvariantCulture);
            string prefix = $"node.{index}.";
            c[prefix + "kind"] = n.Layer is null ? "merge" : "layer";
            c[prefix + "type"] = TypeOf(n);
            c[prefix + "name"] = n.Name;
            c[prefix + "inputs"] = n.Merge is not null
                ? string.Join(",", n.Sources.Select(v => reference[v]))
                : string.Join(";", n.Sources.Select(v => reference[v]));
            var config = n.Layer?.GetConfig() ?? n.Merge!.GetConfig();
            foreach (var (key, value) in config) c[prefix + "config." + key] = value;
            // As Sequential saves it for a layer whose own options do not list it.
            if (n.Layer is Layer<T> { ActivityRegularizer: { } activity } && !config.ContainsKey("activity_regularizer"))
                c[prefix + "config.activity_regularizer"] = activity.Name;
        }
        // A graph of several outputs lists them (one output is the last call's, as it always was).
        if (_outputValues.Length > 1) c["outputs"] = string.Join(",", _outputValues.Select(v => reference[v]));
        return c;
    }
}

/// <summary>One call in a <see cref="Functional{T}"/> graph.</summary>
/// <param name="Name">The layer's name.</param>
/// <param name="Type">The layer's saved type name, e.g. <c>dense</c> or <c>add</c>.</param>
/// <param name="Inputs">The names of the layers whose outputs it reads (the input's name for the graph's input).</param>
/// <param name="OutputShape">The per-sample output shape; null until the graph is built.</param>
/// <param name="ParameterCount">The number of weights (0 until built for layers that create them in <c>Build</c>).</param>
public readonly record struct GraphCall(string Name, string Type, IReadOnlyList<string> Inputs, TensorShape? OutputShape, long ParameterCount);
