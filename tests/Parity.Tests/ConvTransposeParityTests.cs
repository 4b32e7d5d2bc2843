using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using static TorchSharp.torch;

namespace Nn.Simd.Parity.Tests;

/// <summary>Conv2DTranspose against libtorch's <c>conv_transpose2d</c> (NCHW; the weight [in, filters, kh, kw] is Keras'
/// [kh, kw, filters, in] permuted (3, 2, 0, 1)): output and every gradient.</summary>
public class ConvTransposeParityTests
{
    /// <summary>Keras' output size and its crop of the full scatter along one axis, as Keras computes them
    /// (<c>_get_output_shape_given_tf_padding</c>, and span − 1 minus the JAX rule's left pad).</summary>
    private static (int Out, int Crop) Keras(int size, int k, int s, string padding, int? op)
    {
        if (padding == "valid") return ((size - 1) * s + k + (op ?? Math.Max(k, s) - k), 0);
        int padLen = op is null ? s + k - 2 : k + k % 2 - 2 + op.Value;
        int crop = k - 1 - Math.Min(padLen / 2 + padLen % 2, k - 1);
        return (op is null ? size * s : (size - 1) * s + k % 2 + op.Value, crop);
    }

    /// <summary>PyTorch's output is the full scatter, (in − 1)·s + k cells, less <c>padding</c> on each side, plus
    /// <c>output_padding</c> (&lt; stride) after. Where Keras' crop and size fit that (its crop is the padding), torch gets
    /// them as <c>padding</c>/<c>output_padding</c>; otherwise (Keras' 'same' with an odd crop total, which torch cannot
    /// express) torch runs with none and its output is cropped (negative <c>pad</c>) to Keras' window, as Keras' own torch
    /// backend does.</summary>
    [Theory]
    [InlineData(3, 3, 2, 2, "same", null, null, false)]    // crop 0 before, 1 after (torch's padding 1, output_padding 1 is one cell off)
    [InlineData(3, 3, 1, 1, "same", null, null, true)]     // crop 1: padding 1
    [InlineData(4, 4, 2, 2, "same", null, null, true)]     // crop 1, out 2·in: padding 1
    [InlineData(3, 3, 2, 2, "same", 0, 0, true)]           // crop 0, out 2·in − 1
    [InlineData(3, 3, 2, 2, "valid", 1, 1, true)]          // the full scatter and one more cell
    [InlineData(2, 2, 3, 3, "valid", null, null, true)]    // kernel shorter than the stride: zero cells after
    [InlineData(5, 3, 2, 3, "same", 1, 2, false)]          // 5-kernel at stride 2: crop 1, then 2 cells past the scatter
    [InlineData(2, 4, 1, 1, "same", null, null, false)]    // even kernel at stride 1: crop 0 before, 1 after
    public void Conv2DTranspose_MatchesTorch(int kh, int kw, int sh, int sw, string padding, int? oph, int? opw, bool torchPadding)
    {
        int b = 2, h = 4, w = 3, c = 3, f = 5;
        (int, int)? op = oph is null ? null : (oph.Value, opw!.Value);
        var layer = new Conv2DTranspose<float>(f, (kh, kw), (sh, sw), padding, op, "relu");
        var x = Tensor<float>.RandomNormal(new TensorShape(b, h, w, c), seed: kh * 10 + sh);
        layer.Build(x.Shape, 1);
        var rng = new Random(3);
        foreach (ref float v in layer.Bias!.Value.Span) v = (float)(rng.NextDouble() - 0.5);
        var y = layer.Forward(x, training: true).Clone();
        var dy = Tensor<float>.RandomNormal(y.Shape, seed: 4);
        var dx = layer.Backward(dy).Clone();
        var (ho, cropH) = Keras(h, kh, sh, padding, oph);
        var (wo, cropW) = Keras(w, kw, sw, padding, opw);
        Assert.Equal(new TensorShape(b, ho, wo, f), y.Shape);

        using var scope = NewDisposeScope();
        var tx = tensor(x.ToArray(), [b, h, w, c]).permute(0, 3, 1, 2).contiguous().requires_grad_(true);
        var tk = tensor(layer.Kernel.Value.ToArray(), [kh, kw, f, c]).permute(3, 2, 0, 1).contiguous().requires_grad_(true);
        var tb = tensor(layer.Bias.Value.ToArray(), [f]).requires_grad_(true);
        int fullH = (h - 1) * sh + kh, fullW = (w - 1) * sw + kw;
        int opH = ho - (fullH - 2 * cropH), opW = wo - (fullW - 2 * cropW);
        Assert.Equal(torchPadding, opH >= 0 && opH < sh && opW >= 0 && opW < sw);
        Tensor ty;
        if (torchPadding)
            ty = nn.functional.conv_transpose2d(tx, tk, tb, strides: [sh, sw], padding: [cropH, cropW], output_padding: [opH, opW]);
        else
        {
            var full = nn.functional.conv_transpose2d(tx, tk, tb, strides: [sh, sw]);
            // pad takes (left, right, top, bottom); negative values crop. Cells past the scatter get the bias alone.
            var window = nn.functional.pad(full - tb.reshape(1, f, 1, 1), [-cropW, wo - (fullW - cropW), -cropH, ho - (fullH - cropH)]);
            ty = window + tb.reshape(1, f, 1, 1);
        }
        ty = nn.functional.relu(ty);
        Assert.Equal([b, f, ho, wo], ty.shape);
        ty.backward([tensor(dy.ToArray(), [b, ho, wo, f]).permute(0, 3, 1, 2)]);

        Parity.AssertClose(ty.permute(0, 2, 3, 1).contiguous().data<float>().ToArray(), y.ToArray(), "output");
        Parity.AssertClose(tx.grad!.permute(0, 2, 3, 1).contiguous().data<float>().ToArray(), dx.ToArray(), "dX");
        Parity.AssertClose(tk.grad!.permute(2, 3, 1, 0).contiguous().data<float>().ToArray(), layer.Kernel.Grad.ToArray(), "dKernel", 1e-4, 1e-4);
        Parity.AssertClose(tb.grad!.data<float>().ToArray(), layer.Bias.Grad.ToArray(), "dBias", 1e-4, 1e-4);
    }
}
