using System.Diagnostics;
using System.Numerics;
using Nn.Simd.Layers;
using Nn.Simd.Layers.Regularizers;
using Nn.Simd.Tensors;
using Nn.Simd.Training.Losses;
using Nn.Simd.Training.Callbacks;

namespace Nn.Simd.Training;

public partial class Sequential<T>
{
    private Tensor<T>[] _outputs = [], _inputGrads = [];
    // Per layer, the buffer for its output gradient plus its activity penalty's gradient (created on first use).
    private Workspace<T>?[] _activityGrads = [];
    private readonly Workspace<T> _dOutput = new();
    private int _trainOnBatchCalls;
    private int? _resumeEpoch;
    private T[] _batchWeights = [], _metricRowWeights = [];
    private SequenceMask? _outputMask;
    private Tensor<T>[]? _singleInput;
    private readonly RowViews<T> _outputRows = new(), _targetRows = new();

    /// <summary>
    /// Trains the model, as Keras' <c>fit</c>: the validation split is taken from the tail of the data (and of the
    /// sample weights) before any shuffling; the training samples are reshuffled every epoch when
    /// <paramref name="shuffle"/> is set; the last partial batch is included. Steps gather rows into preallocated
    /// batch buffers, so they allocate nothing. After each epoch the validation samples are evaluated as
    /// <c>Evaluate</c> does with their weights, and the results are logged with a <c>val_</c> prefix.
    /// </summary>
    /// <param name="x">Inputs [N, ...] (first axis = samples), e.g. [N, F] or [N, T, F].</param>
    /// <param name="y">Targets [N, ...] in the loss's layout: [N, C], [N] class indices, or [N, 1].</param>
    /// <param name="epochs">Epochs to run; non-negative.</param>
    /// <param name="batchSize">Samples per step (Keras' default 32); positive.</param>
    /// <param name="shuffle">Whether to reshuffle the training samples every epoch. Each epoch permutes the previous
    /// epoch's order (Fisher–Yates), starting from the order the model's last shuffled <c>Fit</c> over as many samples
    /// left (kept in memory and saved with the training state), else from 0 … N − 1; so splitting a run over several
    /// <c>Fit</c> calls, or resuming it from a file, gives the orders of one uninterrupted <c>Fit</c>.</param>
    /// <param name="validationSplit">The fraction in [0, 1) of samples, from the end, held out for validation: the
    /// first ⌊N·(1 − split)⌋ samples train, the rest validate, and <paramref name="sampleWeight"/> is split at the same
    /// point (Keras' <c>train_validation_split</c>), so the validation samples keep their weights.</param>
    /// <param name="validationData">Validation inputs and targets; overrides <paramref name="validationSplit"/>. Their
    /// weights, if any, are <paramref name="validationSampleWeight"/>.</param>
    /// <param name="callbacks">Callbacks, called in order.</param>
    /// <param name="sampleWeight">Per-sample loss weights [N] (Keras' <c>sample_weight</c>): each sample's loss and
    /// gradient are multiplied by its weight, and the batch loss stays a mean over the batch size, as Keras'
    /// <c>sum_over_batch_size</c>. Only the weighted metrics (Compile's <c>weightedMetrics</c>, Keras'
    /// <c>weighted_metrics</c>) see the weights, as <c>Σ w·value / Σ w</c>; the other metrics are unweighted. With
    /// <paramref name="validationSplit"/>, the tail of the weights weighs the validation samples: <c>val_loss</c> is
    /// then <c>Σ w·ℓ / N_val</c> and the <c>val_</c> weighted metrics see the weights, as in <c>Evaluate</c>.
    /// Null for all ones.</param>
    /// <param name="classWeight">Per-class loss weights (Keras' <c>class_weight</c>), multiplied into the sample
    /// weights by each sample's class: its target index, or the argmax of a one-hot target; classes not listed weigh 1.
    /// Training only: as in Keras, they never reach validation.</param>
    /// <param name="initialEpoch">The epoch to start at (Keras' <c>initial_epoch</c>), for resuming a saved run:
    /// epochs <c>initialEpoch … epochs − 1</c> are run, and callbacks see those numbers. A <see cref="BackupAndRestore"/>
    /// callback that finds a backup replaces it with the backed-up epoch.</param>
    /// <param name="validationSampleWeight">Per-sample loss weights [N_val] of <paramref name="validationData"/>, the
    /// third element of Keras' <c>validation_data=(x_val, y_val, val_sample_weight)</c>: <c>val_loss</c> and the
    /// <c>val_</c> weighted metrics are weighted as <c>Evaluate</c> weighs them. Null for all ones; only with
    /// <paramref name="validationData"/>.</param>
    /// <returns>The per-epoch logs of the epochs run.</returns>
    /// <exception cref="InvalidOperationException">The model is not compiled.</exception>
    /// <exception cref="ArgumentException">Sizes or shapes disagree, or a label is out of range; the message names the shapes or the value and its index.</exception>
    /// <exception cref="NonFiniteException">The loss or a gradient became NaN or infinite (with <see cref="NonFiniteMode.Throw"/>).</exception>
    public History Fit(Tensor<T> x, Tensor<T> y, int epochs = 1, int batchSize = 32, bool shuffle = true,
        double validationSplit = 0, (Tensor<T> X, Tensor<T> Y)? validationData = null, IEnumerable<Callback>? callbacks = null,
        int initialEpoch = 0, Tensor<T>? sampleWeight = null, IReadOnlyDictionary<int, double>? classWeight = null,
        Tensor<T>? validationSampleWeight = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        RequireOneOutput(nameof(y));
        return FitCore([x], [y], epochs, batchSize, shuffle, validationSplit, validationData is { } vd ? ([vd.X], [vd.Y]) : null,
            callbacks, initialEpoch, sampleWeight, classWeight, validationSampleWeight);
    }

    /// <summary>Trains a model of several inputs (a multi-input <see cref="Functional{T}"/> graph), Keras'
    /// <c>fit([xa, xb], y)</c>: <paramref name="x"/> holds one tensor per input, in the graph's order, each with the
    /// same number of samples; everything else is as in <see cref="Fit(Tensor{T}, Tensor{T}, int, int, bool, double, ValueTuple{Tensor{T}, Tensor{T}}?, IEnumerable{Callback}?, int, Tensor{T}?, IReadOnlyDictionary{int, double}?, Tensor{T}?)"/>
    /// (a sample's rows of every input move together when shuffled, gathered and split).</summary>
    /// <exception cref="InvalidOperationException">The model is not compiled.</exception>
    /// <exception cref="ArgumentException">The number of inputs, their sample counts or shapes disagree with the model
    /// or with <paramref name="y"/>; the message names them.</exception>
    /// <exception cref="NonFiniteException">The loss or a gradient became NaN or infinite (with <see cref="NonFiniteMode.Throw"/>).</exception>
    public History Fit(IReadOnlyList<Tensor<T>> x, Tensor<T> y, int epochs = 1, int batchSize = 32, bool shuffle = true,
        double validationSplit = 0, (IReadOnlyList<Tensor<T>> X, Tensor<T> Y)? validationData = null, IEnumerable<Callback>? callbacks = null,
        int initialEpoch = 0, Tensor<T>? sampleWeight = null, IReadOnlyDictionary<int, double>? classWeight = null,
        Tensor<T>? validationSampleWeight = null)
    {
        RequireOneOutput(nameof(y));
        return FitCore(Inputs(x, nameof(x)), [y], epochs, batchSize, shuffle, validationSplit,
            validationData is { } vd ? (Inputs(vd.X, "validationData.X"), [vd.Y]) : null, callbacks, initialEpoch, sampleWeight, classWeight, validationSampleWeight);
    }

    /// <summary>A list of input tensors as the array the private paths take (checked for nulls).</summary>
    private static Tensor<T>[] Inputs(IReadOnlyList<Tensor<T>> x, string name)
    {
        ArgumentNullException.ThrowIfNull(x, name);
        var a = new Tensor<T>[x.Count];
        for (int k = 0; k < a.Length; k++) a[k] = x[k] ?? throw new ArgumentNullException(name, $"{name}[{k}] is null.");
        return a;
    }

    /// <summary>The training loop; <paramref name="y"/> holds one target per output (one for an ordinary model).</summary>
    private History FitCore(Tensor<T>[] x, Tensor<T>[] y, int epochs, int batchSize, bool shuffle,
        double validationSplit, (Tensor<T>[] X, Tensor<T>[] Y)? validationData, IEnumerable<Callback>? callbacks,
        int initialEpoch, Tensor<T>? sampleWeight, IReadOnlyDictionary<int, double>? classWeight,
        Tensor<T>? validationSampleWeight)
    {
        RequireCompiled();
        ArgumentOutOfRangeException.ThrowIfNegative(epochs);
        if (initialEpoch < 0 || initialEpoch > epochs)
            throw new ArgumentOutOfRangeException(nameof(initialEpoch), $"initialEpoch must be in [0, epochs = {epochs}]; got {initialEpoch}.");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        if (!(validationSplit >= 0 && validationSplit < 1))
            throw new ArgumentOutOfRangeException(nameof(validationSplit), $"validationSplit must be in [0, 1); got {validationSplit}.");
        CheckPairs(x, y, nameof(x), nameof(y));
        EnsureBuilt(x, nameof(x));
        if (validationSampleWeight is not null && validationData is null)
            throw new ArgumentException($"validationSampleWeight (shape {validationSampleWeight.Shape}) weighs validationData, which is not given; with validationSplit the validation weights are the tail of sampleWeight.", nameof(validationSampleWeight));

        Tensor<T>[] xTrain = x;
        Tensor<T>[] yTrain = y;
        Tensor<T>[]? xVal = null;
        Tensor<T>[]? yVal = null;
        if (validationData is { } vd)
        {
            CheckPairs(vd.X, vd.Y, "validationData.X", "validationData.Y");
            EnsureBuilt(vd.X, "validationData.X");
            (xVal, yVal) = (vd.X, vd.Y);
        }
        else if (validationSplit > 0)
        {
            int n = x[0].Shape[0];
            int splitAt = (int)Math.Floor(n * (1.0 - validationSplit));
            if (splitAt <= 0 || splitAt >= n)
                throw new ArgumentException($"validationSplit {validationSplit} of {n} samples leaves {splitAt} for training and {n - splitAt} for validation; both must be non-empty.", nameof(validationSplit));
            xTrain = Slice(x, 0, splitAt); yTrain = Slice(y, 0, splitAt);
            xVal = Slice(x, splitAt, n - splitAt); yVal = Slice(y, splitAt, n - splitAt);
        }
        int nTrain = xTrain[0].Shape[0];
        if (nTrain == 0) throw new ArgumentException($"x has no samples (shape {x[0].Shape}).", nameof(x));
        ValidateTargets(yTrain, xTrain, nameof(y));
        if (yVal is not null) ValidateTargets(yVal, xVal!, "validationData.Y");
        var weights = SampleWeights(sampleWeight, classWeight, y[0], x[0].Shape[0], 0, nTrain, nameof(sampleWeight));
        // Validation weights (Keras: class_weight reaches the training data only), sliced once per call.
        var valWeights = xVal is null ? null
            : validationData is not null ? SampleWeights(validationSampleWeight, null, yVal![0], xVal[0].Shape[0], 0, xVal[0].Shape[0], nameof(validationSampleWeight))
            : SampleWeights(sampleWeight, null, y[0], x[0].Shape[0], nTrain, x[0].Shape[0] - nTrain, nameof(sampleWeight));
        ResolveMetrics();

        var cbs = callbacks?.ToList() ?? [];
        foreach (var cb in cbs) cb.Model = this;
        using var threads = new ThreadScope(_threads);

        // Preallocated batch buffers; a view for the last partial batch is created once.
        int bs = Math.Min(batchSize, nTrain);
        int steps = (nTrain + bs - 1) / bs, last = nTrain - (steps - 1) * bs;
        var xBuf = xTrain.Select(t => new Tensor<T>(t.Shape.WithFirst(bs))).ToArray();
        var yBuf = yTrain.Select(t => new Tensor<T>(t.Shape.WithFirst(bs))).ToArray();
        var xLast = last == bs ? xBuf : Slice(xBuf, 0, last);
        var yLast = last == bs ? yBuf : Slice(yBuf, 0, last);
        var yRow = yTrain.Select(t => t.Length / nTrain).ToArray();
        if (weights is not null && _batchWeights.Length < bs) _batchWeights = new T[bs];

        var history = new History();
        StopTraining = false;
        _resumeEpoch = null;
        IReadOnlyDictionary<string, double> logs = new Dictionary<string, double>();
        foreach (var cb in cbs) cb.OnTrainBegin(new TrainBeginInfo(epochs, steps, nTrain, xVal?[0].Shape[0] ?? 0));
        // A callback that restored a backup (BackupAndRestore) sets the epoch to continue from, as Keras' _initial_epoch.
        if (_resumeEpoch is int resumed) initialEpoch = resumed;
        _resumeEpoch = null;
        // Chosen after OnTrainBegin, which may have restored the order. Shuffling continues the model's order (see _order);
        // without shuffling the samples go in their order.
        int[] order;
        if (shuffle && _order is { } kept && kept.Length == nTrain) order = kept;
        else
        {
            order = new int[nTrain];
            for (int i = 0; i < nTrain; i++) order[i] = i;
            if (shuffle) _order = order;
        }
        var clock = new Stopwatch();
        for (int epoch = initialEpoch; epoch < epochs && !StopTraining; epoch++)
        {
            foreach (var cb in cbs) cb.OnEpochBegin(epoch);
            if (shuffle) Shuffle(order);
            foreach (var m in _metrics) m.Reset();
            if (_heads is not null) foreach (var h in _heads) h.LossSum = 0;
            double lossSum = 0;
            int seen = 0, counted = 0;
            clock.Restart();
            for (int step = 0; step < steps; step++)
            {
                int start = step * bs, count = step == steps - 1 ? last : bs;
                var xb = count == bs ? xBuf : xLast;
                var yb = count == bs ? yBuf : yLast;
                for (int k = 0; k < xb.Length; k++) Gather(xTrain[k].ReadOnlySpan, xTrain[k].Length / nTrain, order, start, count, xb[k].Span);
                // Every target takes the same rows as the inputs.
                for (int k = 0; k < yb.Length; k++) Gather(yTrain[k].ReadOnlySpan, yRow[k], order, start, count, yb[k].Span);
                if (weights is not null) Gather(weights, 1, order, start, count, _batchWeights.AsSpan(0, count));
                double loss = _heads is null
                    ? TrainStep(xb, yb[0], epoch + 1, step + 1, weights is null ? default : _batchWeights.AsSpan(0, count))
                    : TrainStepOutputs(xb, yb, epoch + 1, step + 1, weights is null ? default : _batchWeights.AsSpan(0, count));
                seen += count;
                if (double.IsFinite(loss))
                {
                    lossSum += loss * count;
                    counted += count;
                    if (_heads is not null) foreach (var h in _heads) h.LossSum += h.LastLoss * count;
                }
                if (cbs.Count > 0)
                {
                    var info = new BatchInfo(epoch, epochs, step, steps, seen, counted > 0 ? lossSum / counted : double.NaN, _metrics, clock.Elapsed.TotalSeconds);
                    foreach (var cb in cbs) cb.OnBatchEnd(info);
                }
                if (StopTraining) break;
            }
            var epochLogs = new Dictionary<string, double>(StringComparer.Ordinal) { ["loss"] = counted > 0 ? lossSum / counted : double.NaN };
            // Keras 3 logs each output's weighted loss w·L as {output}_loss.
            if (_heads is not null) foreach (var h in _heads) epochLogs[h.Name + "_loss"] = counted > 0 ? h.LossSum / counted : double.NaN;
            foreach (var m in _metrics) epochLogs[m.Name] = m.Result;
            if (xVal is not null)
                foreach (var (k, v) in EvaluateCore(xVal, yVal!, batchSize, valWeights)) epochLogs["val_" + k] = v;
            history.Append(epochLogs);
            logs = epochLogs;
            foreach (var cb in cbs) cb.OnEpochEnd(epoch, epochLogs);
        }
        // Keras' fit ends with optimizer.finalize_variable_values: with use_ema the weights become their moving averages.
        if (Optimizer!.UseEma)
        {
            _trainableScratch.Clear();
            foreach (var p in _parameters) if (p.Trainable) _trainableScratch.Add(p);
            Optimizer.FinalizeVariableValues(_trainableScratch);
        }
        foreach (var cb in cbs) cb.OnTrainEnd(logs);
        return history;
    }

    /// <summary>Runs one training step on exactly this batch (no shuffling, no splitting), as Keras' <c>train_on_batch</c>.</summary>
    /// <param name="x">The batch's inputs.</param>
    /// <param name="y">The batch's targets.</param>
    /// <param name="sampleWeight">Per-sample loss weights [B], as in <c>Fit</c>; null for all ones.</param>
    /// <param name="classWeight">Per-class loss weights, as in <c>Fit</c>.</param>
    /// <returns>The batch's loss and metric values (metrics are reset first, so they cover this batch only).</returns>
    /// <exception cref="InvalidOperationException">The model is not compiled.</exception>
    /// <exception cref="ArgumentException">Sizes, shapes, labels or weights are wrong.</exception>
    /// <exception cref="NonFiniteException">The loss or a gradient is NaN or infinite (with <see cref="NonFiniteMode.Throw"/>).</exception>
    public IReadOnlyDictionary<string, double> TrainOnBatch(Tensor<T> x, Tensor<T> y, Tensor<T>? sampleWeight = null,
        IReadOnlyDictionary<int, double>? classWeight = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        RequireOneOutput(nameof(y));
        return TrainOnBatchCore([x], [y], sampleWeight, classWeight);
    }

    /// <summary>As <see cref="TrainOnBatch(Tensor{T}, Tensor{T}, Tensor{T}?, IReadOnlyDictionary{int, double}?)"/> for a
    /// model of several inputs: one tensor per input in <paramref name="x"/>.</summary>
    /// <exception cref="InvalidOperationException">The model is not compiled.</exception>
    /// <exception cref="ArgumentException">The inputs, sizes, shapes, labels or weights are wrong.</exception>
    public IReadOnlyDictionary<string, double> TrainOnBatch(IReadOnlyList<Tensor<T>> x, Tensor<T> y, Tensor<T>? sampleWeight = null,
        IReadOnlyDictionary<int, double>? classWeight = null)
    {
        RequireOneOutput(nameof(y));
        return TrainOnBatchCore(Inputs(x, nameof(x)), [y], sampleWeight, classWeight);
    }

    private IReadOnlyDictionary<string, double> TrainOnBatchCore(Tensor<T>[] x, Tensor<T>[] y, Tensor<T>? sampleWeight,
        IReadOnlyDictionary<int, double>? classWeight)
    {
        RequireCompiled();
        CheckPairs(x, y, nameof(x), nameof(y));
        EnsureBuilt(x, nameof(x));
        ValidateTargets(y, x, nameof(y));
        var weights = SampleWeights(sampleWeight, classWeight, y[0], x[0].Shape[0], 0, x[0].Shape[0], nameof(sampleWeight));
        ResolveMetrics();
        using var threads = new ThreadScope(_threads);
        foreach (var m in _metrics) m.Reset();
        double loss = _heads is null ? TrainStep(x, y[0], 0, ++_trainOnBatchCalls, weights) : TrainStepOutputs(x, y, 0, ++_trainOnBatchCalls, weights);
        var logs = new Dictionary<string, double>(StringComparer.Ordinal) { ["loss"] = loss };
        if (_heads is not null) foreach (var h in _heads) logs[h.Name + "_loss"] = h.LastLoss;
        foreach (var m in _metrics) logs[m.Name] = m.Result;
        return logs;
    }

    /// <summary>Computes the loss and metrics on exactly this batch in inference mode, without updating anything, as
    /// Keras' <c>test_on_batch</c>: one forward pass, the loss (plus <see cref="RegularizationLoss"/>, as
    /// <c>Evaluate</c> reports it) and the compiled metrics, reset first (Keras' default <c>reset_metrics</c>) so
    /// they cover this batch only. The same numbers as <c>Evaluate</c> with <c>batchSize</c> ≥ the batch size.</summary>
    /// <param name="x">The batch's inputs [B, ...].</param>
    /// <param name="y">The batch's targets [B, ...].</param>
    /// <param name="sampleWeight">Per-sample loss weights [B], as in <c>Evaluate</c>; null for all ones. Only the
    /// weighted metrics see them.</param>
    /// <returns><c>loss</c> and each metric, the keys of <c>TrainOnBatch</c>.</returns>
    /// <exception cref="InvalidOperationException">The model is not compiled.</exception>
    /// <exception cref="ArgumentException">Sizes, shapes, labels or weights are wrong.</exception>
    public IReadOnlyDictionary<string, double> TestOnBatch(Tensor<T> x, Tensor<T> y, Tensor<T>? sampleWeight = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        RequireOneOutput(nameof(y));
        return TestOnBatchCore([x], [y], sampleWeight);
    }

    /// <summary>As <see cref="TestOnBatch(Tensor{T}, Tensor{T}, Tensor{T}?)"/> for a model of several inputs.</summary>
    /// <exception cref="InvalidOperationException">The model is not compiled.</exception>
    /// <exception cref="ArgumentException">The inputs, sizes, shapes, labels or weights are wrong.</exception>
    public IReadOnlyDictionary<string, double> TestOnBatch(IReadOnlyList<Tensor<T>> x, Tensor<T> y, Tensor<T>? sampleWeight = null)
    {
        RequireOneOutput(nameof(y));
        return TestOnBatchCore(Inputs(x, nameof(x)), [y], sampleWeight);
    }

    private IReadOnlyDictionary<string, double> TestOnBatchCore(Tensor<T>[] x, Tensor<T>[] y, Tensor<T>? sampleWeight)
    {
        RequireCompiled();
        CheckPairs(x, y, nameof(x), nameof(y));
        EnsureBuilt(x, nameof(x));
        ValidateTargets(y, x, nameof(y));
        var weights = SampleWeights(sampleWeight, null, y[0], x[0].Shape[0], 0, x[0].Shape[0], nameof(sampleWeight));
        ResolveMetrics();
        using var threads = new ThreadScope(_threads);
        return EvaluateCore(x, y, Math.Max(1, x[0].Shape[0]), weights);
    }

    /// <summary>Computes the loss and metrics over a dataset in batches (inference mode), as Keras' <c>evaluate</c>.</summary>
    /// <param name="x">Inputs [N, ...].</param>
    /// <param name="y">Targets [N, ...].</param>
    /// <param name="batchSize">Samples per forward pass; positive.</param>
    /// <param name="sampleWeight">Per-sample loss weights [N], as in <c>Fit</c>; null for all ones. Only the
    /// weighted metrics see them.</param>
    /// <returns><c>loss</c> and each metric, averaged over samples.</returns>
    /// <exception cref="InvalidOperationException">The model is not compiled.</exception>
    /// <exception cref="ArgumentException">Sizes, shapes, labels or weights are wrong.</exception>
    public IReadOnlyDictionary<string, double> Evaluate(Tensor<T> x, Tensor<T> y, int batchSize = 32, Tensor<T>? sampleWeight = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        RequireOneOutput(nameof(y));
        return EvaluateChecked([x], [y], batchSize, sampleWeight);
    }

    /// <summary>As <see cref="Evaluate(Tensor{T}, Tensor{T}, int, Tensor{T}?)"/> for a model of several inputs, Keras'
    /// <c>evaluate([xa, xb], y)</c>.</summary>
    /// <exception cref="InvalidOperationException">The model is not compiled.</exception>
    /// <exception cref="ArgumentException">The inputs, sizes, shapes, labels or weights are wrong.</exception>
    public IReadOnlyDictionary<string, double> Evaluate(IReadOnlyList<Tensor<T>> x, Tensor<T> y, int batchSize = 32, Tensor<T>? sampleWeight = null)
    {
        RequireOneOutput(nameof(y));
        return EvaluateChecked(Inputs(x, nameof(x)), [y], batchSize, sampleWeight);
    }

    private IReadOnlyDictionary<string, double> EvaluateChecked(Tensor<T>[] x, Tensor<T>[] y, int batchSize, Tensor<T>? sampleWeight)
    {
        RequireCompiled();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        CheckPairs(x, y, nameof(x), nameof(y));
        EnsureBuilt(x, nameof(x));
        ValidateTargets(y, x, nameof(y));
        var weights = SampleWeights(sampleWeight, null, y[0], x[0].Shape[0], 0, x[0].Shape[0], nameof(sampleWeight));
        ResolveMetrics();
        using var threads = new ThreadScope(_threads);
        return EvaluateCore(x, y, batchSize, weights);
    }

    private Dictionary<string, double> EvaluateCore(Tensor<T>[] x, Tensor<T>[] targets, int batchSize, T[]? weights = null)
    {
        if (_heads is not null) return EvaluateOutputs(x, targets, batchSize, weights);
        var y = targets[0];
        int n = x[0].Shape[0];
        foreach (var m in _metrics) m.Reset();
        double lossSum = 0;
        for (int start = 0; start < n; start += batchSize)
        {
            int count = Math.Min(batchSize, n - start);
            var yb = y.Slice(start, count);
            var output = ForwardAll(Slice(x, start, count), training: false);
            var w = weights is null ? default : weights.AsSpan(start, count);
            double batchLoss = LossMask(output) is not null || weights is not null
                ? WeightedLoss(Loss!, output, yb, null, w) : double.CreateChecked(Loss!.Compute(output, yb));
            batchLoss += ActivityLoss();
            lossSum += batchLoss * count;
            UpdateMetrics(output, yb, w);
        }
        var logs = new Dictionary<string, double>(StringComparer.Ordinal) { ["loss"] = n > 0 ? lossSum / n + RegularizationLoss() : double.NaN };
        foreach (var m in _metrics) logs[m.Name] = m.Result;
        return logs;
    }

    /// <summary>The sum of the weight penalties of the trainable parameters (the weight part of Keras'
    /// <c>sum(model.losses)</c>), which <c>Fit</c> and <c>Evaluate</c> add to the loss they report. Activity penalties
    /// (<see cref="Layer{T}.ActivityRegularizer"/>) depend on the batch, so they are not in it: each step and each
    /// evaluated batch adds its own.</summary>
    public double RegularizationLoss()
    {
        double sum = 0;
        foreach (var p in _parameters)
            if (p.Trainable && p.Regularizer is { } r) sum += r.Penalty(p.Value.ReadOnlySpan);
        return sum;
    }

    /// <summary>Runs the model in inference mode over <paramref name="x"/> in batches.</summary>
    /// <param name="x">Inputs [N, ...].</param>
    /// <param name="batchSize">Samples per forward pass; positive.</param>
    /// <returns>A new tensor [N, ...output].</returns>
    /// <exception cref="ArgumentException">The input's sample shape does not fit the model.</exception>
    public Tensor<T> Predict(Tensor<T> x, int batchSize = 32)
    {
        ArgumentNullException.ThrowIfNull(x);
        return PredictCore([x], batchSize);
    }

    /// <summary>As <see cref="Predict(Tensor{T}, int)"/> for a model of several inputs, Keras' <c>predict([xa, xb])</c>.</summary>
    /// <exception cref="ArgumentException">The inputs do not fit the model.</exception>
    public Tensor<T> Predict(IReadOnlyList<Tensor<T>> x, int batchSize = 32) => PredictCore(Inputs(x, nameof(x)), batchSize);

    private Tensor<T> PredictCore(Tensor<T>[] x, int batchSize)
    {
        RequireOneOutput(null);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        CheckInputs(x, nameof(x));
        EnsureBuilt(x, nameof(x));
        using var threads = new ThreadScope(_threads);
        int n = x[0].Shape[0];
        var result = new Tensor<T>(WithBatch(SampleOutputShape(x), n));
        for (int start = 0; start < n; start += batchSize)
        {
            int count = Math.Min(batchSize, n - start);
            var output = ForwardAll(Slice(x, start, count), training: false);
            output.ReadOnlySpan.CopyTo(result.Span.Slice(start * (result.Length / Math.Max(1, n)), output.Length));
        }
        return result;
    }

    /// <summary>Runs the model once on exactly this batch in inference mode, as Keras' <c>predict_on_batch</c>: the same
    /// values as <c>Predict</c> with <c>batchSize</c> ≥ the batch size.</summary>
    /// <param name="x">The batch's inputs [B, ...].</param>
    /// <returns>A new tensor [B, ...output].</returns>
    /// <exception cref="ArgumentException">The input's sample shape does not fit the model.</exception>
    public Tensor<T> PredictOnBatch(Tensor<T> x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return PredictOnBatchCore([x]);
    }

    /// <summary>As <see cref="PredictOnBatch(Tensor{T})"/> for a model of several inputs.</summary>
    /// <exception cref="ArgumentException">The inputs do not fit the model.</exception>
    public Tensor<T> PredictOnBatch(IReadOnlyList<Tensor<T>> x) => PredictOnBatchCore(Inputs(x, nameof(x)));

    private Tensor<T> PredictOnBatchCore(Tensor<T>[] x)
    {
        RequireOneOutput(null);
        CheckInputs(x, nameof(x));
        EnsureBuilt(x, nameof(x));
        var result = new Tensor<T>(WithBatch(SampleOutputShape(x), x[0].Shape[0]));
        PredictInto(x, result);
        return result;
    }

    /// <summary>As <see cref="PredictOnBatch(Tensor{T})"/>, into <paramref name="destination"/>; a steady loop of calls
    /// with the same shapes allocates nothing.</summary>
    /// <param name="x">The batch's inputs [B, ...].</param>
    /// <param name="destination">The outputs [B, ...output], overwritten.</param>
    /// <exception cref="ArgumentException">The input's sample shape does not fit the model, or
    /// <paramref name="destination"/> is not shaped [B, ...output].</exception>
    public void PredictOnBatch(Tensor<T> x, Tensor<T> destination)
    {
        ArgumentNullException.ThrowIfNull(x);
        // One cached array for the single input, so that a steady loop of calls allocates nothing.
        var one = _singleInput ??= new Tensor<T>[1];
        one[0] = x;
        PredictOnBatchCore(one, destination);
    }

    /// <summary>As <see cref="PredictOnBatch(Tensor{T}, Tensor{T})"/> for a model of several inputs.</summary>
    /// <exception cref="ArgumentException">The inputs do not fit the model, or <paramref name="destination"/> is not
    /// shaped [B, ...output].</exception>
    public void PredictOnBatch(IReadOnlyList<Tensor<T>> x, Tensor<T> destination) => PredictOnBatchCore(Inputs(x, nameof(x)), destination);

    private void PredictOnBatchCore(Tensor<T>[] x, Tensor<T> destination)
    {
        RequireOneOutput(null);
        ArgumentNullException.ThrowIfNull(destination);
        CheckInputs(x, nameof(x));
        EnsureBuilt(x, nameof(x));
        var expected = WithBatch(SampleOutputShape(x), x[0].Shape[0]);
        if (destination.Shape != expected)
            throw new ArgumentException($"destination must be shaped {expected} for inputs {string.Join(", ", x.Select(t => t.Shape))}; got {destination.Shape}.", nameof(destination));
        PredictInto(x, destination);
    }

    private void PredictInto(Tensor<T>[] x, Tensor<T> destination)
    {
        if (x[0].Shape[0] == 0) return;
        using var threads = new ThreadScope(_threads);
        ForwardAll(x, training: false).ReadOnlySpan.CopyTo(destination.Span);
    }

    /// <summary>
    /// The activity penalties of the last forward pass, Σ over layers with a <see cref="Layer{T}.ActivityRegularizer"/>
    /// of <c>r(yᵢ) / B</c>, as Keras 3 adds them to the loss of every call, in training and in evaluation alike (its
    /// <c>compute_loss</c> sums <c>model.losses</c> in <c>train_step</c> and <c>test_step</c>). Sample weights, class
    /// weights and timestep masks do not reach them, as in Keras.
    /// </summary>
    private double ActivityLoss()
    {
        double sum = 0;
        for (int i = 0; i < _layers.Count; i++)
        {
            if (_layers[i] is Layer<T> { ActivityRegularizer: { } activity })
                sum += ActivityRegularization.Penalty(activity, _outputs[i]);
            if (_layers[i] is Functional<T> graph) sum += graph.ActivityLoss();
        }
        return sum;
    }

    private Tensor<T> ForwardAll(Tensor<T>[] x, bool training)
    {
        var a = x[0];
        // Timestep masks flow as in Keras: from a Masking layer through the layers that keep the time axis to the
        // recurrent layers, which consume them; a layer that drops the time axis ends the mask.
        SequenceMask? mask = null;
        int first = 0;
        if (x.Length > 1)
        {
            // A multi-input graph takes them all.
            var graph = (Functional<T>)_layers[0];
            a = graph.Forward(x, training);
            _outputs[0] = a;
            mask = graph.OutputMask;
            first = 1;
        }
        for (int i = first; i < _layers.Count; i++)
        {
            var layer = _layers[i];
            if (_managesMasks && layer is IMaskConsumer consumer) consumer.InputMask = mask;
            a = layer.Forward(a, training);
            _outputs[i] = a;
            mask = layer is IMaskProducer producer ? producer.OutputMask : a.Rank == 3 ? mask : null;
        }
        _outputMask = _managesMasks ? mask : null;
        return a;
    }

    /// <summary>Forward, loss, backward, checks, update. Returns the loss, or NaN when the step was skipped.</summary>
    private double TrainStep(Tensor<T>[] xb, Tensor<T> yb, int epoch, int step, ReadOnlySpan<T> weights = default)
    {
        var output = ForwardAll(xb, training: true);
        var dOut = _dOutput.Get(output.Shape);
        double loss = double.CreateChecked(Loss!.ComputeWithGradient(output, yb, dOut));
        if ((!weights.IsEmpty || LossMask(output) is not null) && double.IsFinite(loss)) loss = WeightedLoss(Loss!, output, yb, dOut, weights);
        loss += ActivityLoss();
        if (!double.IsFinite(loss)) return ReportNonFinite(LocateForward(xb, epoch, step, loss));
        UpdateMetrics(output, yb, weights);
        if (!IsFinite(dOut.ReadOnlySpan))
            return ReportNonFinite(new NonFiniteInfo(epoch, step, "the gradient of the loss with respect to the output", null, -1));

        foreach (var p in _parameters) p.Grad.Clear();
        var g = dOut;
        for (int i = _layers.Count - 1; i >= 0; i--)
        {
            // An activity penalty's gradient joins the gradient arriving at its layer, in a buffer of the model's.
            if (_layers[i] is Layer<T> { ActivityRegularizer: { } activity })
                g = ActivityRegularization.AddGradient(activity, _outputs[i], g, _activityGrads[i] ??= new Workspace<T>());
            g = i == 0 && xb.Length > 1 ? ((IMergeLayer<T>)_layers[0]).Backward(g)[0] : _layers[i].Backward(g);
            _inputGrads[i] = g;
        }
        return ApplyGradients(loss, epoch, step);
    }

    /// <summary>After the backward pass: the weight penalties join the loss and the gradients, the gradients are checked,
    /// and the optimizer steps. Returns the loss, or NaN when the step was skipped.</summary>
    private double ApplyGradients(double loss, int epoch, int step)
    {
        // Only trainable parameters reach the optimizer (and its clipping); the list is reused, so this allocates nothing.
        _trainableScratch.Clear();
        foreach (var p in _parameters) if (p.Trainable) _trainableScratch.Add(p);
        // Weight penalties (Keras' regularization losses): their value joins the loss, their gradient the weights'.
        foreach (var p in _trainableScratch)
        {
            if (p.Regularizer is not { } r) continue;
            loss += r.Penalty(p.Value.ReadOnlySpan);
            r.AddGradient(p.Value.ReadOnlySpan, p.Grad.Span);
        }
        bool finite = true;
        foreach (var p in _parameters) finite &= IsFinite(p.Grad.ReadOnlySpan);
        if (!finite) return ReportNonFinite(LocateBackward(epoch, step));
        Optimizer!.Step(_trainableScratch);
        return loss;
    }

    /// <summary>
    /// Updates the metrics with a batch, as Keras' compiled metrics: the weighted metrics (from
    /// <c>_weightedFrom</c> on) get the sample weights, the others none; both get the sequence mask of a masked
    /// sequence output as 0/1 row weights, so a masked step counts nowhere (Keras' <c>apply_mask</c> with
    /// <c>reduction="sum"</c>). Row weights live in a reused buffer, so this allocates nothing per step.
    /// </summary>
    private void UpdateMetrics(Tensor<T> output, Tensor<T> target, ReadOnlySpan<T> sampleWeights)
    {
        if (_metrics.Count == 0) return;
        var mask = LossMask(output);
        bool weighted = !sampleWeights.IsEmpty && _weightedFrom < _metrics.Count;
        if (mask is null && !weighted)
        {
            foreach (var m in _metrics) m.Update(output, target);
            return;
        }
        int rows = output.Shape.Rows, perSample = rows / output.Shape[0];
        if (_metricRowWeights.Length < 2 * rows) _metricRowWeights = new T[2 * rows];
        Span<T> plain = default, withSamples = default;
        if (mask is not null)
        {
            plain = _metricRowWeights.AsSpan(0, rows);
            for (int r = 0; r < rows; r++) plain[r] = mask.Values[r] ? T.One : T.Zero;
        }
        if (weighted)
        {
            withSamples = _metricRowWeights.AsSpan(rows, rows);
            for (int r = 0; r < rows; r++)
                withSamples[r] = mask is not null && !mask.Values[r] ? T.Zero : sampleWeights[r / perSample];
        }
        else withSamples = plain;
        for (int i = 0; i < _metrics.Count; i++) _metrics[i].Update(output, target, i >= _weightedFrom ? withSamples : plain);
    }

    /// <summary>The timestep mask that reaches a sequence output ([B, T, C]) from a Masking layer, or null.</summary>
    private SequenceMask? LossMask(Tensor<T> output) =>
        _outputMask is { } m && output.Rank == 3 && m.Batch == output.Shape[0] && m.Steps == output.Shape[1] ? m : null;

    /// <summary>
    /// The loss with sample weights and, for a sequence output that carries a timestep mask, masked steps left out,
    /// as Keras: over rows r (samples, or (sample, step) pairs with a mask) the loss is Σ wᵣ·ℓᵣ / R, where ℓᵣ is the
    /// loss of row r alone (the loss of a batch is the mean of its rows' losses), wᵣ the sample's weight times, with a
    /// mask, R/valid for a kept step and 0 for a masked one (so it is the mean over kept steps). Each row's slice of
    /// the output gradient is scaled by wᵣ. Exact for any loss whose rows do not interact, as every built-in loss.
    /// </summary>
    private double WeightedLoss(ILoss<T> loss, Tensor<T> output, Tensor<T> target, Tensor<T>? dOut, ReadOnlySpan<T> sampleWeights)
    {
        var mask = LossMask(output);
        int n = output.Shape[0], steps = mask is null ? 1 : output.Shape[1], rows = n * steps;
        double keptScale = 1;
        if (mask is not null)
        {
            int valid = 0;
            foreach (bool k in mask.Values) if (k) valid++;
            keptScale = valid > 0 ? (double)rows / valid : 0;
        }
        int per = output.Length / rows;
        var ds = dOut is null ? default : dOut.Span;
        double sum = 0;
        for (int r = 0; r < rows; r++)
        {
            int b = r / steps;
            double w = sampleWeights.IsEmpty ? 1 : double.CreateChecked(sampleWeights[b]);
            if (mask is not null) w *= mask.Values[r] ? keptScale : 0;
            if (w != 0)
                sum += w * double.CreateChecked(loss.Compute(_outputRows.Get(output, r, rows), _targetRows.Get(target, r, rows)));
            if (!ds.IsEmpty) TensorPrimitives.Multiply(ds.Slice(r * per, per), T.CreateChecked(w), ds.Slice(r * per, per));
        }
        return sum / rows;
    }

    /// <summary>
    /// The combined per-sample weights of samples <c>start … start + count − 1</c> of the <paramref name="n"/> that
    /// <paramref name="sampleWeight"/> ([n]) and <paramref name="y"/> hold, or null when neither option is given.
    /// <paramref name="name"/> is the argument the weights came from, for the messages.
    /// </summary>
    private T[]? SampleWeights(Tensor<T>? sampleWeight, IReadOnlyDictionary<int, double>? classWeight, Tensor<T> y, int n,
        int start, int count, string name)
    {
        if (sampleWeight is null && classWeight is null) return null;
        var w = new T[count];
        Array.Fill(w, T.One);
        if (sampleWeight is not null)
        {
            if (sampleWeight.Length != n || sampleWeight.Shape[0] != n)
                throw new ArgumentException($"{name} must hold one weight per sample, [{n}]; got {sampleWeight.Shape}.", name);
            var sw = sampleWeight.ReadOnlySpan.Slice(start, count);
            for (int i = 0; i < count; i++)
            {
                if (!(sw[i] >= T.Zero) || !T.IsFinite(sw[i]))
                    throw new ArgumentException($"{name}[{start + i}] = {sw[i]}; weights must be finite and non-negative.", name);
                w[i] = sw[i];
            }
        }
        if (classWeight is not null)
        {
            foreach (var (c, cw) in classWeight)
                if (c < 0 || !(cw >= 0) || !double.IsFinite(cw))
                    throw new ArgumentException($"classWeight[{c}] = {cw}; classes are non-negative indices and weights finite and non-negative.", nameof(classWeight));
            int per = y.Length / n;
            if (per != 1 && y.Rank != 2)
                throw new ArgumentException($"classWeight needs one class per sample: targets [N] or [N, 1] of class indices, or one-hot [N, C]; got {y.Shape}.", nameof(classWeight));
            var ys = y.ReadOnlySpan;
            for (int i = 0; i < count; i++)
            {
                var row = ys.Slice((start + i) * per, per);
                int c = per == 1 ? int.CreateSaturating(row[0]) : TensorPrimitives.IndexOfMax(row);
                if (classWeight.TryGetValue(c, out double cw)) w[i] *= T.CreateChecked(cw);
            }
        }
        return w;
    }

    private NonFiniteInfo LocateForward(Tensor<T>[] xb, int epoch, int step, double loss)
    {
        for (int k = 0; k < xb.Length; k++)
            if (!IsFinite(xb[k].ReadOnlySpan))
                return new NonFiniteInfo(epoch, step, $"loss is {loss}; the input batch ({(xb.Length == 1 ? "x" : $"x[{k}]")}) itself holds NaN or infinity", null, -1);
        for (int i = 0; i < _layers.Count; i++)
            if (!IsFinite(_outputs[i].ReadOnlySpan))
                return new NonFiniteInfo(epoch, step, $"loss is {loss}; first non-finite output at layer {i} '{_layers[i].Name}'", _layers[i].Name, i);
        return new NonFiniteInfo(epoch, step, $"loss is {loss} although every layer output is finite (check the targets and the loss)", null, -1);
    }

    private NonFiniteInfo LocateBackward(int epoch, int step)
    {
        // Backward runs from the last layer to the first, so the first layer where it appeared is the highest index.
        for (int i = _layers.Count - 1; i >= 0; i--)
        {
            foreach (var p in _layers[i].Parameters)
                if (!IsFinite(p.Grad.ReadOnlySpan))
                    return new NonFiniteInfo(epoch, step, $"gradient of parameter '{p.Name}' of layer {i} '{_layers[i].Name}' is not finite", _layers[i].Name, i);
            if (!IsFinite(_inputGrads[i].ReadOnlySpan))
                return new NonFiniteInfo(epoch, step, $"input gradient of layer {i} '{_layers[i].Name}' is not finite", _layers[i].Name, i);
        }
        return new NonFiniteInfo(epoch, step, "a gradient is not finite", null, -1);
    }

    private double ReportNonFinite(NonFiniteInfo info)
    {
        if (NonFinite == NonFiniteMode.Throw) throw new NonFiniteException(info);
        NonFiniteDetected?.Invoke(this, new NonFiniteEventArgs(info));
        return double.NaN;
    }

    /// <summary>True when no element is NaN or infinite (MaxMagnitude propagates NaN and finds infinities in one vectorised pass).</summary>
    internal static bool IsFinite(ReadOnlySpan<T> s) => s.IsEmpty || T.IsFinite(TensorPrimitives.MaxMagnitude(s));

    private void Shuffle(int[] order)
    {
        var rng = _shuffleRng!;
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
    }

    private static void Gather(ReadOnlySpan<T> source, int rowLength, int[] order, int start, int count, Span<T> destination)
    {
        for (int k = 0; k < count; k++)
            source.Slice(order[start + k] * rowLength, rowLength).CopyTo(destination.Slice(k * rowLength, rowLength));
    }

    private void RequireCompiled()
    {
        if (Loss is null || Optimizer is null)
            throw new InvalidOperationException("The model must be compiled before training or evaluation; call Compile(loss, optimizer, metrics).");
    }

    private void CheckPair(Tensor<T>[] x, Tensor<T> y, string xName, string yName)
    {
        ArgumentNullException.ThrowIfNull(y, yName);
        CheckInputs(x, xName);
        for (int k = 0; k < x.Length; k++)
        {
            string name = x.Length == 1 ? xName : $"{xName}[{k}]";
            if (x[k].Shape[0] != y.Shape[0])
                throw new ArgumentException($"{name} and {yName} have different numbers of samples: {name} is {x[k].Shape}, {yName} is {y.Shape}.", yName);
        }
    }

    /// <summary>Checks that there is one input tensor per model input, each at least rank 2, all with one sample count.</summary>
    private void CheckInputs(Tensor<T>[] x, string xName)
    {
        if (x.Length != InputCount)
            throw new ArgumentException(InputCount == 1
                ? $"The model takes one input tensor; got {x.Length}: [{string.Join(", ", x.Select(t => t.Shape))}]."
                : $"The model takes {InputCount} input tensors, one per input of its graph ([{string.Join(", ", ((Functional<T>)_layers[0]).Inputs.Select(i => $"'{i.Name}' [N, {string.Join(", ", i.Shape.ToArray())}]"))}]); got {x.Length}{(x.Length == 1 ? $", shaped {x[0].Shape}" : $": [{string.Join(", ", x.Select(t => t.Shape))}]")}.", xName);
        for (int k = 0; k < x.Length; k++)
        {
            string name = x.Length == 1 ? xName : $"{xName}[{k}]";
            if (x[k].Rank < 2)
                throw new ArgumentException($"{name} must be [samples, features] or [samples, time, features]; got shape {x[k].Shape}.", xName);
            if (x[k].Shape[0] != x[0].Shape[0])
                throw new ArgumentException($"The inputs have different numbers of samples: [{string.Join(", ", x.Select(t => t.Shape))}].", xName);
        }
    }

    private void EnsureBuilt(Tensor<T>[] x, string name)
    {
        CheckInputs(x, name);
        if (!IsBuilt) Build(x.Select(t => DropBatch(t.Shape)).ToArray());
        else if (x.Length == 1) CheckSampleShape(x[0], name);
        else
        {
            for (int k = 0; k < x.Length; k++)
                if (DropBatch(x[k].Shape) != _inputShapes![k] && !GraphTakes(x[k].Shape, k))
                    throw new ArgumentException($"{name}[{k}] has shape {x[k].Shape}, but the model's input {k} takes samples shaped {FormatSample(_inputShapes[k])} (so [N, {string.Join(", ", _inputShapes[k].ToArray())}]).", name);
        }
    }

    private void CheckSampleShape(Tensor<T> x, string name)
    {
        var s = InputShape!.Value;
        if (x.Rank >= 2 && DropBatch(x.Shape) == s) return;
        bool anyLength = TakesAnyLength;
        if (anyLength && x.Rank == s.Rank + 1 && x.Shape[1] > 0 && (s.Rank == 1 || x.Shape[2] == s[1]) && TryOutputShape(DropBatch(x.Shape)) is not null)
            return;
        if (GraphTakes(x.Shape, 0) && TryOutputShape(DropBatch(x.Shape)) is not null) return;
        if (NoneGraph is { } graph)
            throw new ArgumentException($"{name} has shape {x.Shape}, but the model takes samples shaped (None, {graph.Inputs[0].ShapeText}) (None: any size).", name);
        string any = !anyLength ? "" : s.Rank == 1 ? " (any number of time steps: [N, T])" : $" (any number of time steps: [N, T, {s[1]}])";
        throw new ArgumentException($"{name} has shape {x.Shape}, but the model takes samples shaped {FormatSample(s)} (so [N, {string.Join(", ", s.ToArray())}]){any}.", name);
    }

    /// <summary>Whether the model was built for sequences, [T, F] samples (or [T] token indices into an Embedding),
    /// whose layers all take any T (as a Keras model whose input has a None time axis): it then runs on sequences of
    /// other lengths too.</summary>
    private bool TakesAnyLength => InputShape is { } s && InputCount == 1
        && (s.Rank == 2 || (s.Rank == 1 && _layers.Count > 0 && _layers[0] is Embedding<T>))
        && TryOutputShape(s.Rank == 1 ? new TensorShape(s[0] + 1) : new TensorShape(s[0] + 1, s[1])) is not null;

    /// <summary>The model's first layer when it is a graph whose inputs have <c>None</c> axes (Keras'
    /// <c>Input(shape=(None, 5))</c>), else null.</summary>
    private Functional<T>? NoneGraph => _layers.Count > 0 && _layers[0] is Functional<T> { HasNone: true } g ? g : null;

    /// <summary>Whether the model's first layer is a graph with <c>None</c> axes that takes batches shaped
    /// <paramref name="shape"/> as its input <paramref name="k"/> (any size on those axes).</summary>
    private bool GraphTakes(TensorShape shape, int k)
    {
        if (NoneGraph is not { } graph || shape.Rank != graph.Inputs[k].Shape.Rank + 1) return false;
        var input = graph.Inputs[k];
        for (int i = 0; i < input.Shape.Rank; i++)
            if (shape[i + 1] != input.Shape[i] && !(input.IsNone(i) && shape[i + 1] > 0)) return false;
        return true;
    }

    /// <summary>The output shape of one sample shape, or null when a layer cannot take it.</summary>
    private TensorShape? TryOutputShape(TensorShape sample)
    {
        var shape = WithBatch(sample, 1);
        try
        {
            foreach (var l in _layers)
            {
                // A built layer's Build checks that the shape fits its weights (a Dense after Flatten its T·F rows);
                // ComputeOutputShape alone looks at the rank only.
                if (l.IsBuilt) l.Build(shape, 0);
                shape = l.ComputeOutputShape(shape);
            }
        }
        catch (ArgumentException)
        {
            return null;
        }
        return DropBatch(shape);
    }

    /// <summary>The output sample shape for inputs shaped like <paramref name="x"/> (checked by CheckSampleShape).</summary>
    private TensorShape SampleOutputShape(Tensor<T>[] x) =>
        x.Length > 1 ? MultiInputOutputShape(x) : DropBatch(x[0].Shape) == InputShape!.Value ? OutputShape!.Value : TryOutputShape(DropBatch(x[0].Shape))!.Value;

    /// <summary>The output sample shape of a multi-input model: the built one, or re-inferred through every layer when
    /// its graph's <c>None</c> axes have another size.</summary>
    private TensorShape MultiInputOutputShape(Tensor<T>[] x)
    {
        if (NoneGraph is not { } graph || x.Select((t, k) => DropBatch(t.Shape) == _inputShapes![k]).All(b => b)) return OutputShape!.Value;
        var shape = graph.ComputeOutputShape(x.Select(t => WithBatch(DropBatch(t.Shape), 1)).ToArray());
        for (int i = 1; i < _layers.Count; i++) shape = _layers[i].ComputeOutputShape(shape);
        return DropBatch(shape);
    }

    /// <summary>Rows [start, start + count) of each input (views).</summary>
    private static Tensor<T>[] Slice(Tensor<T>[] x, int start, int count)
    {
        if (x.Length == 1) return [x[0].Slice(start, count)];
        var parts = new Tensor<T>[x.Length];
        for (int k = 0; k < parts.Length; k++) parts[k] = x[k].Slice(start, count);
        return parts;
    }

    /// <summary>Checks each target against its output and loss (one target for an ordinary model).</summary>
    private void ValidateTargets(Tensor<T>[] y, Tensor<T>[] x, string name)
    {
        if (_heads is null)
        {
            ValidateTargets(y[0], x, name);
            return;
        }
        var graph = MultiOutputGraph!;
        int n = x[0].Shape[0];
        var outputs = graph.SampleOutputShapes(x.Select(t => t.Shape).ToArray());
        for (int k = 0; k < y.Length; k++)
        {
            var output = outputs[k];
            try { _heads[k].Loss.ValidateTargets(WithBatch(output, n), y[k]); }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"{name}[{k}] (shape {y[k].Shape}) is invalid for output '{_heads[k].Name}' [{n}, {string.Join(", ", output.ToArray())}] under {_heads[k].Loss.Name}: {e.Message}", name, e);
            }
        }
    }

    private void ValidateTargets(Tensor<T> y, Tensor<T>[] x, string name)
    {
        int n = x[0].Shape[0];
        var output = SampleOutputShape(x);
        try { Loss!.ValidateTargets(WithBatch(output, n), y); }
        catch (ArgumentException e) when (e.ParamName != name)
        {
            throw new ArgumentException($"{name} (shape {y.Shape}) is invalid for the model output [{n}, {string.Join(", ", output.ToArray())}] under {Loss!.Name}: {e.Message}", name, e);
        }
    }

    /// <summary>Sets <see cref="Parallelism.MaxDegree"/> for the duration of a call and restores it.</summary>
    private readonly struct ThreadScope : IDisposable
    {
        private readonly int _saved;
        private readonly bool _active;

        public ThreadScope(int? threads)
        {
            _saved = Parallelism.MaxDegree;
            _active = threads is not null;
            if (threads is int t) Parallelism.MaxDegree = t;
        }

        public void Dispose()
        {
            if (_active) Parallelism.MaxDegree = _saved;
        }
    }
}
