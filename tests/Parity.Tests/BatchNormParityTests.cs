using FsCheck;
using FsCheck.Xunit;
using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using static TorchSharp.torch;

namespace Nn.Simd.Parity.Tests;

/// <summary>BatchNormalization in training mode against libtorch's batch_norm: output, dX, dγ, dβ and the moving
/// statistics (PyTorch's running variance takes the unbiased batch variance, ours the biased one as Keras).</summary>
public class BatchNormParityTests
{
    [Property(MaxTest = 12)]
    public void BatchNorm_MatchesTorch(PositiveInt batch, PositiveInt features)
    {
        int b = 2 + batch.Get % 30, c = 1 + features.Get % 20;
        var layer = new BatchNormalization<float>(momentum: 0.9, epsilon: 1e-3);
        var x = Tensor<float>.RandomNormal(new TensorShape(b, c), seed: b * 100 + c);
        TensorPrimitives.Multiply(x.Span, 3f, x.Span);
        TensorPrimitives.Add(x.Span, 1.5f, x.Span);
        layer.Build(x.Shape, seed: 1);
        var rng = new Random(c);
        foreach (var p in layer.Parameters)
            foreach (ref float v in p.Value.Span) v = p.Name == "moving_variance" ? (float)(0.5 + rng.NextDouble()) : (float)(rng.NextDouble() - 0.5);
        var gamma = layer.Parameters[0].Value.ToArray();
        var beta = layer.Parameters[1].Value.ToArray();
        var rm0 = layer.MovingMean.Value.ToArray();
        var rv0 = layer.MovingVariance.Value.ToArray();
        var dy = Tensor<float>.RandomNormal(new TensorShape(b, c), seed: 7);
        var y = layer.Forward(x, training: true).Clone();
        var dx = layer.Backward(dy).Clone();

        using var scope = NewDisposeScope();
        var tx = tensor(x.ToArray(), [b, c]).requires_grad_(true);
        var tw = tensor(gamma, [c]).requires_grad_(true);
        var tb = tensor(beta, [c]).requires_grad_(true);
        var rm = tensor(rm0, [c]);
        var rv = tensor(rv0, [c]);
        var ty = nn.functional.batch_norm(tx, rm, rv, tw, tb, training: true, momentum: 0.1, eps: 1e-3);
        ty.backward([tensor(dy.ToArray(), [b, c])]);

        Parity.AssertClose(ty.data<float>().ToArray(), y.ToArray(), "output", 1e-4, 1e-4);
        Parity.AssertClose(tx.grad!.data<float>().ToArray(), dx.ToArray(), "dX", 1e-4, 1e-4);
        Parity.AssertClose(tw.grad!.data<float>().ToArray(), layer.Parameters[0].Grad.ToArray(), "dGamma", 1e-4, 1e-4);
        Parity.AssertClose(tb.grad!.data<float>().ToArray(), layer.Parameters[1].Grad.ToArray(), "dBeta", 1e-4, 1e-4);
        Parity.AssertClose(rm.data<float>().ToArray(), layer.MovingMean.Value.ToArray(), "moving mean");
        var torchVar = rv.data<float>().ToArray();
        var biased = new float[c];
        for (int j = 0; j < c; j++) biased[j] = 0.9f * rv0[j] + (torchVar[j] - 0.9f * rv0[j]) * (b - 1) / b;
        Parity.AssertClose(biased, layer.MovingVariance.Value.ToArray(), "moving variance", 1e-4, 1e-5);
    }
}
