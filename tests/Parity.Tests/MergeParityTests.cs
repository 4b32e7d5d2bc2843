using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using static TorchSharp.torch;

namespace Nn.Simd.Parity.Tests;

/// <summary>Add, Multiply, Maximum, Concatenate and Dot against libtorch (forward and the gradient of every input), and
/// Add, Multiply and Subtract with axes of size 1 broadcast.
/// Inputs are random, so Maximum has no ties (libtorch splits a tie's gradient, Keras on TensorFlow does not). Dot is
/// torch.matmul on the inputs permuted so that the dot axes meet, and with normalize each input is first
/// F.normalize(ε = 1e-7), Keras 3's x / max(‖x‖, 1e-7).</summary>
public class MergeParityTests
{
    private static long[] Dims(Tensor<float> t) => [.. t.Shape.ToArray().Select(d => (long)d)];

    private static TorchSharp.torch.Tensor Leaf(Tensor<float> t) => tensor(t.ToArray(), Dims(t)).requires_grad_(true);

    private static void Compare(IMergeLayer<float> layer, Tensor<float>[] xs, Func<TorchSharp.torch.Tensor[], TorchSharp.torch.Tensor> torchOp)
    {
        var y = layer.Forward(xs, training: true).Clone();
        var dy = Tensor<float>.RandomNormal(y.Shape, seed: 99);
        var dxs = layer.Backward(dy).Select(d => d.Clone()).ToArray();
        using var scope = NewDisposeScope();
        var txs = xs.Select(Leaf).ToArray();
        var ty = torchOp(txs);
        Assert.Equal(Dims(y), ty.shape);
        ty.backward([tensor(dy.ToArray(), Dims(dy))]);
        Parity.AssertClose(ty.data<float>().ToArray(), y.ToArray(), $"{layer.TypeName} output");
        for (int i = 0; i < xs.Length; i++)
            Parity.AssertClose(txs[i].grad!.data<float>().ToArray(), dxs[i].ToArray(), $"{layer.TypeName} dX{i}", 1e-4, 1e-5);
    }

    private static Tensor<float>[] Random(int seed, params int[][] dims) =>
        [.. dims.Select((d, i) => Tensor<float>.RandomNormal(new TensorShape(d), seed: seed + i))];

    [Fact]
    public void AddMultiplyMaximum_MatchTorch()
    {
        var xs = Random(1, [3, 4, 5], [3, 4, 5], [3, 4, 5]);
        Compare(new Add<float>(), xs, t => t[0] + t[1] + t[2]);
        Compare(new Multiply<float>(), xs, t => t[0] * t[1] * t[2]);
        Compare(new Maximum<float>(), xs, t => maximum(maximum(t[0], t[1]), t[2]));
    }

    [Fact]
    public void BroadcastingAddMultiply_MatchTorch()
    {
        // [B, T, F] with [B, 1, F] and [B, T, 1]: torch broadcasts the same way, and autograd sums each input's gradient
        // over its broadcast axes.
        var xs = Random(3, [3, 4, 5], [3, 1, 5], [3, 4, 1]);
        Compare(new Add<float>(), xs, t => t[0] + t[1] + t[2]);
        Compare(new Multiply<float>(), xs, t => t[0] * t[1] * t[2]);
        Compare(new Subtract<float>(), Random(4, [2, 1, 6], [2, 5, 1]), t => t[0] - t[1]);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1)]
    [InlineData(2)]
    public void Concatenate_MatchesTorchCat(int axis)
    {
        int[] a = [2, 3, 4], b = [2, 3, 4];
        int k = axis < 0 ? axis + 3 : axis;
        b[k] = 5;
        Compare(new Concatenate<float>(axis), Random(5, a, b), t => cat([t[0], t[1]], axis));
    }

    public static TheoryData<int[], int[], int, int, bool> DotCases() => new()
    {
        { [4, 7], [4, 7], 1, 1, false },
        { [4, 7], [4, 7], 1, 1, true },
        { [2, 5, 7], [2, 6, 7], 2, 2, false },
        { [2, 5, 7], [2, 6, 7], 2, 2, true },
        { [2, 7, 5], [2, 7, 6], 1, 1, true },
        { [2, 7], [2, 6, 7], 1, 2, true },
    };

    [Theory]
    [MemberData(nameof(DotCases))]
    public void Dot_MatchesTorchMatmul(int[] xd, int[] zd, int ax, int az, bool normalize)
    {
        var layer = ax == az ? new Dot<float>(ax, normalize) : new Dot<float>((ax, az), normalize);
        Compare(layer, Random(9, xd, zd), t =>
        {
            var x = normalize ? nn.functional.normalize(t[0], 2.0, ax, 1e-7) : t[0];
            var z = normalize ? nn.functional.normalize(t[1], 2.0, az, 1e-7) : t[1];
            // x as [B, P, N] and z as [B, N, Q]; a rank-2 input gets a unit free axis, dropped from the result.
            var xm = x.dim() == 2 ? x.unsqueeze(1) : ax == 2 ? x : x.transpose(1, 2);
            var zm = z.dim() == 2 ? z.unsqueeze(2) : az == 1 ? z : z.transpose(1, 2);
            var y = matmul(xm, zm);
            if (x.dim() == 2 && z.dim() == 2) return y.reshape(y.shape[0], 1);
            if (x.dim() == 2) return y.squeeze(1);
            return z.dim() == 2 ? y.squeeze(2) : y;
        });
    }
}
