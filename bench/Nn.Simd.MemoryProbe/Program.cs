using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Runtime.Intrinsics;
using Nn.Simd.Benchmarks;

namespace Nn.Simd.MemoryProbe;

// Usage: Nn.Simd.MemoryProbe lstm|rnn H B steps
// Trains NnRecurrentModel (RecurrentProblem.cs, the model of the benchmarks) for `steps` steps in this process and
// prints one line in the format of the benchmarks' `--memory nnsimd` line, with the peak working set read from
// /proc/self/status (VmHWM), VmRSS at start and the vector widths in use (NativeAOT fixes them at publish time).
// steps = 0 builds the model and trains nothing: the runtime alone.
// Run it published NativeAOT (bench/memory.sh) or as a JIT build (dotnet .../Nn.Simd.MemoryProbe.dll ...).

public static class Program
{
    private const string Usage = "usage: Nn.Simd.MemoryProbe lstm|rnn H B steps";

    public static int Main(string[] args)
    {
        long startRss = StatusKiB("VmRSS:"), startPeak = StatusKiB("VmHWM:");
        if (args.Length != 4) return Fail($"expected 4 arguments, got {args.Length}");
        CellKind kind;
        switch (args[0])
        {
            case "lstm": kind = CellKind.Lstm; break;
            case "rnn": kind = CellKind.SimpleRnn; break;
            default: return Fail($"cell must be lstm or rnn, got '{args[0]}'");
        }
        if (!TryParse(args[1], 1, out int units)) return Fail($"H must be an integer >= 1, got '{args[1]}'");
        if (!TryParse(args[2], 1, out int batch)) return Fail($"B must be an integer >= 1, got '{args[2]}'");
        if (!TryParse(args[3], 0, out int count)) return Fail($"steps must be an integer >= 0, got '{args[3]}'");

        var model = new NnRecurrentModel(kind, units, batch);
        float loss = float.NaN;
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < count; i++) loss = model.TrainStep();
        sw.Stop();
        long peak = StatusKiB("VmHWM:");
        string engine = JitHosted() ? "nnsimd-jit" : "nnsimd-aot";
        string title = $"{kind} H={units} B={batch}, {count} training steps";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{engine} {title}: {sw.Elapsed.TotalSeconds:F2} s, final loss {loss:G5} (bits 0x{BitConverter.SingleToInt32Bits(loss):X8}), " +
            $"peak working set {peak / 1024.0:F1} MiB (at start {startPeak / 1024.0:F1} MiB), " +
            $"GC heap {GC.GetTotalMemory(false) / 1048576.0:F1} MiB, VmRSS at start {startRss / 1024.0:F1} MiB, " +
            $"Vector512 {(Vector512.IsHardwareAccelerated ? "on" : "off")}, Vector<float> {Vector<float>.Count} lanes"));
        return 0;
    }

    private static bool TryParse(string text, int min, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min;

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"Nn.Simd.MemoryProbe: {message}; {Usage}");
        return 2;
    }

    /// <summary>Whether the JIT is loaded. (<c>RuntimeFeature.IsDynamicCodeSupported</c> cannot tell: PublishAot
    /// sets that switch off in the JIT build's runtimeconfig too.)</summary>
    private static bool JitHosted()
    {
        foreach (var line in File.ReadLines("/proc/self/maps"))
            if (line.EndsWith("/libclrjit.so", StringComparison.Ordinal)) return true;
        return false;
    }

    /// <summary>A <c>kB</c> field of /proc/self/status (VmHWM: peak resident set, VmRSS: current).</summary>
    private static long StatusKiB(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field, StringComparison.Ordinal))
                return long.Parse(line.AsSpan(field.Length).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
        throw new InvalidOperationException($"/proc/self/status has no {field} line.");
    }
}
