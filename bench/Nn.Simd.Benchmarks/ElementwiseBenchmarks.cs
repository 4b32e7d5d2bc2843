using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Nn.Simd.Tensors;
using Nn.Simd.Tensors.Kernels;
using TorchSharp;

namespace Nn.Simd.Benchmarks;

/// <summary>
/// Element-wise activations on float32: Nn.Simd (<see cref="Elementwise"/>), TensorPrimitives called directly, and
/// TorchSharp (the baseline of each category). Forward ops in Nn.Simd are TensorPrimitives calls plus argument
/// checks, so the first two rows of a category should match; SigmoidBackward shows what the fused kernel saves over
/// composing it from three TensorPrimitives calls.
/// </summary>
/// <remarks>
/// TorchSharp runs with one intra-op thread (<c>torch.set_num_threads(1)</c>) so that every row measures one core;
/// its allocating variants include creating and disposing the result tensor, as a user's <c>x.sigmoid()</c> does.
/// Gelements/s = N / mean time.
/// </remarks>
[MemoryDiagnoser]
[JsonExporterAttribute.Full]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory, BenchmarkLogicalGroupRule.ByParams)]
[CategoriesColumn]
public class ElementwiseBenchmarks
{
    [Params(64 * 1024, 1024 * 1024)]
    public int N;

    Tensor<float> _x = null!, _dy = null!, _y = null!, _tmp = null!;
    torch.Tensor _tx = null!, _tdy = null!, _ty = null!, _trelu = null!;

    [GlobalSetup]
    public void Setup()
    {
        _x = Tensor<float>.RandomUniform(new TensorShape(N), seed: 20230828, low: -4, high: 4);
        _dy = Tensor<float>.RandomUniform(new TensorShape(N), seed: 7, low: -1, high: 1);
        _y = new Tensor<float>(N);
        _tmp = new Tensor<float>(N);
        TensorPrimitives.Sigmoid(_x.ReadOnlySpan, _y.Span);

        torch.set_num_threads(1);
        _tx = torch.tensor(_x.ToArray());
        _tdy = torch.tensor(_dy.ToArray());
        _ty = torch.sigmoid(_tx);
        _trelu = _tx.clone();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _tx.Dispose(); _tdy.Dispose(); _ty.Dispose(); _trelu.Dispose();
    }

    // ---- sigmoid ----
    [Benchmark(Baseline = true), BenchmarkCategory("Sigmoid")]
    public void Sigmoid_Torch() { using var r = torch.sigmoid(_tx); }
    [Benchmark, BenchmarkCategory("Sigmoid")]
    public void Sigmoid_TensorPrimitives() => TensorPrimitives.Sigmoid(_x.ReadOnlySpan, _y.Span);
    [Benchmark, BenchmarkCategory("Sigmoid")]
    public void Sigmoid_NnSimd() => Elementwise.Sigmoid(_x.ReadOnlySpan, _y.Span);

    // ---- tanh ----
    [Benchmark(Baseline = true), BenchmarkCategory("Tanh")]
    public void Tanh_Torch() { using var r = torch.tanh(_tx); }
    [Benchmark, BenchmarkCategory("Tanh")]
    public void Tanh_TensorPrimitives() => TensorPrimitives.Tanh(_x.ReadOnlySpan, _y.Span);
    [Benchmark, BenchmarkCategory("Tanh")]
    public void Tanh_NnSimd() => Elementwise.Tanh(_x.ReadOnlySpan, _y.Span);

    // ---- exp ----
    [Benchmark(Baseline = true), BenchmarkCategory("Exp")]
    public void Exp_Torch() { using var r = torch.exp(_tx); }
    [Benchmark, BenchmarkCategory("Exp")]
    public void Exp_TensorPrimitives() => TensorPrimitives.Exp(_x.ReadOnlySpan, _y.Span);
    [Benchmark, BenchmarkCategory("Exp")]
    public void Exp_NnSimd() => Elementwise.Exp(_x.ReadOnlySpan, _y.Span);

    // ---- relu ----
    [Benchmark(Baseline = true), BenchmarkCategory("Relu")]
    public void Relu_Torch() { using var r = torch.nn.functional.relu(_tx); }
    /// <summary>In place on a tensor that already holds relu(x): relu is idempotent, so every call does the same work.</summary>
    [Benchmark, BenchmarkCategory("Relu")]
    public void Relu_TorchInPlace() => _trelu.relu_();
    [Benchmark, BenchmarkCategory("Relu")]
    public void Relu_TensorPrimitives() => TensorPrimitives.Max(_x.ReadOnlySpan, 0f, _y.Span);
    [Benchmark, BenchmarkCategory("Relu")]
    public void Relu_NnSimd() => Elementwise.Relu(_x.ReadOnlySpan, _y.Span);

    // ---- sigmoid backward: dx = dy · y · (1 − y) ----
    [Benchmark(Baseline = true), BenchmarkCategory("SigmoidBackward")]
    public void SigmoidBackward_Torch() { using var r = _tdy * _ty * (1 - _ty); }
    /// <summary>Composed from three TensorPrimitives passes: tmp = 1 − y; tmp *= y; dx = tmp · dy.</summary>
    [Benchmark, BenchmarkCategory("SigmoidBackward")]
    public void SigmoidBackward_TensorPrimitives()
    {
        TensorPrimitives.Subtract(1f, _y.ReadOnlySpan, _tmp.Span);
        TensorPrimitives.Multiply(_tmp.ReadOnlySpan, _y.ReadOnlySpan, _tmp.Span);
        TensorPrimitives.Multiply(_tmp.ReadOnlySpan, _dy.ReadOnlySpan, _tmp.Span);
    }
    [Benchmark, BenchmarkCategory("SigmoidBackward")]
    public void SigmoidBackward_NnSimd() => Elementwise.SigmoidBackward(_y.ReadOnlySpan, _dy.ReadOnlySpan, _tmp.Span);
}
