using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;
using Nn.Simd.Tensors;
using TorchSharp;

namespace Nn.Simd.Benchmarks;

/// <summary>One headline row: a workload and its effective FLOPs per call (0 when not meaningful).</summary>
public sealed record HeadlineRow(string Name, string Kind, int Units, int Batch, double Flops)
{
    public override string ToString() => Name;
}

/// <summary>
/// The headline rows of the issue in one class, for a quick look (<c>--quick</c>, under 5 minutes): LSTM training
/// at H=64 B=32 and H=128 B=64, SimpleRNN training at H=128 B=64, LSTM inference at both shapes and the MLP epoch at
/// batch 128, each for TorchSharp and Nn.Simd at 1 and 2 threads. <c>--quick</c> adds the GEMM 512 and FMA-peak rows
/// of <see cref="GemmBenchmarks"/> and <see cref="PeakBenchmarks"/>. The full classes (<see cref="LstmBenchmarks"/>,
/// <see cref="SimpleRnnBenchmarks"/>, <see cref="MlpBenchmarks"/>) cover every shape.
/// </summary>
[Config(typeof(RecurrentConfig))]
[MemoryDiagnoser]
[JsonExporterAttribute.Full]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByParams)]
public class HeadlineBenchmarks
{
    private Func<float>? _op;
    private IDisposable? _torch;

    public static IEnumerable<HeadlineRow> Rows() =>
    [
        Recurrent("LSTM train H=64 B=32", "lstm-train", 64, 32),
        Recurrent("LSTM train H=128 B=64", "lstm-train", 128, 64),
        Recurrent("RNN train H=128 B=64", "rnn-train", 128, 64),
        Recurrent("LSTM infer H=64 B=32", "lstm-infer", 64, 32),
        Recurrent("LSTM infer H=128 B=64", "lstm-infer", 128, 64),
        new("MLP epoch B=128", "mlp", 0, 128, 0),
    ];

    private static HeadlineRow Recurrent(string name, string kind, int units, int batch)
    {
        var cell = kind.StartsWith("lstm", StringComparison.Ordinal) ? CellKind.Lstm : CellKind.SimpleRnn;
        double flops = RecurrentProblem.ForwardFlops(cell, units, batch) * (kind.EndsWith("train", StringComparison.Ordinal) ? 3 : 1);
        return new HeadlineRow(name, kind, units, batch, flops);
    }

    [ParamsSource(nameof(Rows))]
    public HeadlineRow Row { get; set; } = Rows().First();

    private void Setup(bool torchEngine, int threads)
    {
        Parallelism.MaxDegree = threads;
        torch.set_num_threads(threads);
        if (Row.Kind == "mlp")
        {
            var nn = new NnMlpModel(Row.Batch);
            if (torchEngine) { var t = new TorchMlpModel(Row.Batch, nn); _torch = t; _op = t.Epoch; }
            else _op = nn.Epoch;
            return;
        }
        var cell = Row.Kind.StartsWith("lstm", StringComparison.Ordinal) ? CellKind.Lstm : CellKind.SimpleRnn;
        bool train = Row.Kind.EndsWith("train", StringComparison.Ordinal);
        var model = new NnRecurrentModel(cell, Row.Units, Row.Batch);
        if (torchEngine)
        {
            var t = new TorchRecurrentModel(cell, Row.Units, Row.Batch, model);
            _torch = t;
            _op = train ? t.TrainStep : t.Infer;
        }
        else _op = train ? model.TrainStep : model.Infer;
    }

    [GlobalSetup(Target = nameof(Torch_1T))] public void SetupTorch1() => Setup(true, 1);
    [GlobalSetup(Target = nameof(Torch_2T))] public void SetupTorch2() => Setup(true, 2);
    [GlobalSetup(Target = nameof(NnSimd_1T))] public void SetupNn1() => Setup(false, 1);
    [GlobalSetup(Target = nameof(NnSimd_2T))] public void SetupNn2() => Setup(false, 2);

    [GlobalCleanup]
    public void Cleanup()
    {
        _torch?.Dispose();
        _torch = null;
        _op = null;
        Parallelism.MaxDegree = Environment.ProcessorCount;
    }

    [Benchmark(Baseline = true)] public float Torch_1T() => _op!();
    [Benchmark] public float Torch_2T() => _op!();
    [Benchmark] public float NnSimd_1T() => _op!();
    [Benchmark] public float NnSimd_2T() => _op!();

    /// <summary>
    /// <c>--quick</c>: the headline rows plus GEMM 512 and the FMA peak, in process (no per-case build or process),
    /// with a short job: 3 warm-up and 7 measured iterations of about 100 ms each.
    /// </summary>
    public static void RunQuick(string[] args)
    {
        var job = Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(7)
            .WithIterationTime(TimeInterval.FromMilliseconds(100))
            .WithId("Quick");
        var config = DefaultConfig.Instance.AddJob(job).AddColumn(new RecurrentGflopsColumn(), new GflopsColumn())
            .WithOptions(ConfigOptions.JoinSummary | ConfigOptions.DisableOptimizationsValidator);
        var headline = BenchmarkConverter.TypeToBenchmarks(typeof(HeadlineBenchmarks), config);
        var gemm = BenchmarkConverter.TypeToBenchmarks(typeof(GemmBenchmarks), config);
        var peak = BenchmarkConverter.TypeToBenchmarks(typeof(PeakBenchmarks), config);
        var gemmCases = gemm.BenchmarksCases.Where(c => c.Parameters.Items.Any(p => p.Value is GemmShape { M: 512, K: 512, N: 512 })).ToArray();
        var peakCases = peak.BenchmarksCases.Where(c => c.Descriptor.WorkloadMethod.Name == nameof(PeakBenchmarks.Fma_Vector512)).ToArray();
        BenchmarkRunner.Run(
        [
            headline,
            new BenchmarkRunInfo(gemmCases, gemm.Type, gemm.Config),
            new BenchmarkRunInfo(peakCases, peak.Type, peak.Config),
        ]);
    }
}

/// <summary>
/// Quick measurements outside BenchmarkDotNet: an interleaved stopwatch probe (every engine and thread count
/// measured in turn, round after round, so load from other processes hits all of them alike) and a peak-working-set
/// mode that trains one engine per process.
/// </summary>
public static class Probe
{
    /// <summary><c>--probe lstm|rnn H B [rounds]</c>, <c>--probe mlp B [rounds]</c> or <c>--probe attention [rounds]</c>: medians of the time per call for
    /// Nn.Simd and TorchSharp at 1 and 2 threads, training and inference, with the ratio to torch's better setting.</summary>
    public static void Run(string[] args)
    {
        string what = args.Length > 0 ? args[0] : "lstm";
        var cases = new List<(string Name, int Threads, bool Torch, Func<float> Op)>();
        string title;
        int rounds;
        double trainFlops = 0, inferFlops = 0;
        if (what == "mlp")
        {
            int batch = args.Length > 1 ? int.Parse(args[1]) : 128;
            rounds = args.Length > 2 ? int.Parse(args[2]) : 5;
            title = $"MLP 784-128-64-10 epoch of {MlpProblem.Samples} samples, batch {batch}";
            var nn = new NnMlpModel(batch);
            var th = new TorchMlpModel(batch, nn);
            foreach (int t in new[] { 1, 2 })
            {
                cases.Add(($"epoch torch {t}T", t, true, th.Epoch));
                cases.Add(($"epoch nnsimd {t}T", t, false, nn.Epoch));
            }
        }
        else if (what == "attention")
        {
            // `--probe attention [rounds]`: AttentionBenchmarks' workload; torch both with scaled_dot_product_attention
            // (the benchmark's torch side) and with the plain ops of the parity test. Checked to agree before timing.
            rounds = args.Length > 1 ? int.Parse(args[1]) : 15;
            title = $"MultiHeadAttention(heads {AttentionProblem.Heads}, key_dim {AttentionProblem.KeyDim}) self-attention on "
                + $"[{AttentionProblem.Batch}, {AttentionProblem.Steps}, {AttentionProblem.Features}]";
            var nn = new NnAttentionModel();
            var sdpa = new TorchAttentionModel(nn);
            var ops = new TorchAttentionModel(nn, fused: false);
            sdpa.CheckAgainst(nn);
            ops.CheckAgainst(nn);
            foreach (int t in new[] { 1, 2 })
            {
                cases.Add(($"train torch {t}T", t, true, sdpa.TrainStep));
                cases.Add(($"train torch-ops {t}T", t, true, ops.TrainStep));
                cases.Add(($"train nnsimd {t}T", t, false, nn.TrainStep));
            }
            foreach (int t in new[] { 1, 2 })
            {
                cases.Add(($"infer torch {t}T", t, true, sdpa.Infer));
                cases.Add(($"infer torch-ops {t}T", t, true, ops.Infer));
                cases.Add(($"infer nnsimd {t}T", t, false, nn.Infer));
            }
        }
        else
        {
            var kind = what == "rnn" ? CellKind.SimpleRnn : CellKind.Lstm;
            int units = args.Length > 1 ? int.Parse(args[1]) : 64, batch = args.Length > 2 ? int.Parse(args[2]) : 32;
            rounds = args.Length > 3 ? int.Parse(args[3]) : 15;
            title = $"{kind} H={units} B={batch}, input [{batch}, {RecurrentProblem.Steps}, {RecurrentProblem.Features}]";
            var nn = new NnRecurrentModel(kind, units, batch);
            var th = new TorchRecurrentModel(kind, units, batch, new NnRecurrentModel(kind, units, batch));
            inferFlops = RecurrentProblem.ForwardFlops(kind, units, batch);
            trainFlops = 3 * inferFlops;
            foreach (int t in new[] { 1, 2 })
            {
                cases.Add(($"train torch {t}T", t, true, th.TrainStep));
                cases.Add(($"train nnsimd {t}T", t, false, nn.TrainStep));
            }
            foreach (int t in new[] { 1, 2 })
            {
                cases.Add(($"infer torch {t}T", t, true, th.Infer));
                cases.Add(($"infer nnsimd {t}T", t, false, nn.Infer));
            }
        }

        Console.WriteLine($"{title}; load: {File.ReadAllText("/proc/loadavg").Trim()}");
        var times = cases.Select(_ => new List<double>()).ToArray();
        var allocated = new long[cases.Count];
        // Calls per timing so that one timing lasts at least ~20 ms.
        var reps = new int[cases.Count];
        for (int c = 0; c < cases.Count; c++)
        {
            SetThreads(cases[c].Threads);
            // Warm up for half a second (and at least 3 calls), so the JIT has reached its final tier.
            var warm = Stopwatch.StartNew();
            for (int i = 0; i < 3 || warm.Elapsed.TotalSeconds < 0.5; i++) cases[c].Op();
            var sw = Stopwatch.StartNew();
            cases[c].Op();
            reps[c] = Math.Max(1, (int)(0.02 / sw.Elapsed.TotalSeconds));
        }
        for (int r = 0; r < rounds; r++)
        {
            for (int c = 0; c < cases.Count; c++)
            {
                SetThreads(cases[c].Threads);
                // Let the previous case's worker threads go idle first: libtorch's libgomp workers and our pool spin
                // for a while after their last task, and on two cores that spinning took the second core from the
                // next two-thread case (measured: our H=64 B=32 inference at 2T read 599-628 µs back to back, 510-514
                // µs after a pause, as in BenchmarkDotNet; torch's 2T case gained too, 941 -> 818 µs).
                Thread.Sleep(250);
                cases[c].Op();
                long before = GC.GetAllocatedBytesForCurrentThread();
                long start = Stopwatch.GetTimestamp();
                for (int i = 0; i < reps[c]; i++) cases[c].Op();
                double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                allocated[c] = (GC.GetAllocatedBytesForCurrentThread() - before) / reps[c];
                times[c].Add(seconds / reps[c]);
            }
        }
        SetThreads(Environment.ProcessorCount);
        for (int c = 0; c < cases.Count; c++)
        {
            double median = Median(times[c]);
            // The torch rows of the same group (train / infer / epoch) are the two entries at the same position.
            string group = cases[c].Name.Split(' ')[0];
            double bestTorch = cases.Select((x, i) => (x, i)).Where(p => p.x.Torch && p.x.Name.StartsWith(group, StringComparison.Ordinal))
                .Min(p => Median(times[p.i]));
            double flops = group == "train" ? trainFlops : group == "infer" ? inferFlops : 0;
            string gf = flops > 0 ? $"{flops / median / 1e9,7:F1} GFLOP/s" : "";
            Console.WriteLine($"  {cases[c].Name,-20} {Format(median),12}  min {Format(times[c].Min()),10}  x{bestTorch / median,5:F2} vs best torch  {gf}  alloc {allocated[c]} B/call");
        }
        Console.WriteLine($"load after: {File.ReadAllText("/proc/loadavg").Trim()}");
    }

    /// <summary><c>--memory nnsimd|torch lstm|rnn H B steps</c>: trains one engine in this
    /// process and prints <see cref="Process.PeakWorkingSet64"/>. Run the two engines as separate processes.
    /// The final loss's bits let bench/memory.sh check that the NativeAOT probe ran the same arithmetic.</summary>
    public static void Memory(string[] args)
    {
        string engine = args[0], what = args[1];
        bool torchEngine = engine == "torch";
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        long startPeak = process.PeakWorkingSet64;
        Func<float> step;
        int count;
        string title;
        var kind = what == "rnn" ? CellKind.SimpleRnn : CellKind.Lstm;
        int units = int.Parse(args[2]), batch = int.Parse(args[3]);
        count = int.Parse(args[4]);
        var nn = new NnRecurrentModel(kind, units, batch);
        step = torchEngine ? new TorchRecurrentModel(kind, units, batch, nn).TrainStep : nn.TrainStep;
        title = $"{kind} H={units} B={batch}, {count} training steps";
        float loss = 0;
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < count; i++) loss = step();
        process.Refresh();
        Console.WriteLine($"{engine} {title}: {sw.Elapsed.TotalSeconds:F2} s, final loss {loss:G5} (bits 0x{BitConverter.SingleToInt32Bits(loss):X8}), " +
            $"peak working set {process.PeakWorkingSet64 / 1048576.0:F1} MiB (at start {startPeak / 1048576.0:F1} MiB), " +
            $"GC heap {GC.GetTotalMemory(false) / 1048576.0:F1} MiB");
    }

    private static void SetThreads(int threads)
    {
        Parallelism.MaxDegree = threads;
        torch.set_num_threads(threads);
    }

    private static double Median(List<double> x)
    {
        var s = x.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    private static string Format(double seconds) =>
        seconds >= 1 ? $"{seconds:F3} s" : seconds >= 1e-3 ? $"{seconds * 1e3:F3} ms" : $"{seconds * 1e6:F1} µs";
}
