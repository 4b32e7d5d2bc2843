using System.Globalization;
using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

// Shapes: B = batch. The graph takes x [B, ...input] and returns y [B, ...output]; every node's tensors are batch-first.

/// <summary>
/// A graph of layers with one input and one output, Keras' functional API (<c>keras.Model(inputs, outputs)</c>):
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
/// <c>Concatenate</c> on the time axis), and out as <see cref="OutputMask"/>, which the model's loss uses. The attention
/// layers do not take masks and refuse one.</para>
/// <para>A graph of several inputs (Keras' <c>Model([a, b], outputs)</c>) is also an <see cref="IMergeLayer{T}"/>: its
/// forward pass takes one tensor per input and its backward pass returns one gradient per input; a model made of it
/// takes a list of input tensors (<c>model.Fit([xa, xb], y)</c>).</para>
/// <para>Differences from Keras: one output; a layer may be called only once in a graph (Keras shares the weights of a
/// layer called twice; here each layer keeps the caches of one call); input shapes are fixed (no <c>None</c> axes
/// besides the batch).</para>
/// <para>Saved weights are named <c>{graph}.{layer}.{parameter}</c>, e.g. <c>functional_1.dense_2.kernel</c>.</para>
/// </remarks>
public sealed class Functional<T> : Layer<T>, IMergeLayer<T>, IInputGradientOptional, IMaskConsumer where T : unmanaged, IFloatingPointIeee754<T>
{
    // A call's source is a call index (≥ 0), or −1 − k for the graph's input k.
    private static bool IsInput(int source) => source < 0;
    private static int InputIndex(int source) => -1 - source;

    private sealed class Node(ILayer<T>? layer, IMergeLayer<T>? merge, int[] sources)
    {
        public readonly ILayer<T>? Layer = layer;
        public readonly IMergeLayer<T>? Merge = merge;
        public readonly int[] Sources = sources;            // call indices, or −1 − k for the graph's input k
        public readonly Tensor<T>[] MergeInputs = new Tensor<T>[merge is null ? 0 : sources.Length];
        public readonly Workspace<T> GradientSum = new();  // used when more than one call reads this node's output
        public Workspace<T>? ActivityGradient;              // the gradient plus an activity penalty's, when the layer has one
        public int Consumers;                               // calls that read the output (+1 for the graph's output)
        public int Received;
        public Tensor<T>? Output, Gradient;
        public SequenceMask? Mask;                          // the timestep mask of the output, when masks flow
        public SequenceMask? MaskBuffer;                    // a merge's combined mask
        public string Name => Layer?.Name ?? Merge!.Name;
        public IReadOnlyList<Parameter<T>> Parameters => Layer?.Parameters ?? Merge!.Parameters;
    }

    private readonly Node[] _nodes;
    private readonly List<string> _parameterKeys = [];
    private readonly Input<T>[] _inputs;
    private readonly int[] _inputConsumers, _inputReceived;
    private readonly Workspace<T>[] _inputGradientSums, _zeros;
    private readonly Tensor<T>[] _x, _inputGradients;   // the last forward call's inputs; their gradients
    private IReadOnlyList<TensorShape>? _buildShapes;    // every input's shape while a multi-input Build runs
    private Tensor<T>? _output;
    private bool _computeInputGradient = true;
    private TensorShape _lastShapeIn, _lastShapeOut;
    private TensorShape[]? _shapes;   // per-sample output shape of each call, once built

    /// <summary>The graph from <paramref name="inputs"/> to <paramref name="outputs"/>, Keras' <c>Model(inputs, outputs)</c>.</summary>
    /// <param name="inputs">The graph's input.</param>
    /// <param name="outputs">A tensor computed from <paramref name="inputs"/> by calls of layers.</param>
    /// <exception cref="ArgumentException">The output does not depend on the input, or depends on another input; a
    /// layer is called twice; or two layers share a name. The message names the layers.</exception>
    public Functional(Input<T> inputs, SymbolicTensor<T> outputs) : this([inputs ?? throw new ArgumentNullException(nameof(inputs))], outputs) { }

    /// <summary>The graph from several inputs to <paramref name="outputs"/>, Keras' <c>Model([a, b, …], outputs)</c>: a
    /// multi-input graph runs as a merge layer (<see cref="IMergeLayer{T}"/>: one tensor per input, in this order), and a
    /// model made of it takes a list of input tensors (<c>Fit([xa, xb], y)</c>).</summary>
    /// <param name="inputs">The graph's inputs, in the order the model takes them; each used by the graph.</param>
    /// <param name="outputs">A tensor computed from the inputs by calls of layers.</param>
    /// <exception cref="ArgumentException">No inputs, an input given twice or not used, the output depending on an input
    /// not listed, a layer called twice, or two layers sharing a name. The message names them.</exception>
    public Functional(IReadOnlyList<Input<T>> inputs, SymbolicTensor<T> outputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        if (inputs.Count == 0) throw new ArgumentException("A graph needs at least one input.", nameof(inputs));
        _inputs = new Input<T>[inputs.Count];
        for (int k = 0; k < inputs.Count; k++)
        {
            _inputs[k] = inputs[k] ?? throw new ArgumentNullException(nameof(inputs), $"inputs[{k}] is null.");
            if (Array.IndexOf(_inputs, _inputs[k], 0, k) >= 0)
                throw new ArgumentException($"The input '{_inputs[k].Name}' is listed twice (at {Array.IndexOf(_inputs, _inputs[k], 0, k)} and {k}).", nameof(inputs));
            if (ReferenceEquals(_inputs[k], outputs))
                throw new ArgumentException($"outputs is the input '{_inputs[k].Name}' itself: the graph has no layers.", nameof(outputs));
        }

        // Depth-first from the output, a call's inputs in order; post-order is a topological order with the output last.
        var order = new List<SymbolicTensor<T>>();
        var index = new Dictionary<SymbolicTensor<T>, int>(ReferenceEqualityComparer.Instance);
        var reached = new bool[_inputs.Length];
        void Visit(SymbolicTensor<T> t)
        {
            if (t is Input<T> other)
            {
                int k = Array.IndexOf(_inputs, other);
                if (k < 0)
                    throw new ArgumentException(
                        $"The graph reaches the input '{other.Name}' (None, {string.Join(", ", other.Shape.ToArray())}), which is not among its inputs [{string.Join(", ", _inputs.Select(i => "'" + i.Name + "'"))}].", nameof(outputs));
                reached[k] = true;
                return;
            }
            if (index.ContainsKey(t)) return;
            foreach (var s in t.Sources) Visit(s);
            index[t] = order.Count;
            order.Add(t);
        }
        Visit(outputs);
        for (int k = 0; k < _inputs.Length; k++)
            if (!reached[k])
                throw new ArgumentException($"outputs (from {outputs.Producer}) does not depend on the input '{_inputs[k].Name}'.", nameof(outputs));
        _inputConsumers = new int[_inputs.Length];
        _inputReceived = new int[_inputs.Length];
        _inputGradientSums = _inputs.Select(_ => new Workspace<T>()).ToArray();
        _zeros = _inputs.Select(_ => new Workspace<T>()).ToArray();
        _x = new Tensor<T>[_inputs.Length];
        _inputGradients = new Tensor<T>[_inputs.Length];

        _nodes = new Node[order.Count];
        var layers = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < order.Count; i++)
        {
            var t = order[i];
            object layer = (object?)t.Layer ?? t.Merge!;
            string name = t.Producer;
            if (!layers.Add(layer))
                throw new ArgumentException(
                    $"Layer '{name}' is called more than once in the graph. Keras would share its weights between the calls; here a layer keeps the caches of one call, so create one layer per call.", nameof(outputs));
            if (!names.Add(name))
                throw new ArgumentException($"Two layers in the graph are named '{name}'; names must be unique within a model.", nameof(outputs));
            if (t.Layer is { } l && ProducesMask(l)) IsMaskSource = true;
            var sources = t.Sources.Select(s => s is Input<T> input ? -1 - Array.IndexOf(_inputs, input) : index[s]).ToArray();
            _nodes[i] = new Node(t.Layer, t.Merge, sources);
            foreach (int s in sources)
            {
                if (IsInput(s)) _inputConsumers[InputIndex(s)]++;
                else _nodes[s].Consumers++;
            }
        }
        _nodes[^1].Consumers++;
        OutputShape = outputs.Shape;
    }

    /// <inheritdoc/>
    public override string TypeName => "functional";

    /// <summary>The graph's (first) input.</summary>
    public Input<T> Input => _inputs[0];

    /// <summary>The graph's inputs, in the order it takes them.</summary>
    public IReadOnlyList<Input<T>> Inputs => _inputs;

    /// <summary>The per-sample output shape.</summary>
    public TensorShape OutputShape { get; }

    /// <summary>The single-input layers of the graph, in the order they run (merge layers are in
    /// <see cref="MergeLayers"/>).</summary>
    public IEnumerable<ILayer<T>> Layers => _nodes.Where(n => n.Layer is not null).Select(n => n.Layer!);

    /// <summary>The merge layers of the graph, in the order they run.</summary>
    public IEnumerable<IMergeLayer<T>> MergeLayers => _nodes.Where(n => n.Merge is not null).Select(n => n.Merge!);

    /// <summary>The calls of the graph in the order they run (see <see cref="GraphCall"/>); output shapes and parameter
    /// counts are known once the graph is built.</summary>
    public IReadOnlyList<GraphCall> Calls =>
        _nodes.Select((n, i) => new GraphCall(n.Name, TypeOf(n), n.Sources.Select(s => IsInput(s) ? _inputs[InputIndex(s)].Name : _nodes[s].Name).ToArray(),
            _shapes is null ? (TensorShape?)null : _shapes[i], n.Parameters.Sum(p => (long)p.Value.Length))).ToArray();

    /// <summary>The layer object of call <paramref name="index"/> (an <see cref="ILayer{T}"/> or an
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
            // The layers that read only a graph input need not form its gradient either.
            foreach (var n in _nodes)
                if (n.Layer is { } l && IsInput(n.Sources[0]) && Innermost(l) is IInputGradientOptional o) o.ComputeInputGradient = value;
        }
    }

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

    /// <summary>The timestep mask of the last output: the mask that reaches the output call, or null.</summary>
    public SequenceMask? OutputMask => _nodes[^1].Mask;

    private static string TypeOf(Node n) => n.Layer is { } l ? TimeDistributed<T>.TypeNameOf(l) : n.Merge!.TypeName;

    private void CheckSample(TensorShape shape, int k, string paramName)
    {
        var sample = _inputs[k].Shape;
        bool fits = shape.Rank == sample.Rank + 1;
        for (int i = 0; fits && i < sample.Rank; i++) fits = shape[i + 1] == sample[i];
        if (!fits)
            throw new ArgumentException(
                $"{Name} takes {(_inputs.Length == 1 ? "inputs" : $"as input {k}")} shaped (batch, {string.Join(", ", sample.ToArray())}), as its input '{_inputs[k].Name}'; got {shape}.", paramName);
    }

    /// <summary>Checks one shape per input, all with the same batch size.</summary>
    private void CheckSamples(IReadOnlyList<TensorShape> shapes, string paramName)
    {
        if (shapes.Count != _inputs.Length)
            throw new ArgumentException(
                $"{Name} takes {_inputs.Length} input(s) [{string.Join(", ", _inputs.Select(i => $"'{i.Name}' (None, {string.Join(", ", i.Shape.ToArray())})"))}]; got {shapes.Count}: [{string.Join(", ", shapes)}].", paramName);
        for (int k = 0; k < shapes.Count; k++)
        {
            CheckSample(shapes[k], k, paramName);
            if (shapes[k][0] != shapes[0][0])
                throw new ArgumentException($"{Name}: the inputs have different batch sizes: [{string.Join(", ", shapes)}].", paramName);
        }
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
        var shapes = new TensorShape[_nodes.Length];
        for (int i = 0; i < _nodes.Length; i++)
        {
            var n = _nodes[i];
            int seed = rng.Next();
            if (n.Layer is { } layer)
            {
                int source = n.Sources[0];
                var x = IsInput(source) ? inputShapes[InputIndex(source)] : shapes[source];
                try
                {
                    if (Innermost(layer) is NoiseLayer<T> noise) noise.Reseed(seed);
                    layer.Build(x, seed);
                    shapes[i] = layer.ComputeOutputShape(x);
                }
                catch (ArgumentException e)
                {
                    throw new ArgumentException($"{Name}: layer '{layer.Name}' cannot take inputs shaped {x}: {e.Message}", nameof(inputShape), e);
                }
            }
            else
            {
                var merge = n.Merge!;
                var xs = n.Sources.Select(s => IsInput(s) ? inputShapes[InputIndex(s)] : shapes[s]).ToArray();
                if (merge is AttentionBase<T> attention) attention.Reseed(seed);
                merge.Build(xs, seed);
                shapes[i] = merge.ComputeOutputShape(xs);
            }
            foreach (var p in n.Parameters)
            {
                AddParameter(p);
                _parameterKeys.Add($"{n.Name}.{p.Name}");
            }
        }
        _shapes = shapes.Select(s => s.DropFirst()).ToArray();
        if (!_computeInputGradient) ComputeInputGradient = false;
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
        _lastShapeIn = inputShape;
        _lastShapeOut = OutputShape.Prepend(inputShape[0]);
        return _lastShapeOut;
    }

    /// <summary>The output shape for one shape per input (batch axes included).</summary>
    /// <exception cref="ArgumentException">The shapes do not fit the inputs; the message names them.</exception>
    public TensorShape ComputeOutputShape(IReadOnlyList<TensorShape> inputShapes)
    {
        ArgumentNullException.ThrowIfNull(inputShapes);
        CheckSamples(inputShapes, nameof(inputShapes));
        return OutputShape.Prepend(inputShapes[0][0]);
    }

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        ArgumentNullException.ThrowIfNull(input);
        RequireSingleInput();
        CheckSample(input.Shape, 0, nameof(input));
        EnsureBuilt(input);
        _x[0] = input;
        return Run(training);
    }

    /// <summary>Runs the graph on one tensor per input, in the order of <see cref="Inputs"/> (a multi-input graph's
    /// forward pass; built on first use, as a layer used alone).</summary>
    /// <exception cref="ArgumentException">The count or shapes do not fit the inputs; the message names them.</exception>
    public Tensor<T> Forward(IReadOnlyList<Tensor<T>> inputs, bool training)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        foreach (var x in inputs) ArgumentNullException.ThrowIfNull(x, nameof(inputs));
        var shapes = new TensorShape[inputs.Count];
        for (int k = 0; k < shapes.Length; k++) shapes[k] = inputs[k].Shape;
        if (!IsBuilt) Build(shapes, StableHash(Name));
        else CheckSamples(shapes, nameof(inputs));
        for (int k = 0; k < _x.Length; k++) _x[k] = inputs[k];
        return Run(training);
    }

    private Tensor<T> Run(bool training)
    {
        // Masks flow as in a Sequential (and Keras): from a mask source through the layers that keep the time axis to
        // the recurrent layers, which consume them; merges combine them (see MergeMask). Without a source (here or in
        // front of a one-input graph) a mask a user set on a layer is left alone.
        bool masks = IsMaskSource || InputMask is not null;
        InputMask?.CheckShape(_x[0].Shape, Name);
        foreach (var n in _nodes)
        {
            if (n.Layer is { } layer)
            {
                var mask = masks ? SourceMask(n.Sources[0]) : null;
                if (masks && layer is IMaskConsumer consumer) consumer.InputMask = mask;
                var y = layer.Forward(Source(n.Sources[0]), training);
                n.Output = y;
                n.Mask = !masks ? null : layer is IMaskProducer producer ? producer.OutputMask : y.Rank == 3 ? mask : null;
            }
            else
            {
                for (int k = 0; k < n.Sources.Length; k++) n.MergeInputs[k] = Source(n.Sources[k]);
                n.Output = n.Merge!.Forward(n.MergeInputs, training);
                n.Mask = masks ? MergeMask(n) : null;
            }
        }
        _output = _nodes[^1].Output;
        return _output!;
    }

    /// <summary>The activity penalties (<see cref="Layer{T}.ActivityRegularizer"/>) of the graph's layers in the last
    /// forward pass, <c>Σ r(yᵢ) / B</c>, for the model to add to its loss.</summary>
    internal double ActivityLoss()
    {
        double sum = 0;
        foreach (var n in _nodes)
            if (n.Layer is Layer<T> { ActivityRegularizer: { } activity } && n.Output is { } y)
                sum += Regularizers.ActivityRegularization.Penalty(activity, y);
        return sum;
    }

    private SequenceMask? SourceMask(int s) => IsInput(s) ? (_inputs.Length == 1 ? InputMask : null) : _nodes[s].Mask;

    /// <summary>
    /// The mask of a merge's output, as Keras' merge layers compute it: none when no input has one or the output has
    /// no time axis (rank ≠ 3, e.g. <c>Dot</c>); the inputs' masks joined along time when <c>Concatenate</c> joins along
    /// time (an input without a mask counting as all kept); otherwise the steps every masked input keeps (logical and).
    /// </summary>
    /// <exception cref="InvalidOperationException">A mask reaches an attention layer, which does not take masks.</exception>
    private SequenceMask? MergeMask(Node n)
    {
        SequenceMask? single = null;
        int masked = 0;
        foreach (int s in n.Sources)
            if (SourceMask(s) is { } m) { single = m; masked++; }
        var y = n.Output!;
        if (masked == 0 || y.Rank != 3) return null;
        if (n.Merge is AttentionBase<T>)
            throw new InvalidOperationException(
                $"{Name}: a timestep mask reaches the attention layer '{n.Merge.Name}', which does not take masks (Keras' query and value masks are not supported); remove the Masking/Embedding(maskZero) before it or the mask's path to it.");
        int batch = y.Shape[0], steps = y.Shape[1];
        bool alongTime = n.Merge is Concatenate<T> c && (c.Axis == 1 || c.Axis == -2);
        if (!alongTime && masked == 1 && single!.Batch == batch && single.Steps == steps) return single;
        if (n.MaskBuffer is not { } buffer || buffer.Batch != batch || buffer.Steps != steps) n.MaskBuffer = buffer = new SequenceMask(batch, steps);
        var kept = buffer.Values;
        kept.Fill(true);
        int offset = 0;
        foreach (int s in n.Sources)
        {
            var m = SourceMask(s);
            int t = alongTime ? Source(s).Shape[1] : steps;
            if (m is not null)
            {
                if (m.Batch != batch || m.Steps != t)
                    throw new InvalidOperationException($"{Name}: the mask [{m.Batch}, {m.Steps}] reaching '{n.Merge!.Name}' does not fit its input {Source(s).Shape}.");
                var from = m.Values;
                for (int b = 0; b < batch; b++)
                    for (int i = 0; i < t; i++)
                        kept[b * steps + offset + i] &= from[b * t + i];
            }
            if (alongTime) offset += t;
        }
        return buffer;
    }

    private Tensor<T> Source(int s) => IsInput(s) ? _x[InputIndex(s)] : _nodes[s].Output!;

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        RequireSingleInput();
        BackwardCore(dOutput);
        return _inputGradients[0];
    }

    /// <summary>Back-propagates through the last forward call; returns the gradient with respect to each input, in order
    /// (zeros when <see cref="ComputeInputGradient"/> is false).</summary>
    IReadOnlyList<Tensor<T>> IMergeLayer<T>.Backward(Tensor<T> dOutput)
    {
        BackwardCore(dOutput);
        return _inputGradients;
    }

    private void BackwardCore(Tensor<T> dOutput)
    {
        CheckBackward(_output, dOutput, Name);
        foreach (var n in _nodes)
        {
            n.Received = 0;
            n.Gradient = null;
        }
        Array.Clear(_inputReceived);
        Array.Clear(_inputGradients);
        Deliver(_nodes.Length - 1, dOutput);
        for (int i = _nodes.Length - 1; i >= 0; i--)
        {
            var n = _nodes[i];
            if (n.Layer is { } layer)
            {
                var g = n.Gradient!;
                // An activity penalty's gradient joins the gradient arriving at its layer, as in Sequential.
                if (layer is Layer<T> { ActivityRegularizer: { } activity })
                    g = Regularizers.ActivityRegularization.AddGradient(activity, n.Output!, g, n.ActivityGradient ??= new Workspace<T>());
                Deliver(n.Sources[0], layer.Backward(g));
            }
            else
            {
                var grads = n.Merge!.Backward(n.Gradient!);
                for (int k = 0; k < n.Sources.Length; k++) Deliver(n.Sources[k], grads[k]);
            }
        }
        if (!_computeInputGradient)
            for (int k = 0; k < _x.Length; k++) _inputGradients[k] = _zeros[k].Get(_x[k].Shape, clear: true);
    }

    /// <summary>Hands the gradient <paramref name="d"/> of one reader to the tensor <paramref name="s"/>: as it is when
    /// that tensor has one reader, else summed into its buffer (the first copied, the rest added).</summary>
    private void Deliver(int s, Tensor<T> d)
    {
        if (IsInput(s))
        {
            if (!_computeInputGradient) return;
            int k = InputIndex(s);
            _inputGradients[k] = Accumulate(_inputConsumers[k], ref _inputReceived[k], _inputGradientSums[k], _inputGradients[k], d);
            return;
        }
        var n = _nodes[s];
        n.Gradient = Accumulate(n.Consumers, ref n.Received, n.GradientSum, n.Gradient, d);
    }

    private static Tensor<T> Accumulate(int readers, ref int received, Workspace<T> sum, Tensor<T>? current, Tensor<T> d)
    {
        if (readers == 1) return d;
        if (received++ == 0)
        {
            var buffer = sum.Get(d.Shape);
            d.ReadOnlySpan.CopyTo(buffer.Span);
            return buffer;
        }
        TensorPrimitives.Add(current!.ReadOnlySpan, d.ReadOnlySpan, current.Span);
        return current;
    }

    /// <summary>The graph as options: <c>input_shape</c> and <c>input_name</c> (with several inputs, <c>inputs</c> (the
    /// count) and <c>input.k.shape</c>, <c>input.k.name</c>), <c>nodes</c> (the count), and for call <c>i</c> in run order
    /// <c>node.i.kind</c> (<c>layer</c> or <c>merge</c>), <c>node.i.type</c>, <c>node.i.name</c>, <c>node.i.inputs</c>
    /// (comma-separated call indices; <c>input</c>, or <c>input:k</c> with several inputs, for a graph input) and the
    /// layer's own options as <c>node.i.config.*</c>.</summary>
    public override IReadOnlyDictionary<string, string> GetConfig()
    {
        static string ShapeText(TensorShape s) => string.Join(",", s.ToArray().Select(d => d.ToString(CultureInfo.InvariantCulture)));
        var c = new Dictionary<string, string> { ["nodes"] = _nodes.Length.ToString(CultureInfo.InvariantCulture) };
        if (_inputs.Length == 1)
        {
            c["input_shape"] = ShapeText(Input.Shape);
            c["input_name"] = Input.Name;
        }
        else
        {
            c["inputs"] = _inputs.Length.ToString(CultureInfo.InvariantCulture);
            for (int k = 0; k < _inputs.Length; k++)
            {
                c[$"input.{k.ToString(CultureInfo.InvariantCulture)}.shape"] = ShapeText(_inputs[k].Shape);
                c[$"input.{k.ToString(CultureInfo.InvariantCulture)}.name"] = _inputs[k].Name;
            }
        }
        for (int i = 0; i < _nodes.Length; i++)
        {
            var n = _nodes[i];
            string prefix = $"node.{i.ToString(CultureInfo.InvariantCulture)}.";
            c[prefix + "kind"] = n.Layer is null ? "merge" : "layer";
            c[prefix + "type"] = TypeOf(n);
            c[prefix + "name"] = n.Name;
            c[prefix + "inputs"] = string.Join(",", n.Sources.Select(s =>
                !IsInput(s) ? s.ToString(CultureInfo.InvariantCulture) : _inputs.Length == 1 ? "input" : "input:" + InputIndex(s).ToString(CultureInfo.InvariantCulture)));
            var config = n.Layer?.GetConfig() ?? n.Merge!.GetConfig();
            foreach (var (key, value) in config) c[prefix + "config." + key] = value;
            // As Sequential saves it for a layer whose own options do not list it.
            if (n.Layer is Layer<T> { ActivityRegularizer: { } activity } && !config.ContainsKey("activity_regularizer"))
                c[prefix + "config.activity_regularizer"] = activity.Name;
        }
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
