using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Nn.Simd.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace Nn.Simd.Benchmarks;

/// <summary>
/// TorchSharp's side, written the way a user writes it: <c>nn.LSTM</c>/<c>nn.RNN</c> (batch first), <c>nn.Linear</c>,
/// <c>mse_loss</c>, <c>torch.optim.Adam</c>; each step in a <c>DisposeScope</c>. Weights are copied from an
/// <see cref="NnRecurrentModel"/> (Keras layout, transposed; <c>bias_hh = 0</c> and frozen, because Keras has one
/// bias: with both trainable, Adam would move the sum of the two about twice as fast and the models would part
/// from step 2).
/// </summary>
public sealed class TorchRecurrentModel : IDisposable
{
    private readonly CellKind _kind;
    private readonly nn.Module _rnn;
    private readonly TorchSharp.Modules.Linear _head;
    private readonly optim.Optimizer _adam;
    private readonly Tensor _x, _y;

    /// <summary>Builds the model from <paramref name="source"/>'s weights and the same data.</summary>
    public TorchRecurrentModel(CellKind kind, int units, int batch, NnRecurrentModel source)
    {
        _kind = kind;
        int g = RecurrentProblem.Gates(kind), f = RecurrentProblem.Features;
        _rnn = kind == CellKind.Lstm
            ? nn.LSTM(f, units, batchFirst: true)
            : nn.RNN(f, units, batchFirst: true);
        _head = nn.Linear(units, 1);
        var p = _rnn.named_parameters().ToDictionary(t => t.name, t => t.parameter);
        var layer = source.Recurrent;
        using (no_grad())
        {
            p["weight_ih_l0"].copy_(tensor(layer.Parameters[0].Value.ToArray(), [f, g * units]).t());
            p["weight_hh_l0"].copy_(tensor(layer.Parameters[1].Value.ToArray(), [units, g * units]).t());
            p["bias_ih_l0"].copy_(tensor(layer.Parameters[2].Value.ToArray()));
            p["bias_hh_l0"].zero_();
            p["bias_hh_l0"].requires_grad = false;
            _head.weight!.copy_(tensor(source.Head.Kernel.Value.ToArray(), [units, 1]).t());
            _head.bias!.copy_(tensor(source.Head.Bias!.Value.ToArray()));
        }
        var parameters = _rnn.parameters().Concat(_head.parameters()).Where(t => t.requires_grad).ToList();
        _adam = optim.Adam(parameters, lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-7);
        var (x, y) = RecurrentProblem.Data(batch);
        _x = tensor(x, [batch, RecurrentProblem.Steps, f]);
        _y = tensor(y, [batch, 1]);
    }

    private Tensor Forward(Tensor x)
    {
        Tensor sequence = _kind == CellKind.Lstm
            ? ((TorchSharp.Modules.LSTM)_rnn).call(x, null).Item1
            : ((TorchSharp.Modules.RNN)_rnn).call(x, null).Item1;
        return _head.forward(sequence[TensorIndex.Colon, -1, TensorIndex.Colon]);
    }

    /// <summary>zero_grad, forward, loss, backward, step; returns the loss.</summary>
    public float TrainStep()
    {
        using var scope = NewDisposeScope();
        _adam.zero_grad();
        var loss = nn.functional.mse_loss(Forward(_x), _y);
        loss.backward();
        _adam.step();
        return loss.item<float>();
    }

    /// <summary>One inference pass under <c>no_grad</c>; returns the first prediction.</summary>
    public float Infer()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return Forward(_x)[0, 0].item<float>();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _x.Dispose();
        _y.Dispose();
        _adam.Dispose();
        _rnn.Dispose();
        _head.Dispose();
    }
}

/// <summary>
/// One training step and one inference pass of a recurrent layer (input <c>[B, 60, 5]</c>, a <c>Dense(H → 1)</c>
/// head on the last step, MSE, Adam): Nn.Simd and TorchSharp, each at 1 and 2 threads. The baseline of each
/// category is TorchSharp at one thread. GFLOP/s counts the cell GEMMs only: 2·G·H·(F+H)·B·T per forward pass,
/// 3× that per training step.
/// </summary>
/// <remarks>Thread counts are set in each benchmark's own <c>GlobalSetup</c> (every case runs in its own process):
/// <c>torch.set_num_threads</c> for torch, <see cref="Parallelism.MaxDegree"/> for Nn.Simd.</remarks>
[Config(typeof(RecurrentConfig))]
[MemoryDiagnoser]
[JsonExporterAttribute.Full]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory, BenchmarkLogicalGroupRule.ByParams)]
[CategoriesColumn]
public abstract class RecurrentBenchmarksBase
{
    private NnRecurrentModel? _nn;
    private TorchRecurrentModel? _torch;

    /// <summary>The cell under test.</summary>
    public abstract CellKind Kind { get; }

    /// <summary>H.</summary>
    [ParamsSource(nameof(UnitsValues))]
    public int Units { get; set; }

    /// <summary>B.</summary>
    [ParamsSource(nameof(BatchValues))]
    public int Batch { get; set; }

    /// <summary>The H values: 64 and 128, the shapes.</summary>
    public virtual IEnumerable<int> UnitsValues => [64, 128];

    /// <summary>The B values: 32 and 64.</summary>
    public virtual IEnumerable<int> BatchValues => [32, 64];

    private void SetupNn(int threads)
    {
        Parallelism.MaxDegree = threads;
        _nn = new NnRecurrentModel(Kind, Units, Batch);
    }

    private void SetupTorch(int threads)
    {
        torch.set_num_threads(threads);
        _torch = new TorchRecurrentModel(Kind, Units, Batch, new NnRecurrentModel(Kind, Units, Batch));
    }

    [GlobalSetup(Targets = [nameof(Train_Torch_1T), nameof(Infer_Torch_1T)])] public void SetupTorch1() => SetupTorch(1);
    [GlobalSetup(Targets = [nameof(Train_Torch_2T), nameof(Infer_Torch_2T)])] public void SetupTorch2() => SetupTorch(2);
    [GlobalSetup(Targets = [nameof(Train_NnSimd_1T), nameof(Infer_NnSimd_1T)])] public void SetupNn1() => SetupNn(1);
    [GlobalSetup(Targets = [nameof(Train_NnSimd_2T), nameof(Infer_NnSimd_2T)])] public void SetupNn2() => SetupNn(2);

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

/// <summary>The LSTM at tiny batches (H = 32, B ∈ {1, 8}, input <c>[B, 60, 5]</c>), the case users report as slow in
/// oneDNN and libtorch (uxlfoundation/oneDNN#837: batch 1, 15–63 steps, 32 units): per-step overhead, not
/// arithmetic, decides it.</summary>
public class LstmTinyBatchBenchmarks : RecurrentBenchmarksBase
{
    /// <inheritdoc/>
    public override CellKind Kind => CellKind.Lstm;

    /// <inheritdoc/>
    public override IEnumerable<int> UnitsValues => [32];

    /// <inheritdoc/>
    public override IEnumerable<int> BatchValues => [1, 8];
}

/// <summary>The recurrent benchmarks for Keras' SimpleRNN (tanh) against torch's <c>nn.RNN</c>.</summary>
public class SimpleRnnBenchmarks : RecurrentBenchmarksBase
{
    /// <inheritdoc/>
    public override CellKind Kind => CellKind.SimpleRnn;
}

/// <summary>The default configuration plus the effective GFLOP/s column of the recurrent benchmarks.</summary>
public sealed class RecurrentConfig : ManualConfig
{
    public RecurrentConfig() => AddColumn(StatisticColumn.Median, new RecurrentGflopsColumn());
}

/// <summary>
/// Effective GFLOP/s of a recurrent benchmark from its median: the cell GEMMs' FLOPs (see
/// <see cref="RecurrentProblem.ForwardFlops"/>), 3× for a training step. Read as a fraction of the FMA peak
/// (<see cref="PeakBenchmarks"/>) at the same thread count.
/// </summary>
public sealed class RecurrentGflopsColumn : IColumn
{
    public string Id => nameof(RecurrentGflopsColumn);
    public string ColumnName => "Eff. GFLOP/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "Effective GFLOP/s of the cell GEMMs (2·G·H·(F+H)·B·T per forward, 3× to train), from the median";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
    {
        var stats = summary[benchmarkCase]?.ResultStatistics;
        if (stats is null || stats.Median <= 0) return "-";
        foreach (var p in benchmarkCase.Parameters.Items)
            if (p.Value is HeadlineRow row) return row.Flops > 0 ? (row.Flops / stats.Median).ToString("F1") : "-";
        if (!benchmarkCase.Descriptor.Type.IsAssignableTo(typeof(RecurrentBenchmarksBase))) return "-";
        int units = 0, batch = 0;
        foreach (var p in benchmarkCase.Parameters.Items)
        {
            if (p.Name == nameof(RecurrentBenchmarksBase.Units)) units = (int)p.Value;
            if (p.Name == nameof(RecurrentBenchmarksBase.Batch)) batch = (int)p.Value;
        }
        var kind = ((RecurrentBenchmarksBase)Activator.CreateInstance(benchmarkCase.Descriptor.Type)!).Kind;
        double flops = RecurrentProblem.ForwardFlops(kind, units, batch);
        if (benchmarkCase.Descriptor.WorkloadMethod.Name.StartsWith("Train", StringComparison.Ordinal)) flops *= 3;
        return (flops / stats.Median).ToString("F1");
    }

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;
}
