using Nn.Simd.Reference;
using Nn.Simd.Tensors;
using Nn.Simd.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Nn.Simd.Cli.Experiments.SideBySide;

/// <summary>What the targets are, which fixes the loss both engines use.</summary>
internal enum TargetKind
{
    /// <summary>Class indices <c>[N]</c>; sparse categorical cross-entropy on probabilities.</summary>
    SparseLabels,

    /// <summary>One real value per sample, <c>[N, 1]</c>; mean squared error.</summary>
    Regression,
}

/// <summary>Training inputs and targets as flat row-major arrays, shared by both engines.</summary>
/// <param name="X">Inputs <c>[Count, ...SampleShape]</c>.</param>
/// <param name="SampleShape">The shape of one sample, e.g. <c>[2]</c> or <c>[28, 28]</c>.</param>
/// <param name="Y">Targets <c>[Count]</c>: class indices or regression values.</param>
/// <param name="Kind">How to read <paramref name="Y"/>.</param>
internal sealed record TrainingSet(float[] X, int[] SampleShape, float[] Y, TargetKind Kind)
{
    /// <summary>Number of samples.</summary>
    public int Count => Y.Length;

    /// <summary>Floats per sample.</summary>
    public int SampleLength => X.Length / Math.Max(1, Y.Length);
}

/// <summary>One side of a side-by-side run: trains on batches chosen by index and predicts.</summary>
internal interface IEngine : IDisposable
{
    /// <summary>The engine's display name.</summary>
    string Name { get; }

    /// <summary>The key used in the JSON summary.</summary>
    string Key { get; }

    /// <summary>One optimizer step on the samples <c>order[start..start+count)</c>; returns the batch loss.</summary>
    double TrainStep(int[] order, int start, int count);

    /// <summary>The model's outputs for <paramref name="count"/> samples laid out as in <see cref="TrainingSet.X"/>.</summary>
    /// <returns><c>[count, outputs]</c> row-major.</returns>
    float[] Predict(float[] x, int count);
}

/// <summary>Nn.Simd: gathers each batch into preallocated tensors and calls <c>Sequential.TrainOnBatch</c>.</summary>
internal sealed class NnSimdEngine : IEngine
{
    private readonly Sequential<float> _model;
    private readonly TrainingSet _data;
    private readonly Dictionary<int, (Tensor<float> X, Tensor<float> Y)> _buffers = [];

    /// <summary>Wraps a built and compiled model.</summary>
    public NnSimdEngine(Sequential<float> model, TrainingSet data)
    {
        _model = model;
        _data = data;
    }

    /// <inheritdoc/>
    public string Name => "Nn.Simd";

    /// <inheritdoc/>
    public string Key => "nnsimd";

    /// <inheritdoc/>
    public double TrainStep(int[] order, int start, int count)
    {
        if (!_buffers.TryGetValue(count, out var b))
        {
            b = (new Tensor<float>([count, .. _data.SampleShape]),
                 _data.Kind == TargetKind.Regression ? new Tensor<float>(count, 1) : new Tensor<float>(count));
            _buffers[count] = b;
        }
        int row = _data.SampleLength;
        Span<float> xs = b.X.Span, ys = b.Y.Span;
        ReadOnlySpan<float> x = _data.X, y = _data.Y;
        for (int k = 0; k < count; k++)
        {
            int i = order[start + k];
            x.Slice(i * row, row).CopyTo(xs.Slice(k * row, row));
            ys[k] = y[i];
        }
        return _model.TrainOnBatch(b.X, b.Y)["loss"];
    }

    /// <inheritdoc/>
    public float[] Predict(float[] x, int count)
    {
        var input = Tensor<float>.FromArray(x, [count, .. _data.SampleShape]);
        return _model.Predict(input, batchSize: 1024).ToArray();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
    }
}

/// <summary>
/// TorchSharp (libtorch): the same architecture built from the Nn.Simd model's initial weights, trained with
/// Keras' Adam and Keras' loss numerics on the same batches.
/// </summary>
internal sealed class TorchEngine : IEngine
{
    private readonly TorchModel _model;
    private readonly KerasAdam _optimizer;
    private readonly Tensor _x, _y;
    private readonly TargetKind _kind;
    private readonly long[] _sampleShape;

    /// <summary>Builds the reference model from <paramref name="specs"/> and uploads the training set once.</summary>
    public TorchEngine(IReadOnlyList<LayerSpec> specs, TrainingSet data, double learningRate)
    {
        _model = new TorchModel(specs);
        _optimizer = new KerasAdam(_model.Parameters, learningRate);
        _kind = data.Kind;
        _sampleShape = [.. data.SampleShape.Select(d => (long)d)];
        _x = tensor(data.X, [data.Count, .. _sampleShape]);
        _y = data.Kind == TargetKind.Regression
            ? tensor(data.Y, [data.Count, 1L])
            : tensor(data.Y.Select(v => (long)v).ToArray(), [data.Count]);
    }

    /// <summary>The reference model (tests read its weights).</summary>
    public TorchModel Model => _model;

    /// <inheritdoc/>
    public string Name => "TorchSharp";

    /// <inheritdoc/>
    public string Key => "torchsharp";

    /// <inheritdoc/>
    public double TrainStep(int[] order, int start, int count)
    {
        using var scope = NewDisposeScope();
        var index = new long[count];
        for (int k = 0; k < count; k++) index[k] = order[start + k];
        var idx = tensor(index);
        var xb = _x.index_select(0, idx);
        var yb = _y.index_select(0, idx);
        var output = _model.Forward(xb);
        var loss = _kind == TargetKind.Regression
            ? ReferenceLosses.MeanSquaredError(output, yb)
            : ReferenceLosses.SparseCategoricalCrossEntropy(output, yb);
        _model.ZeroGrad();
        loss.backward();
        _optimizer.Step();
        return loss.item<float>();
    }

    /// <inheritdoc/>
    public float[] Predict(float[] x, int count)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var all = tensor(x, [count, .. _sampleShape]);
        var parts = new List<float>();
        const int Batch = 1024;
        for (int start = 0; start < count; start += Batch)
        {
            int n = Math.Min(Batch, count - start);
            var output = _model.Forward(all.narrow(0, start, n));
            parts.AddRange(TorchModel.ToArray(output));
        }
        return [.. parts];
    }

    /// <summary>Sets libtorch's intra-op thread count.</summary>
    public static void SetThreads(int threads) => torch.set_num_threads(threads);

    /// <inheritdoc/>
    public void Dispose()
    {
        _x.Dispose();
        _y.Dispose();
        _optimizer.Dispose();
        _model.Dispose();
    }
}
