namespace Nn.Simd.Benchmarks;

/// <summary>
/// The LSTM training step and inference pass (input <c>[B, 60, 5]</c>, H ∈ {64, 128}, B ∈ {32, 64}) for Nn.Simd
/// and TorchSharp at 1 and 2 threads; see <see cref="RecurrentBenchmarksBase"/> for what each row runs.
/// </summary>
public class LstmBenchmarks : RecurrentBenchmarksBase
{
    /// <inheritdoc/>
    public override CellKind Kind => CellKind.Lstm;
}
