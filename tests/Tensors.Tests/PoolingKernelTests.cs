using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Tensors.Tests;

/// <summary><see cref="Pooling"/>'s average kernels against scalar loops that form every value in the same order
/// (so the comparison is bitwise) at every channel count from 1 to 37: the span path, whole vectors, and a last
/// vector that overlaps the one before, with overlapping windows and 'same' padding; and its argument checks.</summary>
public class PoolingKernelTests
{
    // 7×6 input, 3×2 windows moved by 2×1 with one row padded above: windows overlap and some are cut by padding.
    private static PoolWindow Windows(int c) => new(H: 7, W: 6, C: c, Ho: 4, Wo: 5, PoolH: 3, PoolW: 2, StrideH: 2, StrideW: 1, PadTop: 1, PadLeft: 0);

    public static TheoryData<int> Channels()
    {
        var data = new TheoryData<int>();
        for (int c = 1; c <= 37; c++) data.Add(c);
        return data;
    }

    [Theory]
    [MemberData(nameof(Channels))]
    public void Average_EveryChannelCount_IsBitwiseTheScalarLoop(int c)
    {
        var g = Windows(c);
        var rng = new Random(c);
        var x = new float[g.H * g.W * c];
        var dy = new float[g.Ho * g.Wo * c];
        foreach (ref float v in x.AsSpan()) v = (float)(rng.NextDouble() * 4 - 2);
        foreach (ref float v in dy.AsSpan()) v = (float)(rng.NextDouble() * 4 - 2);

        var y = new float[dy.Length];
        Pooling.AverageForward(g, x, y);
        var dx = new float[x.Length];
        dx.AsSpan().Fill(float.NaN);   // the kernel overwrites all of it
        Pooling.AverageBackward(g, dy, dx);

        var yRef = new float[y.Length];
        var dxRef = new float[x.Length];
        for (int oy = 0; oy < g.Ho; oy++)
            for (int ox = 0; ox < g.Wo; ox++)
            {
                var (i0, i1) = g.Rows(oy);
                var (j0, j1) = g.Columns(ox);
                float inv = 1f / ((i1 - i0) * (j1 - j0));
                for (int ch = 0; ch < c; ch++)
                {
                    int o = (oy * g.Wo + ox) * c + ch;
                    float sum = x[(i0 * g.W + j0) * c + ch];
                    for (int iy = i0; iy < i1; iy++)
                        for (int ix = iy == i0 ? j0 + 1 : j0; ix < j1; ix++)
                            sum += x[(iy * g.W + ix) * c + ch];
                    yRef[o] = sum * inv;
                    float share = dy[o] * inv;
                    for (int iy = i0; iy < i1; iy++)
                        for (int ix = j0; ix < j1; ix++)
                            dxRef[(iy * g.W + ix) * c + ch] += share;
                }
            }
        for (int i = 0; i < y.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(yRef[i]) == BitConverter.SingleToInt32Bits(y[i]), $"C = {c}: y[{i}] = {y[i]:R}, expected {yRef[i]:R}");
        for (int i = 0; i < dx.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(dxRef[i]) == BitConverter.SingleToInt32Bits(dx[i]), $"C = {c}: dx[{i}] = {dx[i]:R}, expected {dxRef[i]:R}");
    }

    [Fact]
    public void ShortSpansAndBadWindows_AreRejectedByName()
    {
        var g = Windows(4);
        var x = new float[7 * 6 * 4];
        var y = new float[4 * 5 * 4];
        var e = Assert.Throws<ArgumentException>(() => Pooling.MaxForward<float>(g, x.AsSpan(1), y));
        Assert.Equal("x", e.ParamName);
        Assert.Contains("[7, 6, 4]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Pooling.AverageForward<float>(g, x, y.AsSpan(1)));
        Assert.Equal("y", e.ParamName);
        Assert.Contains("[4, 5, 4]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Pooling.MaxBackward<float>(g, x, y, y, x.AsSpan(4)));
        Assert.Equal("dx", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => Pooling.AverageBackward<float>(g, y.AsSpan(0, 3), x));
        Assert.Equal("dy", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => Pooling.AverageForward<float>(g with { StrideW = 0 }, x, y));
        Assert.Equal("g", e.ParamName);
    }
}
