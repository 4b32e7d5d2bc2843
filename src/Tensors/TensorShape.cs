using System.Runtime.CompilerServices;

namespace Nn.Simd.Tensors;

/// <summary>
/// The shape of a contiguous, row-major tensor of rank 1 to 4, such as <c>[batch, time, features]</c>.
/// </summary>
/// <remarks>A value type with four inline dimensions, so shapes never allocate.</remarks>
public readonly struct TensorShape : IEquatable<TensorShape>
{
    /// <summary>The largest rank a tensor may have.</summary>
    public const int MaxRank = 4;

    private readonly int _d0, _d1, _d2, _d3;

    /// <summary>The number of dimensions, 1 to 4.</summary>
    public int Rank { get; }

    /// <summary>The number of elements: the product of the dimensions.</summary>
    public int Length { get; }

    /// <summary>Creates a shape from its dimensions.</summary>
    /// <param name="dims">1 to 4 non-negative dimensions.</param>
    /// <exception cref="ArgumentException">The rank is not 1 to 4, a dimension is negative, or the element count overflows.</exception>
    public TensorShape(params ReadOnlySpan<int> dims)
    {
        if (dims.Length is < 1 or > MaxRank)
            throw new ArgumentException($"A tensor has rank 1 to {MaxRank}; got rank {dims.Length} ({Format(dims)}).", nameof(dims));
        long length = 1;
        foreach (int d in dims)
        {
            if (d < 0)
                throw new ArgumentException($"Dimensions must be non-negative; got {Format(dims)}.", nameof(dims));
            length *= d;
            if (length > Array.MaxLength)
                throw new ArgumentException($"Shape {Format(dims)} has more elements than an array can hold.", nameof(dims));
        }
        Rank = dims.Length;
        Length = (int)length;
        _d0 = dims[0];
        _d1 = dims.Length > 1 ? dims[1] : 1;
        _d2 = dims.Length > 2 ? dims[2] : 1;
        _d3 = dims.Length > 3 ? dims[3] : 1;
    }

    /// <summary>The size of dimension <paramref name="axis"/>; a negative axis counts from the end.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The axis is outside the rank.</exception>
    public int this[int axis]
    {
        get
        {
            int a = axis < 0 ? axis + Rank : axis;
            if ((uint)a >= (uint)Rank)
                throw new ArgumentOutOfRangeException(nameof(axis), $"Axis {axis} is outside shape {this}.");
            return a switch { 0 => _d0, 1 => _d1, 2 => _d2, _ => _d3 };
        }
    }

    /// <summary>The dimensions as a new array.</summary>
    public int[] ToArray()
    {
        var r = new int[Rank];
        for (int i = 0; i < Rank; i++) r[i] = this[i];
        return r;
    }

    /// <summary>The number of rows when the tensor is viewed as a matrix: the product of all dimensions but the last.</summary>
    public int Rows
    {
        get
        {
            int r = 1;
            for (int i = 0; i < Rank - 1; i++) r *= this[i];
            return r;
        }
    }

    /// <summary>The number of columns when viewed as a matrix: the last dimension.</summary>
    public int Columns => this[-1];

    /// <summary>The shape with the first dimension replaced by <paramref name="first"/>.</summary>
    public TensorShape WithFirst(int first)
    {
        Span<int> d = stackalloc int[Rank];
        for (int i = 0; i < Rank; i++) d[i] = this[i];
        d[0] = first;
        return new TensorShape(d);
    }

    /// <summary>The shape with a new first axis of <paramref name="size"/> in front, e.g. a batch axis before a sample's
    /// shape: <c>[28, 28, 1].Prepend(64)</c> is <c>[64, 28, 28, 1]</c>.</summary>
    /// <exception cref="ArgumentException">The shape already has rank <see cref="MaxRank"/>.</exception>
    public TensorShape Prepend(int size)
    {
        if (Rank >= MaxRank) throw new ArgumentException($"Cannot add an axis to {this}: a shape has rank at most {MaxRank}.", nameof(size));
        Span<int> d = stackalloc int[Rank + 1];
        d[0] = size;
        for (int i = 0; i < Rank; i++) d[i + 1] = this[i];
        return new TensorShape(d);
    }

    /// <summary>The shape without its first axis (e.g. a sample's shape from a batch's).</summary>
    /// <exception cref="InvalidOperationException">The shape has rank 1 (a shape has at least one axis).</exception>
    public TensorShape DropFirst()
    {
        if (Rank < 2) throw new InvalidOperationException($"Cannot drop the only axis of {this}: a shape has at least one axis.");
        Span<int> d = stackalloc int[Rank - 1];
        for (int i = 1; i < Rank; i++) d[i - 1] = this[i];
        return new TensorShape(d);
    }

    /// <inheritdoc/>
    public bool Equals(TensorShape other) =>
        Rank == other.Rank && _d0 == other._d0 && _d1 == other._d1 && _d2 == other._d2 && _d3 == other._d3;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is TensorShape s && Equals(s);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Rank, _d0, _d1, _d2, _d3);

    /// <summary>Shapes are equal when rank and every dimension agree.</summary>
    public static bool operator ==(TensorShape a, TensorShape b) => a.Equals(b);

    /// <summary>Shapes differ when rank or any dimension differs.</summary>
    public static bool operator !=(TensorShape a, TensorShape b) => !a.Equals(b);

    /// <summary>The shape written as <c>[2, 3, 4]</c>.</summary>
    public override string ToString()
    {
        Span<int> d = stackalloc int[Rank];
        for (int i = 0; i < Rank; i++) d[i] = this[i];
        return Format(d);
    }

    internal static string Format(ReadOnlySpan<int> dims)
    {
        var sb = new System.Text.StringBuilder("[");
        for (int i = 0; i < dims.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(dims[i]);
        }
        return sb.Append(']').ToString();
    }

    /// <summary>Converts an array of dimensions into a shape.</summary>
    public static implicit operator TensorShape(int[] dims) => new(dims);
}
