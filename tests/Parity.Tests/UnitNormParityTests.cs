using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using static TorchSharp.torch;

namespace Nn.Simd.Parity.Tests;

/// <summary>UnitNormalization against libtorch's F.normalize. Keras' x / √max(Σx², 1e-12) is x / max(‖x‖, 1e-6), which
/// is F.normalize with ε = 1e-6, gradient included; each case has a vector with a norm under 1e-6 to show it, and
/// torch's default ε = 1e-12 is shown to differ there.</summary>
public class UnitNormParityTests
{
    [Theory]
    [InlineData(new[] { 4, 9 }, -1)]
    [InlineData(new[] { 3, 5, 6 }, -1)]
    [InlineData(new[] { 3, 5, 6 }, 1)]
    [InlineData(new[] { 2, 4, 3, 20 }, 2)]
    public void UnitNorm_MatchesTorchNormalize_WithEpsilon1e6(int[] dims, int axis)
    {
        var shape = new TensorShape(dims);
        var x = Tensor<float>.RandomNormal(shape, seed: dims.Sum() + axis);
        // The vector through element 0 along the axis gets a norm of about 1e-8, below Keras' floor.
        int a = axis < 0 ? axis + dims.Length : axis, inner = dims[(a + 1)..].Aggregate(1, (p, d) => p * d);
        for (int k = 0; k < dims[a]; k++) x.Span[k * inner] *= 1e-8f;
        var layer = new UnitNormalization<float>(axis);
        var y = layer.Forward(x, training: true).Clone();
        var dy = Tensor<float>.RandomNormal(shape, seed: 7);
        var dx = layer.Backward(dy).Clone();

        long[] tdims = [.. dims.Select(d => (long)d)];
        using var scope = NewDisposeScope();
        var tx = tensor(x.ToArray(), tdims).requires_grad_(true);
        var ty = nn.functional.normalize(tx, 2.0, a, 1e-6);
        ty.backward([tensor(dy.ToArray(), tdims)]);
        Parity.AssertClose(ty.data<float>().ToArray(), y.ToArray(), "output", 1e-5, 1e-6);
        Parity.AssertClose(tx.grad!.data<float>().ToArray(), dx.ToArray(), "dX", 1e-4, 1e-4);

        // Torch's default ε = 1e-12 normalises the tiny vector to unit norm; Keras (and this layer) scales it by 1e6.
        var yv = y.ToArray();
        var byDefault = nn.functional.normalize(tensor(x.ToArray(), tdims), 2.0, a).data<float>().ToArray();
        Assert.True(Math.Abs(byDefault[0] - yv[0]) > 0.01 * Math.Abs(byDefault[0]), $"{byDefault[0]} vs {yv[0]}");
    }
}
