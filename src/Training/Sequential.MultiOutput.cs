using System.Numerics;
using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using Nn.Simd.Training.Callbacks;
using Nn.Simd.Training.Losses;
using Nn.Simd.Training.Metrics;
using Nn.Simd.Training.Optimizers;

namespace Nn.Simd.Training;

// Shapes: N = samples, B = batch size, K = outputs. x as for one output; y holds K targets [N, ...output k].

/// <remarks>
/// <para>A model of several outputs (<c>Model.Create(inputs, [a, b])</c>, Keras' <c>keras.Model(inputs, [a, b])</c>) is
/// compiled with one loss per output (a list in output order or a dictionary keyed by <see cref="OutputNames"/>; one loss
/// given to <c>Compile</c> serves every output), optional loss weights and per-output metrics. It trains on
/// <c>L = Σₖ wₖ·Lₖ</c> (plus the weight and activity penalties, as one output does): each output's loss gradient, scaled
/// by its weight, flows back into the graph. The calls that take targets take one per output
/// (<c>Fit(x, [ya, yb])</c>, <c>Evaluate</c>, <c>TrainOnBatch</c>, <c>TestOnBatch</c>; a sample's rows of every target
/// move with its inputs when shuffled, batched and split), and <see cref="PredictOutputs(Tensor{T}, int)"/> returns one
/// tensor per output. Logs use Keras 3's keys and values: <c>loss</c> (the weighted total), <c>{output}_loss</c> (each
/// output's loss times its weight, as Keras 3's <c>CompileLoss</c> records it, so the parts add up to the total less the
/// penalties), <c>{output}_{metric}</c>, and their <c>val_</c> forms.</para>
/// <para>Sample weights ([N], as for one output) weigh every output's loss alike, as Keras 3 applies one
/// <c>sample_weight</c> array to each output; the metrics stay unweighted. Not supported for several outputs: class
/// weights (Keras refuses them too: there is no one class per sample), per-output sample weights, weighted metrics,
/// timestep masks, metric objects (metrics are given by name), and layers before or after the graph (each throws
/// <see cref="NotSupportedException"/> where the call exists).</para>
/// </remarks>
public partial class Sequential<T>
{
    /// <summary>One output's part of the training setup: its loss, weight and metrics (in <c>_metrics[From..To)</c>).</summary>
    private sealed class OutputHead(string name, ILoss<T> loss, double weight, string[] metricNames)
    {
        public readonly string Name = name;
        public readonly ILoss<T> Loss = loss;
        public readonly double Weight = weight;
        public readonly string[] MetricNames = metricNames;
        public readonly Workspace<T> DOutput = new();
        public int MetricsFrom, MetricsTo;
        public double LastLoss, LossSum;   // the last batch's weighted loss w·L (what Keras 3 logs), and a running sum over samples
    }

    private OutputHead[]? _heads;            // set when a model of several outputs is compiled
    private bool _headMetricsResolved;
    private Tensor<T>[] _dOutputs = [];

    /// <summary>The graph when the model is one <see cref="Functional{T}"/> of several outputs, else null.</summary>
    private Functional<T>? MultiOutputGraph => _layers is [Functional<T> { OutputCount: > 1 } g] ? g : null;

    /// <summary>How many tensors the model returns: a graph's outputs (<c>Model.Create(inputs, [a, b])</c>), else one.</summary>
    public int OutputCount => MultiOutputGraph?.OutputCount ?? 1;

    /// <summary>The names of the outputs of a model of several outputs (Keras 3's <c>output_names</c>: the layers that
    /// produce them), the keys of per-output losses, loss weights, metrics and logs; for one output, the name of the layer
    /// that produces it (a graph's output layer, else the last layer).</summary>
    public IReadOnlyList<string> OutputNames => _layers is [Functional<T> graph] ? graph.OutputNames : _layers.Count > 0 ? [_layers[^1].Name] : [];

    /// <summary>Each output's per-sample shape; null until built. One output's is <see cref="OutputShape"/>.</summary>
    public IReadOnlyList<TensorShape>? OutputShapes => !IsBuilt ? null : MultiOutputGraph?.OutputShapes ?? [OutputShape!.Value];

    /// <summary>Each output's loss once compiled (one for an ordinary model), in output order.</summary>
    public IReadOnlyList<ILoss<T>> OutputLosses => _heads?.Select(h => h.Loss).ToArray() ?? (Loss is null ? [] : [Loss]);

    /// <summary>Each output's loss weight once compiled (1 for an ordinary model), in output order.</summary>
    public IReadOnlyList<double> LossWeights => _heads?.Select(h => h.Weight).ToArray() ?? (Loss is null ? [] : [1.0]);

    // ***** compile ****

    /// <summary>Compiles a model of several outputs with one loss per output, in output order (Keras'
    /// <c>compile(loss=[…], loss_weights=[…], metrics=[[…], […]])</c>): the model minimises <c>Σₖ wₖ·Lₖ</c>.</summary>
    /// <param name="losses">One loss per output, in the order of <see cref="OutputNames"/>.</param>
    /// <param name="optimizer">The optimizer.</param>
    /// <param name="lossWeights">One weight per output (finite, non-negative); null for 1 each (Keras' default).</param>
    /// <param name="metrics">One list of metric names per output (<see cref="MetricFactory.Names"/>), logged as
    /// <c>{output}_{metric}</c>; null for none.</param>
    /// <exception cref="InvalidOperationException">The model has one output (compile it with one loss).</exception>
    /// <exception cref="ArgumentException">A list's length is not the number of outputs, a weight is negative or not
    /// finite, or a name is unknown; the message names the outputs.</exception>
    public void Compile(IReadOnlyList<ILoss<T>> losses, Optimizer optimizer, IReadOnlyList<double>? lossWeights = null,
        IReadOnlyList<IReadOnlyList<string>>? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(losses);
        var names = RequireOutputs(nameof(losses));
        CheckCount(losses.Count, names, nameof(losses));
        if (lossWeights is not null) CheckCount(lossWeights.Count, names, nameof(lossWeights));
        if (metrics is not null) CheckCount(metrics.Count, names, nameof(metrics));
        CompileOutputs(names.Select((_, k) => losses[k]).ToArray(), optimizer,
            lossWeights?.ToArray(), metrics?.Select(m => (m ?? []).ToArray()).ToArray());
    }

    /// <summary>As <see cref="Compile(IReadOnlyList{ILoss{T}}, Optimizer, IReadOnlyList{double}?, IReadOnlyList{IReadOnlyList{string}}?)"/>
    /// with loss names (<see cref="LossFactory.Names"/>).</summary>
    /// <exception cref="InvalidOperationException">The model has one output.</exception>
    /// <exception cref="ArgumentException">A list's length is not the number of outputs, a weight is invalid, or a name is unknown.</exception>
    public void Compile(IReadOnlyList<string> losses, Optimizer optimizer, IReadOnlyList<double>? lossWeights = null,
        IReadOnlyList<IReadOnlyList<string>>? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(losses);
        Compile(losses.Select(l => LossFactory.Get<T>(l)).ToArray(), optimizer, lossWeights, metrics);
    }

    /// <summary>As <see cref="Compile(IReadOnlyList{string}, Optimizer, IReadOnlyList{double}?, IReadOnlyList{IReadOnlyList{string}}?)"/>
    /// with an optimizer name (Keras defaults, see <see cref="Optimizer.Get"/>).</summary>
    /// <exception cref="InvalidOperationException">The model has one output.</exception>
    /// <exception cref="ArgumentException">A list's length is not the number of outputs, a weight is invalid, or a name is unknown.</exception>
    public void Compile(IReadOnlyList<string> losses, string optimizer, IReadOnlyList<double>? lossWeights = null,
        IReadOnlyList<IReadOnlyList<string>>? metrics = null) => Compile(losses, Optimizer.Get(optimizer), lossWeights, metrics);

    /// <summary>Compiles a model of several outputs with losses keyed by output name (Keras' <c>compile(loss={…},
    /// loss_weights={…}, metrics={…})</c>). Every output needs a loss; an output missing from
    /// <paramref name="lossWeights"/> weighs 1 and one missing from <paramref name="metrics"/> has none.</summary>
    /// <param name="losses">A loss per output name (<see cref="OutputNames"/>).</param>
    /// <param name="optimizer">The optimizer.</param>
    /// <param name="lossWeights">Weights by output name; null for 1 each.</param>
    /// <param name="metrics">Metric names by output name; null for none.</param>
    /// <exception cref="InvalidOperationException">The model has one output.</exception>
    /// <exception cref="ArgumentException">A key is not an output name, an output has no loss, a weight is invalid, or a
    /// metric name is unknown; the message lists the output names.</exception>
    public void Compile(IReadOnlyDictionary<string, ILoss<T>> losses, Optimizer optimizer, IReadOnlyDictionary<string, double>? lossWeights = null,
        IReadOnlyDictionary<string, IReadOnlyList<string>>? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(losses);
        var names = RequireOutputs(nameof(losses));
        CheckKeys(losses.Keys, names, nameof(losses));
        if (lossWeights is not null) CheckKeys(lossWeights.Keys, names, nameof(lossWeights));
        if (metrics is not null) CheckKeys(metrics.Keys, names, nameof(metrics));
        var missing = names.Where(n => !losses.ContainsKey(n)).ToList();
        if (missing.Count > 0)
            throw new ArgumentException($"losses has no loss for output(s) [{string.Join(", ", missing)}]; the model's outputs are [{string.Join(", ", names)}].", nameof(losses));
        CompileOutputs(names.Select(n => losses[n]).ToArray(), optimizer,
            lossWeights is null ? null : names.Select(n => lossWeights.TryGetValue(n, out double w) ? w : 1.0).ToArray(),
            metrics is null ? null : names.Select(n => metrics.TryGetValue(n, out var m) ? (m ?? []).ToArray() : []).ToArray());
    }

    /// <summary>As <see cref="Compile(IReadOnlyDictionary{string, ILoss{T}}, Optimizer, IReadOnlyDictionary{string, double}?, IReadOnlyDictionary{string, IReadOnlyList{string}}?)"/>
    /// with loss names.</summary>
    /// <exception cref="InvalidOperationException">The model has one output.</exception>
    /// <exception cref="ArgumentException">A key is not an output name, an output has no loss, a weight is invalid, or a name is unknown.</exception>
    public void Compile(IReadOnlyDictionary<string, string> losses, Optimizer optimizer, IReadOnlyDictionary<string, double>? lossWeights = null,
        IReadOnlyDictionary<string, IReadOnlyList<string>>? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(losses);
        Compile(losses.ToDictionary(kv => kv.Key, kv => LossFactory.Get<T>(kv.Value), StringComparer.Ordinal), optimizer, lossWeights, metrics);
    }

    private void CompileOutputs(ILoss<T>[] losses, Optimizer optimizer, double[]? weights, string[][]? metrics)
    {
        var names = MultiOutputGraph!.OutputNames;
        for (int k = 0; k < losses.Length; k++)
            if (losses[k] is null) throw new ArgumentNullException(nameof(losses), $"The loss of output '{names[k]}' is null.");
        if (weights is not null)
            for (int k = 0; k < weights.Length; k++)
                if (!(weights[k] >= 0) || !double.IsFinite(weights[k]))
                    throw new ArgumentException($"The loss weight of output '{names[k]}' is {weights[k]}; weights must be finite and non-negative.", "lossWeights");
        if (metrics is not null)
            for (int k = 0; k < metrics.Length; k++)
                foreach (var m in metrics[k]) MetricFactory.Get(m, losses[k]);   // validate names now
        Compile(losses[0], optimizer, Array.Empty<IMetric<T>>());
        _heads = names.Select((n, k) => new OutputHead(n, losses[k], weights?[k] ?? 1.0, metrics?[k] ?? [])).ToArray();
    }

    /// <summary>Called by every single-loss <c>Compile</c>: a model of several outputs gets the loss for each output
    /// (Keras' behaviour for one loss), weight 1 and no metrics; an ordinary model gets no heads.</summary>
    private void SetHeadsForSingleLoss(ILoss<T> loss, int metricCount)
    {
        CheckSingleLossMetrics(metricCount);
        _headMetricsResolved = false;
        _dOutputs = [];
        _heads = MultiOutputGraph is { } graph ? graph.OutputNames.Select(n => new OutputHead(n, loss, 1.0, [])).ToArray() : null;
    }

    /// <summary>Throws when metrics come in one flat list for a model of several outputs (they go per output).</summary>
    private void CheckSingleLossMetrics(int metricCount)
    {
        if (metricCount > 0 && MultiOutputGraph is { } graph)
            throw new ArgumentException(
                $"The model has {graph.OutputCount} outputs [{string.Join(", ", graph.OutputNames)}]: give metrics per output (a list of lists or a dictionary keyed by output name).", "metrics");
    }

    /// <summary>Creates each output's metrics, named <c>{output}_{metric}</c> as Keras 3 logs them, once the shapes are known.</summary>
    private void ResolveHeadMetrics()
    {
        if (_headMetricsResolved) return;
        var shapes = MultiOutputGraph!.OutputShapes;
        _metrics.Clear();
        for (int k = 0; k < _heads!.Length; k++)
        {
            var h = _heads[k];
            h.MetricsFrom = _metrics.Count;
            int columns = shapes[k].Columns;
            foreach (var name in h.MetricNames)
            {
                var plain = MetricFactory.Get(name, h.Loss, columns);
                _metrics.Add(MetricFactory.Get(name, h.Loss, columns, $"{h.Name}_{plain.Name}"));
            }
            h.MetricsTo = _metrics.Count;
        }
        _dOutputs = new Tensor<T>[_heads.Length];
        _headMetricsResolved = true;
    }

    // ***** the calls that take one target per output ****

    /// <summary>Trains a model of several outputs, Keras' <c>fit(x, [ya, yb])</c>: <paramref name="y"/> holds one target per
    /// output (in <see cref="OutputNames"/> order), each with as many samples as <paramref name="x"/>; the rest is as in
    /// <see cref="Fit(Tensor{T}, Tensor{T}, int, int, bool, double, ValueTuple{Tensor{T}, Tensor{T}}?, IEnumerable{Callback}?, int, Tensor{T}?, IReadOnlyDictionary{int, double}?, Tensor{T}?)"/>.
    /// History holds <c>loss</c> (the weighted total), <c>{output}_loss</c>, <c>{output}_{metric}</c> and their <c>val_</c> forms.</summary>
    /// <remarks><paramref name="sampleWeight"/> holds per-sample loss weights [N], applied to every output's loss (Keras 3
    /// gives one <c>sample_weight</c> array to each output); null for all ones. The metrics stay unweighted. With
    /// <paramref name="validationSplit"/> its tail weighs the validation samples; <paramref name="validationSampleWeight"/>
    /// ([N_val]) weighs <paramref name="validationData"/>.</remarks>
    /// <exception cref="InvalidOperationException">The model is not compiled, or has one output.</exception>
    /// <exception cref="ArgumentException">Not one target per output, a target whose sample count or shape does not fit
    /// its output, or sample weights that are not one finite, non-negative value per sample; the message names them.</exception>
    /// <exception cref="NonFiniteException">The loss or a gradient became NaN or infinite (with <see cref="NonFiniteMode.Throw"/>).</exception>
    public History Fit(Tensor<T> x, IReadOnlyList<Tensor<T>> y, int epochs = 1, int batchSize = 32, bool shuffle = true,
        double validationSplit = 0, (Tensor<T> X, IReadOnlyList<Tensor<T>> Y)? validationData = null, IEnumerable<Callback>? callbacks = null,
        int initialEpoch = 0, Tensor<T>? sampleWeight = null, Tensor<T>? validationSampleWeight = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        return FitCore([x], Targets(y, nameof(y)), epochs, batchSize, shuffle, validationSplit,
            validationData is { } vd ? ([vd.X ?? throw new ArgumentNullException(nameof(validationData))], Targets(vd.Y, "validationData.Y")) : null,
            callbacks, initialEpoch, sampleWeight, null, validationSampleWeight);
    }

    /// <summary>As <see cref="Fit(Tensor{T}, IReadOnlyList{Tensor{T}}, int, int, bool, double, ValueTuple{Tensor{T}, IReadOnlyList{Tensor{T}}}?, IEnumerable{Callback}?, int, Tensor{T}?, Tensor{T}?)"/>
    /// for a graph of several inputs: one tensor per input in <paramref name="x"/>.</summary>
    /// <exception cref="InvalidOperationException">The model is not compiled, or has one output.</exception>
    /// <exception cref="ArgumentException">The inputs or targets do not fit the model; the message names them.</exception>
    /// <exception cref="NonFiniteException">The loss or a gradient became NaN or infinite (with <see cref="NonFiniteMode.Throw"/>).</exception>
    public History Fit(IReadOnlyList<Tensor<T>> x, IReadOnlyList<Tensor<T>> y, int epochs = 1, int batchSize = 32, bool shuffle = true,
        double validationSplit = 0, (IReadOnlyList<Tensor<T>> X, IReadOnlyList<Tensor<T>> Y)? validationData = null,
        IEnumerable<Callback>? callbacks = null, int initialEpoch = 0, Tensor<T>? sampleWeight = null, Tensor<T>? validationSampleWeight = null) =>
        FitCore(Inputs(x, nameof(x)), Targets(y, nameof(y)), epochs, batchSize, shuffle, validationSplit,
            validationData is { } vd ? (Inputs(vd.X, "validationData.X"), Targets(vd.Y, "validationData.Y")) : null,
            callbacks, initialEpoch, sampleWeight, null, validationSampleWeight);

    /// <summary>One training step on this batch for a model of several outputs, Keras' <c>train_on_batch(x, [ya, yb])</c>.</summary>
    /// <returns><c>loss</c>, <c>{output}_loss</c> and <c>{output}_{metric}</c> for this batch.</returns>
    /// <exception cref="InvalidOperationException">The model is not compiled, or has one output.</exception>
    /// <remarks><paramref name="sampleWeight"/>: per-sample loss weights [B] for every output's loss, as in <c>Fit</c>; null for all ones.</remarks>
    /// <exception cref="ArgumentException">The inputs, targets or sample weights do not fit the model.</exception>
    public IReadOnlyDictionary<string, double> TrainOnBatch(Tensor<T> x, IReadOnlyList<Tensor<T>> y, Tensor<T>? sampleWeight = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        return TrainOnBatchCore([x], Targets(y, nameof(y)), sampleWeight, null);
    }

    /// <summary>As <see cref="TrainOnBatch(Tensor{T}, IReadOnlyList{Tensor{T}}, Tensor{T}?)"/> for a graph of several inputs.</summary>
    /// <exception cref="InvalidOperationException">The model is not compiled, or has one output.</exception>
    /// <exception cref="ArgumentException">The inputs, targets or sample weights do not fit the model.</exception>
    public IReadOnlyDictionary<string, double> TrainOnBatch(IReadOnlyList<Tensor<T>> x, IReadOnlyList<Tensor<T>> y, Tensor<T>? sampleWeight = null) =>
        TrainOnBatchCore(Inputs(x, nameof(x)), Targets(y, nameof(y)), sampleWeight, null);

    /// <summary>The loss and metrics on this batch in inference mode for a model of several outputs, Keras'
    /// <c>test_on_batch(x, [ya, yb])</c>.</summary>
    /// <exception cref="InvalidOperationException">The model is not compiled, or has one output.</exception>
    /// <remarks><paramref name="sampleWeight"/>: per-sample loss weights [B] for every output's loss, as in <c>Fit</c>; null for all ones.</remarks>
    /// <exception cref="ArgumentException">The inputs, targets or sample weights do not fit the model.</exception>
    public IReadOnlyDictionary<string, double> TestOnBatch(Tensor<T> x, IReadOnlyList<Tensor<T>> y, Tensor<T>? sampleWeight = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        return TestOnBatchCore([x], Targets(y, nameof(y)), sampleWeight);
    }

    /// <summary>As <see cref="TestOnBatch(Tensor{T}, IReadOnlyList{Tensor{T}}, Tensor{T}?)"/> for a graph of several inputs.</summary>
    /// <exception cref="InvalidOperationException">The model is not compiled, or has one output.</exception>
    /// <exception cref="ArgumentException">The inputs, targets or sample weights do not fit the model.</exception>
    public IReadOnlyDictionary<string, double> TestOnBatch(IReadOnlyList<Tensor<T>> x, IReadOnlyList<Tensor<T>> y, Tensor<T>? sampleWeight = null) =>
        TestOnBatchCore(Inputs(x, nameof(x)), Targets(y, nameof(y)), sampleWeight);

    /// <summary>The loss and metrics over a dataset for a model of several outputs, Keras' <c>evaluate(x, [ya, yb])</c>:
    /// <c>loss</c> (Σₖ wₖ·Lₖ plus penalties), <c>{output}_loss</c> and <c>{output}_{metric}</c>, averaged over samples.</summary>
    /// <exception cref="InvalidOperationException">The model is not compiled, or has one output.</exception>
    /// <remarks><paramref name="sampleWeight"/>: per-sample loss weights [N] for every output's loss, as in <c>Fit</c>; null for all ones.</remarks>
    /// <exception cref="ArgumentException">The inputs, targets or sample weights do not fit the model.</exception>
    public IReadOnlyDictionary<string, double> Evaluate(Tensor<T> x, IReadOnlyList<Tensor<T>> y, int batchSize = 32, Tensor<T>? sampleWeight = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        return EvaluateChecked([x], Targets(y, nameof(y)), batchSize, sampleWeight);
    }

    /// <summary>As <see cref="Evaluate(Tensor{T}, IReadOnlyList{Tensor{T}}, int, Tensor{T}?)"/> for a graph of several inputs.</summary>
    /// <exception cref="InvalidOperationException">The model is not compiled, or has one output.</exception>
    /// <exception cref="ArgumentException">The inputs, targets or sample weights do not fit the model.</exception>
    public IReadOnlyDictionary<string, double> Evaluate(IReadOnlyList<Tensor<T>> x, IReadOnlyList<Tensor<T>> y, int batchSize = 32, Tensor<T>? sampleWeight = null) =>
        EvaluateChecked(Inputs(x, nameof(x)), Targets(y, nameof(y)), batchSize, sampleWeight);

    /// <summary>Runs a model of several outputs in inference mode over <paramref name="x"/> in batches, Keras'
    /// <c>predict</c> of a multi-output model: one new tensor [N, ...output k] per output, in <see cref="OutputNames"/> order.</summary>
    /// <exception cref="InvalidOperationException">The model has one output (use <c>Predict</c>).</exception>
    /// <exception cref="ArgumentException">The input does not fit the model.</exception>
    public IReadOnlyList<Tensor<T>> PredictOutputs(Tensor<T> x, int batchSize = 32)
    {
        ArgumentNullException.ThrowIfNull(x);
        return PredictOutputsCore([x], batchSize);
    }

    /// <summary>As <see cref="PredictOutputs(Tensor{T}, int)"/> for a graph of several inputs.</summary>
    /// <exception cref="InvalidOperationException">The model has one output.</exception>
    /// <exception cref="ArgumentException">The inputs do not fit the model.</exception>
    public IReadOnlyList<Tensor<T>> PredictOutputs(IReadOnlyList<Tensor<T>> x, int batchSize = 32) => PredictOutputsCore(Inputs(x, nameof(x)), batchSize);

    /// <summary>Runs a model of several outputs once on exactly this batch, Keras' <c>predict_on_batch</c>: the same values
    /// as <see cref="PredictOutputs(Tensor{T}, int)"/> with <c>batchSize</c> ≥ the batch size.</summary>
    /// <exception cref="InvalidOperationException">The model has one output (use <c>PredictOnBatch</c>).</exception>
    /// <exception cref="ArgumentException">The input does not fit the model.</exception>
    public IReadOnlyList<Tensor<T>> PredictOnBatchOutputs(Tensor<T> x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return PredictOutputsCore([x], Math.Max(1, x.Shape[0]));
    }

    /// <summary>As <see cref="PredictOnBatchOutputs(Tensor{T})"/> for a graph of several inputs.</summary>
    /// <exception cref="InvalidOperationException">The model has one output.</exception>
    /// <exception cref="ArgumentException">The inputs do not fit the model.</exception>
    public IReadOnlyList<Tensor<T>> PredictOnBatchOutputs(IReadOnlyList<Tensor<T>> x)
    {
        var inputs = Inputs(x, nameof(x));
        return PredictOutputsCore(inputs, inputs.Length == 0 ? 1 : Math.Max(1, inputs[0].Shape[0]));
    }

    private Tensor<T>[] PredictOutputsCore(Tensor<T>[] x, int batchSize)
    {
        var graph = RequireOutputsGraph();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        CheckInputs(x, nameof(x));
        EnsureBuilt(x, nameof(x));
        using var threads = new ThreadScope(_threads);
        int n = x[0].Shape[0];
        var results = graph.SampleOutputShapes(x.Select(t => t.Shape).ToArray()).Select(s => new Tensor<T>(WithBatch(s, n))).ToArray();
        for (int start = 0; start < n; start += batchSize)
        {
            int count = Math.Min(batchSize, n - start);
            var outputs = graph.ForwardOutputsUnchecked(Slice(x, start, count), training: false);
            for (int k = 0; k < results.Length; k++)
                outputs[k].ReadOnlySpan.CopyTo(results[k].Span.Slice(start * (results[k].Length / n), outputs[k].Length));
        }
        return results;
    }

    // ***** steps ****

    /// <summary>Forward, the outputs' losses (each gradient scaled by its weight), backward through the graph, checks,
    /// update. Returns the weighted total loss, or NaN when the step was skipped.</summary>
    private double TrainStepOutputs(Tensor<T>[] xb, Tensor<T>[] yb, int epoch, int step, ReadOnlySpan<T> weights = default)
    {
        var graph = (Functional<T>)_layers[0];
        var heads = _heads!;
        var outputs = graph.ForwardOutputsUnchecked(xb, training: true);
        _outputs[0] = outputs[0];
        double loss = 0;
        for (int k = 0; k < heads.Length; k++)
        {
            var h = heads[k];
            var d = h.DOutput.Get(outputs[k].Shape);
            double l = double.CreateChecked(h.Loss.ComputeWithGradient(outputs[k], yb[k], d));
            // Sample weights: Σ sᵣ·ℓᵣ / R over the rows, each row's gradient scaled by its sᵣ, as for one output.
            if (!weights.IsEmpty && double.IsFinite(l)) l = WeightedLoss(h.Loss, outputs[k], yb[k], d, weights);
            // Keras 3 logs each output's loss after its weight (CompileLoss multiplies, then records): w·L.
            h.LastLoss = h.Weight * l;
            // ∂(w·L)/∂y = w·∂L/∂y; a weight of 1 leaves the gradient as the loss wrote it.
            if (h.Weight != 1) TensorPrimitives.Multiply(d.ReadOnlySpan, T.CreateChecked(h.Weight), d.Span);
            _dOutputs[k] = d;
            loss += h.LastLoss;
        }
        loss += ActivityLoss();
        if (!double.IsFinite(loss)) return ReportNonFinite(LocateForward(xb, epoch, step, loss));
        UpdateHeadMetrics(outputs, yb);
        for (int k = 0; k < heads.Length; k++)
            if (!IsFinite(_dOutputs[k].ReadOnlySpan))
                return ReportNonFinite(new NonFiniteInfo(epoch, step, $"the gradient of the loss with respect to output '{heads[k].Name}'", null, -1));

        foreach (var p in _parameters) p.Grad.Clear();
        _inputGrads[0] = graph.BackwardOutputs(_dOutputs)[0];
        return ApplyGradients(loss, epoch, step);
    }

    private void UpdateHeadMetrics(IReadOnlyList<Tensor<T>> outputs, Tensor<T>[] targets)
    {
        for (int k = 0; k < _heads!.Length; k++)
            for (int i = _heads[k].MetricsFrom; i < _heads[k].MetricsTo; i++) _metrics[i].Update(outputs[k], targets[k]);
    }

    /// <summary>Evaluate for a model of several outputs: every output's loss and metrics over the samples, in batches.</summary>
    private Dictionary<string, double> EvaluateOutputs(Tensor<T>[] x, Tensor<T>[] y, int batchSize, T[]? weights)
    {
        var graph = (Functional<T>)_layers[0];
        var heads = _heads!;
        int n = x[0].Shape[0];
        foreach (var m in _metrics) m.Reset();
        foreach (var h in heads) h.LossSum = 0;
        double lossSum = 0;
        var yb = new Tensor<T>[y.Length];
        for (int start = 0; start < n; start += batchSize)
        {
            int count = Math.Min(batchSize, n - start);
            var outputs = graph.ForwardOutputsUnchecked(Slice(x, start, count), training: false);
            double batchLoss = 0;
            for (int k = 0; k < heads.Length; k++)
            {
                yb[k] = y[k].Slice(start, count);
                double l = heads[k].Weight * (weights is null
                    ? double.CreateChecked(heads[k].Loss.Compute(outputs[k], yb[k]))
                    : WeightedLoss(heads[k].Loss, outputs[k], yb[k], null, weights.AsSpan(start, count)));
                heads[k].LossSum += l * count;
                batchLoss += l;
            }
            batchLoss += ActivityLoss();
            lossSum += batchLoss * count;
            UpdateHeadMetrics(outputs, yb);
        }
        var logs = new Dictionary<string, double>(StringComparer.Ordinal) { ["loss"] = n > 0 ? lossSum / n + RegularizationLoss() : double.NaN };
        foreach (var h in heads) logs[h.Name + "_loss"] = n > 0 ? h.LossSum / n : double.NaN;
        foreach (var m in _metrics) logs[m.Name] = m.Result;
        return logs;
    }

    // ***** checks ****

    /// <summary>Throws unless the model has one output: the calls that take or return one tensor.</summary>
    /// <param name="paramName">The targets' argument, or null for the predict calls.</param>
    private void RequireOneOutput(string? paramName)
    {
        if (MultiOutputGraph is not { } graph) return;
        string outputs = $"{graph.OutputCount} outputs [{string.Join(", ", graph.OutputNames.Select(n => "'" + n + "'"))}]";
        if (paramName is null)
            throw new InvalidOperationException($"The model has {outputs}: use PredictOutputs / PredictOnBatchOutputs, which return one tensor per output.");
        throw new ArgumentException($"The model has {outputs}: give {paramName} as a list of {graph.OutputCount} target tensors, one per output, in that order.", paramName);
    }

    /// <summary>The output names of a model of several outputs; throws for a model of one.</summary>
    private IReadOnlyList<string> RequireOutputs(string paramName) => RequireOutputsGraph(paramName).OutputNames;

    private Functional<T> RequireOutputsGraph(string? paramName = null) =>
        MultiOutputGraph ?? throw new InvalidOperationException(
            $"The model has one output ({(_layers.Count > 0 ? "'" + OutputNames[0] + "'" : "no layers")}); {(paramName is null ? "use Predict / PredictOnBatch, which return one tensor" : $"the per-output form of {paramName} is for a model of several outputs (Model.Create(inputs, [a, b])): pass one loss and one target tensor")}.");

    private static void CheckCount(int count, IReadOnlyList<string> names, string paramName)
    {
        if (count != names.Count)
            throw new ArgumentException($"{paramName} has {count} entries, but the model has {names.Count} outputs [{string.Join(", ", names)}]; give one per output, in that order.", paramName);
    }

    private static void CheckKeys(IEnumerable<string> keys, IReadOnlyList<string> names, string paramName)
    {
        foreach (var key in keys)
            if (!names.Contains(key))
                throw new ArgumentException($"{paramName} has the key '{key}', which is not an output name; the model's outputs are [{string.Join(", ", names)}].", paramName);
    }

    /// <summary>A list of target tensors, one per output of a model of several outputs (checked for count and nulls).</summary>
    private Tensor<T>[] Targets(IReadOnlyList<Tensor<T>> y, string name)
    {
        ArgumentNullException.ThrowIfNull(y, name);
        var graph = RequireOutputsGraph(name);
        if (y.Count != graph.OutputCount)
            throw new ArgumentException(
                $"{name} holds {y.Count} target tensor(s) [{string.Join(", ", y.Select(t => t?.Shape.ToString() ?? "null"))}], but the model has {graph.OutputCount} outputs [{string.Join(", ", graph.OutputNames.Select((n, k) => $"'{n}' (None, {graph.OutputShapeText(k)})"))}]; give one per output, in that order.", name);
        var a = new Tensor<T>[y.Count];
        for (int k = 0; k < a.Length; k++) a[k] = y[k] ?? throw new ArgumentNullException(name, $"{name}[{k}] is null.");
        return a;
    }

    /// <summary>Checks the inputs, and that every target has as many samples as they do (one target: as it always did).</summary>
    private void CheckPairs(Tensor<T>[] x, Tensor<T>[] y, string xName, string yName)
    {
        if (y.Length == 1)
        {
            CheckPair(x, y[0], xName, yName);
            return;
        }
        CheckInputs(x, xName);
        var names = OutputNames;
        for (int k = 0; k < y.Length; k++)
            if (y[k].Rank == 0 || y[k].Shape[0] != x[0].Shape[0])
                throw new ArgumentException(
                    $"{yName}[{k}] (output '{names[k]}') is shaped {y[k].Shape}, but {(x.Length == 1 ? xName : xName + "[0]")} has {x[0].Shape[0]} samples ({x[0].Shape}); every target needs one row per sample.", yName);
        if (_heads is null) throw new InvalidOperationException("The model must be compiled before training or evaluation; call Compile(losses, optimizer, …).");
    }
}
