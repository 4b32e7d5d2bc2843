using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using CommunityToolkit.HighPerformance;

namespace Nn.Simd.Tensors;

/// <summary>
/// A contiguous, row-major tensor of rank 1 to 4 over <see cref="float"/> (the fast path) or
/// <see cref="double"/> (for gradient checks). Shapes are batch-first: <c>[batch, time, features]</c>.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
/// <remarks>
/// Storage is a managed array allocated on the pinned object heap and aligned to 64 bytes, so kernels may
/// take raw pointers without pinning and full-width <c>Vector512</c> loads start on a cache line.
/// <see cref="Reshape(int[])"/> and <see cref="Slice"/> return views that share that storage.
/// </remarks>
public sealed class Tensor<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _buffer;
    private readonly int _offset;

    /// <summary>The shape of this tensor.</summary>
    public TensorShape Shape { get; }

    /// <summary>The number of elements.</summary>
    public int Length => Shape.Length;

    /// <summary>The number of dimensions.</summary>
    public int Rank => Shape.Rank;

    /// <summary>Creates a zero-filled tensor.</summary>
    /// <param name="shape">The shape, rank 1 to 4.</param>
    public Tensor(TensorShape shape)
    {
        Shape = shape;
        _buffer = AlignedArray.Allocate<T>(shape.Length, out _offset);
    }

    /// <summary>Creates a zero-filled tensor with the given dimensions.</summary>
    public Tensor(params int[] dims) : this(new TensorShape(dims)) { }

    private Tensor(T[] buffer, int offset, TensorShape shape)
    {
        _buffer = buffer;
        _offset = offset;
        Shape = shape;
    }

    /// <summary>The elements, in row-major order.</summary>
    public Span<T> Span => _buffer.AsSpan(_offset, Shape.Length);

    /// <summary>The elements, read-only, in row-major order.</summary>
    public ReadOnlySpan<T> ReadOnlySpan => _buffer.AsSpan(_offset, Shape.Length);

    /// <summary>A reference to the first element; the storage is pinned, so its address is stable.</summary>
    public ref T First => ref MemoryMarshal.GetArrayDataReference(_buffer).Add(_offset);

    /// <summary>The tensor viewed as a matrix of <see cref="TensorShape.Rows"/> × <see cref="TensorShape.Columns"/>.</summary>
    public Span2D<T> AsSpan2D() => new(_buffer, _offset, Shape.Rows, Shape.Columns, 0);

    /// <summary>The element at a flat, row-major index.</summary>
    public ref T this[int index] => ref Span[index];

    /// <summary>The element at (i, j) of a rank-2 tensor.</summary>
    /// <exception cref="InvalidOperationException">The tensor is not rank 2.</exception>
    public ref T this[int i, int j]
    {
        get
        {
            RequireRank(2);
            if ((uint)i >= (uint)Shape[0] || (uint)j >= (uint)Shape[1])
                throw new IndexOutOfRangeException($"Index [{i}, {j}] is outside shape {Shape}.");
            return ref Span[i * Shape[1] + j];
        }
    }

    /// <summary>The element at (i, j, k) of a rank-3 tensor.</summary>
    /// <exception cref="InvalidOperationException">The tensor is not rank 3.</exception>
    public ref T this[int i, int j, int k]
    {
        get
        {
            RequireRank(3);
            if ((uint)i >= (uint)Shape[0] || (uint)j >= (uint)Shape[1] || (uint)k >= (uint)Shape[2])
                throw new IndexOutOfRangeException($"Index [{i}, {j}, {k}] is outside shape {Shape}.");
            return ref Span[(i * Shape[1] + j) * Shape[2] + k];
        }
    }

    private void RequireRank(int rank)
    {
        if (Rank != rank)
            throw new InvalidOperationException($"This indexer needs a rank-{rank} tensor; the shape is {Shape}.");
    }

    /// <summary>A view with a new shape of the same length; no data is copied.</summary>
    /// <param name="dims">The new dimensions; one of them may be -1 and is then inferred.</param>
    /// <exception cref="ArgumentException">The lengths differ, or more than one dimension is -1.</exception>
    public Tensor<T> Reshape(params int[] dims)
    {
        int infer = -1;
        long known = 1;
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] == -1)
            {
                if (infer >= 0)
                    throw new ArgumentException($"Only one dimension may be -1; got {TensorShape.Format(dims)}.", nameof(dims));
                infer = i;
            }
            else known *= dims[i];
        }
        if (infer >= 0)
        {
            if (known == 0 || Length % known != 0)
                throw new ArgumentException($"Cannot reshape {Shape} to {TensorShape.Format(dims)}.", nameof(dims));
            dims = (int[])dims.Clone();
            dims[infer] = (int)(Length / known);
        }
        return Reshape(new TensorShape(dims));
    }

    /// <summary>A view with a new shape of the same length; no data is copied.</summary>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public Tensor<T> Reshape(TensorShape shape)
    {
        if (shape.Length != Length)
            throw new ArgumentException($"Cannot reshape {Shape} ({Length} elements) to {shape} ({shape.Length} elements).", nameof(shape));
        return new Tensor<T>(_buffer, _offset, shape);
    }

    /// <summary>A view of <paramref name="count"/> entries along the first axis, starting at <paramref name="start"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is outside the first dimension.</exception>
    public Tensor<T> Slice(int start, int count)
    {
        int n = Shape[0];
        if (start < 0 || count < 0 || start > n - count)
            throw new ArgumentOutOfRangeException(nameof(start), $"Slice [{start}, {start + count}) is outside the first axis of shape {Shape}.");
        int stride = n == 0 ? 0 : Length / n;
        return new Tensor<T>(_buffer, _offset + start * stride, Shape.WithFirst(count));
    }

    /// <summary>Sets every element to <paramref name="value"/>.</summary>
    public void Fill(T value) => Span.Fill(value);

    /// <summary>Sets every element to zero.</summary>
    public void Clear() => Span.Clear();

    /// <summary>A deep copy with its own storage.</summary>
    public Tensor<T> Clone()
    {
        var t = new Tensor<T>(Shape);
        ReadOnlySpan.CopyTo(t.Span);
        return t;
    }

    /// <summary>Copies the elements into <paramref name="destination"/>, which must have the same shape.</summary>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public void CopyTo(Tensor<T> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        TensorChecks.SameShape(this, destination, nameof(destination));
        ReadOnlySpan.CopyTo(destination.Span);
    }

    /// <summary>A copy converted to another element type.</summary>
    public Tensor<TTo> Cast<TTo>() where TTo : unmanaged, IFloatingPointIeee754<TTo>
    {
        var t = new Tensor<TTo>(Shape);
        var src = ReadOnlySpan;
        var dst = t.Span;
        for (int i = 0; i < src.Length; i++) dst[i] = TTo.CreateChecked(src[i]);
        return t;
    }

    /// <summary>The elements as a new array.</summary>
    public T[] ToArray() => ReadOnlySpan.ToArray();

    // ***** factories *****

    /// <summary>A tensor of zeros.</summary>
    public static Tensor<T> Zeros(params int[] dims) => new(dims);

    /// <summary>A tensor of ones.</summary>
    public static Tensor<T> Ones(params int[] dims) => Full(new TensorShape(dims), T.One);

    /// <summary>A tensor with every element equal to <paramref name="value"/>.</summary>
    public static Tensor<T> Full(TensorShape shape, T value)
    {
        var t = new Tensor<T>(shape);
        t.Fill(value);
        return t;
    }

    /// <summary>A tensor holding a copy of <paramref name="data"/> with the given dimensions.</summary>
    /// <exception cref="ArgumentException">The data length differs from the shape's element count.</exception>
    public static Tensor<T> FromSpan(ReadOnlySpan<T> data, params int[] dims)
    {
        var shape = new TensorShape(dims);
        if (data.Length != shape.Length)
            throw new ArgumentException($"data has {data.Length} elements but shape {shape} needs {shape.Length}.", nameof(data));
        var t = new Tensor<T>(shape);
        data.CopyTo(t.Span);
        return t;
    }

    /// <summary>A tensor holding a copy of <paramref name="data"/>; a rank-1 tensor when no dimensions are given.</summary>
    /// <exception cref="ArgumentException">The data length differs from the shape's element count.</exception>
    public static Tensor<T> FromArray(T[] data, params int[] dims)
    {
        ArgumentNullException.ThrowIfNull(data);
        return FromSpan(data, dims.Length == 0 ? [data.Length] : dims);
    }

    /// <summary>Values drawn uniformly from [<paramref name="low"/>, <paramref name="high"/>) with a fixed seed.</summary>
    public static Tensor<T> RandomUniform(TensorShape shape, int seed, double low = -1, double high = 1)
    {
        var t = new Tensor<T>(shape);
        var rng = new Random(seed);
        var s = t.Span;
        for (int i = 0; i < s.Length; i++) s[i] = T.CreateChecked(low + (high - low) * rng.NextDouble());
        return t;
    }

    /// <summary>Values drawn from a normal distribution with a fixed seed.</summary>
    public static Tensor<T> RandomNormal(TensorShape shape, int seed, double mean = 0, double stddev = 1)
    {
        var t = new Tensor<T>(shape);
        var rng = new Random(seed);
        var s = t.Span;
        for (int i = 0; i < s.Length; i++) s[i] = T.CreateChecked(mean + stddev * rng.NextGaussian());
        return t;
    }

    /// <summary>The element type, the shape and up to the first eight values, e.g. <c>Tensor&lt;Single&gt;[2, 3] [1, 2, 3, 4, 5, 6]</c>.</summary>
    public override string ToString()
    {
        var sb = new System.Text.StringBuilder();
        sb.Append("Tensor<").Append(typeof(T).Name).Append('>').Append(Shape).Append(" [");
        var s = ReadOnlySpan;
        int n = Math.Min(8, s.Length);
        for (int i = 0; i < n; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(s[i].ToString("G6", System.Globalization.CultureInfo.InvariantCulture));
        }
        if (s.Length > n) sb.Append(", …");
        return sb.Append(']').ToString();
    }
}

internal static class RefExtensions
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref T Add<T>(ref this T source, int elementOffset) where T : struct => ref Unsafe.Add(ref source, elementOffset);
}

/// <summary>Draws from distributions the BCL's <see cref="Random"/> lacks.</summary>
public static class RandomExtensions
{
    /// <summary>A draw from N(0, 1) by the Box–Muller transform (one uniform pair per draw, so the stream is simple to reason about).</summary>
    public static double NextGaussian(this Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        double u1 = 1.0 - rng.NextDouble(); // in (0, 1], so the log is finite
        double u2 = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
