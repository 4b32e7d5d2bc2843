using FsCheck;
using FsCheck.Xunit;
using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using static TorchSharp.torch;

namespace Nn.Simd.Parity.Tests;

/// <summary>LayerNormalization against libtorch's layer_norm: output, dX, dγ and dβ.</summary>
public class LayerNormParityTests
{
    [Property(MaxTest = 12)]
    public void LayerNorm_MatchesTorch(PositiveInt batch, PositiveInt features, bool sequence)
    {
        int b = 1 + batch.Get % 9, c = 2 + features.Get % 30, t = sequence ? 3 : 1;
        var shape = sequence ? new TensorShape(b, t, c) : new TensorShape(b, c);
        long[] dims = sequence ? [b, t, c] : [b, c];
        var layer = new LayerNormalization<float>(epsilon: 1e-5);
        var x = Tensor<float>.RandomNormal(shape, seed: b * 100 + c);
        layer.Build(shape, seed: 1);
        var rng = new Random(c);
        foreach (var p in layer.Parameters)
            foreach (ref float v in p.Value.Span) v = (float)(rng.NextDouble() - 0.5);
        var dy = Tensor<float>.RandomNormal(shape, seed: 7);
        var y = layer.Forward(x, training: true).Clone();
        var dx = layer.Backward(dy).Clone();

        using var scope = NewDisposeScope();
        var tx = tensor(x.ToArray(), dims).requires_grad_(true);
        var tw = tensor(layer.Parameters[0].Value.ToArray(), [c]).requires_grad_(true);
        var tb = tensor(layer.Parameters[1].Value.ToArray(), [c]).requires_grad_(true);
        var ty = nn.functional.layer_norm(tx, [c], tw, tb, 1e-5);
        ty.backward([tensor(dy.ToArray(), dims)]);

        Parity.AssertClose(ty.data<float>().ToArray(), y.ToArray(), "output", 1e-4, 1e-4);
        Parity.AssertClose(tx.grad!.data<float>().ToArray(), dx.ToArray(), "dX", 1e-4, 1e-4);
        Parity.AssertClose(tw.grad!.data<float>().ToArray(), layer.Parameters[0].Grad.ToArray(), "dGamma", 1e-4, 1e-4);
        Parity.AssertClose(tb.grad!.data<float>().ToArray(), layer.Parameters[1].Grad.ToArray(), "dBeta", 1e-4, 1e-4);
    }
}
