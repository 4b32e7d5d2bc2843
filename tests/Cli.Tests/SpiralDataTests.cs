using Nn.Simd.Cli.Data;

namespace Nn.Simd.Cli.Tests;

public class NumPyRandomStateTests
{
    [Fact]
    public void NextUInt32_MatchesReferenceMt19937_DefaultSeed()
    {
        // mt19937ar.c: init_genrand(5489) → genrand_int32() starts 3499211612, 581869302, 3890346734, ...
        var rng = new NumPyRandomState(5489);
        uint[] expected = [3499211612u, 581869302u, 3890346734u, 3586334585u, 545404204u];
        foreach (uint e in expected) Assert.Equal(e, rng.NextUInt32());
    }

    [Fact]
    public void NextDouble_MatchesNumPyRandomSample_Seed0()
    {
        // np.random.seed(0); np.random.random_sample(5)
        var rng = new NumPyRandomState(0);
        double[] expected = [0.5488135039273248, 0.7151893663724195, 0.6027633760716439, 0.5448831829968969, 0.4236547993389047];
        foreach (double e in expected) Assert.Equal(e, rng.NextDouble());
    }

    [Fact]
    public void StandardNormal_MatchesNumPyRandn_Seed0()
    {
        // np.random.seed(0); np.random.randn(3) = 1.764052346, 0.400157208, 0.978737984 (data/README.md)
        var rng = new NumPyRandomState(0);
        double a = rng.StandardNormal(), b = rng.StandardNormal(), c = rng.StandardNormal();
        Assert.Equal(1.764052346, a, 1e-9);
        Assert.Equal(0.400157208, b, 1e-9);
        Assert.Equal(0.978737984, c, 1e-9);
        Assert.Equal(1.764052345967664, a);
        Assert.Equal(0.4001572083672233, b);
        Assert.Equal(0.9787379841057392, c);
    }

    [Fact]
    public void Seed_ResetsStreamAndCachedNormal()
    {
        var rng = new NumPyRandomState(0);
        double first = rng.StandardNormal(); // leaves the pair's second value cached
        rng.Seed(0);
        Assert.Equal(first, rng.StandardNormal());
    }
}

public class SpiralDataTests
{
    private static (float X, float Y) Point(SpiralDataset d, int row) => (d.Features[2 * row], d.Features[2 * row + 1]);

    [Fact]
    public void Generate_Seed0_100x3_ReproducesNnfsBitForBit()
    {
        var d = SpiralData.Generate(100, 3, new NumPyRandomState(0));
        Assert.Equal(300, d.Count);
        Assert.Equal(600, d.Features.Length);

        // Reference values from nnfs.init(); spiral_data(samples=100, classes=3) (data/README.md).
        // Printed to 10 decimals, each identifies one float32 except X[101].x (6 significant digits), checked to the print's rounding.
        Assert.Equal(0, BitConverter.SingleToInt32Bits(Point(d, 0).X));
        Assert.Equal(0, BitConverter.SingleToInt32Bits(Point(d, 0).Y));
        Assert.Equal(0.0029955569f, Point(d, 1).X);
        Assert.Equal(0.0096466076f, Point(d, 1).Y);
        Assert.Equal(0.0128809698f, Point(d, 2).X);
        Assert.Equal(0.0155628482f, Point(d, 2).Y);
        Assert.Equal(-0.0000237637, Point(d, 101).X, 5e-11);
        Assert.Equal(-0.0101009822f, Point(d, 101).Y);
        Assert.Equal(-0.9427887797f, Point(d, 299).X);
        Assert.Equal(0.3333906829f, Point(d, 299).Y);

        // X[100] = (−0, −0): r = 0 times a negative sine/cosine; the sign bit must survive.
        Assert.Equal(unchecked((int)0x80000000), BitConverter.SingleToInt32Bits(Point(d, 100).X));
        Assert.Equal(unchecked((int)0x80000000), BitConverter.SingleToInt32Bits(Point(d, 100).Y));

        Assert.Equal([100, 100, 100], d.ClassCounts());
        for (int i = 0; i < 300; i++) Assert.Equal(i / 100, d.Labels[i]);
    }

    [Fact]
    public void Generate_EachClassEndsOnUnitCircle()
    {
        var d = SpiralData.Generate(50, 4, new NumPyRandomState(7));
        for (int c = 0; c < 4; c++)
        {
            var (x, y) = Point(d, c * 50 + 49);
            Assert.Equal(1.0, Math.Sqrt((double)x * x + (double)y * y), 1e-6);
        }
    }

    [Fact]
    public void Generate_SecondCallContinuesTheStream()
    {
        var rng = new NumPyRandomState(0);
        var first = SpiralData.Generate(100, 3, rng);
        var second = SpiralData.Generate(100, 3, rng);
        Assert.NotEqual(first.Features, second.Features);
        Assert.Equal(first.Labels, second.Labels);

        // Same seed, same first call: deterministic.
        Assert.Equal(first.Features, SpiralData.Generate(100, 3, new NumPyRandomState(0)).Features);
    }

    [Fact]
    public void FeaturesTensor_HasShapeCountBy2()
    {
        var d = SpiralData.Generate(10, 2, new NumPyRandomState(1));
        var t = d.FeaturesTensor();
        Assert.Equal(20, t.Shape[0]);
        Assert.Equal(2, t.Shape[1]);
        Assert.Equal(d.Features, t.ToArray());
    }

    [Theory]
    [InlineData(1, 3)]
    [InlineData(10, 0)]
    [InlineData(10, 257)]
    public void Generate_RejectsBadCounts(int samples, int classes)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SpiralData.Generate(samples, classes, new NumPyRandomState(0)));
    }
}
