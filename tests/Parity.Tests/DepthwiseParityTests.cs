using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using static TorchSharp.torch;

namespace Nn.Simd.Parity.Tests;

/// <summary>DepthwiseConv2D against libtorch's <c>conv2d(groups = in)</c>: the weight [in·M, 1, kh, kw] is Keras'
/// [kh, kw, in, M] permuted (2, 3, 0, 1) and reshaped (output channel c·M + m in both). Keras' 'same' padding (the odd
/// cell after) goes to torch as an explicit <c>pad</c>.</summary>
public class DepthwiseParityTests
{
    [Theory]
    [InlineData(3, 3, 1, 1, "same", 1, 1)]
    [InlineData(3, 3, 2, 2, "same", 2, 1)]
    [InlineData(2, 3, 1, 2, "valid", 3, 1)]
    [InlineData(4, 4, 2, 1, "same", 1, 1)]
    [InlineData(3, 2, 1, 1, "same", 2, 2)]
    public void DepthwiseConv2D_MatchesTorch(int kh, int kw, int sh, int sw, string padding, int m, int d)
    {
        int b = 2, h = 9, w = 8, c = 4, spanH = (kh - 1) * d + 1, spanW = (kw - 1) * d + 1;
        var layer = new DepthwiseConv2D<float>((kh, kw), (sh, sw), padding, m, "relu", dilationRate: (d, d));
        var x = Tensor<float>.RandomNormal(new TensorShape(b, h, w, c), seed: kh * 10 + m);
        layer.Build(x.Shape, 1);
        var rng = new Random(3);
        foreach (ref float v in layer.Bias!.Value.Span) v = (float)(rng.NextDouble() - 0.5);
        var y = layer.Forward(x, training: true).Clone();
        var dy = Tensor<float>.RandomNormal(y.Shape, seed: 4);
        var dx = layer.Backward(dy).Clone();
        int ho = y.Shape[1], wo = y.Shape[2];

        using var scope = NewDisposeScope();
        var tx = tensor(x.ToArray(), [b, h, w, c]).permute(0, 3, 1, 2).contiguous().requires_grad_(true);
        var tk = tensor(layer.Kernel.Value.ToArray(), [kh, kw, c, m]).permute(2, 3, 0, 1).reshape(c * m, 1, kh, kw).contiguous().requires_grad_(true);
        var tb = tensor(layer.Bias.Value.ToArray(), [c * m]).requires_grad_(true);
        int padH = padding == "same" ? Math.Max(0, (ho - 1) * sh + spanH - h) : 0, padW = padding == "same" ? Math.Max(0, (wo - 1) * sw + spanW - w) : 0;
        // pad takes (left, right, top, bottom).
        var input = nn.functional.pad(tx, [padW / 2, padW - padW / 2, padH / 2, padH - padH / 2]);
        var ty = nn.functional.relu(nn.functional.conv2d(input, tk, tb, strides: [sh, sw], dilation: [d, d], groups: c));
        Assert.Equal([b, c * m, ho, wo], ty.shape);
        ty.backward([tensor(dy.ToArray(), [b, ho, wo, c * m]).permute(0, 3, 1, 2)]);

        Parity.AssertClose(ty.permute(0, 2, 3, 1).contiguous().data<float>().ToArray(), y.ToArray(), "output");
        Parity.AssertClose(tx.grad!.permute(0, 2, 3, 1).contiguous().data<float>().ToArray(), dx.ToArray(), "dX");
        Parity.AssertClose(tk.grad!.reshape(c, m, kh, kw).permute(2, 3, 0, 1).contiguous().data<float>().ToArray(), layer.Kernel.Grad.ToArray(), "dKernel", 1e-4, 1e-4);
        Parity.AssertClose(tb.grad!.data<float>().ToArray(), layer.Bias.Grad.ToArray(), "dBias", 1e-4, 1e-4);
    }
}
