using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Tensors.Tests;

/// <summary>One random GEMM problem: shapes 1–300, any transposes, scalars, padded leading dimensions and a path.</summary>
public sealed record GemmCase(bool TransA, bool TransB, int M, int N, int K, double Alpha, double Beta,
    int PadA, int PadB, int PadC, int Seed, int PathIndex)
{
    public override string ToString() =>
        $"transA={TransA} transB={TransB} m={M} n={N} k={K} alpha={Alpha} beta={Beta} pads=({PadA},{PadB},{PadC}) seed={Seed} path#{PathIndex}";
}

public static class GemmArbitraries
{
    public static Arbitrary<GemmCase> Cases()
    {
        // A third of the dimensions are small (1–9, the edge tiles); the rest are uniform up to 300.
        Gen<int> dim = Gen.OneOf(Gen.Choose(1, 9), Gen.Choose(1, 300), Gen.Choose(1, 300));
        Gen<double> scalar = Gen.OneOf(Gen.Constant(1.0), Gen.Constant(-1.0), Gen.Choose(-2000, 2000).Select(x => x / 1000.0));
        Gen<double> beta = Gen.OneOf(Gen.Constant(0.0), Gen.Constant(1.0), Gen.Choose(-2000, 2000).Select(x => x / 1000.0));
        Gen<int> pad = Gen.OneOf(Gen.Constant(0), Gen.Choose(1, 7));
        var gen =
            from transA in Gen.Elements(false, true)
            from transB in Gen.Elements(false, true)
            from m in dim
            from n in dim
            from k in dim
            from alpha in scalar
            from b in beta
            from padA in pad
            from padB in pad
            from padC in pad
            from seed in Gen.Choose(0, 1_000_000)
            from path in Gen.Choose(0, 2)
            select new GemmCase(transA, transB, m, n, k, alpha, b, padA, padB, padC, seed, path);
        return Arb.From(gen);
    }
}

/// <summary>
/// Random problems against <see cref="Gemm.Reference{T}"/> computed in double, on every hardware path, plus the
/// pre-packed product, which must be bitwise equal to the unpacked one. The seeds are fixed (Replay), so runs
/// are reproducible; the test counts keep the file to a few seconds.
/// </summary>
public class GemmPropertyTests
{
    [Property(Arbitrary = [typeof(GemmArbitraries)], MaxTest = 60, Replay = "(20260101,7)")]
    public void Float_MatchesReference(GemmCase c) => Check<float>(c);

    [Property(Arbitrary = [typeof(GemmArbitraries)], MaxTest = 40, Replay = "(4242,11)")]
    public void Double_MatchesReference(GemmCase c) => Check<double>(c);

    private static void Check<T>(GemmCase c) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var paths = GemmTestSupport.HardwarePaths().ToArray();
        GemmIsa isa = paths[c.PathIndex % paths.Length];
        var o = GemmOperands<T>.Create(c.TransA, c.TransB, c.M, c.N, c.K, c.Alpha, c.Beta, c.Seed, c.PadA, c.PadB, c.PadC,
            nanInC: c.Beta == 0);
        GemmTestSupport.WithPath(isa, () =>
        {
            T[] actual = o.RunCompute();
            o.AssertMatchesReference(actual);
            GemmTestSupport.AssertBitwiseEqual(actual, o.RunPacked(), $"packed vs unpacked ({isa}) for {o.Describe()}");
        });
    }
}
