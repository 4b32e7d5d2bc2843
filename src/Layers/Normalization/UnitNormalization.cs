using System.Globalization;
using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

// Shapes: the input viewed as [O, N, I]: O = the product of the axes before the normalised axis (batch included),
// N = the normalised axis, I = the product of the axes after it (1 for the last axis).
// Per (o, i): s = Σₙ x², r = 1/√max(s, 1e-12), y = x·r.
// Backward: where s ≥ 1e-12, dx = r·(dy − y·Σₙ dy⊙y); where s < 1e-12 the maximum is the constant, y = 1e6·x and dx = r·dy.

/// <summary>
/// Keras' <c>UnitNormalization</c>: scales each vector along <see cref="Axis"/> to unit L2 norm,
/// <c>y = x / √max(Σ x², 1e-12)</c>, the same in training and inference; no weights.
/// </summary>
/// <remarks>
/// <para>Keras clamps the squared sum at 1e-12, so vectors with a norm under 1e-6 are multiplied by 1e6 rather than
/// normalised. That is PyTorch's <c>F.normalize(x, dim, eps=1e-6)</c>, <c>x / max(‖x‖, ε)</c>, exactly, gradient
/// included; PyTorch's default ε = 1e-12 normalises down to norms of 1e-12.</para>
/// <para>One axis only (Keras also takes a list), and not the batch axis, which would make a sample's output
/// depend on the others in its batch.</para>
/// </remarks>
public sealed class UnitNormalization<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Keras' floor on the squared norm.</summary>
    private const double SquaredNormFloor = 1e-12;

    private readonly Workspace<T> _wY = new(), _wSq = new(), _wInv = new(), _wDot = new(), _wDx = new();
    private Tensor<T>? _sq, _inv, _lastY;

    /// <summary>Creates the layer.</summary>
    /// <param name="axis">The axis to normalise along: -1 (the last) by default; negative values count from the end;
    /// not the batch axis.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="axis"/> is 0 (the batch) or beyond the largest rank.</exception>
    public UnitNormalization(int axis = -1)
    {
        if (axis == 0 || axis >= TensorShape.MaxRank || axis < -(TensorShape.MaxRank - 1))
            throw new ArgumentOutOfRangeException(nameof(axis),
                $"axis must name a non-batch axis: 1 to {TensorShape.MaxRank - 1}, or -1 to -{TensorShape.MaxRank - 1} from the end; got {axis}.");
        Axis = axis;
    }

    /// <inheritdoc/>
    public override string TypeName => "unit_normalization";

    /// <summary>The normalised axis as given (negative counts from the end).</summary>
    public int Axis { get; }

    /// <summary>The [O, N, I] view of <paramref name="shape"/>.</summary>
    private (int Outer, int N, int Inner) Split(TensorShape shape)
    {
        int a = Axis < 0 ? Axis + shape.Rank : Axis;
        if (a < 1 || a >= shape.Rank)
            throw new ArgumentException($"{Name} normalises along axis {Axis}, which is {(a == 0 ? "the batch axis" : "outside the shape")} of {shape}.", "input");
        int outer = 1, inner = 1;
        for (int i = 0; i < a; i++) outer *= shape[i];
        for (int i = a + 1; i < shape.Rank; i++) inner *= shape[i];
        return (outer, shape[a], inner);
    }

    /// <inheritdoc/>
    protected override void BuildCore(TensorShape inputShape, Random rng) => Split(inputShape);

    /// <inheritdoc/>
    public override TensorShape ComputeOutputShape(TensorShape inputShape)
    {
        Split(inputShape);
        return inputShape;
    }

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        EnsureBuilt(input);
        var (outer, n, inner) = Split(input.Shape);
        var x = input.ReadOnlySpan;
        var sq = (_sq = _wSq.Get(new TensorShape(Math.Max(outer * inner, 1)))).Span;
        var inv = (_inv = _wInv.Get(new TensorShape(Math.Max(outer * inner, 1)))).Span;
        var y = _wY.Get(input.Shape);
        var ys = y.Span;
        T floor = T.CreateChecked(SquaredNormFloor);
        if (inner == 1)
        {
            // Contiguous vectors: one reduction each.
            for (int o = 0; o < outer; o++)
            {
                var xr = x.Slice(o * n, n);
                T s = TensorPrimitives.SumOfSquares(xr);
                sq[o] = s;
                inv[o] = T.One / T.Sqrt(T.Max(s, floor));
                TensorPrimitives.Multiply(xr, inv[o], ys.Slice(o * n, n));
            }
        }
        else
        {
            // Strided vectors: reduce whole [I] rows at a time, so that every operation runs along contiguous memory.
            int block = n * inner;
            for (int o = 0; o < outer; o++)
            {
                var s = sq.Slice(o * inner, inner);
                var r = inv.Slice(o * inner, inner);
                s.Clear();
                for (int k = 0; k < n; k++)
                {
                    var xr = x.Slice(o * block + k * inner, inner);
                    TensorPrimitives.MultiplyAdd(xr, xr, s, s);
                }
                TensorPrimitives.Max(s, floor, r);
                TensorPrimitives.ReciprocalSqrt(r, r);
                for (int k = 0; k < n; k++)
                    TensorPrimitives.Multiply(x.Slice(o * block + k * inner, inner), r, ys.Slice(o * block + k * inner, inner));
            }
        }
        _lastY = y;
        return y;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_lastY, dOutput, Name);
        var (outer, n, inner) = Split(dOutput.Shape);
        var dy = dOutput.ReadOnlySpan;
        var y = _lastY!.ReadOnlySpan;
        var sq = _sq!.ReadOnlySpan;
        var inv = _inv!.ReadOnlySpan;
        var dx = _wDx.Get(dOutput.Shape);
        var dxs = dx.Span;
        T floor = T.CreateChecked(SquaredNormFloor);
        if (inner == 1)
        {
            for (int o = 0; o < outer; o++)
            {
                var dyr = dy.Slice(o * n, n);
                var d = dxs.Slice(o * n, n);
                // dx = r·(dy − y·Σ dy⊙y), the projection term only where the norm was not clamped.
                T dot = sq[o] >= floor ? TensorPrimitives.Dot(dyr, y.Slice(o * n, n)) : T.Zero;
                TensorPrimitives.MultiplyAdd(y.Slice(o * n, n), -dot, dyr, d);
                TensorPrimitives.Multiply(d, inv[o], d);
            }
            return dx;
        }
        int block = n * inner;
        var negDot = _wDot.Get(new TensorShape(inner)).Span;
        for (int o = 0; o < outer; o++)
        {
            negDot.Clear();
            for (int k = 0; k < n; k++)
            {
                int at = o * block + k * inner;
                TensorPrimitives.MultiplyAdd(dy.Slice(at, inner), y.Slice(at, inner), negDot, negDot);
            }
            var s = sq.Slice(o * inner, inner);
            for (int i = 0; i < inner; i++) negDot[i] = s[i] >= floor ? -negDot[i] : T.Zero;
            var r = inv.Slice(o * inner, inner);
            for (int k = 0; k < n; k++)
            {
                int at = o * block + k * inner;
                var d = dxs.Slice(at, inner);
                TensorPrimitives.MultiplyAdd(y.Slice(at, inner), negDot, dy.Slice(at, inner), d);
                TensorPrimitives.Multiply(d, r, d);
            }
        }
        return dx;
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() =>
        new Dictionary<string, string> { ["axis"] = Axis.ToString(CultureInfo.InvariantCulture) };
}
