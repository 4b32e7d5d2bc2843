using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using static TorchSharp.torch;

namespace Nn.Simd.Parity.Tests;

/// <summary>GroupNormalization against libtorch's group_norm, which takes channels-first input: the channels-last data is
/// permuted to [B, C, ...] and back. Keras' ε = 1e-3 is passed to torch (whose default is 1e-5). Output, dX, dγ, dβ.</summary>
public class GroupNormParityTests
{
    [Theory]
    [InlineData(new[] { 3, 5, 4, 8 }, 4)]
    [InlineData(new[] { 2, 6, 6, 12 }, 3)]
    [InlineData(new[] { 2, 3, 5, 6 }, 1)]     // layer normalisation over all non-batch axes
    [InlineData(new[] { 2, 3, 5, 6 }, 6)]     // instance normalisation
    [InlineData(new[] { 4, 7, 10 }, 5)]       // sequences [B, T, C]
    [InlineData(new[] { 5, 18 }, 3)]          // [B, C]
    public void GroupNorm_MatchesTorch(int[] dims, int groups)
    {
        var shape = new TensorShape(dims);
        int c = dims[^1];
        var layer = new GroupNormalization<float>(groups);
        var x = Tensor<float>.RandomNormal(shape, seed: dims.Sum() + groups);
        TensorPrimitives.Add(x.Span, 3f, x.Span);
        layer.Build(shape, seed: 1);
        var rng = new Random(c);
        foreach (var p in layer.Parameters)
            foreach (ref float v in p.Value.Span) v = (float)(2 * rng.NextDouble() - 1);
        var dy = Tensor<float>.RandomNormal(shape, seed: 7);
        var y = layer.Forward(x, training: true).Clone();
        var dx = layer.Backward(dy).Clone();

        // Channels last → channels first: (0, r−1, 1, …, r−2); and back: (0, 2, …, r−1, 1).
        int rank = dims.Length;
        long[] toFirst = [0, rank - 1, .. Enumerable.Range(1, rank - 2).Select(i => (long)i)];
        long[] toLast = [0, .. Enumerable.Range(2, rank - 2).Select(i => (long)i), 1];
        long[] tdims = [.. dims.Select(d => (long)d)];
        using var scope = NewDisposeScope();
        var tx = tensor(x.ToArray(), tdims).permute(toFirst).contiguous().requires_grad_(true);
        var tw = tensor(layer.Parameters[0].Value.ToArray(), [c]).requires_grad_(true);
        var tb = tensor(layer.Parameters[1].Value.ToArray(), [c]).requires_grad_(true);
        var ty = nn.functional.group_norm(tx, groups, tw, tb, 1e-3);
        ty.backward([tensor(dy.ToArray(), tdims).permute(toFirst).contiguous()]);

        Parity.AssertClose(ty.permute(toLast).contiguous().data<float>().ToArray(), y.ToArray(), "output", 1e-4, 1e-4);
        Parity.AssertClose(tx.grad!.permute(toLast).contiguous().data<float>().ToArray(), dx.ToArray(), "dX", 1e-4, 1e-4);
        Parity.AssertClose(tw.grad!.data<float>().ToArray(), layer.Parameters[0].Grad.ToArray(), "dGamma", 1e-4, 1e-4);
        Parity.AssertClose(tb.grad!.data<float>().ToArray(), layer.Parameters[1].Grad.ToArray(), "dBeta", 1e-4, 1e-4);
    }
}
