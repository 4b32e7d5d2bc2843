using BenchmarkDotNet.Running;

namespace Nn.Simd.Benchmarks;

// Commands (run from the repository root; Release is required). The machine is shared: note the load (uptime) with
// every measurement and compare only rows from the same run.
//   Everything (long):        dotnet run -c Release --project bench/Nn.Simd.Benchmarks -- --filter '*'
//   One class:                dotnet run -c Release --project bench/Nn.Simd.Benchmarks -- --filter '*LstmBenchmarks*'
//   The model benchmarks as reported (about 8 minutes; each case in its own process):
//                             dotnet run -c Release --project bench/Nn.Simd.Benchmarks -- --filter '*LstmBenchmarks*' \
//                               '*SimpleRnnBenchmarks*' '*MlpBenchmarks*' --warmupCount 3 --iterationCount 10 --iterationTime 250
//   The LSTM at tiny batches (H = 32, B = 1 and 8; about 2 minutes):
//                             dotnet run -c Release --project bench/Nn.Simd.Benchmarks -- --filter '*LstmTinyBatchBenchmarks*' \
//                               --warmupCount 3 --iterationCount 10 --iterationTime 250
//   Headline rows (about a minute, in process; see HeadlineBenchmarks.RunQuick):
//                             dotnet run -c Release --project bench/Nn.Simd.Benchmarks -- --quick
//   Interleaved stopwatch probe (no BenchmarkDotNet, prints medians and ratios; for iterating):
//                             dotnet run -c Release --project bench/Nn.Simd.Benchmarks -- --probe lstm 64 32
//   MultiHeadAttention (AttentionBenchmarks) interleaved, torch with and without scaled_dot_product_attention:
//                             dotnet run -c Release --project bench/Nn.Simd.Benchmarks -- --probe attention
//   The CNN step (ConvBenchmarks) interleaved, then cut into phases and its conv GEMMs alone:
//                             dotnet run -c Release --project bench/Nn.Simd.Benchmarks -- --probe cnn
//   Peak working set of a training run, one engine per process:
//                             dotnet run -c Release --project bench/Nn.Simd.Benchmarks -- --memory nnsimd lstm 128 64 200
//                             dotnet run -c Release --project bench/Nn.Simd.Benchmarks -- --memory torch lstm 128 64 200
//   The same next to Nn.Simd published NativeAOT (bench/Nn.Simd.MemoryProbe) and the runtimes alone, as a table with
//   % of TorchSharp's peak; publishes and builds first, RUNS=3 for medians (defaults lstm 128 64 100):
//                             RUNS=3 bench/memory.sh lstm 128 64 100

public static class Program
{
    public static void Main(string[] args)
    {
        if (args.Length > 1 && args[0] == "--probe" && args[1] == "cnn") { CnnProbe.Run(args[2..]); return; }
        if (args.Length > 0 && args[0] == "--probe") { Probe.Run(args[1..]); return; }
        if (args.Length > 0 && args[0] == "--memory") { Probe.Memory(args[1..]); return; }
        if (args.Length > 0 && args[0] == "--quick") { HeadlineBenchmarks.RunQuick(args[1..]); return; }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
