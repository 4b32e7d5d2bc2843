using FsCheck;
using FsCheck.Xunit;
using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using static TorchSharp.torch;

namespace Nn.Simd.Parity.Tests;

/// <summary>Conv2D and MaxPooling2D against libtorch (NCHW, so inputs and weights are permuted): outputs and
/// every gradient. Same padding is compared for odd kernels at stride 1, where PyTorch's symmetric padding agrees.</summary>
public class ConvolutionParityTests
{
    [Property(MaxTest = 10)]
    public void Conv2D_MatchesTorch(PositiveInt size, PositiveInt kernel, bool strided, bool same)
    {
        int b = 2, h = 5 + size.Get % 6, w = 4 + size.Get % 5, c = 3, f = 4, k = 1 + 2 * (kernel.Get % 2), s = strided && !same ? 2 : 1;
        var layer = new Conv2D<float>(f, (k, k), (s, s), same ? "same" : "valid", "relu");
        var x = Tensor<float>.RandomNormal(new TensorShape(b, h, w, c), seed: size.Get);
        layer.Build(x.Shape, 1);
        var rng = new Random(3);
        foreach (ref float v in layer.Bias!.Value.Span) v = (float)(rng.NextDouble() - 0.5);
        var y = layer.Forward(x, training: true).Clone();
        var dy = Tensor<float>.RandomNormal(y.Shape, seed: 4);
        var dx = layer.Backward(dy).Clone();

        using var scope = NewDisposeScope();
        var tx = tensor(x.ToArray(), [b, h, w, c]).permute(0, 3, 1, 2).contiguous().requires_grad_(true);
        var tk = tensor(layer.Kernel.Value.ToArray(), [k, k, c, f]).permute(3, 2, 0, 1).contiguous().requires_grad_(true);
        var tb = tensor(layer.Bias.Value.ToArray(), [f]).requires_grad_(true);
        var ty = nn.functional.relu(nn.functional.conv2d(tx, tk, tb, strides: [s, s], padding: same ? [k / 2, k / 2] : [0, 0]));
        ty.backward([tensor(dy.ToArray(), [b, y.Shape[1], y.Shape[2], f]).permute(0, 3, 1, 2)]);

        Parity.AssertClose(ty.permute(0, 2, 3, 1).contiguous().data<float>().ToArray(), y.ToArray(), "output");
        Parity.AssertClose(tx.grad!.permute(0, 2, 3, 1).contiguous().data<float>().ToArray(), dx.ToArray(), "dX");
        Parity.AssertClose(tk.grad!.permute(2, 3, 1, 0).contiguous().data<float>().ToArray(), layer.Kernel.Grad.ToArray(), "dKernel", 1e-4, 1e-4);
        Parity.AssertClose(tb.grad!.data<float>().ToArray(), layer.Bias.Grad.ToArray(), "dBias", 1e-4, 1e-4);
    }

    [Property(MaxTest = 8)]
    public void Conv1D_MatchesTorch(PositiveInt size, PositiveInt kernel, bool same)
    {
        int b = 3, t = 6 + size.Get % 9, c = 2, f = 5, k = 1 + 2 * (kernel.Get % 3);
        var layer = new Conv1D<float>(f, k, padding: same ? "same" : "valid", activation: "tanh");
        var x = Tensor<float>.RandomNormal(new TensorShape(b, t, c), seed: size.Get);
        layer.Build(x.Shape, 1);
        var y = layer.Forward(x, training: true).Clone();
        var dy = Tensor<float>.RandomNormal(y.Shape, seed: 2);
        var dx = layer.Backward(dy).Clone();

        using var scope = NewDisposeScope();
        var tx = tensor(x.ToArray(), [b, t, c]).permute(0, 2, 1).contiguous().requires_grad_(true);
        var tk = tensor(layer.Kernel.Value.ToArray(), [k, c, f]).permute(2, 1, 0).contiguous().requires_grad_(true);
        var tb = tensor(layer.Bias!.Value.ToArray(), [f]).requires_grad_(true);
        var ty = nn.functional.tanh(nn.functional.conv1d(tx, tk, tb, padding: same ? k / 2 : 0));
        ty.backward([tensor(dy.ToArray(), [b, y.Shape[1], f]).permute(0, 2, 1)]);
        Parity.AssertClose(ty.permute(0, 2, 1).contiguous().data<float>().ToArray(), y.ToArray(), "output");
        Parity.AssertClose(tx.grad!.permute(0, 2, 1).contiguous().data<float>().ToArray(), dx.ToArray(), "dX");
        Parity.AssertClose(tk.grad!.permute(2, 1, 0).contiguous().data<float>().ToArray(), layer.Kernel.Grad.ToArray(), "dKernel", 1e-4, 1e-4);
        Parity.AssertClose(tb.grad!.data<float>().ToArray(), layer.Bias.Grad.ToArray(), "dBias", 1e-4, 1e-4);
    }

    /// <summary>Dilated kernels against conv1d(dilation: d). 'causal' pads d·(k − 1) steps before (explicitly in torch);
    /// 'same' with an odd kernel pads d·(k − 1)/2 on each side, which torch's own padding expresses.</summary>
    [Theory]
    [InlineData(3, 2, "valid")]
    [InlineData(3, 3, "same")]
    [InlineData(2, 4, "causal")]
    [InlineData(3, 2, "causal")]
    public void DilatedConv1D_MatchesTorch(int k, int d, string padding)
    {
        int b = 2, t = 14, c = 3, f = 4;
        var layer = new Conv1D<float>(f, k, padding: padding, activation: "relu", dilationRate: d);
        var x = Tensor<float>.RandomNormal(new TensorShape(b, t, c), seed: k * d);
        layer.Build(x.Shape, 1);
        var rng = new Random(3);
        foreach (ref float v in layer.Bias!.Value.Span) v = (float)(rng.NextDouble() - 0.5);
        var y = layer.Forward(x, training: true).Clone();
        var dy = Tensor<float>.RandomNormal(y.Shape, seed: 2);
        var dx = layer.Backward(dy).Clone();

        using var scope = NewDisposeScope();
        var tx = tensor(x.ToArray(), [b, t, c]).permute(0, 2, 1).contiguous().requires_grad_(true);
        var tk = tensor(layer.Kernel.Value.ToArray(), [k, c, f]).permute(2, 1, 0).contiguous().requires_grad_(true);
        var tb = tensor(layer.Bias.Value.ToArray(), [f]).requires_grad_(true);
        var input = padding == "causal" ? nn.functional.pad(tx, [d * (k - 1), 0]) : tx;
        var ty = nn.functional.relu(nn.functional.conv1d(input, tk, tb, padding: padding == "same" ? d * (k - 1) / 2 : 0, dilation: d));
        ty.backward([tensor(dy.ToArray(), [b, y.Shape[1], f]).permute(0, 2, 1)]);
        Parity.AssertClose(ty.permute(0, 2, 1).contiguous().data<float>().ToArray(), y.ToArray(), "output");
        Parity.AssertClose(tx.grad!.permute(0, 2, 1).contiguous().data<float>().ToArray(), dx.ToArray(), "dX");
        Parity.AssertClose(tk.grad!.permute(2, 1, 0).contiguous().data<float>().ToArray(), layer.Kernel.Grad.ToArray(), "dKernel", 1e-4, 1e-4);
        Parity.AssertClose(tb.grad!.data<float>().ToArray(), layer.Bias.Grad.ToArray(), "dBias", 1e-4, 1e-4);
    }

    /// <summary>Dilated Conv2D against conv2d(dilation: (dh, dw)). Keras' 'same' pads span − 1 cells per axis with the odd
    /// one after, which torch's symmetric <c>padding</c> cannot express for an even total, so torch gets that padding
    /// explicitly (<c>pad</c>, then a 'valid' conv2d).</summary>
    [Theory]
    [InlineData(3, 3, 2, 2, "valid")]
    [InlineData(3, 3, 2, 3, "same")]
    [InlineData(2, 3, 3, 1, "same")]
    [InlineData(2, 2, 1, 3, "same")]
    [InlineData(3, 2, 4, 2, "valid")]
    public void DilatedConv2D_MatchesTorch(int kh, int kw, int dh, int dw, string padding)
    {
        int b = 2, h = 11, w = 9, c = 3, f = 4, spanH = (kh - 1) * dh + 1, spanW = (kw - 1) * dw + 1;
        var layer = new Conv2D<float>(f, (kh, kw), padding: padding, activation: "relu", dilationRate: (dh, dw));
        var x = Tensor<float>.RandomNormal(new TensorShape(b, h, w, c), seed: kh * 10 + dh + dw);
        layer.Build(x.Shape, 1);
        var rng = new Random(3);
        foreach (ref float v in layer.Bias!.Value.Span) v = (float)(rng.NextDouble() - 0.5);
        var y = layer.Forward(x, training: true).Clone();
        var dy = Tensor<float>.RandomNormal(y.Shape, seed: 4);
        var dx = layer.Backward(dy).Clone();

        using var scope = NewDisposeScope();
        var tx = tensor(x.ToArray(), [b, h, w, c]).permute(0, 3, 1, 2).contiguous().requires_grad_(true);
        var tk = tensor(layer.Kernel.Value.ToArray(), [kh, kw, c, f]).permute(3, 2, 0, 1).contiguous().requires_grad_(true);
        var tb = tensor(layer.Bias.Value.ToArray(), [f]).requires_grad_(true);
        // pad takes (left, right, top, bottom) for the last two axes.
        var input = padding == "same" ? nn.functional.pad(tx, [(spanW - 1) / 2, spanW / 2, (spanH - 1) / 2, spanH / 2]) : tx;
        var ty = nn.functional.relu(nn.functional.conv2d(input, tk, tb, dilation: [dh, dw]));
        Assert.Equal([b, f, y.Shape[1], y.Shape[2]], ty.shape);
        ty.backward([tensor(dy.ToArray(), [b, y.Shape[1], y.Shape[2], f]).permute(0, 3, 1, 2)]);

        Parity.AssertClose(ty.permute(0, 2, 3, 1).contiguous().data<float>().ToArray(), y.ToArray(), "output");
        Parity.AssertClose(tx.grad!.permute(0, 2, 3, 1).contiguous().data<float>().ToArray(), dx.ToArray(), "dX");
        Parity.AssertClose(tk.grad!.permute(2, 3, 1, 0).contiguous().data<float>().ToArray(), layer.Kernel.Grad.ToArray(), "dKernel", 1e-4, 1e-4);
        Parity.AssertClose(tb.grad!.data<float>().ToArray(), layer.Bias.Grad.ToArray(), "dBias", 1e-4, 1e-4);
    }

    [Fact]
    public void MaxPooling2D_MatchesTorch()
    {
        var pool = new MaxPooling2D<float>((3, 2), (2, 2));
        var x = Tensor<float>.RandomNormal(new TensorShape(2, 9, 8, 3), seed: 5);
        var y = pool.Forward(x, training: true).Clone();
        var dy = Tensor<float>.RandomNormal(y.Shape, seed: 6);
        var dx = pool.Backward(dy).Clone();

        using var scope = NewDisposeScope();
        var tx = tensor(x.ToArray(), [2, 9, 8, 3]).permute(0, 3, 1, 2).contiguous().requires_grad_(true);
        var ty = nn.functional.max_pool2d(tx, [3, 2], [2, 2]);
        ty.backward([tensor(dy.ToArray(), [2, y.Shape[1], y.Shape[2], 3]).permute(0, 3, 1, 2)]);
        Parity.AssertClose(ty.permute(0, 2, 3, 1).contiguous().data<float>().ToArray(), y.ToArray(), "output", 0, 0);
        Parity.AssertClose(tx.grad!.permute(0, 2, 3, 1).contiguous().data<float>().ToArray(), dx.ToArray(), "dX", 0, 0);
    }
}
