using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using static TorchSharp.torch;

namespace Nn.Simd.Parity.Tests;

/// <summary>Resizing against libtorch's <c>interpolate(mode: bilinear, align_corners: false)</c> (up and down, no
/// antialias) and <c>nearest-exact</c>, and RandomRotation (constant fill, zeros) against <c>grid_sample</c> fed the
/// same inverse map: outputs and input gradients, on the permuted channels-first tensor.</summary>
public class ImageAugmentationParityTests
{
    private static void Compare(Layer<float> layer, TensorShape shape, Func<Tensor, Tensor> torchOp, int seed)
    {
        var x = Tensor<float>.RandomNormal(shape, seed);
        var y = layer.Forward(x, training: true).Clone();
        var dy = Tensor<float>.RandomNormal(y.Shape, seed + 1);
        var dx = layer.Backward(dy).Clone();

        using var scope = NewDisposeScope();
        var tx = tensor(x.ToArray(), shape.ToArray().Select(d => (long)d).ToArray()).requires_grad_(true);
        var ty = torchOp(tx.permute(0, 3, 1, 2)).permute(0, 2, 3, 1);
        Assert.Equal(y.Shape.ToArray().Select(d => (long)d), ty.shape);
        ty.backward([tensor(dy.ToArray(), ty.shape)]);
        Parity.AssertClose(ty.contiguous().data<float>().ToArray(), y.ToArray(), $"{layer.TypeName} output");
        Parity.AssertClose(tx.grad!.contiguous().data<float>().ToArray(), dx.ToArray(), $"{layer.TypeName} dX");
    }

    [Theory]
    [InlineData(5, 7, 11, 9)]    // upsampling
    [InlineData(12, 10, 5, 4)]   // downsampling by non-integer ratios
    [InlineData(6, 9, 13, 4)]    // one axis up, one down
    public void Resizing_Bilinear_MatchesInterpolateWithoutAlignCorners(int h, int w, int oh, int ow) =>
        Compare(new Resizing<float>(oh, ow), new TensorShape(2, h, w, 3),
            x => nn.functional.interpolate(x, size: [oh, ow], mode: InterpolationMode.Bilinear, align_corners: false), seed: h);

    [Theory]
    [InlineData(5, 7, 11, 9)]
    [InlineData(12, 10, 5, 4)]
    public void Resizing_Nearest_MatchesNearestExact(int h, int w, int oh, int ow) =>
        Compare(new Resizing<float>(oh, ow, "nearest"), new TensorShape(2, h, w, 3),
            x => nn.functional.interpolate(x, size: [oh, ow], mode: InterpolationMode.NearestExact), seed: h + 1);

    [Fact]
    public void RandomRotation_ConstantZeroFill_MatchesGridSampleOfTheSameMap()
    {
        // A fixed angle: factor (0.1, 0.1) draws θ = 0.2π. grid_sample(align_corners: true) maps pixel p to the normalised
        // g = 2p/(n − 1) − 1; zero padding reads 0 outside, as constant fill with fill_value 0.
        const int n = 2, h = 7, w = 9;
        double theta = 0.1 * 2 * Math.PI, cos = Math.Cos(theta), sin = Math.Sin(theta), cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
        var grid = new float[n * h * w * 2];
        for (int b = 0; b < n; b++)
            for (int i = 0; i < h; i++)
                for (int j = 0; j < w; j++)
                {
                    double xi = cos * (j - cx) - sin * (i - cy) + cx, yi = sin * (j - cx) + cos * (i - cy) + cy;
                    grid[((b * h + i) * w + j) * 2] = (float)(2 * xi / (w - 1) - 1);
                    grid[((b * h + i) * w + j) * 2 + 1] = (float)(2 * yi / (h - 1) - 1);
                }
        Compare(new RandomRotation<float>((0.1, 0.1), "constant", seed: 1), new TensorShape(n, h, w, 3),
            x => nn.functional.grid_sample(x, tensor(grid, [n, h, w, 2]), GridSampleMode.Bilinear, GridSamplePaddingMode.Zeros, align_corners: true),
            seed: 3);
    }
}
