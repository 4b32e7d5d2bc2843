using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using Nn.Simd.Training.Losses;
using Nn.Simd.Training.Optimizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Nn.Simd.Benchmarks;

// Shapes: N = 60,000 samples of 784 features (Fashion-MNIST's shape), 10 classes; B = batch.

/// <summary>The MLP benchmark's problem: 784-128-64-10 with ReLU, softmax cross-entropy on logits, Adam, one epoch.</summary>
public static class MlpProblem
{
    /// <summary>Samples per epoch.</summary>
    public const int Samples = 60_000;

    /// <summary>Features per sample.</summary>
    public const int Features = 784;

    /// <summary>Classes.</summary>
    public const int Classes = 10;

    /// <summary>Seeded random data: pixels uniform in [0, 1), labels uniform in 0..9 (stored as float for Nn.Simd).</summary>
    public static (float[] X, float[] Labels) Data(int seed = 20260302)
    {
        var rng = new Random(seed);
        var x = new float[Samples * Features];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextSingle();
        var labels = new float[Samples];
        for (int i = 0; i < labels.Length; i++) labels[i] = rng.Next(Classes);
        return (x, labels);
    }
}

/// <summary>
/// Nn.Simd's MLP: three <see cref="Dense{T}"/> layers, <see cref="SparseCategoricalCrossEntropy{T}"/> on logits and
/// <see cref="Adam"/>, called directly. The batch views into the data are made once, up front.
/// </summary>
public sealed class NnMlpModel
{
    private readonly Dense<float>[] _layers;
    private readonly List<Parameter<float>> _parameters = [];
    private readonly SparseCategoricalCrossEntropy<float> _loss = new(fromLogits: true);
    private readonly Adam _adam = new();
    private readonly List<(Tensor<float> X, Tensor<float> Y, Tensor<float> DLogits)> _batches = [];

    /// <summary>Builds the model (seeded) and slices the data into batches of <paramref name="batch"/>.</summary>
    public NnMlpModel(int batch, int seed = 11)
    {
        _layers = [new Dense<float>(128, "relu"), new Dense<float>(64, "relu"), new Dense<float>(MlpProblem.Classes)];
        // The input is data: as in torch (whose input does not require grad) and Sequential, skip its gradient.
        _layers[0].ComputeInputGradient = false;
        int features = MlpProblem.Features;
        for (int i = 0; i < _layers.Length; i++)
        {
            _layers[i].Build(new TensorShape(batch, features), seed + i);
            features = _layers[i].Units;
            _parameters.AddRange(_layers[i].Parameters);
        }
        var (x, labels) = MlpProblem.Data();
        var xs = Tensor<float>.FromArray(x, MlpProblem.Samples, MlpProblem.Features);
        var ys = Tensor<float>.FromArray(labels, MlpProblem.Samples);
        Tensor<float>? fullGrad = null, partialGrad = null;
        for (int start = 0; start < MlpProblem.Samples; start += batch)
        {
            int n = Math.Min(batch, MlpProblem.Samples - start);
            var d = n == batch ? fullGrad ??= new Tensor<float>(n, MlpProblem.Classes) : partialGrad ??= new Tensor<float>(n, MlpProblem.Classes);
            _batches.Add((xs.Slice(start, n), ys.Slice(start, n), d));
        }
    }

    /// <summary>The dense layers, in order.</summary>
    public IReadOnlyList<Dense<float>> Layers => _layers;

    /// <summary>One epoch: per batch zero grads, forward, loss, backward, Adam. Returns the last batch's loss.</summary>
    public float Epoch()
    {
        float loss = 0;
        foreach (var (x, y, dLogits) in _batches)
        {
            for (int i = 0; i < _parameters.Count; i++) _parameters[i].Grad.Clear();
            var a = x;
            for (int i = 0; i < _layers.Length; i++) a = _layers[i].Forward(a, training: true);
            loss = _loss.ComputeWithGradient(a, y, dLogits);
            var g = dLogits;
            for (int i = _layers.Length - 1; i >= 0; i--) g = _layers[i].Backward(g);
            _adam.Step(_parameters);
        }
        return loss;
    }
}

/// <summary>
/// TorchSharp's MLP as users write it: <c>nn.Sequential</c> of <c>Linear</c>/<c>ReLU</c>, <c>cross_entropy</c> on
/// logits, <c>torch.optim.Adam</c>, one <c>DisposeScope</c> per step. Weights are copied from an <see cref="NnMlpModel"/>.
/// </summary>
public sealed class TorchMlpModel : IDisposable
{
    private readonly nn.Module<Tensor, Tensor> _model;
    private readonly optim.Optimizer _adam;
    private readonly Tensor _x, _y;
    private readonly int _batch;

    /// <summary>Builds the model from <paramref name="source"/>'s weights and the same data.</summary>
    public TorchMlpModel(int batch, NnMlpModel source)
    {
        _batch = batch;
        var linears = new TorchSharp.Modules.Linear[3];
        int features = MlpProblem.Features;
        for (int i = 0; i < 3; i++)
        {
            var dense = source.Layers[i];
            linears[i] = nn.Linear(features, dense.Units);
            using (no_grad())
            {
                linears[i].weight!.copy_(tensor(dense.Kernel.Value.ToArray(), [features, dense.Units]).t());
                linears[i].bias!.copy_(tensor(dense.Bias!.Value.ToArray()));
            }
            features = dense.Units;
        }
        _model = nn.Sequential(linears[0], nn.ReLU(), linears[1], nn.ReLU(), linears[2]);
        _adam = optim.Adam(_model.parameters(), lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-7);
        var (x, labels) = MlpProblem.Data();
        _x = tensor(x, [MlpProblem.Samples, MlpProblem.Features]);
        _y = tensor(labels.Select(l => (long)l).ToArray());
    }

    /// <summary>One epoch in order; returns the last batch's loss.</summary>
    public float Epoch()
    {
        float loss = 0;
        for (int start = 0; start < MlpProblem.Samples; start += _batch)
        {
            using var scope = NewDisposeScope();
            int n = Math.Min(_batch, MlpProblem.Samples - start);
            var xb = _x.narrow(0, start, n);
            var yb = _y.narrow(0, start, n);
            _adam.zero_grad();
            var l = nn.functional.cross_entropy(_model.forward(xb), yb);
            l.backward();
            _adam.step();
            if (start + n == MlpProblem.Samples) loss = l.item<float>();
        }
        return loss;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _x.Dispose();
        _y.Dispose();
        _adam.Dispose();
        _model.Dispose();
    }
}

/// <summary>
/// One training epoch of a 784-128-64-10 ReLU MLP over 60,000 samples (random data of Fashion-MNIST's shape),
/// softmax cross-entropy and Adam, at batch 64 and 128: Nn.Simd and TorchSharp at 1 and 2 threads, torch at one
/// thread as the baseline.
/// </summary>
[Config(typeof(RecurrentConfig))]
[MemoryDiagnoser]
[JsonExporterAttribute.Full]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByParams)]
public class MlpBenchmarks
{
    private NnMlpModel? _nn;
    private TorchMlpModel? _torch;

    /// <summary>B.</summary>
    [Params(64, 128)]
    public int Batch { get; set; }

    private void SetupNn(int threads)
    {
        Parallelism.MaxDegree = threads;
        _nn = new NnMlpModel(Batch);
    }

    private void SetupTorch(int threads)
    {
        torch.set_num_threads(threads);
        _torch = new TorchMlpModel(Batch, new NnMlpModel(Batch));
    }

    [GlobalSetup(Target = nameof(Epoch_Torch_1T))] public void SetupTorch1() => SetupTorch(1);
    [GlobalSetup(Target = nameof(Epoch_Torch_2T))] public void SetupTorch2() => SetupTorch(2);
    [GlobalSetup(Target = nameof(Epoch_NnSimd_1T))] public void SetupNn1() => SetupNn(1);
    [GlobalSetup(Target = nameof(Epoch_NnSimd_2T))] public void SetupNn2() => SetupNn(2);

    [GlobalCleanup]
    public void Cleanup()
    {
        _torch?.Dispose();
        Parallelism.MaxDegree = Environment.ProcessorCount;
    }

    [Benchmark(Baseline = true)] public float Epoch_Torch_1T() => _torch!.Epoch();
    [Benchmark] public float Epoch_Torch_2T() => _torch!.Epoch();
    [Benchmark] public float Epoch_NnSimd_1T() => _nn!.Epoch();
    [Benchmark] public float Epoch_NnSimd_2T() => _nn!.Epoch();
}
