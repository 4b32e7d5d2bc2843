using Nn.Simd.Tensors;

namespace Nn.Simd.Layers.Tests;

public class EmbeddingTests
{
    [Fact]
    public void Forward_PicksRows_Backward_AddsEachRowsGradient_AndIndicesGetNone()
    {
        var layer = new Embedding<double>(5, 3);
        var x = Tensor<double>.FromArray([1, 4, 1, 0, 2, 1], 2, 3);
        layer.Build(x.Shape, 1);
        var table = layer.Embeddings.Value.ToArray();
        Assert.All(table, v => Assert.InRange(v, -0.05, 0.05));
        var y = layer.Forward(x, training: true);
        Assert.Equal(new TensorShape(2, 3, 3), y.Shape);
        int[] idx = [1, 4, 1, 0, 2, 1];
        for (int i = 0; i < 6; i++) Assert.Equal(table.AsSpan(idx[i] * 3, 3).ToArray(), y.ReadOnlySpan.Slice(i * 3, 3).ToArray());
        var dy = Tensor<double>.RandomNormal(y.Shape, seed: 2);
        var dx = layer.Backward(dy);
        Assert.All(dx.ToArray(), v => Assert.Equal(0.0, v));
        var expected = new double[15];
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 3; j++) expected[idx[i] * 3 + j] += dy.ReadOnlySpan[i * 3 + j];
        Assert.Equal(expected, layer.Embeddings.Grad.ToArray());   // row 1 thrice, row 3 never
        Assert.Null(layer.OutputMask);
    }

    [Theory]
    [InlineData(5.0, "5")]
    [InlineData(-1.0, "-1")]
    [InlineData(1.5, "1.5")]
    [InlineData(double.NaN, "NaN")]
    public void BadIndices_AreReportedWithTheirPosition(double bad, string shown)
    {
        var layer = new Embedding<double>(5, 2);
        var x = Tensor<double>.FromArray([0, 1, 2, 3, bad, 4], 2, 3);
        var e = Assert.Throws<ArgumentException>(() => layer.Forward(x, false));
        Assert.Contains("input[1, 1]", e.Message);
        Assert.Contains(shown, e.Message);
        Assert.Contains("[0, 5)", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Embedding<double>(1, 2, maskZero: true));
        Assert.Throws<ArgumentException>(() => new Embedding<double>(5, 2).Forward(new Tensor<double>(2, 3, 1), false));
    }

    [Fact]
    public void MaskZero_MasksThePaddingIndex()
    {
        var layer = new Embedding<float>(10, 4, maskZero: true);
        layer.Forward(Tensor<float>.FromArray([3, 7, 0, 0, 5, 0], 2, 3), false);
        Assert.Equal([true, true, false, false, true, false], layer.OutputMask!.Values.ToArray());
        Assert.Equal("true", layer.GetConfig()["mask_zero"]);
    }
}
