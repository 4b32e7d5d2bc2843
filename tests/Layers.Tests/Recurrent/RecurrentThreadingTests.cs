using Nn.Simd.Tensors;

namespace Nn.Simd.Layers.Tests;

/// <summary>Tests that change the process-wide <see cref="Parallelism.MaxDegree"/> run alone.</summary>
[CollectionDefinition(nameof(RecurrentGlobalSettings), DisableParallelization = true)]
public sealed class RecurrentGlobalSettings;

/// <summary>
/// The recurrent layers split their time loops over blocks of batch rows run on several threads; every row is an
/// independent sequence, so the outputs and all gradients must be bitwise the same at any thread count.
/// </summary>
[Collection(nameof(RecurrentGlobalSettings))]
public class RecurrentThreadingTests
{
    private static RecurrentLayer<float> Make(string kind, bool returnSequences, int truncate, int units = 12) => kind switch
    {
        "lstm" => new Lstm<float>(units, returnSequences: returnSequences, truncateBptt: truncate),
        "lstm_stateful" => new Lstm<float>(units, returnSequences: returnSequences, stateful: true, truncateBptt: truncate),
        "gru_stateful" => new Gru<float>(units, returnSequences: returnSequences, stateful: true, truncateBptt: truncate),
        "gru" => new Gru<float>(units, returnSequences: returnSequences, truncateBptt: truncate),
        "simple_rnn" => new SimpleRnn<float>(units, returnSequences: returnSequences, truncateBptt: truncate),
        _ => new SimpleRnn<float>(units, activation: "relu", returnSequences: returnSequences, truncateBptt: truncate),
    };

    private static List<float[]> Run(string kind, int batch, bool returnSequences, int truncate, int threads)
    {
        int saved = Parallelism.MaxDegree;
        try
        {
            Parallelism.MaxDegree = threads;
            bool masked = kind.EndsWith("_masked", StringComparison.Ordinal);
            bool dropout = kind.EndsWith("_dropout", StringComparison.Ordinal);
            bool initial = kind.EndsWith("_initial", StringComparison.Ordinal);
            // 40 units: the LSTM's 160 and the GRU's 120 gate columns make the input-weight gradient (ColumnDots, split
            // by blocks of 64 columns) run in several chunks too.
            string cell = masked ? kind[..^"_masked".Length] : dropout ? kind[..^"_dropout".Length] : initial ? kind[..^"_initial".Length] : kind;
            var layer = Make(cell, returnSequences, truncate, units: 40);
            if (initial)
            {
                // A different initial state in every row: each row block sets its own rows.
                layer.InitialH = Tensor<float>.RandomNormal(new TensorShape(batch, 40), seed: 8);
                if (layer is Lstm<float>) layer.InitialC = Tensor<float>.RandomNormal(new TensorShape(batch, 40), seed: 9);
            }
            if (dropout) { layer.Dropout = 0.2; layer.RecurrentDropout = 0.3; }
            layer.Build(new TensorShape(batch, 7, 3), seed: 5);
            if (masked)
            {
                // Padding, holes and fully masked rows, different in every row block.
                var mask = new SequenceMask(batch, 7);
                for (int r = 0; r < batch; r++)
                    for (int t = 0; t < 7; t++)
                        mask[r, t] = (r * 7 + t) % 5 != 2 && t < 7 - r % 4 && r % 9 != 4;
                layer.InputMask = mask;
            }
            var x = Tensor<float>.RandomNormal(new TensorShape(batch, 7, 3), seed: 6);
            var results = new List<float[]>();
            for (int call = 0; call < 2; call++)   // twice: the second call reuses the packed kernels and workspaces
            {
                // Inference projects each row block's steps inside the split loop; training projects all steps
                // first: the outputs must be the same bits.
                var inferred = layer.Forward(x, training: false).ToArray();
                var y = layer.Forward(x, training: true);
                // Dropout changes training, not inference; a stateful layer starts the training call where the inference
                // call left its state.
                if (!dropout && !layer.Stateful)
                    Assert.True(inferred.AsSpan().SequenceEqual(y.ReadOnlySpan), $"{kind} B={batch} threads={threads}: inference differs from training");
                var dy = Tensor<float>.RandomNormal(y.Shape, seed: 7 + call);
                foreach (var p in layer.Parameters) p.Grad.Clear();
                var dx = layer.Backward(dy);
                results.Add(y.ToArray());
                results.Add(inferred);
                results.Add(dx.ToArray());
                results.Add(layer.InitialHGradient.ToArray());
                foreach (var p in layer.Parameters) results.Add(p.Grad.ToArray());
                // Change the weights between calls, as an optimizer would, so a stale packed kernel would show.
                foreach (var p in layer.Parameters) TensorPrimitives.Multiply(p.Value.Span, 0.9f, p.Value.Span);
            }
            return results;
        }
        finally
        {
            Parallelism.MaxDegree = saved;
        }
    }

    [Theory]
    [InlineData("lstm"), InlineData("gru"), InlineData("simple_rnn"), InlineData("simple_rnn_relu"), InlineData("lstm_masked"), InlineData("gru_masked"), InlineData("lstm_dropout")]
    [InlineData("lstm_initial"), InlineData("gru_initial"), InlineData("simple_rnn_initial"), InlineData("lstm_stateful"), InlineData("gru_stateful")]
    public void SplitTimeLoops_AreBitwiseIdentical_AtAnyThreadCount(string kind)
    {
        long saved = RecurrentLayer<float>.ParallelMinFlops;
        try
        {
            RecurrentLayer<float>.ParallelMinFlops = 0;   // split even these small layers
            foreach (int batch in new[] { 1, 21, 40 })
                foreach (var (returnSequences, truncate) in new[] { (false, 0), (true, 3) })
                {
                    var serial = Run(kind, batch, returnSequences, truncate, 1);
                    foreach (int threads in new[] { 2, 3 })
                    {
                        var parallel = Run(kind, batch, returnSequences, truncate, threads);
                        Assert.Equal(serial.Count, parallel.Count);
                        for (int i = 0; i < serial.Count; i++)
                            Assert.True(serial[i].AsSpan().SequenceEqual(parallel[i]),
                                $"{kind} B={batch} returnSequences={returnSequences} truncate={truncate} threads={threads}: result {i} differs");
                    }
                }
        }
        finally
        {
            RecurrentLayer<float>.ParallelMinFlops = saved;
        }
    }

    [Theory]
    [InlineData("lstm", 1), InlineData("lstm", 2), InlineData("gru", 2), InlineData("simple_rnn", 2)]
    public void SteadyStateTrainingPass_AllocatesNothing(string kind, int threads)
    {
        int saved = Parallelism.MaxDegree;
        long savedFlops = RecurrentLayer<float>.ParallelMinFlops;
        try
        {
            Parallelism.MaxDegree = threads;
            RecurrentLayer<float>.ParallelMinFlops = 0;
            var layer = Make(kind, returnSequences: false, truncate: 0);
            var x = Tensor<float>.RandomNormal(new TensorShape(32, 10, 3), seed: 6);
            var dy = Tensor<float>.RandomNormal(new TensorShape(32, 12), seed: 7);
            var parameters = layer.Parameters;
            void Pass()
            {
                for (int i = 0; i < parameters.Count; i++) parameters[i].Grad.Clear();   // foreach over the interface would box an enumerator
                layer.Forward(x, training: true);
                layer.Backward(dy);
            }
            // Workspaces, packed kernels and worker threads are created in the first passes; keep going for half a
            // second so that one-time work is over before the measured passes. With 3 passes this test failed once in
            // about twenty suite runs after the fused steps landed (not reproduced in isolation; most likely the JIT's
            // tier-up, which runs on whichever thread first reaches a call count or loop patchpoint).
            var warm = System.Diagnostics.Stopwatch.StartNew();
            for (int i = 0; i < 3 || warm.ElapsedMilliseconds < 500; i++) Pass();
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 5; i++) Pass();
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        finally
        {
            Parallelism.MaxDegree = saved;
            RecurrentLayer<float>.ParallelMinFlops = savedFlops;
        }
    }
}
