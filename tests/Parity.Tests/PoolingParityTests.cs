using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using static TorchSharp.torch;

namespace Nn.Simd.Parity.Tests;

/// <summary>The pooling layers against libtorch (channels first, so inputs are permuted NHWC↔NCHW / NTC↔NCT): outputs
/// and input gradients. Keras' 'same' padding is asymmetric when the total is odd (the extra cell after), which
/// PyTorch's pooling padding cannot express, so those cases pad the torch input explicitly: with −∞ for max pooling,
/// and for average pooling with zeros, dividing the window sums by the window counts of a padded all-ones tensor (the
/// divisor Keras uses). Symmetric cases use PyTorch's own padding, with <c>count_include_pad=False</c> for the mean.</summary>
public class PoolingParityTests
{
    /// <summary>Runs <paramref name="layer"/> forward and backward on NHWC (or NTC) data and <paramref name="torchPool"/>
    /// on the same data in NCHW (or NCT), and compares the outputs and the input gradients.</summary>
    private static void Compare(PoolingLayer<float> layer, TensorShape shape, Func<Tensor, Tensor> torchPool, int seed)
    {
        var x = Tensor<float>.RandomNormal(shape, seed);
        var y = layer.Forward(x, training: true).Clone();
        var dy = Tensor<float>.RandomNormal(y.Shape, seed + 1);
        var dx = layer.Backward(dy).Clone();

        using var scope = NewDisposeScope();
        bool image = shape.Rank == 4;
        long[] dims = shape.ToArray().Select(d => (long)d).ToArray();
        var tx = tensor(x.ToArray(), dims);
        tx = (image ? tx.permute(0, 3, 1, 2) : tx.permute(0, 2, 1)).contiguous().requires_grad_(true);
        var ty = torchPool(tx);
        if (y.Shape.Rank == 2) ty = ty.flatten(1);   // global pooling: [B, C, 1(, 1)] to [B, C]
        var tdy = tensor(dy.ToArray(), y.Shape.ToArray().Select(d => (long)d).ToArray());
        ty.backward([y.Shape.Rank == 2 ? tdy : image ? tdy.permute(0, 3, 1, 2) : tdy.permute(0, 2, 1)]);
        var back = y.Shape.Rank == 2 ? ty : image ? ty.permute(0, 2, 3, 1) : ty.permute(0, 2, 1);
        var gx = image ? tx.grad!.permute(0, 2, 3, 1) : tx.grad!.permute(0, 2, 1);
        Parity.AssertClose(back.contiguous().data<float>().ToArray(), y.ToArray(), $"{layer.TypeName} output");
        Parity.AssertClose(gx.contiguous().data<float>().ToArray(), dx.ToArray(), $"{layer.TypeName} dX");
    }

    /// <summary>Keras' 'same' padding (before, after) along one axis.</summary>
    private static (long Before, long After) Same(int size, int pool, int stride)
    {
        int o = (size + stride - 1) / stride, total = Math.Max(0, (o - 1) * stride + pool - size);
        return (total / 2, total - total / 2);
    }

    [Theory]
    [InlineData(11, 3, 2, false)]
    [InlineData(12, 4, 3, true)]    // total padding 3: one before, two after
    [InlineData(9, 2, 1, true)]
    public void MaxPooling1D_MatchesMaxPool1d(int t, int p, int s, bool same)
    {
        var (before, after) = Same(t, p, s);
        Compare(new MaxPooling1D<float>(p, s, same ? "same" : "valid"), new TensorShape(3, t, 20),
            x => nn.functional.max_pool1d(same ? nn.functional.pad(x, [before, after], value: double.NegativeInfinity) : x, p, s), seed: t + p);
    }

    [Theory]
    [InlineData(11, 3, 2, "valid")]
    [InlineData(10, 3, 1, "same")]   // symmetric: PyTorch's padding with count_include_pad=False
    [InlineData(10, 5, 1, "same")]
    public void AveragePooling1D_MatchesAvgPool1d(int t, int p, int s, string padding)
    {
        Compare(new AveragePooling1D<float>(p, s, padding), new TensorShape(2, t, 9),
            x => nn.functional.avg_pool1d(x, p, s, padding == "same" ? p / 2 : 0, count_include_pad: false), seed: t * p);
    }

    [Theory]
    [InlineData(13, 2, 3)]   // total padding 1, after only
    [InlineData(7, 4, 2)]
    public void AveragePooling1D_AsymmetricSame_MatchesSumOverCount(int t, int p, int s)
    {
        var (before, after) = Same(t, p, s);
        Compare(new AveragePooling1D<float>(p, s, "same"), new TensorShape(2, t, 9), x =>
        {
            var padded = nn.functional.pad(x, [before, after]);
            var counts = nn.functional.avg_pool1d(nn.functional.pad(ones_like(x), [before, after]), p, s);
            return nn.functional.avg_pool1d(padded, p, s) / counts;
        }, seed: 7 * t + p);
    }

    [Theory]
    [InlineData(9, 8, 3, 2, 2, 2, "valid")]
    [InlineData(9, 8, 3, 3, 1, 1, "same")]   // symmetric: count_include_pad=False
    [InlineData(7, 7, 5, 3, 1, 1, "same")]
    public void AveragePooling2D_MatchesAvgPool2d(int h, int w, int ph, int pw, int sh, int sw, string padding)
    {
        Compare(new AveragePooling2D<float>((ph, pw), (sh, sw), padding), new TensorShape(2, h, w, 10),
            x => nn.functional.avg_pool2d(x, [ph, pw], [sh, sw], padding == "same" ? [ph / 2, pw / 2] : [0, 0], count_include_pad: false), seed: h + ph);
    }

    [Theory]
    [InlineData(9, 8, 2, 2, 2, 2)]
    [InlineData(8, 7, 3, 2, 2, 3)]
    public void Pooling2D_AsymmetricSame_MatchesPaddedTorch(int h, int w, int ph, int pw, int sh, int sw)
    {
        var (top, bottom) = Same(h, ph, sh);
        var (left, right) = Same(w, pw, sw);
        long[] pad = [left, right, top, bottom];
        Compare(new MaxPooling2D<float>((ph, pw), (sh, sw), "same"), new TensorShape(2, h, w, 10),
            x => nn.functional.max_pool2d(nn.functional.pad(x, pad, value: double.NegativeInfinity), [ph, pw], [sh, sw]), seed: 3 * h + pw);
        Compare(new AveragePooling2D<float>((ph, pw), (sh, sw), "same"), new TensorShape(2, h, w, 10), x =>
        {
            var counts = nn.functional.avg_pool2d(nn.functional.pad(ones_like(x), pad), [ph, pw], [sh, sw]);
            return nn.functional.avg_pool2d(nn.functional.pad(x, pad), [ph, pw], [sh, sw]) / counts;
        }, seed: 5 * h + pw);
    }

    [Fact]
    public void GlobalMaxPooling_MatchesAdaptiveMaxPool()
    {
        Compare(new GlobalMaxPooling1D<float>(), new TensorShape(3, 13, 19), x => nn.functional.adaptive_max_pool1d(x, 1), seed: 11);
        Compare(new GlobalMaxPooling2D<float>(), new TensorShape(2, 5, 6, 19), x => nn.functional.adaptive_max_pool2d(x, [1, 1]), seed: 12);
        Compare(new GlobalAveragePooling1D<float>(), new TensorShape(3, 13, 19), x => nn.functional.adaptive_avg_pool1d(x, 1), seed: 13);
    }
}
