using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using Nn.Simd.Training.Losses;
using Nn.Simd.Training.Optimizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Nn.Simd.Benchmarks;

// Shapes: a batch of B = 64 Fashion-MNIST-sized images [B, 28, 28, 1] (channels last for Nn.Simd, NCHW for torch).
// Net: Conv2D(16, 3×3, relu) → MaxPool 2 → Conv2D(32, 3×3, relu) → MaxPool 2 → Flatten → Dense(10); softmax CE, Adam.

/// <summary>Nn.Simd's small CNN, its layers called directly (as the MLP benchmark's model).</summary>
public sealed class NnCnnModel
{
    /// <summary>The batch size.</summary>
    public const int Batch = 64;

    private readonly ILayer<float>[] _layers;
    private readonly List<Parameter<float>> _parameters = [];
    private readonly SparseCategoricalCrossEntropy<float> _loss = new(fromLogits: true);
    private readonly Adam _adam = new();
    private readonly Tensor<float> _x, _y, _dLogits;

    /// <summary>Builds the model (seeded) and one random batch of <paramref name="batch"/> images.</summary>
    public NnCnnModel(int seed = 5, int batch = Batch)
    {
        // The input is data: as in torch (whose input does not require grad) and Sequential, skip its gradient.
        var conv1 = new Conv2D<float>(16, (3, 3), activation: "relu") { ComputeInputGradient = false };
        var conv2 = new Conv2D<float>(32, (3, 3), activation: "relu");
        _layers = [conv1, new MaxPooling2D<float>(), conv2, new MaxPooling2D<float>(), new Flatten<float>(), new Dense<float>(10)];
        var shape = new TensorShape(batch, 28, 28, 1);
        foreach (var l in _layers)
        {
            l.Build(shape, seed++);
            _parameters.AddRange(l.Parameters);
            shape = l.ComputeOutputShape(shape);
        }
        var rng = new Random(7);
        _x = new Tensor<float>(batch, 28, 28, 1);
        foreach (ref float v in _x.Span) v = rng.NextSingle();
        _y = new Tensor<float>(batch);
        foreach (ref float v in _y.Span) v = rng.Next(10);
        _dLogits = new Tensor<float>(batch, 10);
    }

    /// <summary>The layers, in order.</summary>
    public IReadOnlyList<ILayer<float>> Layers => _layers;

    /// <summary>The batch, [B, 28, 28, 1].</summary>
    public Tensor<float> X => _x;

    /// <summary>The labels, [B].</summary>
    public Tensor<float> Y => _y;

    /// <summary>One training step; returns the loss.</summary>
    public float Step()
    {
        for (int i = 0; i < _parameters.Count; i++) _parameters[i].Grad.Clear();
        var a = _x;
        for (int i = 0; i < _layers.Length; i++) a = _layers[i].Forward(a, training: true);
        float loss = _loss.ComputeWithGradient(a, _y, _dLogits);
        var g = _dLogits;
        for (int i = _layers.Length - 1; i >= 0; i--) g = _layers[i].Backward(g);
        _adam.Step(_parameters);
        return loss;
    }
}

/// <summary>TorchSharp's CNN as users write it (NCHW), with the weights of an <see cref="NnCnnModel"/>.</summary>
public sealed class TorchCnnModel : IDisposable
{
    private readonly nn.Module<Tensor, Tensor> _model;
    private readonly optim.Optimizer _adam;
    private readonly Tensor _x, _y;

    /// <summary>Builds the model from <paramref name="source"/>'s weights and batch.</summary>
    public TorchCnnModel(NnCnnModel source)
    {
        var c1 = (Conv2D<float>)source.Layers[0];
        var c2 = (Conv2D<float>)source.Layers[2];
        var d = (Dense<float>)source.Layers[5];
        var conv1 = nn.Conv2d(1, 16, 3);
        var conv2 = nn.Conv2d(16, 32, 3);
        var linear = nn.Linear(800, 10);
        using (no_grad())
        {
            conv1.weight!.copy_(tensor(c1.Kernel.Value.ToArray(), [3, 3, 1, 16]).permute(3, 2, 0, 1));
            conv1.bias!.copy_(tensor(c1.Bias!.Value.ToArray()));
            conv2.weight!.copy_(tensor(c2.Kernel.Value.ToArray(), [3, 3, 16, 32]).permute(3, 2, 0, 1));
            conv2.bias!.copy_(tensor(c2.Bias!.Value.ToArray()));
            // Flatten order differs (NHWC vs NCHW); a permuted copy keeps the same function.
            linear.weight!.copy_(tensor(d.Kernel.Value.ToArray(), [5, 5, 32, 10]).permute(3, 2, 0, 1).reshape(10, 800));
            linear.bias!.copy_(tensor(d.Bias!.Value.ToArray()));
        }
        _model = nn.Sequential(conv1, nn.ReLU(), nn.MaxPool2d(2), conv2, nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), linear);
        _adam = optim.Adam(_model.parameters(), lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-7);
        _x = tensor(source.X.ToArray(), [NnCnnModel.Batch, 28, 28, 1]).permute(0, 3, 1, 2).contiguous();
        _y = tensor(source.Y.ToArray().Select(l => (long)l).ToArray());
    }

    /// <summary>One training step; returns the loss.</summary>
    public float Step()
    {
        using var scope = NewDisposeScope();
        _adam.zero_grad();
        var l = nn.functional.cross_entropy(_model.forward(_x), _y);
        l.backward();
        _adam.step();
        return l.item<float>();
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
/// One training step of a small CNN on a batch of 64 Fashion-MNIST-sized images: Nn.Simd (im2col + GEMM) and
/// TorchSharp (oneDNN) at 1 and 2 threads, torch at one thread as the baseline.
/// </summary>
[MemoryDiagnoser]
[JsonExporterAttribute.Full]
[Config(typeof(RecurrentConfig))]
public class ConvBenchmarks
{
    private NnCnnModel? _nn;
    private TorchCnnModel? _torch;

    [GlobalSetup(Target = nameof(Step_Torch_1T))] public void SetupTorch1() { torch.set_num_threads(1); _torch = new TorchCnnModel(new NnCnnModel()); }
    [GlobalSetup(Target = nameof(Step_Torch_2T))] public void SetupTorch2() { torch.set_num_threads(2); _torch = new TorchCnnModel(new NnCnnModel()); }
    [GlobalSetup(Target = nameof(Step_NnSimd_1T))] public void SetupNn1() { Parallelism.MaxDegree = 1; _nn = new NnCnnModel(); }
    [GlobalSetup(Target = nameof(Step_NnSimd_2T))] public void SetupNn2() { Parallelism.MaxDegree = 2; _nn = new NnCnnModel(); }

    [GlobalCleanup]
    public void Cleanup()
    {
        _torch?.Dispose();
        Parallelism.MaxDegree = Environment.ProcessorCount;
    }

    [Benchmark(Baseline = true)] public float Step_Torch_1T() => _torch!.Step();
    [Benchmark] public float Step_Torch_2T() => _torch!.Step();
    [Benchmark] public float Step_NnSimd_1T() => _nn!.Step();
    [Benchmark] public float Step_NnSimd_2T() => _nn!.Step();
}
