using System.Globalization;
using System.Numerics;
using System.Text;
using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using Nn.Simd.Training.Callbacks;
using Nn.Simd.Training.Losses;
using Nn.Simd.Training.Metrics;
using Nn.Simd.Training.Optimizers;

namespace Nn.Simd.Training;

// Shapes: N = samples, B = batch size. x [N, F] or [N, T, F]; y [N, C], [N] (sparse labels) or [N, 1].

/// <summary>
/// A linear stack of layers with Keras' training API: <c>Compile</c>, <c>Fit</c>, <c>Evaluate</c>, <c>Predict</c>,
/// <c>TrainOnBatch</c>, <c>TestOnBatch</c>, <c>PredictOnBatch</c>, <c>Pop</c>, <c>GetLayer</c>, <c>Summary</c>, <c>Save</c>/<c>Load</c>.
/// Use <see cref="Sequential"/> for float models.
/// <code>
/// var model = new Sequential(new Dense&lt;float&gt;(64, "relu"), new Dense&lt;float&gt;(3, "softmax")) { Seed = 1 };
/// model.Compile("sparse_categorical_crossentropy", "adam", "accuracy");
/// var history = model.Fit(x, y, epochs: 10, validationSplit: 0.2);
/// </code>
/// </summary>
/// <remarks>
/// Determinism: <see cref="Seed"/> fixes the initial weights (layer <c>i</c> is built with <c>Seed + i</c>), the
/// shuffling and anything a layer draws from its build seed (dropout masks). The kernels give bitwise-equal
/// results at any thread count, so the same seed gives the same trained weights at 1 or many threads. The random
/// state that training advances (the shuffle generator and the current sample order, the noise layers' and recurrent
/// dropout generators) is saved by <c>Save</c> with the optimizer state, so a run resumed from a file, or continued
/// by a second <c>Fit</c> with <c>initialEpoch</c>, is bit for bit the uninterrupted run.
/// </remarks>
public partial class Sequential<T> : IModel where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly List<ILayer<T>> _layers = [];
    private readonly List<Parameter<T>> _parameters = [];
    private readonly List<Parameter<T>> _trainableScratch = [];
    private readonly List<IMetric<T>> _metrics = [];
    private string[] _pendingMetricNames = [];
    private string[]? _compiledMetricNames;
    private string[] _pendingWeightedNames = [], _compiledWeightedNames = [];
    private int _weightedFrom = int.MaxValue;   // _metrics[_weightedFrom..] are the weighted metrics
    private bool _managesMasks;
    private int? _seed, _threads;
    private ResumableRandom? _shuffleRng;
    // The order of the training samples after the last shuffle: the next shuffled Fit over as many samples permutes it
    // further, so Fit(a epochs) then Fit(more, initialEpoch: a) gives the orders of one Fit, and it is saved with the
    // training state. Null until a shuffled Fit.
    private int[]? _order;

    /// <summary>The sample order of the last shuffled epoch (see <c>_order</c>), for tests.</summary>
    internal int[]? ShuffleOrder => _order;

    /// <summary>Creates a model from layers, in order.</summary>
    /// <exception cref="ArgumentException">Two layers share a name, or a layer is added twice.</exception>
    public Sequential(params ILayer<T>[] layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        foreach (var l in layers) Add(l);
    }

    /// <summary>Appends a layer; returns the model, so calls chain. A graph of several outputs added to a model compiled
    /// while empty takes the compiled loss for every output, as if compiled after.</summary>
    /// <exception cref="ArgumentException">Another layer has the same name, or it is already in the model; or a graph of
    /// several outputs is added to a model compiled with one flat list of metrics (the model is left unchanged).</exception>
    /// <exception cref="InvalidOperationException">The model is already built.</exception>
    public Sequential<T> Add(ILayer<T> layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (IsBuilt)
            throw new InvalidOperationException($"Cannot add {layer.Name}: the model is already built for inputs {FormatSample(InputShape!.Value)}.");
        if (_layers.Count > 0 && (layer is Functional<T> { OutputCount: > 1 } || _layers[0] is Functional<T> { OutputCount: > 1 }))
            throw new NotSupportedException(
                $"Cannot add {layer.Name}: a graph of several outputs ('{(layer is Functional<T> { OutputCount: > 1 } ? layer.Name : _layers[0].Name)}') must be a model's only layer (make it with Model.Create(inputs, [a, b])).");
        foreach (var l in _layers)
        {
            if (ReferenceEquals(l, layer)) throw new ArgumentException($"Layer '{layer.Name}' is already in the model.", nameof(layer));
            if (l.Name == layer.Name) throw new ArgumentException($"Two layers are named '{layer.Name}'; names must be unique within a model.", nameof(layer));
        }
        // A graph of several outputs added to a model compiled while empty: its one loss serves every output, as when
        // compiled after; metrics given as one list cannot say which output they are for.
        bool heads = layer is Functional<T> { OutputCount: > 1 } && Loss is not null && _heads is null;
        if (heads && (_metrics.Count > 0 || _pendingMetricNames.Length > 0 || _compiledMetricNames is { Length: > 0 } || _compiledWeightedNames.Length > 0))
            throw new ArgumentException(
                $"Cannot add {layer.Name}: the model was compiled with one list of metrics, but a graph of {((Functional<T>)layer).OutputCount} outputs [{string.Join(", ", ((Functional<T>)layer).OutputNames)}] takes them per output; add it first, then compile.", nameof(layer));
        _layers.Add(layer);
        if (heads) SetHeadsForSingleLoss(Loss!, 0);
        return this;
    }

    /// <summary>The layers, in order.</summary>
    public IReadOnlyList<ILayer<T>> Layers => _layers;

    /// <summary>
    /// Removes the last layer and returns it, as Keras' <c>Sequential.pop(rebuild)</c>. The other layers keep their
    /// weights. With <paramref name="rebuild"/> (the default), a built model stays built for its input shape, with the
    /// new last layer's output as <see cref="OutputShape"/>; without it the model becomes unbuilt (Keras'
    /// <c>built = False</c>), so layers can be added again with <see cref="Add"/> and the next <c>Build</c>, <c>Fit</c>,
    /// <c>Evaluate</c> or <c>Predict</c> builds the new ones (the model's seed and shuffle state carry on). A model left
    /// with no layers becomes unbuilt either way (it has no input layer to keep the shape, unlike a Keras model built from
    /// <c>keras.Input</c>).
    /// </summary>
    /// <remarks>
    /// <para>A compiled model stays compiled. The optimizer forgets the state (moments, accumulators, moving averages)
    /// of the removed layer's parameters, which no longer take part in training; the remaining parameters keep theirs and
    /// the step count carries on, so training continues where it was (a layer added later starts from fresh state).
    /// Metrics compiled by name (e.g. <c>accuracy</c>) are resolved again for the new output shape. Pass a new optimizer
    /// to <c>Compile</c> for a fresh start.</para>
    /// <para>What the model set on the removed layer is undone, so it can be used on its own or in another model: it
    /// computes its input gradient again (the model turns that off for its first layer) and holds no timestep mask.</para>
    /// </remarks>
    /// <param name="rebuild">Whether a built model stays built (Keras' default, true) or becomes unbuilt.</param>
    /// <returns>The removed layer.</returns>
    /// <exception cref="InvalidOperationException">The model has no layers.</exception>
    public ILayer<T> Pop(bool rebuild = true)
    {
        if (_layers.Count == 0) throw new InvalidOperationException("Cannot pop a layer: the model has no layers.");
        if (MultiOutputGraph is { } graph)
            throw new NotSupportedException($"Cannot pop '{graph.Name}': it is the graph of a model of {graph.OutputCount} outputs, its only layer.");
        int last = _layers.Count - 1;
        var layer = _layers[last];
        _layers.RemoveAt(last);
        if (last == 0 && Innermost(layer) is IInputGradientOptional first) first.ComputeInputGradient = true;
        if (_managesMasks && layer is IMaskConsumer consumer) consumer.InputMask = null;
        if (Optimizer is { } optimizer)
        {
            foreach (var p in layer.Parameters)
                if (!_layers.Any(l => l.Parameters.Contains(p))) optimizer.ForgetState(p);
        }
        if (_compiledMetricNames is not null)
        {
            _pendingMetricNames = _compiledMetricNames;
            _pendingWeightedNames = _compiledWeightedNames;
        }
        _parameters.Clear();
        foreach (var l in _layers) _parameters.AddRange(l.Parameters);
        _managesMasks = _layers.Any(IsMaskSource);
        _outputs = new Tensor<T>[_layers.Count];
        _inputGrads = new Tensor<T>[_layers.Count];
        _activityGrads = new Workspace<T>?[_layers.Count];
        _outputMask = null;
        if (IsBuilt)
        {
            if (rebuild && _layers.Count > 0)
            {
                OutputShape = DropBatch(ShapeAfter(_inputShapes!, _layers.Count - 1));
            }
            else
            {
                InputShape = null;
                OutputShape = null;
            }
        }
        return layer;
    }

    /// <summary>The layer named <paramref name="name"/>, as Keras' <c>get_layer(name=...)</c>: the model's own layers, then
    /// the single-input layers of a <see cref="Functional{T}"/> graph among them (a model made by <c>Model.Create</c>);
    /// not the layers inside a wrapper.</summary>
    /// <param name="name">The layer's name.</param>
    /// <exception cref="ArgumentException">No layer has that name; the message lists the names there are.</exception>
    public ILayer<T> GetLayer(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (var l in _layers)
            if (l.Name == name) return l;
        // A model made by Model.Create is one graph layer: its layers are found by name too, as in a Keras functional model.
        foreach (var l in _layers)
            if (l is Functional<T> graph && graph.Layers.FirstOrDefault(g => g.Name == name) is { } inner) return inner;
        var names = _layers.Select(l => "'" + l.Name + "'").Concat(_layers.OfType<Functional<T>>().SelectMany(g => g.Layers.Select(l => $"'{l.Name}' (in {g.Name})")));
        throw new ArgumentException($"No such layer: {name}. Existing layers are: [{string.Join(", ", names)}].", nameof(name));
    }

    /// <summary>The layer at <paramref name="index"/>, as Keras' <c>get_layer(index=...)</c>; a negative index counts
    /// from the end (−1 is the last layer), as Keras' Python indexing does.</summary>
    /// <param name="index">In [−count, count).</param>
    /// <exception cref="ArgumentOutOfRangeException">The index is outside [−count, count).</exception>
    public ILayer<T> GetLayer(int index)
    {
        int n = _layers.Count;
        if (index >= n || index < -n)
            throw new ArgumentOutOfRangeException(nameof(index), index,
                $"Was asked to retrieve layer at index {index} but model only has {n} layers.");
        return _layers[index < 0 ? n + index : index];
    }

    /// <summary>All trainable parameters, layer by layer (empty until built).</summary>
    public IReadOnlyList<Parameter<T>> Parameters => _parameters;

    /// <summary>The seed for initialisation, shuffling and dropout; null (the default) draws one at build time,
    /// see <see cref="EffectiveSeed"/>, and leaves each <see cref="Dropout{T}"/> with its own seed. When set, layer
    /// <c>i</c> is built with <c>Seed + i</c> and a dropout layer's mask source is reseeded with it.</summary>
    /// <exception cref="InvalidOperationException">Set after the model is built.</exception>
    public int? Seed
    {
        get => _seed;
        set
        {
            if (IsBuilt) throw new InvalidOperationException("Set Seed before the model is built.");
            _seed = value;
        }
    }

    /// <summary>The seed actually used (valid once built).</summary>
    public int EffectiveSeed { get; private set; }

    /// <summary>The number of threads kernels may use during Fit, Evaluate and Predict; null (the default) leaves
    /// <see cref="Parallelism.MaxDegree"/> as it is (all cores unless changed). Results do not depend on it.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 1.</exception>
    public int? Threads
    {
        get => _threads;
        set
        {
            if (value is < 1) throw new ArgumentOutOfRangeException(nameof(value), $"Threads must be at least 1; got {value}.");
            _threads = value;
        }
    }

    /// <summary>The per-sample input shape (without the batch axis), e.g. <c>[4]</c> or <c>[60, 5]</c>; null until built.
    /// For a multi-input model, the first input's (see <see cref="InputShapes"/>).</summary>
    public TensorShape? InputShape { get; private set; }

    /// <summary>The per-sample shape of each input (one for an ordinary model); null until built.</summary>
    public IReadOnlyList<TensorShape>? InputShapes => IsBuilt ? _inputShapes : null;

    private TensorShape[]? _inputShapes;

    /// <summary>The per-sample output shape (the first output's in a model of several outputs, see
    /// <see cref="OutputShapes"/>); null until built.</summary>
    public TensorShape? OutputShape { get; private set; }

    /// <summary>Whether the layers have been built.</summary>
    public bool IsBuilt => InputShape is not null;

    /// <summary>The compiled loss (the first output's in a model of several outputs, see <see cref="OutputLosses"/>).</summary>
    public ILoss<T>? Loss { get; private set; }

    /// <inheritdoc/>
    public Optimizer? Optimizer { get; private set; }

    /// <summary>The compiled metrics (names in logs are theirs), the weighted metrics (Keras' <c>weighted_metrics</c>)
    /// after the others.</summary>
    public IReadOnlyList<IMetric<T>> Metrics => _metrics;

    /// <inheritdoc/>
    public bool StopTraining { get; set; }

    /// <summary>What to do when the loss or a gradient is NaN or infinite; see <see cref="NonFiniteDetected"/>.</summary>
    public NonFiniteMode NonFinite { get; set; } = NonFiniteMode.Throw;

    /// <summary>Raised when <see cref="NonFinite"/> is <see cref="NonFiniteMode.Warn"/> and a step meets a NaN or
    /// infinity; the step's update is skipped.</summary>
    public event EventHandler<NonFiniteEventArgs>? NonFiniteDetected;

    /// <summary>Builds every layer for inputs of this per-sample shape (e.g. <c>Build(4)</c> or <c>Build(60, 5)</c>).</summary>
    /// <exception cref="ArgumentException">A layer rejects the shape; the message names it.</exception>
    public void Build(params int[] sampleShape) => Build(new TensorShape(sampleShape));

    /// <summary>Builds every layer for inputs of this per-sample shape.</summary>
    /// <exception cref="ArgumentException">A layer rejects the shape, or the model was built for another shape.</exception>
    /// <exception cref="InvalidOperationException">The model has no layers.</exception>
    public void Build(TensorShape sampleShape) => Build([sampleShape]);

    /// <summary>Builds every layer for inputs of these per-sample shapes: one per input of a model whose first layer is
    /// a multi-input <see cref="Functional{T}"/> graph (one shape otherwise).</summary>
    /// <exception cref="ArgumentException">The count does not match the model's inputs, a layer rejects a shape, or the
    /// model was built for other shapes.</exception>
    /// <exception cref="InvalidOperationException">The model has no layers.</exception>
    public void Build(IReadOnlyList<TensorShape> sampleShapes)
    {
        ArgumentNullException.ThrowIfNull(sampleShapes);
        if (IsBuilt)
        {
            if (!_inputShapes!.SequenceEqual(sampleShapes))
                throw new ArgumentException($"The model was built for samples shaped {FormatSamples(_inputShapes!)} but got {FormatSamples(sampleShapes)}.", nameof(sampleShapes));
            return;
        }
        if (_layers.Count == 0) throw new InvalidOperationException("The model has no layers; Add some before building.");
        if (sampleShapes.Count != InputCount)
            throw new ArgumentException($"The model takes {InputCount} input(s); got {sampleShapes.Count} sample shape(s): {FormatSamples(sampleShapes)}.", nameof(sampleShapes));
        foreach (var sampleShape in sampleShapes)
            if (sampleShape.Rank >= TensorShape.MaxRank)
                throw new ArgumentException($"A sample shape has rank at most {TensorShape.MaxRank - 1}; got {sampleShape}.", nameof(sampleShapes));
        // A model built before (and unbuilt by Pop(rebuild: false)) keeps its seed and shuffle generator, and the layers
        // it kept stay as they are (weights and random streams); only the layers added since are built and seeded.
        bool again = _shuffleRng is not null;
        int seed = _seed ?? (again ? EffectiveSeed : Random.Shared.Next());
        var shape = WithBatch(sampleShapes[0], 1);
        for (int i = 0; i < _layers.Count; i++)
        {
            try
            {
                // An explicit model seed also fixes the dropout masks and noise, which the noise layers otherwise seed on their own.
                if (_seed is not null && !(again && _layers[i].IsBuilt) && Innermost(_layers[i]) is NoiseLayer<T> noise) noise.Reseed(unchecked(seed + i));
                if (i == 0 && sampleShapes.Count > 1)
                {
                    var graph = (IMergeLayer<T>)_layers[0];
                    var shapes = sampleShapes.Select(sh => WithBatch(sh, 1)).ToArray();
                    graph.Build(shapes, seed);
                    shape = graph.ComputeOutputShape(shapes);
                    continue;
                }
                _layers[i].Build(shape, unchecked(seed + i));
                shape = _layers[i].ComputeOutputShape(shape);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"Layer {i} '{_layers[i].Name}' cannot take inputs shaped {(i == 0 ? FormatSamples(sampleShapes) : shape.ToString())}: {e.Message}", nameof(sampleShapes), e);
            }
        }
        _parameters.Clear();
        foreach (var l in _layers) _parameters.AddRange(l.Parameters);
        // Only a model with a mask source (Masking) sets the recurrent layers' InputMask; otherwise a mask a user
        // set on a layer is left alone.
        _managesMasks = _layers.Any(IsMaskSource);
        if (!again || seed != EffectiveSeed) _shuffleRng = new ResumableRandom(unchecked(seed * 1103515245 + 12345));
        EffectiveSeed = seed;
        InputShape = sampleShapes[0];
        _inputShapes = sampleShapes.ToArray();
        OutputShape = DropBatch(shape);
        _outputs = new Tensor<T>[_layers.Count];
        _inputGrads = new Tensor<T>[_layers.Count];
        _activityGrads = new Workspace<T>?[_layers.Count];
        // The first layer's input is data: nothing uses its gradient, so skip that product (as autograd does).
        if (_layers.Count > 0)
        {
            if (Innermost(_layers[0]) is IInputGradientOptional first) first.ComputeInputGradient = false;
        }
    }

    /// <summary>How many input tensors the model takes: the first layer's inputs when it is a multi-input
    /// <see cref="Functional{T}"/> graph, else one.</summary>
    public int InputCount => _layers.Count > 0 && _layers[0] is Functional<T> graph ? graph.Inputs.Count : 1;

    /// <summary>The output shape (batch 1) of the layers from the first through <paramref name="last"/> for these sample
    /// shapes (a multi-input first layer takes them all).</summary>
    private TensorShape ShapeAfter(IReadOnlyList<TensorShape> samples, int last)
    {
        var shape = samples.Count > 1
            ? ((IMergeLayer<T>)_layers[0]).ComputeOutputShape(samples.Select(s => WithBatch(s, 1)).ToArray())
            : _layers[0].ComputeOutputShape(WithBatch(samples[0], 1));
        for (int i = 1; i <= last; i++) shape = _layers[i].ComputeOutputShape(shape);
        return shape;
    }

    private static string FormatSamples(IReadOnlyList<TensorShape> samples) =>
        samples.Count == 1 ? FormatSample(samples[0]) : "(" + string.Join(", ", samples.Select(FormatSample)) + ")";

    /// <summary>Whether the layer makes timestep masks (a producer that consumes none, or a graph with one inside).</summary>
    private static bool IsMaskSource(ILayer<T> layer) => layer is IMaskProducer and not IMaskConsumer || layer is Functional<T> { IsMaskSource: true };

    /// <summary>The layer a chain of <see cref="TimeDistributed{T}"/> wrappers applies (the layer itself when unwrapped):
    /// what the model seeds and what it tells to skip the input gradient.</summary>
    private static ILayer<T> Innermost(ILayer<T> layer)
    {
        while (layer is TimeDistributed<T> wrapper) layer = wrapper.Layer;
        return layer;
    }

    /// <summary>Sets the loss, optimizer and metrics.</summary>
    /// <param name="loss">The loss.</param>
    /// <param name="optimizer">The optimizer; it keeps any state it already has (pass a new one, or call
    /// <see cref="Optimizer.Reset"/>, for a fresh start).</param>
    /// <param name="metrics">Metrics to track, e.g. <c>new SparseCategoricalAccuracy&lt;float&gt;()</c>.</param>
    public void Compile(ILoss<T> loss, Optimizer optimizer, params IMetric<T>[] metrics)
    {
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(metrics);
        foreach (var m in metrics)
            if (m is FBetaScore<T> { Average: null } or R2Score<T> { ClassAggregation: null })
                throw new ArgumentException($"Metric '{m.Name}' has one value per class (Keras' average/class_aggregation None), but a log holds one number per metric; give it an average.", nameof(metrics));
        SetHeadsForSingleLoss(loss, metrics.Length);
        Loss = loss;
        Optimizer = optimizer;
        _metrics.Clear();
        _metrics.AddRange(metrics);
        _pendingMetricNames = [];
        _compiledMetricNames = null;
        _pendingWeightedNames = [];
        _compiledWeightedNames = [];
        _weightedFrom = int.MaxValue;
    }

    /// <summary>Sets the loss and optimizer, with no metrics.</summary>
    /// <param name="loss">The loss.</param>
    /// <param name="optimizer">The optimizer.</param>
    public void Compile(ILoss<T> loss, Optimizer optimizer) => Compile(loss, optimizer, Array.Empty<IMetric<T>>());

    /// <summary>Sets the loss and optimizer and metrics by name; <c>accuracy</c> resolves as Keras does (see
    /// <see cref="MetricFactory.Get{T}"/>) once the output shape is known.</summary>
    /// <param name="loss">A loss object.</param>
    /// <param name="optimizer">An optimizer object.</param>
    /// <param name="metrics">Metric names, e.g. <c>accuracy</c>, <c>mae</c>.</param>
    public void Compile(ILoss<T> loss, Optimizer optimizer, params string[] metrics)
    {
        if (metrics is { Length: > 0 }) CheckSingleLossMetrics(metrics.Length);   // a model of several outputs takes them per output
        Compile(loss, optimizer, Array.Empty<IMetric<T>>());
        _pendingMetricNames = metrics ?? [];
        foreach (var m in _pendingMetricNames) MetricFactory.Get(m, loss); // validate names now
        _compiledMetricNames = _pendingMetricNames;
    }

    /// <summary>Sets the loss and optimizer, metrics by name, and Keras' <c>weighted_metrics</c> by name: metrics that
    /// <c>Fit</c>, <c>Evaluate</c> and <c>TrainOnBatch</c> update with the sample weights (and class weights; in
    /// <c>Fit</c>'s validation, the validation sample weights alone), while the <paramref name="metrics"/> stay unweighted. Both respect a sequence mask. A weighted metric whose name is also in
    /// <paramref name="metrics"/> is reported as <c>weighted_</c> + name, as Keras does.</summary>
    /// <param name="loss">A loss object.</param>
    /// <param name="optimizer">An optimizer object.</param>
    /// <param name="metrics">Metric names (<see cref="MetricFactory.Names"/>), or null.</param>
    /// <param name="weightedMetrics">Weighted metric names, or null.</param>
    /// <exception cref="ArgumentException">A name is unknown.</exception>
    public void Compile(ILoss<T> loss, Optimizer optimizer, IEnumerable<string>? metrics, IEnumerable<string>? weightedMetrics)
    {
        var weighted = weightedMetrics?.ToArray() ?? [];
        if (weighted.Length > 0 && MultiOutputGraph is not null)
            throw new NotSupportedException("Weighted metrics are not supported for a model of several outputs (it takes no sample weights here).");
        Compile(loss, optimizer, metrics?.ToArray() ?? []);
        _pendingWeightedNames = weighted;
        foreach (var m in _pendingWeightedNames) MetricFactory.Get(m, loss); // validate names now
        _compiledWeightedNames = _pendingWeightedNames;
    }

    /// <summary>Compiles with a loss name, an optimizer name, metric names and weighted metric names; see
    /// <see cref="Compile(ILoss{T}, Optimizer, IEnumerable{string}?, IEnumerable{string}?)"/>.</summary>
    /// <exception cref="ArgumentException">A name is unknown.</exception>
    public void Compile(string loss, string optimizer, IEnumerable<string>? metrics, IEnumerable<string>? weightedMetrics) =>
        Compile(LossFactory.Get<T>(loss), Optimizer.Get(optimizer), metrics, weightedMetrics);

    /// <summary>Compiles with names: a loss (<see cref="LossFactory.Names"/>), an optimizer with Keras defaults
    /// (<c>sgd</c>, <c>adam</c>, <c>adamw</c>, <c>rmsprop</c>, <c>adagrad</c>, <c>nadam</c>, <c>adamax</c>, <c>adadelta</c>,
    /// <c>lion</c>; see <see cref="Optimizer.Get"/>) and metric names.</summary>
    /// <exception cref="ArgumentException">A name is unknown.</exception>
    public void Compile(string loss, string optimizer = "adam", params string[] metrics) =>
        Compile(LossFactory.Get<T>(loss), Optimizer.Get(optimizer), metrics);

    /// <summary>Compiles with a loss name, an optimizer object, metric names and weighted metric names; see
    /// <see cref="Compile(ILoss{T}, Optimizer, IEnumerable{string}?, IEnumerable{string}?)"/>.</summary>
    /// <exception cref="ArgumentException">A name is unknown.</exception>
    public void Compile(string loss, Optimizer optimizer, IEnumerable<string>? metrics, IEnumerable<string>? weightedMetrics) =>
        Compile(LossFactory.Get<T>(loss), optimizer, metrics, weightedMetrics);

    /// <summary>Compiles with a loss name, an optimizer object and metric names.</summary>
    /// <exception cref="ArgumentException">A name is unknown.</exception>
    public void Compile(string loss, Optimizer optimizer, params string[] metrics) =>
        Compile(LossFactory.Get<T>(loss), optimizer, metrics);

    private void ResolveMetrics()
    {
        if (_heads is not null)
        {
            ResolveHeadMetrics();
            return;
        }
        if (_pendingMetricNames.Length == 0 && _pendingWeightedNames.Length == 0) return;
        _metrics.Clear();
        int columns = OutputShape!.Value.Columns;
        foreach (var m in _pendingMetricNames) _metrics.Add(MetricFactory.Get(m, Loss, columns));
        _weightedFrom = _pendingWeightedNames.Length == 0 ? int.MaxValue : _metrics.Count;
        var names = _metrics.Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var m in _pendingWeightedNames)
        {
            // Keras reports a weighted metric under its own name unless an unweighted one has it: then "weighted_" + name.
            var metric = MetricFactory.Get(m, Loss, columns);
            if (!names.Add(metric.Name)) metric = MetricFactory.Get(m, Loss, columns, "weighted_" + metric.Name);
            names.Add(metric.Name);
            _metrics.Add(metric);
        }
        _pendingMetricNames = [];
        _pendingWeightedNames = [];
    }

    /// <inheritdoc/>
    public WeightsSnapshot GetWeights()
    {
        var arrays = new Array[_parameters.Count];
        for (int i = 0; i < arrays.Length; i++) arrays[i] = _parameters[i].Value.ToArray();
        return new WeightsSnapshot(arrays);
    }

    /// <inheritdoc/>
    public void SetWeights(WeightsSnapshot weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.Values.Length != _parameters.Count)
            throw new ArgumentException($"The snapshot holds {weights.Values.Length} tensors but the model has {_parameters.Count} parameters.", nameof(weights));
        for (int i = 0; i < _parameters.Count; i++)
        {
            if (weights.Values[i] is not T[] a || a.Length != _parameters[i].Value.Length)
                throw new ArgumentException($"Snapshot tensor {i} does not fit parameter {_parameters[i]}.", nameof(weights));
        }
        for (int i = 0; i < _parameters.Count; i++)
        {
            ((T[])weights.Values[i]).CopyTo(_parameters[i].Value.Span);
            _parameters[i].MarkChanged();
        }
    }

    /// <summary>A Keras-like table of the layers (name and type), their output shapes and parameter counts, with totals.</summary>
    /// <exception cref="InvalidOperationException">The model is not built yet (call <c>Build</c> or <c>Fit</c> first).</exception>
    public string Summary()
    {
        if (!IsBuilt)
            throw new InvalidOperationException("The model is not built yet; call Build(sampleShape) or Fit first so shapes and parameter counts are known.");
        var rows = new List<(string Layer, string Shape, string Params)>();
        long total = 0, trainable = 0;
        // After a graph with None axes, each shape is inferred at two sizes of them, and the axes that differ print None.
        var probe = NoneGraph is { OutputCount: 1 } none ? none.OutputSampleShapes(0).Probe : (TensorShape?)null;
        for (int i = 0; i < _layers.Count; i++)
        {
            var l = _layers[i];
            var shape = ShapeAfter(_inputShapes!, i);
            string shapeText = FormatWithNone(shape);
            if (i > 0 && probe is { } p)
            {
                probe = l.ComputeOutputShape(WithBatch(p, 1)).DropFirst();
                shapeText = "(None, " + Input<T>.Format(shape.DropFirst(), probe.Value) + ")";
            }
            long count = l.Parameters.Sum(p => (long)p.Value.Length);
            total += count;
            trainable += l.Parameters.Where(p => p.Trainable).Sum(p => (long)p.Value.Length);
            rows.Add(($"{l.Name} ({TypeLabel(l)})", l is Functional<T> { HasNone: true, OutputCount: 1 } g ? "(None, " + g.OutputShapeText(0) + ")" : shapeText, count.ToString("N0", CultureInfo.InvariantCulture)));
            // A graph's calls follow it, indented, each with the layers it reads (Keras' "Connected to").
            if (l is Functional<T> graph)
            {
                var calls = graph.Calls;
                for (int c = 0; c < calls.Count; c++)
                    rows.Add(($"  {calls[c].Name} ({TypeLabel(graph.LayerOf(c))}) ← {string.Join(", ", calls[c].Inputs)}",
                        "(None, " + graph.CallShapeText(c) + ")", calls[c].ParameterCount.ToString("N0", CultureInfo.InvariantCulture)));
            }
        }
        int w1 = Math.Max(28, rows.Max(r => r.Layer.Length) + 2);
        int w2 = Math.Max(22, rows.Max(r => r.Shape.Length) + 2);
        int w3 = Math.Max(10, rows.Max(r => r.Params.Length));
        var sb = new StringBuilder();
        string rule = new('─', w1 + w2 + w3), thick = new('═', w1 + w2 + w3);
        // A model made by Model.Create is one graph: Keras calls it a functional model.
        string kind = _layers is [Functional<T>] ? "functional" : "sequential";
        string inputs = _layers[0] is Functional<T> { HasNone: true } first
            ? string.Join(", ", first.Inputs.Select(i => $"(None, {i.ShapeText})"))
            : string.Join(", ", _inputShapes!.Select(s => FormatWithNone(WithBatch(s, 1))));
        sb.AppendLine($"Model: \"{kind}\"  (input {inputs})");
        if (MultiOutputGraph is { } outputs)
            sb.AppendLine($"Outputs: {string.Join(", ", outputs.OutputNames.Select((n, k) => $"{n} (None, {outputs.OutputShapeText(k)})"))}");
        sb.AppendLine(rule);
        sb.Append("Layer (type)".PadRight(w1)).Append("Output Shape".PadRight(w2)).AppendLine("Param #".PadLeft(w3));
        sb.AppendLine(thick);
        for (int i = 0; i < rows.Count; i++)
        {
            sb.Append(rows[i].Layer.PadRight(w1)).Append(rows[i].Shape.PadRight(w2)).AppendLine(rows[i].Params.PadLeft(w3));
            sb.AppendLine(i == rows.Count - 1 ? thick : rule);
        }
        sb.AppendLine($"Total params: {Count(total)}");
        sb.AppendLine($"Trainable params: {Count(trainable)}");
        sb.AppendLine($"Non-trainable params: {Count(total - trainable)}");
        return sb.ToString();
    }

    private static string Count(long n) =>
        $"{n.ToString("N0", CultureInfo.InvariantCulture)} ({FormatBytes(n * System.Runtime.CompilerServices.Unsafe.SizeOf<T>())})";

    private static string TypeLabel(object layer)
    {
        string n = layer.GetType().Name;
        int tick = n.IndexOf('`');
        return tick >= 0 ? n[..tick] : n;
    }

    private static string FormatBytes(long b) =>
        b >= 1 << 20 ? $"{b / 1048576.0:F2} MB" : b >= 1 << 10 ? $"{b / 1024.0:F2} KB" : $"{b:F2} B";

    private static string FormatWithNone(TensorShape withBatch)
    {
        var d = withBatch.ToArray();
        return "(None" + string.Concat(d.Skip(1).Select(x => ", " + x.ToString(CultureInfo.InvariantCulture))) + ")";
    }

    private static string FormatSample(TensorShape sample) => "[" + string.Join(", ", sample.ToArray()) + "]";

    /// <summary>[n, ...sample].</summary>
    internal static TensorShape WithBatch(TensorShape sample, int n) => sample.Prepend(n);

    /// <summary>A batch's sample shape; a rank-1 batch (one number per sample) has samples shaped [1].</summary>
    private static TensorShape DropBatch(TensorShape shape) => shape.Rank == 1 ? new TensorShape(1) : shape.DropFirst();

    /// <inheritdoc/>
    public override string ToString() => $"Sequential({string.Join(", ", _layers.Select(l => l.Name))})";
}

/// <summary>A float <see cref="Sequential{T}"/>, the model users train.</summary>
public class Sequential : Sequential<float>
{
    /// <summary>Creates a model from layers, in order.</summary>
    public Sequential(params ILayer<float>[] layers) : base(layers) { }

    /// <summary>Loads a model saved with <see cref="Sequential{T}.Save(string)"/>: architecture, weights and, when it
    /// has only built-in parts, the training setup (see <see cref="Sequential{T}.Load(string)"/>).</summary>
    /// <exception cref="InvalidDataException">The file is invalid or does not describe a model; the message says why.</exception>
    public static new Sequential Load(string path) => Load(path, compile: true);

    /// <summary>Loads as <see cref="Load(string)"/>; with <paramref name="compile"/> false the model comes back uncompiled.</summary>
    /// <exception cref="InvalidDataException">The file is invalid or does not describe a model; the message says why.</exception>
    public static new Sequential Load(string path, bool compile)
    {
        var m = new Sequential();
        m.LoadFrom(path, compile);
        return m;
    }
}

/// <summary>Entry points that are not tied to a model instance.</summary>
public static class Model
{
    /// <summary>Loads a float model saved with <c>Save</c>; the same as <see cref="Sequential.Load(string)"/>.</summary>
    /// <exception cref="InvalidDataException">The file is invalid or does not describe a model.</exception>
    public static Sequential Load(string path) => Sequential.Load(path);

    /// <summary>Loads a float model, uncompiled when <paramref name="compile"/> is false; see <see cref="Sequential.Load(string, bool)"/>.</summary>
    /// <exception cref="InvalidDataException">The file is invalid or does not describe a model.</exception>
    public static Sequential Load(string path, bool compile) => Sequential.Load(path, compile);

    /// <summary>A float model of the graph from <paramref name="inputs"/> to <paramref name="outputs"/>, Keras'
    /// <c>keras.Model(inputs, outputs)</c>: a model whose one layer is the <see cref="Functional{T}"/> graph, built
    /// for the input's shape (so <c>Summary</c> works at once) with <paramref name="seed"/> as its <c>Seed</c>.</summary>
    /// <param name="inputs">The graph's input.</param>
    /// <param name="outputs">A tensor computed from it by calling layers.</param>
    /// <param name="seed">The model's seed (weights, dropout, shuffling); null draws one.</param>
    /// <exception cref="ArgumentException">The graph is not valid (see <see cref="Functional{T}(Input{T}, SymbolicTensor{T})"/>).</exception>
    public static Sequential Create(Input<float> inputs, SymbolicTensor<float> outputs, int? seed = null)
    {
        var model = new Sequential(new Functional<float>(inputs, outputs)) { Seed = seed };
        model.Build(inputs.Shape);
        return model;
    }

    /// <summary>As <see cref="Create(Input{float}, SymbolicTensor{float}, int?)"/> for any element type (double for
    /// gradient checks).</summary>
    /// <exception cref="ArgumentException">The graph is not valid.</exception>
    public static Sequential<T> Create<T>(Input<T> inputs, SymbolicTensor<T> outputs, int? seed = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var model = new Sequential<T>(new Functional<T>(inputs, outputs)) { Seed = seed };
        model.Build(inputs.Shape);
        return model;
    }

    /// <summary>A float model of a graph of several inputs, Keras' <c>keras.Model([a, b], outputs)</c>: it takes one
    /// tensor per input, in this order (<c>model.Fit([xa, xb], y)</c>, <c>Predict([xa, xb])</c>, …).</summary>
    /// <param name="inputs">The graph's inputs, in the order the model takes them.</param>
    /// <param name="outputs">A tensor computed from them by calling layers.</param>
    /// <param name="seed">The model's seed; null draws one.</param>
    /// <exception cref="ArgumentException">The graph is not valid (see <see cref="Functional{T}(IReadOnlyList{Input{T}}, SymbolicTensor{T})"/>).</exception>
    public static Sequential Create(IReadOnlyList<Input<float>> inputs, SymbolicTensor<float> outputs, int? seed = null)
    {
        var model = new Sequential(new Functional<float>(inputs, outputs)) { Seed = seed };
        model.Build(inputs.Select(i => i.Shape).ToArray());
        return model;
    }

    /// <summary>A float model of a graph of several outputs, Keras' <c>keras.Model(inputs, [a, b])</c> (e.g. a regression
    /// head and a classification head on one trunk): it is compiled with one loss per output, takes one target per output
    /// (<c>Fit(x, [ya, yb])</c>) and <c>PredictOutputs</c> returns one tensor per output. The outputs are named after the
    /// layers that produce them (<see cref="Sequential{T}.OutputNames"/>). One output in the list gives an ordinary model.</summary>
    /// <param name="inputs">The graph's input.</param>
    /// <param name="outputs">The tensors the model returns, in order.</param>
    /// <param name="seed">The model's seed; null draws one.</param>
    /// <exception cref="ArgumentException">The graph is not valid (see <see cref="Functional{T}(IReadOnlyList{Input{T}}, IReadOnlyList{SymbolicTensor{T}})"/>).</exception>
    /// <exception cref="NotSupportedException">Several outputs and a layer that makes timestep masks.</exception>
    public static Sequential Create(Input<float> inputs, IReadOnlyList<SymbolicTensor<float>> outputs, int? seed = null)
    {
        var model = new Sequential(new Functional<float>(inputs, outputs)) { Seed = seed };
        model.Build(inputs.Shape);
        return model;
    }

    /// <summary>As <see cref="Create(Input{float}, IReadOnlyList{SymbolicTensor{float}}, int?)"/> for any element type.</summary>
    /// <exception cref="ArgumentException">The graph is not valid.</exception>
    /// <exception cref="NotSupportedException">Several outputs and a layer that makes timestep masks.</exception>
    public static Sequential<T> Create<T>(Input<T> inputs, IReadOnlyList<SymbolicTensor<T>> outputs, int? seed = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var model = new Sequential<T>(new Functional<T>(inputs, outputs)) { Seed = seed };
        model.Build(inputs.Shape);
        return model;
    }

    /// <summary>A float model of a graph of several inputs and several outputs, Keras' <c>keras.Model([a, b], [y, z])</c>.</summary>
    /// <param name="inputs">The graph's inputs, in the order the model takes them.</param>
    /// <param name="outputs">The tensors the model returns, in order.</param>
    /// <param name="seed">The model's seed; null draws one.</param>
    /// <exception cref="ArgumentException">The graph is not valid.</exception>
    /// <exception cref="NotSupportedException">Several outputs and a layer that makes timestep masks.</exception>
    public static Sequential Create(IReadOnlyList<Input<float>> inputs, IReadOnlyList<SymbolicTensor<float>> outputs, int? seed = null)
    {
        var model = new Sequential(new Functional<float>(inputs, outputs)) { Seed = seed };
        model.Build(inputs.Select(i => i.Shape).ToArray());
        return model;
    }

    /// <summary>As <see cref="Create(IReadOnlyList{Input{float}}, IReadOnlyList{SymbolicTensor{float}}, int?)"/> for any element type.</summary>
    /// <exception cref="ArgumentException">The graph is not valid.</exception>
    /// <exception cref="NotSupportedException">Several outputs and a layer that makes timestep masks.</exception>
    public static Sequential<T> Create<T>(IReadOnlyList<Input<T>> inputs, IReadOnlyList<SymbolicTensor<T>> outputs, int? seed = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var model = new Sequential<T>(new Functional<T>(inputs, outputs)) { Seed = seed };
        model.Build(inputs.Select(i => i.Shape).ToArray());
        return model;
    }

    /// <summary>As <see cref="Create(IReadOnlyList{Input{float}}, SymbolicTensor{float}, int?)"/> for any element type.</summary>
    /// <exception cref="ArgumentException">The graph is not valid.</exception>
    public static Sequential<T> Create<T>(IReadOnlyList<Input<T>> inputs, SymbolicTensor<T> outputs, int? seed = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var model = new Sequential<T>(new Functional<T>(inputs, outputs)) { Seed = seed };
        model.Build(inputs.Select(i => i.Shape).ToArray());
        return model;
    }
}
