using System.Numerics;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Tensors.Tests;

/// <summary>Edge shapes, special values, packing and argument checks, on every path.</summary>
public class GemmTests
{
    // GemmIsa is internal, so theories take the path's name.
    public static TheoryData<string> AllPaths => new(Enum.GetNames<GemmIsa>());

    private static readonly (bool, bool)[] Transposes = [(false, false), (false, true), (true, false), (true, true)];

    // 1s, primes, and sizes either side of the tile sizes (MR 4/8, NR 16/32/64 elements, KC 256).
    private static readonly int[] EdgeDims = [1, 2, 3, 5, 7, 8, 9, 13, 17, 31, 33, 67];

    [Theory]
    [MemberData(nameof(AllPaths))]
    public void EdgeShapes_MatchReference_OnEveryPath(string path)
    {
        var isa = Enum.Parse<GemmIsa>(path);
        // Every path is exercised even where the CPU lacks it (it then runs in software, correctly but slowly),
        // so shapes stay small; dims are paired off rather than fully crossed to keep the count modest.
        int seed = 1;
        GemmTestSupport.WithPath(isa, () =>
        {
            foreach (var (ta, tb) in Transposes)
            {
                for (int i = 0; i < EdgeDims.Length; i++)
                {
                    int m = EdgeDims[i], n = EdgeDims[(i * 5 + 3) % EdgeDims.Length], k = EdgeDims[(i * 7 + 1) % EdgeDims.Length];
                    var f = GemmOperands<float>.Create(ta, tb, m, n, k, 1.5, i % 2 == 0 ? 0 : -0.5, seed++, padA: i % 3, padB: 2, padC: 1, nanInC: i % 2 == 0);
                    f.AssertMatchesReference(f.RunCompute());
                    var d = GemmOperands<double>.Create(ta, tb, n, k, m, -0.75, 0.25, seed++, padA: 1, padB: i % 4);
                    d.AssertMatchesReference(d.RunCompute());
                }
            }
        });
    }

    [Theory]
    [MemberData(nameof(AllPaths))]
    public void DeepK_SpansSeveralKBlocks(string path)
    {
        var isa = Enum.Parse<GemmIsa>(path);
        // k > KC (256) makes later blocks accumulate into C: check both beta = 0 and beta ≠ 0 first blocks.
        GemmTestSupport.WithPath(isa, () =>
        {
            foreach (var (ta, tb) in Transposes)
            {
                var f = GemmOperands<float>.Create(ta, tb, 11, 37, 600, 0.5, 0, seed: 3, nanInC: true);
                f.AssertMatchesReference(f.RunCompute());
                var d = GemmOperands<double>.Create(ta, tb, 9, 19, 513, 1, 2, seed: 4, padC: 3);
                d.AssertMatchesReference(d.RunCompute());
            }
        });
    }

    [Fact]
    public void BetaZero_DoesNotReadC_EvenWhenItIsNaN()
    {
        foreach (var isa in Enum.GetValues<GemmIsa>())
        {
            GemmTestSupport.WithPath(isa, () =>
            {
                // 9×35 covers full and partial tiles in both directions.
                var o = GemmOperands<float>.Create(false, false, 9, 35, 4, 1, 0, seed: 5, nanInC: true);
                float[] c = o.RunCompute();
                for (int i = 0; i < o.M; i++)
                    for (int j = 0; j < o.N; j++)
                        Assert.False(float.IsNaN(c[i * o.Ldc + j]), $"{isa}: C[{i}, {j}] is NaN.");
                o.AssertMatchesReference(c);
                float[] packed = o.RunPacked();
                GemmTestSupport.AssertBitwiseEqual(c, packed, $"{isa} packed");
            });
        }
    }

    [Fact]
    public void NaNInA_Propagates()
    {
        var o = GemmOperands<float>.Create(false, false, 8, 32, 8, 1, 0, seed: 6);
        o.A[3 * o.Lda + 2] = float.NaN;            // row 3 of A
        float[] c = o.RunCompute();
        for (int j = 0; j < o.N; j++)
        {
            Assert.True(float.IsNaN(c[3 * o.Ldc + j]), $"C[3, {j}] should be NaN.");
            Assert.False(float.IsNaN(c[2 * o.Ldc + j]), $"C[2, {j}] should not be NaN.");
        }
    }

    [Theory]
    [InlineData(0, 5, 3)]
    [InlineData(4, 0, 3)]
    [InlineData(0, 0, 0)]
    public void EmptyC_IsNotTouched(int m, int n, int k)
    {
        var c = new float[] { 42 };
        Gemm.Compute(false, false, m, n, k, 1f, new float[m * k], Math.Max(1, k), new float[k * n], Math.Max(1, n), 1f, c, Math.Max(1, n));
        Assert.Equal(42f, c[0]);
        var packed = Gemm.Pack<float>(false, k, n, new float[k * n], Math.Max(1, n));
        Gemm.Compute(false, m, 1f, new float[m * k], Math.Max(1, k), packed, 1f, c, Math.Max(1, n));
        Assert.Equal(42f, c[0]);
    }

    [Fact]
    public void KZero_ScalesC_AndBetaZeroClearsNaN()
    {
        float[] c = [1, 2, float.NaN, 4, 5, 6];
        Gemm.Compute(false, false, 2, 2, 0, 3f, [], 1, [], 2, 0.5f, c, 3);
        Assert.Equal(new float[] { 0.5f, 1, float.NaN, 2, 2.5f, 6 }, c);   // column 2 is padding (ldc = 3)
        c = [float.NaN, float.NaN, 7, float.NaN, float.NaN, 8];
        var packed = Gemm.Pack<float>(true, 0, 2, [], 1);
        Gemm.Compute(false, 2, 3f, [], 1, packed, 0f, c, 3);
        Assert.Equal(new float[] { 0, 0, 7, 0, 0, 8 }, c);
    }

    [Fact]
    public void SmallKnownProduct()
    {
        // [1 2; 3 4]·[5 6; 7 8] = [19 22; 43 50]; with alpha = 2, beta = 1 and C = 1: [39 45; 87 101].
        double[] a = [1, 2, 3, 4], b = [5, 6, 7, 8], c = [1, 1, 1, 1];
        Gemm.Compute(false, false, 2, 2, 2, 2.0, a, 2, b, 2, 1.0, c, 2);
        Assert.Equal(new double[] { 39, 45, 87, 101 }, c);
        // Aᵀ·Bᵀ = (B·A)ᵀ: B·A = [23 34; 31 46], transposed [23 31; 34 46].
        c = new double[4];
        Gemm.Compute(true, true, 2, 2, 2, 1.0, a, 2, b, 2, 0.0, c, 2);
        Assert.Equal(new double[] { 23, 31, 34, 46 }, c);
    }

    [Theory]
    [MemberData(nameof(AllPaths))]
    public void Packed_IsBitwiseEqualToUnpacked(string path)
    {
        var isa = Enum.Parse<GemmIsa>(path);
        GemmTestSupport.WithPath(isa, () =>
        {
            foreach (var (ta, tb) in Transposes)
            {
                // n not a multiple of NR and k over one KC block.
                var f = GemmOperands<float>.Create(ta, tb, 13, 70, 300, 0.75, 1.25, seed: 7, padA: 1, padB: 3, padC: 2);
                GemmTestSupport.AssertBitwiseEqual(f.RunCompute(), f.RunPacked(), $"{isa} {f.Describe()}");
                var d = GemmOperands<double>.Create(ta, tb, 5, 33, 260, -1, 0, seed: 8, nanInC: true);
                GemmTestSupport.AssertBitwiseEqual(d.RunCompute(), d.RunPacked(), $"{isa} {d.Describe()}");
            }
        });
    }

    [Fact]
    public void Repack_RefreshesValues_WithoutAllocating()
    {
        // The recurrent-layer pattern: pack U once, multiply at every step, repack after each update.
        const int k = 64, n = 256, m = 32;
        var o1 = GemmOperands<float>.Create(false, false, m, n, k, 1, 0, seed: 9);
        var o2 = GemmOperands<float>.Create(false, false, m, n, k, 1, 0, seed: 10);
        var packed = Gemm.Pack<float>(false, k, n, o1.B, o1.Ldb);
        Assert.Equal(k, packed.K);
        Assert.Equal(n, packed.N);
        Assert.False(packed.Transposed);
        var c = new float[m * n];
        Gemm.Compute(false, m, 1f, o2.A, o2.Lda, packed, 0f, c, n);   // warm up
        packed.Repack(o2.B, o2.Ldb);
        long before = GC.GetAllocatedBytesForCurrentThread();
        packed.Repack(o2.B, o2.Ldb);
        Gemm.Compute(false, m, 1f, o2.A, o2.Lda, packed, 0f, c, n);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        GemmTestSupport.AssertBitwiseEqual(o2.RunCompute(), c, "after Repack");

        // A transposed source keeps its orientation through Repack.
        var t = GemmOperands<float>.Create(false, true, m, n, k, 1, 0, seed: 11);
        var packedT = Gemm.Pack<float>(true, k, n, t.B, t.Ldb);
        packedT.Repack(t.B, t.Ldb);
        Assert.True(packedT.Transposed);
        Gemm.Compute(false, m, 1f, t.A, t.Lda, packedT, 0f, c, n);
        GemmTestSupport.AssertBitwiseEqual(t.RunCompute(), c, "transposed Repack");
    }

    [Fact]
    public void Compute_SteadyState_DoesNotAllocate()
    {
        var o = GemmOperands<float>.Create(true, true, 40, 100, 300, 1, 0.5, seed: 12);
        var c = (float[])o.C.Clone();
        Gemm.Compute(o.TransA, o.TransB, o.M, o.N, o.K, o.Alpha, o.A, o.Lda, o.B, o.Ldb, o.Beta, c, o.Ldc);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 3; i++)
            Gemm.Compute(o.TransA, o.TransB, o.M, o.N, o.K, o.Alpha, o.A, o.Lda, o.B, o.Ldb, o.Beta, c, o.Ldc);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void OtherElementTypes_UseTheReference()
    {
        Half[] a = [(Half)1, (Half)2, (Half)3, (Half)4], b = [(Half)0.5, (Half)(-1), (Half)2, (Half)0.25];
        var c = new Half[4];
        var r = new Half[4];
        Gemm.Compute(false, true, 2, 2, 2, Half.One, a, 2, b, 2, Half.Zero, c, 2);
        Gemm.Reference(false, true, 2, 2, 2, Half.One, a, 2, b, 2, Half.Zero, r, 2);
        Assert.Equal(r, c);
        var packed = Gemm.Pack<Half>(true, 2, 2, b, 2);
        Gemm.Compute(false, 2, Half.One, a, 2, packed, Half.Zero, c, 2);
        Assert.Equal(r, c);
    }

    [Fact]
    public void BestPath_IsTheWidestAccelerated()
    {
        var expected = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? GemmIsa.Vector512
            : System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Fma.IsSupported ? GemmIsa.Vector256
            : GemmIsa.Vector128;
        Assert.Equal(expected, Gemm.BestIsa);
        var packed = Gemm.Pack<float>(false, 3, 3, new float[9], 3);
        Assert.Contains(Gemm.BestIsa.ToString(), packed.ToString());
    }

    // ---- Argument checks: each names the argument and the shapes.

    [Fact]
    public void NegativeDimension_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => Gemm.Compute(false, false, -1, 2, 2, 1f, new float[4], 2, new float[4], 2, 0f, new float[4], 2));
        Assert.Equal("m", ex.ParamName);
        Assert.Contains("m=-1", ex.Message);
    }

    [Fact]
    public void SmallLeadingDimension_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => Gemm.Compute(true, false, 2, 3, 4, 1f, new float[8], 1, new float[12], 3, 0f, new float[6], 3));
        Assert.Equal("lda", ex.ParamName);
        Assert.Contains("[4, 2]", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Gemm.Compute(false, true, 2, 3, 4, 1f, new float[8], 4, new float[12], 3, 0f, new float[6], 3));
        Assert.Equal("ldb", ex.ParamName);
        Assert.Contains("[3, 4]", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Gemm.Compute(false, false, 2, 3, 4, 1f, new float[8], 4, new float[12], 3, 0f, new float[6], 2));
        Assert.Equal("ldc", ex.ParamName);
        Assert.Contains("[2, 3]", ex.Message);
    }

    [Fact]
    public void ShortSpans_Throw()
    {
        var ex = Assert.Throws<ArgumentException>(() => Gemm.Compute(false, false, 2, 3, 4, 1f, new float[7], 4, new float[12], 3, 0f, new float[6], 3));
        Assert.Equal("a", ex.ParamName);
        Assert.Contains("[2, 4]", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Gemm.Compute(false, false, 2, 3, 4, 1f, new float[8], 4, new float[11], 3, 0f, new float[6], 3));
        Assert.Equal("b", ex.ParamName);
        Assert.Contains("[4, 3]", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Gemm.Compute(false, false, 2, 3, 4, 1f, new float[8], 4, new float[12], 3, 0f, new float[5], 3));
        Assert.Equal("c", ex.ParamName);
        Assert.Contains("[2, 3]", ex.Message);
    }

    [Fact]
    public void Packed_BadArguments_Throw()
    {
        var ex = Assert.Throws<ArgumentException>(() => Gemm.Pack<float>(false, 4, 3, new float[12], 2));
        Assert.Equal("ldb", ex.ParamName);
        Assert.Contains("[4, 3]", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Gemm.Pack<float>(true, 4, 3, new float[11], 4));
        Assert.Equal("b", ex.ParamName);
        Assert.Contains("[3, 4]", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Gemm.Pack<float>(false, -4, 3, [], 3));
        Assert.Equal("k", ex.ParamName);

        var packed = Gemm.Pack<float>(false, 4, 3, new float[12], 3);
        ex = Assert.Throws<ArgumentException>(() => Gemm.Compute(false, 2, 1f, new float[7], 4, packed, 0f, new float[6], 3));
        Assert.Equal("a", ex.ParamName);
        ex = Assert.Throws<ArgumentException>(() => Gemm.Compute(false, 2, 1f, new float[8], 4, packed, 0f, new float[6], 2));
        Assert.Equal("ldc", ex.ParamName);
        ex = Assert.Throws<ArgumentException>(() => packed.Repack(new float[11], 3));
        Assert.Equal("b", ex.ParamName);
        ex = Assert.Throws<ArgumentException>(() => packed.Repack(true, new float[12], 4));
        Assert.Equal("transB", ex.ParamName);
        Assert.Throws<ArgumentNullException>(() => Gemm.Compute(false, 2, 1f, new float[8], 4, (PackedMatrix<float>)null!, 0f, new float[6], 3));
    }
}
