using Nn.Simd.Tensors;

namespace Nn.Simd.Layers.Tests;

/// <summary>
/// MultiHeadAttention runs its per-(sample, head) GEMMs, softmax and softmax backward over blocks of samples on several
/// threads; every sample is independent, so the output, the attention weights and all gradients must be bitwise the
/// same at any thread count. The sizes put the work above the split threshold (B·H·Tq·Tv·Dk ≥ 2¹⁵).
/// </summary>
[Collection(nameof(RecurrentGlobalSettings))]
public class MultiHeadAttentionThreadingTests
{
    private static List<float[]> Run(int threads, bool withKey, bool causal, double dropout)
    {
        int saved = Parallelism.MaxDegree;
        try
        {
            Parallelism.MaxDegree = threads;
            var query = Tensor<float>.RandomNormal(new TensorShape(7, 24, 10), seed: 1);
            var value = Tensor<float>.RandomNormal(new TensorShape(7, 20, 6), seed: 2);
            var key = Tensor<float>.RandomNormal(new TensorShape(7, 20, 5), seed: 3);
            Tensor<float>[] inputs = withKey ? [query, value, key] : [query, value];
            var layer = new MultiHeadAttention<float>(3, 8, 5, dropout: dropout, useCausalMask: causal, seed: 11);
            layer.Build([.. inputs.Select(t => t.Shape)], seed: 4);
            var results = new List<float[]>();
            for (int call = 0; call < 2; call++)   // twice: the second call reuses the workspaces
            {
                results.Add(layer.Forward(inputs, training: false).ToArray());
                var y = layer.Forward(inputs, training: true);
                results.Add(y.ToArray());
                results.Add(layer.LastAttentionScores!.ToArray());
                foreach (var p in layer.Parameters) p.Grad.Clear();
                foreach (var g in layer.Backward(Tensor<float>.RandomNormal(y.Shape, seed: 5 + call))) results.Add(g.ToArray());
                foreach (var p in layer.Parameters) results.Add(p.Grad.ToArray());
            }
            return results;
        }
        finally
        {
            Parallelism.MaxDegree = saved;
        }
    }

    [Theory]
    [InlineData(false, false, 0.0)]
    [InlineData(true, true, 0.0)]
    [InlineData(false, true, 0.3)]
    public void SampleSplit_IsBitwiseIdentical_AtAnyThreadCount(bool withKey, bool causal, double dropout)
    {
        var one = Run(1, withKey, causal, dropout);
        foreach (int threads in new[] { 2, 3 })
        {
            var many = Run(threads, withKey, causal, dropout);
            Assert.Equal(one.Count, many.Count);
            for (int i = 0; i < one.Count; i++)
                Assert.True(one[i].AsSpan().SequenceEqual(many[i]), $"result {i} differs at {threads} threads (withKey {withKey}, causal {causal}, dropout {dropout})");
        }
    }
}
