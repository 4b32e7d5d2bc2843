using System.Numerics;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Tensors.Tests;

/// <summary>
/// Span kernels of <see cref="Elementwise"/> against scalar references, in the style of the runtime's
/// TensorPrimitives tests: every length 0..256 (every remainder path of every width), a few large odd lengths,
/// in-place use, special values, and the argument checks. Run for float and double.
/// </summary>
public abstract class ElementwiseTests<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Relative and absolute tolerance; a value passes within either.</summary>
    protected abstract double Rtol { get; }
    protected abstract double Atol { get; }

    public delegate void UnaryKernel(ReadOnlySpan<T> x, Span<T> destination);
    public delegate void BinaryKernel(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> destination);

    static T C(double v) => T.CreateTruncating(v);
    static readonly T Alpha = C(-1.75);

    /// <summary>name → (kernel, scalar reference, name of the destination parameter).</summary>
    static readonly Dictionary<string, (UnaryKernel Kernel, Func<T, T> Reference, string Destination)> UnaryTable = new()
    {
        ["Relu"] = (Elementwise.Relu, x => T.Max(x, T.Zero), "destination"),
        ["Sigmoid"] = (Elementwise.Sigmoid, x => T.One / (T.One + T.Exp(-x)), "destination"),
        ["Tanh"] = (Elementwise.Tanh, T.Tanh, "destination"),
        ["Exp"] = (Elementwise.Exp, T.Exp, "destination"),
        ["Scale"] = ((x, d) => Elementwise.Scale(x, Alpha, d), x => Alpha * x, "destination"),
        ["PreluScalar"] = ((x, d) => Elementwise.Prelu(x, C(0.3), d), x => x > T.Zero ? x : C(0.3) * x, "destination"),
    };

    static readonly Dictionary<string, (BinaryKernel Kernel, Func<T, T, T> Reference, string Destination)> BinaryTable = new()
    {
        ["Add"] = (Elementwise.Add, (x, y) => x + y, "destination"),
        ["Multiply"] = (Elementwise.Multiply, (x, y) => x * y, "destination"),
        ["ReluBackward"] = (Elementwise.ReluBackward, (y, dy) => y > T.Zero ? dy : T.Zero, "dx"),
        ["SigmoidBackward"] = (Elementwise.SigmoidBackward, (y, dy) => dy * y * (T.One - y), "dx"),
        ["TanhBackward"] = (Elementwise.TanhBackward, (y, dy) => dy * (T.One - y * y), "dx"),
        ["Prelu"] = (Elementwise.Prelu, (x, a) => x > T.Zero ? x : a * x, "destination"),
        ["PreluScalarBackward"] = ((x, dy, dx) => Elementwise.PreluBackward(x, dy, C(0.3), dx), (x, dy) => x > T.Zero ? dy : C(0.3) * dy, "dx"),
    };

    public static IEnumerable<object[]> UnaryOps() => UnaryTable.Keys.Select(k => new object[] { k });
    public static IEnumerable<object[]> BinaryOps() => BinaryTable.Keys.Select(k => new object[] { k });

    /// <summary>0..256, then large lengths that are not multiples of any vector width.</summary>
    static IEnumerable<int> Lengths() => Enumerable.Range(0, 257).Concat(new[] { 1021, 4099, 6 * 512 + 7, 65_537 });

    protected static T[] Random(int n, int seed, double lo = -6, double hi = 6)
    {
        var rng = new Random(seed);
        var a = new T[n];
        for (int i = 0; i < n; i++) a[i] = C(lo + (hi - lo) * rng.NextDouble());
        return a;
    }

    protected void AssertClose(ReadOnlySpan<T> expected, ReadOnlySpan<T> actual, string what)
    {
        var r = Tolerance.Compare(expected, actual, Rtol, Atol);
        Assert.True(r.Passed, $"{what} (length {expected.Length}): {r}");
    }

    static readonly T Sentinel = C(12345.5);

    /// <summary>PReLU's backward with a slope per element (dx and the accumulated dα, which the tables cannot express)
    /// and the slope sum of the shared-slope form, at every length, with zeros in x (the α slope is taken there).</summary>
    [Fact]
    public void PreluBackward_AllLengths()
    {
        foreach (int n in Lengths())
        {
            T[] x = Random(n, 1), dy = Random(n, 2), a = Random(n, 3, -0.5, 1.5), dA0 = Random(n, 4);
            for (int i = 0; i < n; i += 5) x[i] = T.Zero;
            var dx = new T[n];
            var dA = (T[])dA0.Clone();
            Elementwise.PreluBackward<T>(x, dy, a, dx, dA);
            T[] ex = new T[n], eA = new T[n];
            T sum = T.Zero;
            for (int i = 0; i < n; i++)
            {
                ex[i] = x[i] > T.Zero ? dy[i] : a[i] * dy[i];
                eA[i] = x[i] > T.Zero ? dA0[i] : dA0[i] + x[i] * dy[i];
                if (x[i] <= T.Zero) sum += x[i] * dy[i];
            }
            AssertClose(ex, dx, "PreluBackward dx");
            AssertClose(eA, dA, "PreluBackward dAlpha");
            // In place over dy, without the slope gradient.
            var inPlace = (T[])dy.Clone();
            Elementwise.PreluBackward<T>(x, inPlace, a, inPlace, default);
            AssertClose(ex, inPlace, "PreluBackward dx in place");
            var dx2 = new T[n];
            T got = Elementwise.PreluBackward<T>(x, dy, a.Length > 0 ? a[0] : T.One, dx2);
            Assert.True(T.Abs(got - sum) <= C(1e-5) * (T.One + T.Abs(sum)), $"PreluBackward slope sum (length {n}): {got} vs {sum}");
        }
        var e = Assert.Throws<ArgumentException>(() => Elementwise.PreluBackward<T>(new T[4], new T[4], new T[3], new T[4], new T[4]));
        Assert.Equal("alpha", e.ParamName);
        var shared = new T[8];
        var o = Assert.Throws<ArgumentException>(() => Elementwise.PreluBackward<T>(new T[4], new T[4], new T[4], shared.AsSpan(0, 4), shared.AsSpan(2, 4)));
        Assert.Equal("dAlpha", o.ParamName);
    }

    [Theory, MemberData(nameof(UnaryOps))]
    public void Unary_AllLengths(string op)
    {
        var (kernel, reference, _) = UnaryTable[op];
        foreach (int n in Lengths())
        {
            T[] x = Random(n, 20230828 + n);
            var d = new T[n + 1];
            d[n] = Sentinel;
            kernel(x, d);
            AssertClose(x.Select(reference).ToArray(), d.AsSpan(0, n), op);
            Assert.Equal(Sentinel, d[n]); // nothing written past the length
        }
    }

    [Theory, MemberData(nameof(UnaryOps))]
    public void Unary_InPlace(string op)
    {
        var (kernel, reference, _) = UnaryTable[op];
        foreach (int n in Lengths())
        {
            T[] x = Random(n, 7 + n);
            T[] buffer = (T[])x.Clone();
            kernel(buffer, buffer);
            AssertClose(x.Select(reference).ToArray(), buffer, op + " in place");
        }
    }

    [Theory, MemberData(nameof(UnaryOps))]
    public void Unary_SpecialValues(string op)
    {
        var (kernel, reference, _) = UnaryTable[op];
        T[] specials = { T.NaN, T.PositiveInfinity, T.NegativeInfinity, T.Zero, T.NegativeZero, T.Epsilon, -T.Epsilon, C(1e30), C(-1e30), C(88), C(-88), C(700), C(-700) };
        foreach (int n in new[] { 1, 3, 7, 15, 16, 17, 33, 64, 100 })
            foreach (T special in specials)
                foreach (int at in new[] { 0, n / 2, n - 1 }) // the last index lies in the overlapping final vector
                {
                    T[] x = Random(n, n);
                    x[at] = special;
                    var d = new T[n];
                    kernel(x, d);
                    AssertClose(x.Select(reference).ToArray(), d, $"{op} with {special} at {at}");
                }
    }

    [Theory, MemberData(nameof(UnaryOps))]
    public void Unary_ThrowsForTooShortDestination(string op)
    {
        var (kernel, _, destination) = UnaryTable[op];
        foreach (int n in new[] { 1, 2, 31, 257 })
        {
            T[] x = Random(n, n);
            var e = Assert.Throws<ArgumentException>(() => kernel(x, new T[n - 1]));
            Assert.Equal(destination, e.ParamName);
        }
    }

    [Theory, MemberData(nameof(UnaryOps))]
    public void Unary_ThrowsForPartialOverlap(string op)
    {
        var (kernel, _, destination) = UnaryTable[op];
        T[] buffer = Random(80, 1);
        var e = Assert.Throws<ArgumentException>(() => kernel(buffer.AsSpan(0, 64), buffer.AsSpan(1, 64)));
        Assert.Equal(destination, e.ParamName);
        Assert.Throws<ArgumentException>(() => kernel(buffer.AsSpan(5, 64), buffer.AsSpan(0, 64)));
    }

    [Theory, MemberData(nameof(BinaryOps))]
    public void Binary_AllLengths(string op)
    {
        var (kernel, reference, _) = BinaryTable[op];
        foreach (int n in Lengths())
        {
            T[] x = Random(n, 20230828 + n), y = Random(n, 1_000_003 + n, -2, 2);
            var d = new T[n + 1];
            d[n] = Sentinel;
            kernel(x, y, d);
            AssertClose(x.Zip(y, reference).ToArray(), d.AsSpan(0, n), op);
            Assert.Equal(Sentinel, d[n]);
        }
    }

    [Theory, MemberData(nameof(BinaryOps))]
    public void Binary_InPlace(string op)
    {
        var (kernel, reference, _) = BinaryTable[op];
        foreach (int n in Lengths())
        {
            T[] x = Random(n, 3 + n), y = Random(n, 5 + n, -2, 2);
            T[] expected = x.Zip(y, reference).ToArray();
            T[] intoX = (T[])x.Clone(), intoY = (T[])y.Clone();
            kernel(intoX, y, intoX);
            AssertClose(expected, intoX, op + " into x");
            kernel(x, intoY, intoY);
            AssertClose(expected, intoY, op + " into y");
        }
    }

    [Theory, MemberData(nameof(BinaryOps))]
    public void Binary_SpecialValues(string op)
    {
        var (kernel, reference, _) = BinaryTable[op];
        T[] specials = { T.NaN, T.PositiveInfinity, T.NegativeInfinity, T.Zero, T.NegativeZero, C(1e30), C(-1e30) };
        foreach (int n in new[] { 1, 5, 16, 17, 40 })
            foreach (T special in specials)
                foreach (int at in new[] { 0, n - 1 })
                    foreach (bool inX in new[] { true, false })
                    {
                        T[] x = Random(n, n), y = Random(n, 2 * n, -2, 2);
                        (inX ? x : y)[at] = special;
                        var d = new T[n];
                        kernel(x, y, d);
                        AssertClose(x.Zip(y, reference).ToArray(), d, $"{op} with {special} at {(inX ? "x" : "y")}[{at}]");
                    }
    }

    [Theory, MemberData(nameof(BinaryOps))]
    public void Binary_ThrowsForTooShortDestination(string op)
    {
        var (kernel, _, destination) = BinaryTable[op];
        foreach (int n in new[] { 1, 2, 31, 257 })
        {
            var e = Assert.Throws<ArgumentException>(() => kernel(Random(n, 1), Random(n, 2), new T[n - 1]));
            Assert.Equal(destination, e.ParamName);
        }
    }

    [Theory, MemberData(nameof(BinaryOps))]
    public void Binary_ThrowsForMismatchedInputLengths(string op)
    {
        var (kernel, _, _) = BinaryTable[op];
        Assert.Throws<ArgumentException>(() => kernel(Random(10, 1), Random(9, 2), new T[10]));
    }

    [Theory, MemberData(nameof(BinaryOps))]
    public void Binary_ThrowsForPartialOverlap(string op)
    {
        var (kernel, _, destination) = BinaryTable[op];
        T[] buffer = Random(80, 1), other = Random(64, 2);
        var e = Assert.Throws<ArgumentException>(() => kernel(buffer.AsSpan(0, 64), other, buffer.AsSpan(3, 64)));
        Assert.Equal(destination, e.ParamName);
        e = Assert.Throws<ArgumentException>(() => kernel(other, buffer.AsSpan(3, 64), buffer.AsSpan(0, 64)));
        Assert.Equal(destination, e.ParamName);
    }

    [Fact]
    public void Axpy_AllLengths()
    {
        foreach (int n in Lengths())
        {
            T[] x = Random(n, 11 + n), y = Random(n, 13 + n);
            T[] expected = x.Zip(y, (a, b) => b + Alpha * a).ToArray();
            Elementwise.Axpy(Alpha, x, y);
            AssertClose(expected, y, "axpy");
        }
    }

    [Fact]
    public void Axpy_ThrowsForMismatchedLengths()
    {
        var e = Assert.Throws<ArgumentException>(() => Elementwise.Axpy(Alpha, Random(10, 1), new T[9]));
        Assert.Equal("y", e.ParamName);
    }

    [Fact]
    public void Axpy_ThrowsForPartialOverlap()
    {
        T[] buffer = Random(80, 1);
        var e = Assert.Throws<ArgumentException>(() => Elementwise.Axpy(Alpha, buffer.AsSpan(0, 64), buffer.AsSpan(2, 64)));
        Assert.Equal("y", e.ParamName);
    }

    [Fact]
    public void Axpy_WithXAsY_Doubles()
    {
        T[] y = Random(100, 9);
        T[] expected = y.Select(v => v + Alpha * v).ToArray();
        Elementwise.Axpy(Alpha, y, y);
        AssertClose(expected, y, "axpy(x = y)");
    }
}

public sealed class ElementwiseFloatTests : ElementwiseTests<float>
{
    protected override double Rtol => 2e-6;
    protected override double Atol => 1e-7;
}

public sealed class ElementwiseDoubleTests : ElementwiseTests<double>
{
    protected override double Rtol => 1e-13;
    protected override double Atol => 1e-15;
}
