using System.Numerics;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Tensors.Tests;

/// <summary>
/// Row-wise kernels (softmax, log-softmax and their backward passes, argmax, bias add) and column sums against
/// scalar references: every row length 1..130 and some large odd ones, several row counts, in place, special
/// values and argument checks. Run for float and double.
/// </summary>
public abstract class ElementwiseRowsTests<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    protected abstract double Rtol { get; }
    protected abstract double Atol { get; }

    static T C(double v) => T.CreateTruncating(v);
    static readonly T Largest = C(typeof(T) == typeof(float) ? float.MaxValue : double.MaxValue);

    static IEnumerable<(int Rows, int Features)> Shapes()
    {
        foreach (int f in Enumerable.Range(1, 130).Concat(new[] { 255, 256, 257, 1000, 3079 }))
            foreach (int rows in new[] { 0, 1, 3 })
                yield return (rows, f);
        yield return (64, 10);
        yield return (33, 784);
    }

    static T[] Random(int n, int seed, double lo = -6, double hi = 6)
    {
        var rng = new Random(seed);
        var a = new T[n];
        for (int i = 0; i < n; i++) a[i] = C(lo + (hi - lo) * rng.NextDouble());
        return a;
    }

    void AssertClose(ReadOnlySpan<T> expected, ReadOnlySpan<T> actual, string what)
    {
        var r = Tolerance.Compare(expected, actual, Rtol, Atol);
        Assert.True(r.Passed, $"{what}: {r}");
    }

    // ---- scalar references ----

    static T[] SoftmaxReference(T[] x, int f, bool log)
    {
        var y = new T[x.Length];
        for (int r = 0; r < x.Length; r += f)
        {
            T max = T.NegativeInfinity;
            bool nan = false;
            for (int j = 0; j < f; j++) { nan |= T.IsNaN(x[r + j]); if (x[r + j] > max) max = x[r + j]; }
            if (nan) max = T.NaN;
            T sum = T.Zero;
            for (int j = 0; j < f; j++) sum += T.Exp(x[r + j] - max);
            for (int j = 0; j < f; j++) y[r + j] = log ? x[r + j] - max - T.Log(sum) : T.Exp(x[r + j] - max) / sum;
        }
        return y;
    }

    static T[] SoftmaxBackwardReference(T[] y, T[] dy, int f, bool log)
    {
        var dx = new T[y.Length];
        for (int r = 0; r < y.Length; r += f)
        {
            T s = T.Zero;
            for (int j = 0; j < f; j++) s += log ? dy[r + j] : dy[r + j] * y[r + j];
            for (int j = 0; j < f; j++) dx[r + j] = log ? dy[r + j] - T.Exp(y[r + j]) * s : y[r + j] * (dy[r + j] - s);
        }
        return dx;
    }

    // ---- softmax and log-softmax ----

    [Theory, InlineData(false), InlineData(true)]
    public void SoftmaxRows_AllShapes(bool log)
    {
        foreach (var (rows, f) in Shapes())
        {
            T[] x = Random(rows * f, rows * 1000 + f, -10, 10);
            var y = new T[x.Length];
            if (log) Elementwise.LogSoftmaxRows<T>(x, y, f); else Elementwise.SoftmaxRows<T>(x, y, f);
            AssertClose(SoftmaxReference(x, f, log), y, $"{(log ? "log-" : "")}softmax [{rows}, {f}]");
        }
    }

    [Theory, InlineData(false), InlineData(true)]
    public void SoftmaxRows_InPlace(bool log)
    {
        foreach (var (rows, f) in Shapes())
        {
            T[] x = Random(rows * f, rows + 7 * f);
            T[] buffer = (T[])x.Clone();
            if (log) Elementwise.LogSoftmaxRows<T>(buffer, buffer, f); else Elementwise.SoftmaxRows<T>(buffer, buffer, f);
            AssertClose(SoftmaxReference(x, f, log), buffer, $"in-place [{rows}, {f}]");
        }
    }

    [Fact]
    public void SoftmaxRows_RowsSumToOne()
    {
        T[] x = Random(5 * 77, 3, -30, 30);
        var y = new T[x.Length];
        Elementwise.SoftmaxRows<T>(x, y, 77);
        for (int r = 0; r < 5; r++)
        {
            double sum = y.Skip(r * 77).Take(77).Sum(double.CreateChecked);
            Assert.True(Math.Abs(sum - 1) < 1e-5, $"row {r} sums to {sum}");
        }
    }

    [Theory, InlineData(false), InlineData(true)]
    public void SoftmaxRows_SpecialValues(bool log)
    {
        foreach (int f in new[] { 1, 4, 17, 40 })
            foreach (T special in new[] { C(1000), C(-1000), T.NegativeInfinity, T.PositiveInfinity, T.NaN, Largest, -Largest })
                foreach (int at in new[] { 0, f - 1 })
                {
                    T[] x = Random(2 * f, f);
                    x[at] = special;         // row 0
                    x[f + f - 1 - at] = special; // row 1, other end
                    var y = new T[x.Length];
                    if (log) Elementwise.LogSoftmaxRows<T>(x, y, f); else Elementwise.SoftmaxRows<T>(x, y, f);
                    AssertClose(SoftmaxReference(x, f, log), y, $"f={f}, {special} at {at}");
                }
        // Large but finite values do not overflow: max-subtraction.
        T[] big = { C(1000), C(1001), C(1002) };
        var p = new T[3];
        Elementwise.SoftmaxRows<T>(big, p, 3);
        Assert.All(p, v => Assert.True(T.IsFinite(v)));
    }

    [Theory, InlineData(false), InlineData(true)]
    public void SoftmaxRowsBackward_AllShapes(bool log)
    {
        foreach (var (rows, f) in Shapes())
        {
            T[] y = SoftmaxReference(Random(rows * f, rows + f), f, log);
            T[] dy = Random(rows * f, 3 * rows + f, -1, 1);
            T[] expected = SoftmaxBackwardReference(y, dy, f, log);
            var dx = new T[y.Length];
            Backward(log, y, dy, dx, f);
            AssertClose(expected, dx, $"backward [{rows}, {f}]");
            T[] intoY = (T[])y.Clone(), intoDy = (T[])dy.Clone();
            Backward(log, intoY, dy, intoY, f);
            AssertClose(expected, intoY, $"backward into y [{rows}, {f}]");
            Backward(log, y, intoDy, intoDy, f);
            AssertClose(expected, intoDy, $"backward into dy [{rows}, {f}]");
        }
    }

    static void Backward(bool log, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int f)
    {
        if (log) Elementwise.LogSoftmaxRowsBackward(y, dy, dx, f); else Elementwise.SoftmaxRowsBackward(y, dy, dx, f);
    }

    [Fact]
    public void SoftmaxRows_ThrowsForBadArguments()
    {
        T[] x = Random(12, 1);
        Assert.Equal("x", Assert.Throws<ArgumentException>(() => Elementwise.SoftmaxRows<T>(x, new T[12], 5)).ParamName);
        Assert.Equal("x", Assert.Throws<ArgumentException>(() => Elementwise.LogSoftmaxRows<T>(x, new T[12], 0)).ParamName);
        Assert.Equal("y", Assert.Throws<ArgumentException>(() => Elementwise.SoftmaxRows<T>(x, new T[11], 4)).ParamName);
        Assert.Equal("y", Assert.Throws<ArgumentException>(() => Elementwise.LogSoftmaxRows<T>(x, new T[11], 4)).ParamName);
        T[] buffer = Random(20, 2);
        Assert.Equal("y", Assert.Throws<ArgumentException>(() => Elementwise.SoftmaxRows<T>(buffer.AsSpan(0, 12), buffer.AsSpan(4, 12), 4)).ParamName);
        Assert.Equal("dx", Assert.Throws<ArgumentException>(() => Elementwise.SoftmaxRowsBackward<T>(x, x, new T[11], 4)).ParamName);
        Assert.Equal("dy", Assert.Throws<ArgumentException>(() => Elementwise.SoftmaxRowsBackward<T>(x, new T[8], new T[12], 4)).ParamName);
        Assert.Equal("dx", Assert.Throws<ArgumentException>(() => Elementwise.LogSoftmaxRowsBackward<T>(x, x, new T[11], 4)).ParamName);
    }

    // ---- argmax ----

    [Fact]
    public void ArgMaxRows_AllShapes()
    {
        foreach (var (rows, f) in Shapes())
        {
            T[] x = Random(rows * f, 5 * rows + f);
            var got = new int[rows + 1];
            got[rows] = -7;
            Elementwise.ArgMaxRows<T>(x, got, f);
            for (int r = 0; r < rows; r++)
            {
                int best = 0;
                for (int j = 1; j < f; j++) if (x[r * f + j] > x[r * f + best]) best = j;
                Assert.True(best == got[r], $"[{rows}, {f}] row {r}: expected {best}, got {got[r]}");
            }
            Assert.Equal(-7, got[rows]);
        }
    }

    [Fact]
    public void ArgMaxRows_TakesTheFirstOfTiesAndTheFirstNaN()
    {
        T[] x = { C(1), C(3), C(3), C(2), /* row 2 */ C(0), T.NaN, C(5), T.NaN };
        var got = new int[2];
        Elementwise.ArgMaxRows<T>(x, got, 4);
        Assert.Equal(new[] { 1, 1 }, got);
        Assert.Equal("destination", Assert.Throws<ArgumentException>(() => Elementwise.ArgMaxRows<T>(x, new int[1], 4)).ParamName);
    }

    // ---- bias add and column sums ----

    [Fact]
    public void AddBiasRows_AllShapes()
    {
        foreach (var (rows, f) in Shapes())
        {
            T[] x = Random(rows * f, rows + 11 * f), b = Random(f, f);
            var expected = new T[x.Length];
            for (int i = 0; i < x.Length; i++) expected[i] = x[i] + b[i % f];
            var d = new T[x.Length];
            Elementwise.AddBiasRows<T>(x, b, d);
            AssertClose(expected, d, $"bias add [{rows}, {f}]");
            Elementwise.AddBiasRows<T>(x, b, x);
            AssertClose(expected, x, $"bias add in place [{rows}, {f}]");
        }
    }

    [Fact]
    public void AddBiasRows_ThrowsForBadArguments()
    {
        T[] x = Random(12, 1);
        Assert.Equal("x", Assert.Throws<ArgumentException>(() => Elementwise.AddBiasRows<T>(x, new T[5], new T[12])).ParamName);
        Assert.Equal("x", Assert.Throws<ArgumentException>(() => Elementwise.AddBiasRows<T>(x, new T[0], new T[12])).ParamName);
        Assert.Equal("destination", Assert.Throws<ArgumentException>(() => Elementwise.AddBiasRows<T>(x, new T[4], new T[11])).ParamName);
        T[] buffer = Random(40, 2);
        // The bias inside the destination would change while it is being added.
        Assert.Equal("destination", Assert.Throws<ArgumentException>(() => Elementwise.AddBiasRows<T>(buffer.AsSpan(20, 12), buffer.AsSpan(0, 4), buffer.AsSpan(0, 12))).ParamName);
    }

    [Theory, InlineData(false), InlineData(true)]
    public void SumColumns_AllShapes(bool accumulate)
    {
        foreach (var (rows, f) in Shapes().Concat(new[] { (1000, 3), (513, 37), (130, 130) }))
        {
            T[] x = Random(rows * f, 13 * rows + f);
            T[] start = Random(f + 1, f, -1, 1);
            var expected = new T[f];
            for (int j = 0; j < f; j++)
            {
                T acc = accumulate ? start[j] : T.Zero;
                for (int r = 0; r < rows; r++) acc += x[r * f + j];
                expected[j] = acc;
            }
            T[] d = (T[])start.Clone();
            Elementwise.SumColumns<T>(x, d, f, accumulate);
            AssertClose(expected, d.AsSpan(0, f), $"column sums [{rows}, {f}], accumulate={accumulate}");
            Assert.Equal(start[f], d[f]); // nothing written past the columns
        }
    }

    [Fact]
    public void SumColumns_ThrowsForBadArguments()
    {
        T[] x = Random(12, 1);
        Assert.Equal("x", Assert.Throws<ArgumentException>(() => Elementwise.SumColumns<T>(x, new T[5], 5, false)).ParamName);
        Assert.Equal("destination", Assert.Throws<ArgumentException>(() => Elementwise.SumColumns<T>(x, new T[3], 4, true)).ParamName);
        T[] buffer = Random(40, 2);
        Assert.Equal("destination", Assert.Throws<ArgumentException>(() => Elementwise.SumColumns<T>(buffer.AsSpan(0, 32), buffer.AsSpan(0, 8), 8, false)).ParamName);
    }
}

public sealed class ElementwiseRowsFloatTests : ElementwiseRowsTests<float>
{
    protected override double Rtol => 1e-5;
    protected override double Atol => 1e-6;
}

public sealed class ElementwiseRowsDoubleTests : ElementwiseRowsTests<double>
{
    protected override double Rtol => 1e-12;
    protected override double Atol => 1e-14;
}
