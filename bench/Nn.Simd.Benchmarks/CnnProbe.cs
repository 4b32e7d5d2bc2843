using System.Diagnostics;
using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using Nn.Simd.Tensors.Kernels;
using Nn.Simd.Training.Losses;
using Nn.Simd.Training.Optimizers;
using TorchSharp;

namespace Nn.Simd.Benchmarks;

/// <summary>
/// <c>--probe cnn [rounds]</c>: the <see cref="ConvBenchmarks"/> step, interleaved (torch and Nn.Simd at 1 and 2
/// threads in turn, round after round), then Nn.Simd's step cut into phases (each layer's forward and backward, the
/// loss, Adam) and the convolutions' GEMMs alone at the step's shapes, with GFLOP/s. Medians and minima of
/// <c>rounds</c> timings; the load is printed before and after. <c>--probe cnn loop SECONDS THREADS [BATCH]</c> runs
/// Nn.Simd's step alone (batch 64 unless given), for <c>perf record</c> or to compare batch sizes;
/// <c>--probe cnn phases THREADS BATCH [ROUNDS]</c> prints the per-phase table alone at that batch size.
/// </summary>
public static class CnnProbe
{
    public static void Run(string[] args)
    {
        if (args.Length > 0 && args[0] == "loop")
        {
            // `--probe cnn loop SECONDS THREADS [BATCH]`: Nn.Simd's step alone in a loop, for perf record.
            double seconds = double.Parse(args[1]);
            Parallelism.MaxDegree = int.Parse(args[2]);
            var model = new NnCnnModel(batch: args.Length > 3 ? int.Parse(args[3]) : NnCnnModel.Batch);
            int steps = 0;
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed.TotalSeconds < seconds) { model.Step(); steps++; }
            Console.WriteLine($"{steps} steps, {clock.Elapsed.TotalMilliseconds / steps:F3} ms/step");
            return;
        }
        if (args.Length > 0 && args[0] == "phases")
        {
            // `--probe cnn phases THREADS BATCH [ROUNDS]`: the per-phase table alone, at any batch size.
            SetThreads(int.Parse(args[1]));
            Phases(new NnCnnModel(batch: int.Parse(args[2])), args.Length > 3 ? int.Parse(args[3]) : 15, int.Parse(args[1]));
            return;
        }
        int rounds = args.Length > 0 ? int.Parse(args[0]) : 15;
        Console.WriteLine($"CNN step (ConvBenchmarks); load: {File.ReadAllText("/proc/loadavg").Trim()}");
        var nn = new NnCnnModel();
        using var th = new TorchCnnModel(new NnCnnModel());
        var cases = new List<(string Name, int Threads, Func<float> Op)>
        {
            ("step torch 1T", 1, th.Step), ("step nnsimd 1T", 1, nn.Step),
            ("step torch 2T", 2, th.Step), ("step nnsimd 2T", 2, nn.Step),
        };
        var times = cases.Select(_ => new List<double>()).ToArray();
        var alloc = new long[cases.Count];
        foreach (var c in cases) { SetThreads(c.Threads); for (int i = 0; i < 30; i++) c.Op(); }
        for (int r = 0; r < rounds; r++)
            for (int c = 0; c < cases.Count; c++)
            {
                SetThreads(cases[c].Threads);
                Thread.Sleep(100);
                cases[c].Op();
                long before = GC.GetAllocatedBytesForCurrentThread();
                long start = Stopwatch.GetTimestamp();
                for (int i = 0; i < 10; i++) cases[c].Op();
                times[c].Add(Stopwatch.GetElapsedTime(start).TotalSeconds / 10);
                alloc[c] = (GC.GetAllocatedBytesForCurrentThread() - before) / 10;
            }
        for (int c = 0; c < cases.Count; c++)
            Console.WriteLine($"  {cases[c].Name,-16} median {Ms(Median(times[c]))}  min {Ms(times[c].Min())}  alloc {alloc[c]} B/step");

        foreach (int threads in new[] { 1, 2 })
        {
            SetThreads(threads);
            Phases(nn, rounds, threads);
            Gemms(rounds, threads);
        }
        SetThreads(Environment.ProcessorCount);
        Console.WriteLine($"load after: {File.ReadAllText("/proc/loadavg").Trim()}");
    }

    /// <summary>The step of <see cref="NnCnnModel.Step"/>, timed phase by phase.</summary>
    private static void Phases(NnCnnModel model, int rounds, int threads)
    {
        var layers = model.Layers;
        var parameters = layers.SelectMany(l => l.Parameters).ToList();
        var loss = new SparseCategoricalCrossEntropy<float>(fromLogits: true);
        var adam = new Adam();
        var dLogits = new Tensor<float>(model.X.Shape[0], 10);
        var names = new List<string>();
        for (int i = 0; i < layers.Count; i++) names.Add($"fwd {i} {layers[i].GetType().Name.Split('`')[0]}");
        names.Add("loss");
        for (int i = layers.Count - 1; i >= 0; i--) names.Add($"bwd {i} {layers[i].GetType().Name.Split('`')[0]}");
        names.Add("adam (+ zero grads)");
        var t = names.Select(_ => new List<double>()).ToArray();
        var acc = new double[names.Count];
        for (int r = 0; r < rounds + 5; r++)
        {
            Array.Clear(acc);
            for (int rep = 0; rep < 10; rep++)
            {
                int k = 0;
                long s = Stopwatch.GetTimestamp();
                var a = model.X;
                for (int i = 0; i < layers.Count; i++) { a = layers[i].Forward(a, training: true); acc[k++] += Lap(ref s); }
                loss.ComputeWithGradient(a, model.Y, dLogits); acc[k++] += Lap(ref s);
                var g = dLogits;
                for (int i = layers.Count - 1; i >= 0; i--) { g = layers[i].Backward(g); acc[k++] += Lap(ref s); }
                for (int i = 0; i < parameters.Count; i++) parameters[i].Grad.Clear();
                adam.Step(parameters); acc[k++] += Lap(ref s);
            }
            if (r >= 5) for (int k = 0; k < names.Count; k++) t[k].Add(acc[k] / 10);
        }
        double total = t.Sum(Median);
        Console.WriteLine($"phases at {threads}T, batch {model.X.Shape[0]} (sum of medians {Ms(total)}):");
        for (int k = 0; k < names.Count; k++)
            Console.WriteLine($"  {names[k],-22} median {Ms(Median(t[k]))}  min {Ms(t[k].Min())}  {100 * Median(t[k]) / total,5:F1} %");
    }

    /// <summary>The convolutions' GEMMs alone, at the step's shapes (conv1: rows 64·26·26, P 9, F 16; conv2: rows
    /// 64·11·11, P 144, F 32), with GFLOP/s.</summary>
    private static void Gemms(int rounds, int threads)
    {
        var shapes = new (string Name, bool TA, bool TB, int M, int N, int K)[]
        {
            ("conv1 fwd  cols·K", false, false, 64 * 26 * 26, 16, 9),
            ("conv1 dK   colsᵀ·dz", true, false, 9, 16, 64 * 26 * 26),
            ("conv2 fwd  cols·K", false, false, 64 * 11 * 11, 32, 144),
            ("conv2 dK   colsᵀ·dz", true, false, 144, 32, 64 * 11 * 11),
            ("conv2 dcols dz·Kᵀ", false, true, 64 * 11 * 11, 144, 32),
        };
        var rng = new Random(1);
        Console.WriteLine($"conv GEMMs alone at {threads}T:");
        foreach (var (name, ta, tb, m, n, k) in shapes)
        {
            var a = new float[m * k];
            var b = new float[k * n];
            var c = new float[m * n];
            foreach (ref float v in a.AsSpan()) v = rng.NextSingle();
            foreach (ref float v in b.AsSpan()) v = rng.NextSingle();
            int lda = ta ? m : k, ldb = tb ? k : n;
            var t = new List<double>();
            for (int r = 0; r < rounds + 5; r++)
            {
                long s = Stopwatch.GetTimestamp();
                for (int i = 0; i < 10; i++) Gemm.Compute(ta, tb, m, n, k, 1f, a, lda, b, ldb, 0f, c, n);
                if (r >= 5) t.Add(Stopwatch.GetElapsedTime(s).TotalSeconds / 10);
            }
            double flops = 2.0 * m * n * k, med = Median(t);
            Console.WriteLine($"  {name,-20} [{m}, {n}, {k}]  median {Ms(med)}  min {Ms(t.Min())}  {flops / med / 1e9,6:F1} GFLOP/s");
        }
    }

    private static double Lap(ref long start)
    {
        long now = Stopwatch.GetTimestamp();
        double s = (now - start) / (double)Stopwatch.Frequency;
        start = now;
        return s;
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

    private static string Ms(double seconds) => $"{seconds * 1e3,7:F3} ms";
}
