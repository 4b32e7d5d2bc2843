using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using static TorchSharp.torch;

namespace Nn.Simd.Parity.Tests;

/// <summary>SeparableConv2D against libtorch's two-step form: <c>conv2d(groups = in)</c> without bias (weight: the
/// depthwise kernel [kh, kw, in, M] permuted (2, 3, 0, 1) and reshaped to [in·M, 1, kh, kw]), then a 1×1
/// <c>conv2d</c> with the bias (weight: the pointwise kernel [1, 1, in·M, F] permuted (3, 2, 0, 1)). Keras' 'same'
/// padding (the odd cell after) goes to torch as an explicit <c>pad</c>.</summary>
public class SeparableParityTests
{
    [Theory]
    [InlineData(3, 3, 1, 1, "same", 1, 1, 5)]
    [InlineData(3, 3, 2, 2, "same", 2, 1, 3)]
    [InlineData(2, 3, 1, 2, "valid", 3, 1, 6)]
    [InlineData(3, 2, 1, 1, "same", 2, 2, 4)]
    public void SeparableConv2D_MatchesTorch(int kh, int kw, int sh, int sw, string padding, int m, int d, int f)
    {
        int b = 2, h = 9, w = 8, c = 4, spanH = (kh - 1) * d + 1, spanW = (kw - 1) * d + 1;
        var layer = new SeparableConv2D<float>(f, (kh, kw), (sh, sw), padding, m, (d, d), "relu");
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
        var tkd = tensor(layer.DepthwiseKernel.Value.ToArray(), [kh, kw, c, m]).permute(2, 3, 0, 1).reshape(c * m, 1, kh, kw).contiguous().requires_grad_(true);
        var tkp = tensor(layer.PointwiseKernel.Value.ToArray(), [1, 1, c * m, f]).permute(3, 2, 0, 1).contiguous().requires_grad_(true);
        var tb = tensor(layer.Bias.Value.ToArray(), [f]).requires_grad_(true);
        int padH = padding == "same" ? Math.Max(0, (ho - 1) * sh + spanH - h) : 0, padW = padding == "same" ? Math.Max(0, (wo - 1) * sw + spanW - w) : 0;
        // pad takes (left, right, top, bottom).
        var input = nn.functional.pad(tx, [padW / 2, padW - padW / 2, padH / 2, padH - padH / 2]);
        var depthwise = nn.functional.conv2d(input, tkd, null, strides: [sh, sw], dilation: [d, d], groups: c);
        var ty = nn.functional.relu(nn.functional.conv2d(depthwise, tkp, tb));
        Assert.Equal([b, f, ho, wo], ty.shape);
        ty.backward([tensor(dy.ToArray(), [b, ho, wo, f]).permute(0, 3, 1, 2)]);

        Parity.AssertClose(ty.permute(0, 2, 3, 1).contiguous().data<float>().ToArray(), y.ToArray(), "output");
        Parity.AssertClose(tx.grad!.permute(0, 2, 3, 1).contiguous().data<float>().ToArray(), dx.ToArray(), "dX");
        Parity.AssertClose(tkd.grad!.reshape(c, m, kh, kw).permute(2, 3, 0, 1).contiguous().data<float>().ToArray(),
            layer.DepthwiseKernel.Grad.ToArray(), "dDepthwise", 1e-4, 1e-4);
        Parity.AssertClose(tkp.grad!.permute(2, 3, 1, 0).contiguous().data<float>().ToArray(), layer.PointwiseKernel.Grad.ToArray(), "dPointwise", 1e-4, 1e-4);
        Parity.AssertClose(tb.grad!.data<float>().ToArray(), layer.Bias.Grad.ToArray(), "dBias", 1e-4, 1e-4);
    }
}
