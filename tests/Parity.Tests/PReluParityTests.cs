using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using static TorchSharp.torch;

namespace Nn.Simd.Parity.Tests;

/// <summary>PRelu against libtorch's <c>prelu</c>: output, dX and dα. Torch's weight is [C] on the channel axis of
/// NCHW (or NCL, or [N, C]) data, so the per-channel layouts here are channels-last with the other axes shared, and the
/// data is permuted as in the convolution tests; a single shared slope is torch's weight of size 1.</summary>
public class PReluParityTests
{
    [Theory]
    [InlineData(0, 3, 5, 0)]
    [InlineData(0, 4, 37, 0)]
    [InlineData(1, 2, 3, 1)]
    [InlineData(1, 3, 19, 1)]
    [InlineData(2, 2, 4, 2)]
    [InlineData(2, 3, 16, 2)]
    [InlineData(3, 2, 3, 3)]
    [InlineData(3, 1, 1, 3)]
    public void PReLU_MatchesTorch(int kind, int b, int c, int size)
    {
        int s = 2 + size;
        // kind 0: [B, C], no sharing; 1: [B, T, C] shared [1]; 2: [B, H, W, C] shared [1, 2]; 3: [B, H, W, C], one slope.
        (int[] dims, int[] shared, long[] perm, long[] back) = kind switch
        {
            0 => (new[] { b, c }, Array.Empty<int>(), new long[] { 0, 1 }, new long[] { 0, 1 }),
            1 => (new[] { b, s, c }, new[] { 1 }, new long[] { 0, 2, 1 }, new long[] { 0, 2, 1 }),
            2 => (new[] { b, s, s + 1, c }, new[] { 1, 2 }, new long[] { 0, 3, 1, 2 }, new long[] { 0, 2, 3, 1 }),
            _ => (new[] { b, s, s + 1, c }, new[] { 1, 2, 3 }, new long[] { 0, 3, 1, 2 }, new long[] { 0, 2, 3, 1 }),
        };
        var shape = new TensorShape(dims);
        var layer = new PRelu<float>(sharedAxes: shared);
        layer.Build(shape, seed: 1);
        var rng = new Random(c * 31 + kind);
        foreach (ref float v in layer.Alpha.Value.Span) v = (float)(rng.NextDouble() * 0.8 - 0.2);
        var x = Tensor<float>.RandomNormal(shape, seed: b * 100 + c);
        var dy = Tensor<float>.RandomNormal(shape, seed: 7);
        var y = layer.Forward(x, training: true).Clone();
        var dx = layer.Backward(dy).Clone();

        using var scope = NewDisposeScope();
        long[] tdims = dims.Select(d => (long)d).ToArray();
        int nAlpha = layer.Alpha.Value.Length;
        var tx = tensor(x.ToArray(), tdims).permute(perm).contiguous().requires_grad_(true);
        var tw = tensor(layer.Alpha.Value.ToArray(), [nAlpha]).requires_grad_(true);
        var ty = nn.functional.prelu(tx, tw);
        ty.backward([tensor(dy.ToArray(), tdims).permute(perm).contiguous()]);

        Parity.AssertClose(ty.permute(back).contiguous().data<float>().ToArray(), y.ToArray(), "output");
        Parity.AssertClose(tx.grad!.permute(back).contiguous().data<float>().ToArray(), dx.ToArray(), "dX");
        Parity.AssertClose(tw.grad!.data<float>().ToArray(), layer.Alpha.Grad.ToArray(), "dAlpha", 1e-4, 1e-4);
    }
}
