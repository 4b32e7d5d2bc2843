using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using static TorchSharp.torch;

namespace Nn.Simd.Parity.Tests;

/// <summary>Zero padding and cropping against libtorch's <c>nn.functional.pad</c> (negative pads crop), applied directly
/// to the channels-last tensor, and nearest upsampling against <c>nn.functional.interpolate(mode: nearest)</c> on the
/// permuted channels-first tensor, Rescaling against x·s + o, CenterCrop against <c>narrow</c>, and RandomFlip against
/// <c>where(flag, flip(x), x)</c> on the flags it drew: outputs and input gradients.</summary>
public class ShapeLayerParityTests
{
    /// <summary>Runs <paramref name="layer"/> forward and backward and <paramref name="torchOp"/> on the same channels-last
    /// data, and compares the outputs and the input gradients.</summary>
    private static void Compare(Layer<float> layer, TensorShape shape, Func<Tensor, Tensor> torchOp, int seed)
    {
        var x = Tensor<float>.RandomNormal(shape, seed);
        var y = layer.Forward(x, training: true).Clone();
        var dy = Tensor<float>.RandomNormal(y.Shape, seed + 1);
        var dx = layer.Backward(dy).Clone();

        using var scope = NewDisposeScope();
        var tx = tensor(x.ToArray(), shape.ToArray().Select(d => (long)d).ToArray()).requires_grad_(true);
        var ty = torchOp(tx);
        Assert.Equal(y.Shape.ToArray().Select(d => (long)d), ty.shape);
        ty.backward([tensor(dy.ToArray(), ty.shape)]);
        Parity.AssertClose(ty.contiguous().data<float>().ToArray(), y.ToArray(), $"{layer.TypeName} output");
        Parity.AssertClose(tx.grad!.contiguous().data<float>().ToArray(), dx.ToArray(), $"{layer.TypeName} dX");
    }

    [Fact]
    public void ZeroPadding_MatchesPad()
    {
        // pad's list runs from the last axis: (channels), (width), (height).
        Compare(new ZeroPadding1D<float>((2, 3)), new TensorShape(3, 7, 5), x => nn.functional.pad(x, [0, 0, 2, 3]), seed: 1);
        Compare(new ZeroPadding2D<float>(((1, 2), (3, 0))), new TensorShape(2, 5, 6, 4), x => nn.functional.pad(x, [0, 0, 3, 0, 1, 2]), seed: 2);
    }

    [Fact]
    public void Cropping_MatchesNegativePad()
    {
        Compare(new Cropping1D<float>((1, 2)), new TensorShape(3, 7, 5), x => nn.functional.pad(x, [0, 0, -1, -2]), seed: 3);
        Compare(new Cropping2D<float>(((2, 1), (0, 3))), new TensorShape(2, 6, 7, 4), x => nn.functional.pad(x, [0, 0, 0, -3, -2, -1]), seed: 4);
    }

    [Fact]
    public void UpSampling_MatchesNearestInterpolate()
    {
        Compare(new UpSampling1D<float>(3), new TensorShape(3, 5, 4),
            x => nn.functional.interpolate(x.permute(0, 2, 1), scale_factor: [3.0], mode: InterpolationMode.Nearest).permute(0, 2, 1), seed: 5);
        Compare(new UpSampling2D<float>((2, 3)), new TensorShape(2, 4, 3, 5),
            x => nn.functional.interpolate(x.permute(0, 3, 1, 2), scale_factor: [2.0, 3.0], mode: InterpolationMode.Nearest).permute(0, 2, 3, 1), seed: 6);
    }

    [Fact]
    public void Rescaling_MatchesMulAdd() =>
        Compare(new Rescaling<float>(1 / 127.5, -1), new TensorShape(2, 3, 4, 3), x => x * (1 / 127.5f) - 1f, seed: 7);

    [Fact]
    public void CenterCrop_MatchesNarrow_WithKerasFloorOffsets()
    {
        // H − 3 = 4 and W − 4 = 3: rows from 2, columns from ⌊3/2⌋ = 1.
        Compare(new CenterCrop<float>(3, 4), new TensorShape(2, 7, 7, 3), x => x.narrow(1, 2, 3).narrow(2, 1, 4), seed: 8);
    }

    [Theory]
    [InlineData("horizontal", new long[] { 2 })]
    [InlineData("vertical", new long[] { 1 })]
    [InlineData("horizontal_and_vertical", new long[] { 1, 2 })]
    public void RandomFlip_MatchesFlip_WhereTheSampleWasDrawn(string mode, long[] dims)
    {
        // Draw the flips first, then hold them (FreezeMask) so Compare's pass uses the same ones.
        var layer = new RandomFlip<float>(mode, seed: 4) { FreezeMask = true };
        var shape = new TensorShape(8, 3, 4, 2);
        layer.Forward(new Tensor<float>(shape), training: true);
        var flags = layer.Flips!.ToArray();
        Assert.Contains(1f, flags);
        Assert.Contains(0f, flags);
        Compare(layer, shape, x => where(tensor(flags.Select(f => f == 1).ToArray(), [8, 1, 1, 1]), x.flip(dims), x), seed: 9);
    }
}
