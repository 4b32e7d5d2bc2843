using Nn.Simd.Tensors;

namespace Nn.Simd.Layers.Tests;

/// <summary>
/// The convolutions run each sample's im2col, GEMM rows, bias, activation, dcols and col2im on the worker threads, and
/// the kernel gradient as one GEMM split over its rows: the outputs and all gradients must be bitwise the same at any
/// thread count, and right.
/// </summary>
[Collection(nameof(RecurrentGlobalSettings))]
public class ConvolutionThreadingTests
{
    // Shapes large enough that the sample loop and the GEMMs split; 6 channels make 18-value kernel rows (a whole
    // vector and an overlapping one in the im2col copy), 17 filters a wide panel with an edge.
    [Theory]
    [InlineData(3, 3, 1, "same", "relu", 6, 17)]
    [InlineData(3, 2, 2, "valid", "tanh", 5, 16)]
    [InlineData(1, 5, 1, "valid", null, 1, 4)]
    public void ThreadCount_GivesBitwiseIdenticalOutputsAndGradients(int kh, int kw, int stride, string padding, string? activation, int c, int f)
    {
        var x = Tensor<float>.RandomNormal(new TensorShape(8, 14, 13, c), seed: kh * 10 + kw);
        var dy = default(Tensor<float>);
        float[]? y1 = null, dx1 = null, dk1 = null, db1 = null;
        int saved = Parallelism.MaxDegree;
        try
        {
            foreach (int threads in new[] { 1, 2, 3 })
            {
                Parallelism.MaxDegree = threads;
                var layer = new Conv2D<float>(f, (kh, kw), (stride, stride), padding, activation);
                layer.Build(x.Shape, 1);
                RnnTestUtil.Randomize(layer, 2);
                var y = layer.Forward(x, training: true);
                dy ??= Tensor<float>.RandomNormal(y.Shape, seed: 3);
                var dx = layer.Backward(dy);
                float[] ya = y.ToArray(), dxa = dx.ToArray(), dka = layer.Kernel.Grad.ToArray(), dba = layer.Bias!.Grad.ToArray();
                if (y1 is null)
                {
                    (y1, dx1, dk1, db1) = (ya, dxa, dka, dba);
                    continue;
                }
                AssertBitwise(y1, ya, $"y at {threads} threads");
                AssertBitwise(dx1!, dxa, $"dx at {threads} threads");
                AssertBitwise(dk1!, dka, $"dK at {threads} threads");
                AssertBitwise(db1!, dba, $"db at {threads} threads");
            }
        }
        finally
        {
            Parallelism.MaxDegree = saved;
        }
    }

    [Fact]
    public void ParallelForward_MatchesDirectConvolution()
    {
        // A float64 layer at 2 threads against the direct loops (the serial path is the other tests' subject).
        int b = 6, h = 10, w = 9, c = 6, f = 17, kh = 3, kw = 3;
        int saved = Parallelism.MaxDegree;
        try
        {
            Parallelism.MaxDegree = 2;
            var layer = new Conv2D<double>(f, (kh, kw), padding: "same");
            var x = Tensor<double>.RandomNormal(new TensorShape(b, h, w, c), seed: 5);
            layer.Build(x.Shape, 1);
            RnnTestUtil.Randomize(layer, 2);
            var y = layer.Forward(x, training: false);
            var expected = ConvolutionTests.DirectConv(x.ToArray(), b, h, w, c, layer.Kernel.Value.ToArray(), kh, kw, f,
                layer.Bias!.Value.ToArray(), 1, 1, h, w, 1, 1);
            RnnTestUtil.AssertClose(expected, y.ToArray(), 1e-12, 1e-12, "same 3x3, 6 channels, 17 filters, 2 threads");
        }
        finally
        {
            Parallelism.MaxDegree = saved;
        }
    }

    private static void AssertBitwise(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                $"{what}, element {i}: {actual[i]} vs {expected[i]} at 1 thread");
    }
}
