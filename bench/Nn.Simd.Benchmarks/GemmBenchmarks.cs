using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Nn.Simd.Tensors;
using Nn.Simd.Tensors.Kernels;
using TorchSharp;

namespace Nn.Simd.Benchmarks;

/// <summary>A GEMM problem C[M×N] = A[M×K]·B[K×N]; BenchmarkDotNet shows it by <see cref="ToString"/>.</summary>
public sealed record GemmShape(int M, int K, int N)
{
    /// <summary>FLOPs of one product (a multiply and an add per term).</summary>
    public double Flops => 2.0 * M * K * N;

    public override string ToString() => $"{M}x{K}x{N}";
}

/// <summary>
/// SGEMM throughput: Nn.Simd on one thread and on all cores against TorchSharp's <c>torch.mm</c> at 1 and 2
/// threads (the baseline is torch on one thread). Shapes are square n = 64..1024 and the recurrent-layer shapes
/// (M = batch, K = features, N = gate width). A GFLOP/s column is computed from the median.
/// </summary>
/// <remarks>
/// Thread counts are set per benchmark in its own <c>GlobalSetup</c> (each case runs in its own process). The
/// torch rows allocate the result as users' code does (<c>torch.mm</c> returns a new tensor), and dispose it.
/// </remarks>
[Config(typeof(GflopsConfig))]
[MemoryDiagnoser]
[JsonExporterAttribute.Full]
public class GemmBenchmarks
{
    private float[] _a = [], _b = [], _c = [];
    private torch.Tensor? _ta, _tb;

    public static IEnumerable<GemmShape> Shapes() =>
    [
        new(64, 64, 64), new(128, 128, 128), new(256, 256, 256), new(512, 512, 512), new(1024, 1024, 1024),
        new(32, 64, 256), new(64, 128, 512), new(64, 784, 128), new(128, 256, 1024),
    ];

    [ParamsSource(nameof(Shapes))]
    public GemmShape Shape { get; set; } = new(64, 64, 64);

    private void CreateOperands()
    {
        var rng = new Random(20260101);
        _a = Random(rng, Shape.M * Shape.K);
        _b = Random(rng, Shape.K * Shape.N);
        _c = new float[Shape.M * Shape.N];
    }

    private void CreateTorchOperands(int threads)
    {
        CreateOperands();
        torch.set_num_threads(threads);
        _ta = torch.tensor(_a, [Shape.M, Shape.K]);
        _tb = torch.tensor(_b, [Shape.K, Shape.N]);
    }

    internal static float[] Random(Random rng, int n) => RecurrentProblem.Uniform(rng, n);

    [GlobalSetup(Target = nameof(NnSimd_1T))]
    public void SetupNnSimd1T() { CreateOperands(); Parallelism.MaxDegree = 1; }

    [GlobalSetup(Target = nameof(NnSimd_AllCores))]
    public void SetupNnSimdAll() { CreateOperands(); Parallelism.MaxDegree = Environment.ProcessorCount; }

    [GlobalSetup(Target = nameof(Torch_Mm_1T))]
    public void SetupTorch1T() => CreateTorchOperands(1);

    [GlobalSetup(Target = nameof(Torch_Mm_2T))]
    public void SetupTorch2T() => CreateTorchOperands(2);

    [GlobalCleanup]
    public void Cleanup()
    {
        _ta?.Dispose();
        _tb?.Dispose();
        Parallelism.MaxDegree = Environment.ProcessorCount;
    }

    [Benchmark]
    public void NnSimd_1T() =>
        Gemm.Compute(false, false, Shape.M, Shape.N, Shape.K, 1f, _a, Shape.K, _b, Shape.N, 0f, _c, Shape.N);

    [Benchmark]
    public void NnSimd_AllCores() =>
        Gemm.Compute(false, false, Shape.M, Shape.N, Shape.K, 1f, _a, Shape.K, _b, Shape.N, 0f, _c, Shape.N);

    [Benchmark(Baseline = true)]
    public void Torch_Mm_1T()
    {
        using var c = torch.mm(_ta!, _tb!);
    }

    [Benchmark]
    public void Torch_Mm_2T()
    {
        using var c = torch.mm(_ta!, _tb!);
    }
}

/// <summary>
/// The recurrent-layer step C[32×256] = A[32×64]·B[64×256] with B (the recurrent kernel) packed once, against the
/// same product packing B on every call, and the cost of re-packing B alone. One thread.
/// </summary>
[Config(typeof(GflopsConfig))]
[MemoryDiagnoser]
[JsonExporterAttribute.Full]
public class GemmPackedBenchmarks
{
    private const int M = 32, K = 64, N = 256;
    private float[] _a = [], _b = [], _c = [];
    private PackedMatrix<float>? _packed;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(20260102);
        _a = GemmBenchmarks.Random(rng, M * K);
        _b = GemmBenchmarks.Random(rng, K * N);
        _c = new float[M * N];
        _packed = Gemm.Pack<float>(false, K, N, _b, N);
        Parallelism.MaxDegree = 1;
    }

    [GlobalCleanup]
    public void Cleanup() => Parallelism.MaxDegree = Environment.ProcessorCount;

    [Benchmark]
    [GemmFlops(2.0 * M * K * N)]
    public void PackedB_32x64x256() => Gemm.Compute(false, M, 1f, _a, K, _packed!, 0f, _c, N);

    [Benchmark(Baseline = true)]
    [GemmFlops(2.0 * M * K * N)]
    public void UnpackedB_32x64x256() => Gemm.Compute(false, false, M, N, K, 1f, _a, K, _b, N, 0f, _c, N);

    [Benchmark]
    public void Repack_64x256() => _packed!.Repack(_b, N);
}

/// <summary>Marks a benchmark whose every invocation does this many FLOPs, for <see cref="GflopsColumn"/>.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class GemmFlopsAttribute(double flops) : Attribute
{
    public double Flops { get; } = flops;
}

/// <summary>Adds the GFLOP/s column to the default configuration.</summary>
public sealed class GflopsConfig : ManualConfig
{
    public GflopsConfig() => AddColumn(new GflopsColumn());
}

/// <summary>
/// GFLOP/s from the median time. The FLOPs of a case come from a <see cref="GemmFlopsAttribute"/> on the method,
/// or from a <see cref="GemmShape"/> parameter, times a <c>Threads</c> parameter when the benchmark has one.
/// </summary>
public sealed class GflopsColumn : IColumn
{
    public string Id => nameof(GflopsColumn);
    public string ColumnName => "GFLOP/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "Billions of floating-point operations per second, from the median";

    public static double? Flops(BenchmarkCase benchmarkCase)
    {
        var method = benchmarkCase.Descriptor.WorkloadMethod;
        double? flops = method.GetCustomAttributes(typeof(GemmFlopsAttribute), false) is [GemmFlopsAttribute attr, ..]
            ? attr.Flops : null;
        foreach (var p in benchmarkCase.Parameters.Items)
        {
            if (p.Value is GemmShape shape) flops = shape.Flops;
        }
        foreach (var p in benchmarkCase.Parameters.Items)
        {
            if (p.Name == "Threads" && p.Value is int threads && flops is double f) flops = f * threads;
        }
        return flops;
    }

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
    {
        var stats = summary[benchmarkCase]?.ResultStatistics;
        double? flops = Flops(benchmarkCase);
        if (stats is null || flops is null || stats.Median <= 0) return "-";
        return (flops.Value / stats.Median).ToString("F1");   // FLOP per ns = GFLOP/s
    }

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;
}
