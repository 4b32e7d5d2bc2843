using System.Globalization;
using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

// Shapes: input i viewed as [O, Aᵢ, I]: O = the product of the axes before the concatenation axis (batch included),
// Aᵢ = input i's size along it, I = the product of the axes after it. The output is [O, ΣAᵢ, I].

/// <summary>
/// Joins the inputs along <see cref="Axis"/> (Keras' <c>Concatenate</c>): <c>y[o, off_i + a, r] = x_i[o, a, r]</c> with
/// <c>off_i = Σ_{j&lt;i} A_j</c>; the gradient of input i is the matching slice of <c>dy</c>. Two or more inputs of one
/// rank (2 to 4) whose sizes agree on every other axis.
/// </summary>
/// <remarks>Keras' default axis is -1. The batch axis (0, or −rank) is rejected: samples would stop lining up.</remarks>
public sealed class Concatenate<T> : MergeLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the layer.</summary>
    /// <param name="axis">The axis to join along; negative counts from the end; not the batch axis.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="axis"/> is 0 (the batch axis) or outside ±(4 − 1).</exception>
    public Concatenate(int axis = -1) : base(2)
    {
        if (axis == 0 || axis >= TensorShape.MaxRank || axis < -TensorShape.MaxRank)
            throw new ArgumentOutOfRangeException(nameof(axis), $"Concatenate joins along a non-batch axis, 1 to {TensorShape.MaxRank - 1} or -1 to -{TensorShape.MaxRank}; got {axis}.");
        Axis = axis;
    }

    /// <summary>The axis to join along (negative counts from the end).</summary>
    public int Axis { get; }

    /// <inheritdoc/>
    public override string TypeName => "concatenate";

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() =>
        new Dictionary<string, string>(StringComparer.Ordinal) { ["axis"] = Axis.ToString(CultureInfo.InvariantCulture) };

    /// <inheritdoc/>
    protected override TensorShape OutputShape(IReadOnlyList<TensorShape> shapes, string paramName)
    {
        int rank = shapes[0].Rank;
        for (int i = 1; i < shapes.Count; i++)
            if (shapes[i].Rank != rank)
                throw new ArgumentException($"{Describe(shapes)}; concatenate needs inputs of one rank.", paramName);
        int a = Axis < 0 ? Axis + rank : Axis;
        if (a <= 0 || a >= rank)
            throw new ArgumentException($"{Describe(shapes)}; axis {Axis} is {(a == 0 ? "the batch axis" : "outside the rank")} of rank-{rank} inputs.", paramName);
        int total = 0;
        for (int i = 0; i < shapes.Count; i++)
        {
            for (int d = 0; d < rank; d++)
                if (d != a && shapes[i][d] != shapes[0][d])
                    throw new ArgumentException($"{Describe(shapes)}; concatenate along axis {Axis} needs equal sizes on every other axis (axis {d} differs).", paramName);
            total += shapes[i][a];
        }
        Span<int> dims = stackalloc int[rank];
        for (int d = 0; d < rank; d++) dims[d] = shapes[0][d];
        dims[a] = total;
        return new TensorShape(dims);
    }

    /// <summary>O: the product of the axes before the concatenation axis.</summary>
    private int Outer(TensorShape shape)
    {
        int a = Axis < 0 ? Axis + shape.Rank : Axis, outer = 1;
        for (int d = 0; d < a; d++) outer *= shape[d];
        return outer;
    }

    /// <inheritdoc/>
    protected override void ForwardCore(ReadOnlySpan<Tensor<T>> inputs, Tensor<T> output) => Copy(inputs, output, toOutput: true);

    /// <inheritdoc/>
    protected override void BackwardCore(Tensor<T> dOutput, ReadOnlySpan<Tensor<T>> inputs, ReadOnlySpan<Tensor<T>> dInputs) =>
        Copy(dInputs, dOutput, toOutput: false);

    /// <summary>Copies each part's [O, Aᵢ·I] blocks into (or out of) the whole's [O, ΣAᵢ·I] rows.</summary>
    private void Copy(ReadOnlySpan<Tensor<T>> parts, Tensor<T> whole, bool toOutput)
    {
        int outer = Outer(whole.Shape);
        int row = whole.Length / Math.Max(1, outer), offset = 0;
        var w = whole.Span;
        foreach (var part in parts)
        {
            int block = part.Length / Math.Max(1, outer);
            var p = part.Span;
            for (int o = 0; o < outer; o++)
            {
                if (toOutput) p.Slice(o * block, block).CopyTo(w.Slice(o * row + offset, block));
                else w.Slice(o * row + offset, block).CopyTo(p.Slice(o * block, block));
            }
            offset += block;
        }
    }
}
