using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace Nn.Simd.Benchmarks;

// Shapes: B = 32 sequences of T = 60 steps with d = 64 features, H = 4 heads of key_dim Dk = 16 (so H·Dk = d).
// Self-attention: query = value = key = x [B, T, d]; y [B, T, d]. The training step's loss is Σ y, so dy = 1.

/// <summary>The attention workload's sizes and data.</summary>
public static class AttentionProblem
{
    /// <summary>B.</summary>
    public const int Batch = 32;

    /// <summary>T.</summary>
    public const int Steps = 60;

    /// <summary>d, the feature size of x and y.</summary>
    public const int Features = 64;

    /// <summary>H.</summary>
    public const int Heads = 4;

    /// <summary>Dk (= Dv).</summary>
    public const int KeyDim = 16;

    /// <summary>The input x [B, T, d], uniform in [−1, 1), seeded.</summary>
    public static float[] Data(int seed = 20260301) => RecurrentProblem.Uniform(new Random(seed), Batch * Steps * Features);
}

/// <summary>
/// Nn.Simd's side: one <see cref="MultiHeadAttention{T}"/> called directly as <c>layer([x, x])</c>. Biases are set
/// non-zero (seeded) so that their use is part of the work and of the numerical check.
/// </summary>
public sealed class NnAttentionModel
{
    private readonly MultiHeadAttention<float> _layer = new(AttentionProblem.Heads, AttentionProblem.KeyDim);
    private readonly Tensor<float>[] _inputs;
    private readonly Tensor<float> _x, _dy, _dx;

    /// <summary>Builds the layer (seeded weights, non-zero biases) and its input.</summary>
    public NnAttentionModel(int seed = 7)
    {
        _x = Tensor<float>.FromArray(AttentionProblem.Data(), AttentionProblem.Batch, AttentionProblem.Steps, AttentionProblem.Features);
        _inputs = [_x, _x];
        _layer.Build([_x.Shape, _x.Shape], seed);
        var rng = new Random(seed + 1);
        foreach (var p in _layer.Parameters.Where(p => p.Name.EndsWith(".bias", StringComparison.Ordinal)))
            foreach (ref float v in p.Value.Span) v = (float)(rng.NextDouble() - 0.5);
        _dy = new Tensor<float>(_x.Shape);
        _dy.Span.Fill(1f);
        _dx = new Tensor<float>(_x.Shape);
    }

    /// <summary>The layer.</summary>
    public MultiHeadAttention<float> Layer => _layer;

    /// <summary>The input x [B, T, d].</summary>
    public Tensor<float> X => _x;

    /// <summary>dL/dx of the last <see cref="TrainStep"/>: the query and the value (= key) input gradients summed.</summary>
    public Tensor<float> InputGradient => _dx;

    /// <summary>One inference pass; returns the output (owned by the layer).</summary>
    public Tensor<float> Forward() => _layer.Forward(_inputs, training: false);

    /// <summary>Zero grads, forward, L = Σ y, backward to every weight and to x (query and value gradients summed, as
    /// torch accumulates them into x.grad); returns L.</summary>
    public float TrainStep()
    {
        foreach (var p in _layer.Parameters) p.Grad.Clear();
        var y = _layer.Forward(_inputs, training: true);
        float loss = TensorPrimitives.Sum(y.ReadOnlySpan);
        var grads = _layer.Backward(_dy);
        TensorPrimitives.Add(grads[0].ReadOnlySpan, grads[1].ReadOnlySpan, _dx.Span);
        return loss;
    }

    /// <summary>One inference pass; returns the first output.</summary>
    public float Infer() => Forward().ReadOnlySpan[0];
}

/// <summary>
/// TorchSharp's side with the weights of an <see cref="NnAttentionModel"/>: the projections as <c>linear</c> of the
/// Keras kernels viewed <c>[d, H·Dk]</c> (transposed once at setup), heads split by <c>view</c>/<c>transpose</c>, then
/// either <c>scaled_dot_product_attention</c> (the default: what a user writes, libtorch's fused CPU kernel, whose
/// default scale 1/√Dk is Keras') or the plain ops of tests/Parity.Tests/MultiHeadAttentionParityTests.cs
/// (<c>softmax((Q/√Dk)·Kᵀ)·V</c>), and the output projection. Every step runs in a <c>DisposeScope</c>.
/// </summary>
public sealed class TorchAttentionModel : IDisposable
{
    private readonly bool _fused;
    private readonly Tensor _wq, _bq, _wk, _bk, _wv, _bv, _wo, _bo, _x;
    private readonly Tensor[] _parameters;

    /// <summary>Builds the model from <paramref name="source"/>'s weights and input.</summary>
    /// <param name="source">The Nn.Simd model whose weights and input are copied.</param>
    /// <param name="fused">Use <c>scaled_dot_product_attention</c>; false writes the attention with plain ops.</param>
    public TorchAttentionModel(NnAttentionModel source, bool fused = true)
    {
        _fused = fused;
        const int d = AttentionProblem.Features, hk = AttentionProblem.Heads * AttentionProblem.KeyDim;
        var p = source.Layer.Parameters;
        // Keras kernels [d, H, D] are [d, H·D] matrices; linear wants [out, in].
        Tensor Weight(int i, int rows, int cols) => tensor(p[i].Value.ToArray(), [rows, cols]).t().contiguous().requires_grad_(true);
        Tensor Bias(int i) => tensor(p[i].Value.ToArray()).requires_grad_(true);
        _wq = Weight(0, d, hk);
        _bq = Bias(1);
        _wk = Weight(2, d, hk);
        _bk = Bias(3);
        _wv = Weight(4, d, hk);
        _bv = Bias(5);
        _wo = Weight(6, hk, d);
        _bo = Bias(7);
        _parameters = [_wq, _bq, _wk, _bk, _wv, _bv, _wo, _bo];
        _x = tensor(source.X.ToArray(), [AttentionProblem.Batch, AttentionProblem.Steps, d]).requires_grad_(true);
    }

    /// <summary>The input, which requires grad (its gradient is part of the training step).</summary>
    public Tensor X => _x;

    /// <summary>The parameters in Keras' order, each [out, in] for the kernels (transposed from Keras').</summary>
    public IReadOnlyList<Tensor> Parameters => _parameters;

    /// <summary>y = MultiHeadAttention(x, x) [B, T, d]; the caller disposes (or scopes) it.</summary>
    public Tensor Forward()
    {
        const int b = AttentionProblem.Batch, t = AttentionProblem.Steps, h = AttentionProblem.Heads, dk = AttentionProblem.KeyDim;
        Tensor Heads(Tensor w, Tensor bias) => nn.functional.linear(_x, w, bias).view(b, t, h, dk).transpose(1, 2); // [B, H, T, Dk]
        var q = Heads(_wq, _bq);
        var k = Heads(_wk, _bk);
        var v = Heads(_wv, _bv);
        var context = _fused
            ? nn.functional.scaled_dot_product_attention(q, k, v)
            : matmul(nn.functional.softmax(matmul(q * (float)(1 / Math.Sqrt(dk)), k.transpose(-1, -2)), -1), v);
        return nn.functional.linear(context.transpose(1, 2).reshape(b, t, h * dk), _wo, _bo);
    }

    /// <summary>Zero grads, forward, L = Σ y, backward to every weight and to x; returns L.</summary>
    public float TrainStep()
    {
        using var scope = NewDisposeScope();
        foreach (var p in _parameters) p.grad?.zero_();
        _x.grad?.zero_();
        var loss = Forward().sum();
        loss.backward();
        return loss.item<float>();
    }

    /// <summary>One inference pass under <c>no_grad</c>; returns the first output.</summary>
    public float Infer()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return Forward()[0, 0, 0].item<float>();
    }

    /// <summary>
    /// Runs one inference pass and one training step on both engines and throws unless the outputs, dL/dx and every
    /// weight gradient agree to 1e-4 (absolute + relative): the benchmark compares the same work or none at all.
    /// </summary>
    /// <exception cref="InvalidOperationException">An output or gradient differs; the message names it and where.</exception>
    public void CheckAgainst(NnAttentionModel nn)
    {
        using (var scope = NewDisposeScope())
        using (var noGrad = no_grad())
            Compare("output", Forward().data<float>().ToArray(), nn.Forward().ToArray());
        TrainStep();
        nn.TrainStep();
        Compare("dx", _x.grad!.data<float>().ToArray(), nn.InputGradient.ToArray());
        var layer = nn.Layer.Parameters;
        for (int i = 0; i < _parameters.Length; i++)
        {
            using var scope = NewDisposeScope();
            var g = _parameters[i].grad!;
            // Kernels back to Keras' [in, out] layout.
            if (i % 2 == 0) g = g.t().contiguous();
            Compare("d" + layer[i].Name, g.data<float>().ToArray(), layer[i].Grad.ToArray());
        }
    }

    private static void Compare(string what, float[] expected, float[] actual)
    {
        if (expected.Length != actual.Length)
            throw new InvalidOperationException($"{what}: torch has {expected.Length} values, Nn.Simd {actual.Length}.");
        for (int i = 0; i < expected.Length; i++)
            if (!(Math.Abs(expected[i] - actual[i]) <= 1e-4 + 1e-4 * Math.Abs(expected[i])))
                throw new InvalidOperationException($"{what}[{i}]: torch {expected[i]:G9}, Nn.Simd {actual[i]:G9}; the engines do not compute the same thing.");
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var p in _parameters) p.Dispose();
        _x.Dispose();
    }
}

/// <summary>
/// Keras' <c>MultiHeadAttention(num_heads=4, key_dim=16)</c> as self-attention on x <c>[32, 60, 64]</c>: one inference
/// pass, and one training step (forward, L = Σ y, backward to every weight and to x; no optimizer), for Nn.Simd and
/// TorchSharp (<c>scaled_dot_product_attention</c>, see <see cref="TorchAttentionModel"/>) at 1 and 2 threads. The
/// baseline of each category is TorchSharp at one thread. Each TorchSharp setup checks once that both engines give the
/// same output and gradients on the seeded problem (<see cref="TorchAttentionModel.CheckAgainst"/>).
/// </summary>
/// <remarks>Thread counts are set in each benchmark's own <c>GlobalSetup</c> (every case runs in its own process):
/// <c>torch.set_num_threads</c> for torch, <see cref="Parallelism.MaxDegree"/> for Nn.Simd.</remarks>
[Config(typeof(RecurrentConfig))]
[MemoryDiagnoser]
[JsonExporterAttribute.Full]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class AttentionBenchmarks
{
    private NnAttentionModel? _nn;
    private TorchAttentionModel? _torch;

    private void Setup(bool torchEngine, int threads)
    {
        Parallelism.MaxDegree = threads;
        var nn = new NnAttentionModel();
        if (!torchEngine)
        {
            // libtorch does not run in Nn.Simd's processes: after a call its OpenMP threads keep spinning and took the
            // cores from Nn.Simd's workers (2T inference measured 1.53 ms with one torch call at setup, 0.88 ms with
            // OMP_WAIT_POLICY=PASSIVE). The check below runs in the torch processes, on the same seeded problem.
            _nn = nn;
            return;
        }
        torch.set_num_threads(threads);
        var th = new TorchAttentionModel(nn);
        th.CheckAgainst(nn);
        _torch = th;
    }

    [GlobalSetup(Targets = [nameof(Train_Torch_1T), nameof(Infer_Torch_1T)])] public void SetupTorch1() => Setup(true, 1);
    [GlobalSetup(Targets = [nameof(Train_Torch_2T), nameof(Infer_Torch_2T)])] public void SetupTorch2() => Setup(true, 2);
    [GlobalSetup(Targets = [nameof(Train_NnSimd_1T), nameof(Infer_NnSimd_1T)])] public void SetupNn1() => Setup(false, 1);
    [GlobalSetup(Targets = [nameof(Train_NnSimd_2T), nameof(Infer_NnSimd_2T)])] public void SetupNn2() => Setup(false, 2);

    [GlobalCleanup]
    public void Cleanup()
    {
        _torch?.Dispose();
        Parallelism.MaxDegree = Environment.ProcessorCount;
    }

    [Benchmark(Baseline = true), BenchmarkCategory("Train")] public float Train_Torch_1T() => _torch!.TrainStep();
    [Benchmark, BenchmarkCategory("Train")] public float Train_Torch_2T() => _torch!.TrainStep();
    [Benchmark, BenchmarkCategory("Train")] public float Train_NnSimd_1T() => _nn!.TrainStep();
    [Benchmark, BenchmarkCategory("Train")] public float Train_NnSimd_2T() => _nn!.TrainStep();

    [Benchmark(Baseline = true), BenchmarkCategory("Infer")] public float Infer_Torch_1T() => _torch!.Infer();
    [Benchmark, BenchmarkCategory("Infer")] public float Infer_Torch_2T() => _torch!.Infer();
    [Benchmark, BenchmarkCategory("Infer")] public float Infer_NnSimd_1T() => _nn!.Infer();
    [Benchmark, BenchmarkCategory("Infer")] public float Infer_NnSimd_2T() => _nn!.Infer();
}
