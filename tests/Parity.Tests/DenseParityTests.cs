using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Nn.Simd.Layers;
using Nn.Simd.Reference;
using Nn.Simd.Tensors;
using static TorchSharp.torch;

namespace Nn.Simd.Parity.Tests;

/// <summary>Dense forward outputs and every gradient agree with libtorch given the same weights.</summary>
public class DenseParityTests
{
    [Property(MaxTest = 15)]
    public void Dense_MatchesTorch(PositiveInt batch, PositiveInt features, PositiveInt units, bool relu)
    {
        int b = 1 + batch.Get % 16, f = 1 + features.Get % 40, h = 1 + units.Get % 40;
        string act = relu ? "relu" : "tanh";
        var layer = new Dense<float>(h, act);
        var x = Tensor<float>.RandomNormal(new TensorShape(b, f), seed: b * 1000 + f);
        layer.Build(x.Shape, seed: h);
        var rng = new Random(h);
        foreach (ref float v in layer.Bias!.Value.Span) v = (float)(rng.NextDouble() - 0.5);
        var dy = Tensor<float>.RandomNormal(new TensorShape(b, h), seed: 99);

        var y = layer.Forward(x, training: true).Clone();
        var dx = layer.Backward(dy).Clone();

        using var scope = NewDisposeScope();
        using var torchModel = new TorchModel([new DenseSpec(f, h, act, layer.Kernel.Value.ToArray(), layer.Bias.Value.ToArray())]);
        var tx = tensor(x.ToArray(), [b, f]).requires_grad_(true);
        var ty = torchModel.Forward(tx);
        ty.backward([tensor(dy.ToArray(), [b, h])]);

        Parity.AssertClose(TorchModel.ToArray(ty), y.ToArray(), "output");
        Parity.AssertClose(TorchModel.ToArray(tx.grad!), dx.ToArray(), "dX");
        var grads = torchModel.GetKerasGradients();
        Parity.AssertClose(grads[0], layer.Kernel.Grad.ToArray(), "dKernel");
        Parity.AssertClose(grads[1], layer.Bias.Grad.ToArray(), "dBias");
    }
}

internal static class Parity
{
    /// <summary>Within 1e-5 relative, with an absolute floor for values near zero (float32 round-off of sums).</summary>
    public static void AssertClose(float[] expected, float[] actual, string what, double rtol = 1e-5, double atol = 1e-5)
    {
        var r = Tolerance.Compare<float>(expected, actual, rtol, atol);
        Assert.True(r.Passed, $"{what}: {r}");
    }
}
