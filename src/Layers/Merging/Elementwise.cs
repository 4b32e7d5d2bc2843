using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

// Shapes: every input is [B, ...] of one rank; each non-batch axis of an input either has the output's size or is 1
// (Keras' broadcasting). The output y is [B, ...] with the larger size on every axis; x_i is input i, dy = ∂L/∂y.

/// <summary>A merge layer that combines inputs element by element (Keras' <c>Add</c>, <c>Maximum</c>, …), broadcasting
/// axes of size 1: <c>y[b, t, f] = op(x₀[b, t, f], x₁[b, t or 0, f], …)</c> where an input has size 1 on an axis.</summary>
/// <remarks>
/// As in Keras 3 (<c>Merge._compute_elemwise_op_output_shape</c>), each axis of the inputs must agree or be 1 on one side,
/// and the output takes the larger size, e.g. <c>[B, T, F] + [B, 1, F] → [B, T, F]</c>; the batch axis must agree. Keras
/// also merges inputs of different ranks by inserting axes after the batch axis; that is not supported here: the inputs
/// must have one rank, or an <see cref="ArgumentException"/> names every shape. The gradient of a broadcast input is the
/// gradient of its expanded copy summed over every axis it was broadcast along. Inputs of the output's shape take the
/// same-shape kernels directly; a broadcast input is first expanded into a workspace of the output's shape, and its
/// gradient reduced from another, so a steady pass still allocates nothing.
/// </remarks>
public abstract class ElementwiseMerge<T> : MergeLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private Workspace<T>[] _wExpanded = [];
    private Workspace<T>[] _wExpandedGrads = [];
    private Tensor<T>[] _expanded = [];
    private Tensor<T>[] _expandedGrads = [];
    private bool _broadcast;

    /// <summary>Sets the number of inputs the layer accepts.</summary>
    protected ElementwiseMerge(int minInputs, int maxInputs = int.MaxValue) : base(minInputs, maxInputs) { }

    /// <inheritdoc/>
    protected sealed override TensorShape OutputShape(IReadOnlyList<TensorShape> shapes, string paramName)
    {
        var first = shapes[0];
        int i = 1;
        while (i < shapes.Count && shapes[i] == first) i++;
        if (i == shapes.Count) return first;

        int rank = first.Rank;
        Span<int> dims = stackalloc int[TensorShape.MaxRank];
        for (int a = 0; a < rank; a++) dims[a] = first[a];
        for (i = 1; i < shapes.Count; i++)
        {
            var s = shapes[i];
            if (s.Rank != rank)
                throw new ArgumentException($"{Describe(shapes)}; a {TypeName} layer needs inputs of one rank (axes of size 1 broadcast, missing axes do not).", paramName);
            if (s[0] != dims[0])
                throw new ArgumentException($"{Describe(shapes)}; a {TypeName} layer cannot merge inputs with different batch sizes.", paramName);
            for (int a = 1; a < rank; a++)
            {
                int d = s[a];
                if (d == dims[a] || d == 1) continue;
                if (dims[a] != 1)
                    throw new ArgumentException($"{Describe(shapes)}; a {TypeName} layer needs every axis of the inputs to agree or be 1 (axis {a}: {dims[a]} vs {d}).", paramName);
                dims[a] = d;
            }
        }
        return new TensorShape(dims[..rank]);
    }

    /// <inheritdoc/>
    protected sealed override void ForwardCore(ReadOnlySpan<Tensor<T>> inputs, Tensor<T> output)
    {
        var shape = output.Shape;
        _broadcast = false;
        foreach (var x in inputs) _broadcast |= x.Shape != shape;
        if (!_broadcast)
        {
            ForwardElementwise(inputs, output);
            return;
        }
        int n = inputs.Length;
        if (_expanded.Length != n)
        {
            _expanded = new Tensor<T>[n];
            _expandedGrads = new Tensor<T>[n];
            _wExpanded = new Workspace<T>[n];
            _wExpandedGrads = new Workspace<T>[n];
            for (int i = 0; i < n; i++) { _wExpanded[i] = new Workspace<T>(); _wExpandedGrads[i] = new Workspace<T>(); }
        }
        for (int i = 0; i < n; i++)
        {
            if (inputs[i].Shape == shape) { _expanded[i] = inputs[i]; continue; }
            _expanded[i] = _wExpanded[i].Get(shape);
            BroadcastTo(inputs[i], _expanded[i]);
        }
        ForwardElementwise(_expanded, output);
    }

    /// <inheritdoc/>
    protected sealed override void BackwardCore(Tensor<T> dOutput, ReadOnlySpan<Tensor<T>> inputs, ReadOnlySpan<Tensor<T>> dInputs)
    {
        if (!_broadcast)
        {
            BackwardElementwise(dOutput, inputs, dInputs);
            return;
        }
        var shape = dOutput.Shape;
        for (int i = 0; i < inputs.Length; i++)
            _expandedGrads[i] = inputs[i].Shape == shape ? dInputs[i] : _wExpandedGrads[i].Get(shape);
        BackwardElementwise(dOutput, _expanded, _expandedGrads);
        for (int i = 0; i < inputs.Length; i++)
            if (inputs[i].Shape != shape) SumTo(_expandedGrads[i], dInputs[i]);
    }

    /// <summary>Writes the merged inputs into <paramref name="output"/>; every input has the output's shape.</summary>
    protected abstract void ForwardElementwise(ReadOnlySpan<Tensor<T>> inputs, Tensor<T> output);

    /// <summary>Overwrites every <paramref name="dInputs"/>[i] with ∂L/∂input i, given <paramref name="dOutput"/> and the
    /// inputs of the forward pass; every tensor has the output's shape.</summary>
    protected abstract void BackwardElementwise(Tensor<T> dOutput, ReadOnlySpan<Tensor<T>> inputs, ReadOnlySpan<Tensor<T>> dInputs);

    /// <summary><c>y[i₀, i₁, i₂, i₃] = x[i₀ or 0, i₁ or 0, i₂ or 0, i₃ or 0]</c>, taking 0 on the axes where x has size 1
    /// (shapes padded in front to rank 4).</summary>
    private static void BroadcastTo(Tensor<T> x, Tensor<T> y)
    {
        Pad(x.Shape, out int e0, out int e1, out int e2, out int e3);
        Pad(y.Shape, out int d0, out int d1, out int d2, out int d3);
        var src = x.ReadOnlySpan;
        var dst = y.Span;
        for (int i0 = 0; i0 < d0; i0++)
            for (int i1 = 0; i1 < d1; i1++)
                for (int i2 = 0; i2 < d2; i2++)
                {
                    int s = (((e0 == 1 ? 0 : i0) * e1 + (e1 == 1 ? 0 : i1)) * e2 + (e2 == 1 ? 0 : i2)) * e3;
                    var row = dst.Slice(((i0 * d1 + i1) * d2 + i2) * d3, d3);
                    if (e3 == d3) src.Slice(s, d3).CopyTo(row);
                    else row.Fill(src[s]);
                }
    }

    /// <summary><c>dx[j] = Σ dy[i]</c> over every output index i that <see cref="BroadcastTo"/> maps to input index j: the
    /// gradient summed over each axis where x has size 1.</summary>
    private static void SumTo(Tensor<T> dy, Tensor<T> dx)
    {
        Pad(dx.Shape, out int e0, out int e1, out int e2, out int e3);
        Pad(dy.Shape, out int d0, out int d1, out int d2, out int d3);
        var src = dy.ReadOnlySpan;
        var dst = dx.Span;
        dst.Clear();
        for (int i0 = 0; i0 < d0; i0++)
            for (int i1 = 0; i1 < d1; i1++)
                for (int i2 = 0; i2 < d2; i2++)
                {
                    int s = (((e0 == 1 ? 0 : i0) * e1 + (e1 == 1 ? 0 : i1)) * e2 + (e2 == 1 ? 0 : i2)) * e3;
                    var row = src.Slice(((i0 * d1 + i1) * d2 + i2) * d3, d3);
                    if (e3 == d3) TensorPrimitives.Add(dst.Slice(s, d3), row, dst.Slice(s, d3));
                    else dst[s] += TensorPrimitives.Sum(row);
                }
    }

    /// <summary>The dimensions of <paramref name="s"/> padded in front with 1s to rank 4.</summary>
    private static void Pad(TensorShape s, out int d0, out int d1, out int d2, out int d3)
    {
        int r = s.Rank;
        d0 = r >= 4 ? s[r - 4] : 1;
        d1 = r >= 3 ? s[r - 3] : 1;
        d2 = r >= 2 ? s[r - 2] : 1;
        d3 = s[r - 1];
    }
}

/// <summary><c>y = Σᵢ xᵢ</c>, element by element (Keras' <c>Add</c>); <c>∂L/∂xᵢ = dy</c>. Two or more inputs of one
/// rank, broadcasting axes of size 1 (see <see cref="ElementwiseMerge{T}"/>).</summary>
public sealed class Add<T>() : ElementwiseMerge<T>(2) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string TypeName => "add";

    /// <inheritdoc/>
    protected override void ForwardElementwise(ReadOnlySpan<Tensor<T>> inputs, Tensor<T> output)
    {
        TensorPrimitives.Add(inputs[0].ReadOnlySpan, inputs[1].ReadOnlySpan, output.Span);
        for (int i = 2; i < inputs.Length; i++) TensorPrimitives.Add(output.ReadOnlySpan, inputs[i].ReadOnlySpan, output.Span);
    }

    /// <inheritdoc/>
    protected override void BackwardElementwise(Tensor<T> dOutput, ReadOnlySpan<Tensor<T>> inputs, ReadOnlySpan<Tensor<T>> dInputs)
    {
        foreach (var dx in dInputs) dOutput.CopyTo(dx);
    }
}

/// <summary><c>y = x₀ − x₁</c>, element by element (Keras' <c>Subtract</c>); <c>∂L/∂x₀ = dy</c>, <c>∂L/∂x₁ = −dy</c>.
/// Exactly two inputs of one rank,
/// broadcasting axes of size 1 (see <see cref="ElementwiseMerge{T}"/>).</summary>
public sealed class Subtract<T>() : ElementwiseMerge<T>(2, 2) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string TypeName => "subtract";

    /// <inheritdoc/>
    protected override void ForwardElementwise(ReadOnlySpan<Tensor<T>> inputs, Tensor<T> output) =>
        TensorPrimitives.Subtract(inputs[0].ReadOnlySpan, inputs[1].ReadOnlySpan, output.Span);

    /// <inheritdoc/>
    protected override void BackwardElementwise(Tensor<T> dOutput, ReadOnlySpan<Tensor<T>> inputs, ReadOnlySpan<Tensor<T>> dInputs)
    {
        dOutput.CopyTo(dInputs[0]);
        TensorPrimitives.Negate(dOutput.ReadOnlySpan, dInputs[1].Span);
    }
}

/// <summary><c>y = Πᵢ xᵢ</c>, element by element (Keras' <c>Multiply</c>); <c>∂L/∂xᵢ = dy · Π_{j≠i} xⱼ</c>. Two or
/// more inputs of one rank,
/// broadcasting axes of size 1 (see <see cref="ElementwiseMerge{T}"/>).</summary>
/// <remarks>The gradient multiplies the other inputs rather than dividing the output by xᵢ, so zeros are exact.</remarks>
public sealed class Multiply<T>() : ElementwiseMerge<T>(2) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string TypeName => "multiply";

    /// <inheritdoc/>
    protected override void ForwardElementwise(ReadOnlySpan<Tensor<T>> inputs, Tensor<T> output)
    {
        TensorPrimitives.Multiply(inputs[0].ReadOnlySpan, inputs[1].ReadOnlySpan, output.Span);
        for (int i = 2; i < inputs.Length; i++) TensorPrimitives.Multiply(output.ReadOnlySpan, inputs[i].ReadOnlySpan, output.Span);
    }

    /// <inheritdoc/>
    protected override void BackwardElementwise(Tensor<T> dOutput, ReadOnlySpan<Tensor<T>> inputs, ReadOnlySpan<Tensor<T>> dInputs)
    {
        for (int i = 0; i < inputs.Length; i++)
        {
            var dx = dInputs[i].Span;
            dOutput.ReadOnlySpan.CopyTo(dx);
            for (int j = 0; j < inputs.Length; j++)
                if (j != i) TensorPrimitives.Multiply(dx, inputs[j].ReadOnlySpan, dx);
        }
    }
}

/// <summary><c>y = (Σᵢ xᵢ) / n</c> over the n inputs, element by element (Keras' <c>Average</c>); <c>∂L/∂xᵢ = dy / n</c>.
/// Two or more inputs of one rank,
/// broadcasting axes of size 1 (see <see cref="ElementwiseMerge{T}"/>).</summary>
public sealed class Average<T>() : ElementwiseMerge<T>(2) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string TypeName => "average";

    /// <inheritdoc/>
    protected override void ForwardElementwise(ReadOnlySpan<Tensor<T>> inputs, Tensor<T> output)
    {
        var y = output.Span;
        TensorPrimitives.Add(inputs[0].ReadOnlySpan, inputs[1].ReadOnlySpan, y);
        for (int i = 2; i < inputs.Length; i++) TensorPrimitives.Add(y, inputs[i].ReadOnlySpan, y);
        TensorPrimitives.Divide(y, T.CreateChecked(inputs.Length), y);
    }

    /// <inheritdoc/>
    protected override void BackwardElementwise(Tensor<T> dOutput, ReadOnlySpan<Tensor<T>> inputs, ReadOnlySpan<Tensor<T>> dInputs)
    {
        var n = T.CreateChecked(inputs.Length);
        foreach (var dx in dInputs) TensorPrimitives.Divide(dOutput.ReadOnlySpan, n, dx.Span);
    }
}

/// <summary>The element-wise extremum of the inputs, and its gradient routed to one input per element.</summary>
/// <remarks>
/// Keras 3 computes <c>maximum(maximum(x₀, x₁), x₂)…</c>, and TensorFlow's gradient of <c>maximum(a, b)</c> goes to
/// <c>a</c> where <c>a ≥ b</c> and to <c>b</c> elsewhere (<c>_MaximumMinimumGrad</c> with <c>greater_equal</c>;
/// <c>less_equal</c> for minimum). Chained, that sends the whole of <c>dy</c> to the <em>first</em> input that attains the
/// extremum and zero to the others; this layer follows that rule at ties. PyTorch (and JAX) split a tie's gradient
/// equally between the tied inputs instead. Away from ties the two agree, and it is the derivative. With broadcasting the
/// rule holds per output element (a broadcast input competes with the value it was expanded to there), and a broadcast
/// input's gradient is then the sum of what it won over the axes it was broadcast along.
/// </remarks>
public abstract class ExtremumMerge<T> : ElementwiseMerge<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly bool _max;

    /// <summary>A maximum (<paramref name="max"/>) or a minimum of two or more inputs.</summary>
    private protected ExtremumMerge(bool max) : base(2) => _max = max;

    /// <inheritdoc/>
    protected sealed override void ForwardElementwise(ReadOnlySpan<Tensor<T>> inputs, Tensor<T> output)
    {
        var y = output.Span;
        if (_max) TensorPrimitives.Max(inputs[0].ReadOnlySpan, inputs[1].ReadOnlySpan, y);
        else TensorPrimitives.Min(inputs[0].ReadOnlySpan, inputs[1].ReadOnlySpan, y);
        for (int i = 2; i < inputs.Length; i++)
        {
            if (_max) TensorPrimitives.Max(y, inputs[i].ReadOnlySpan, y);
            else TensorPrimitives.Min(y, inputs[i].ReadOnlySpan, y);
        }
    }

    /// <inheritdoc/>
    protected sealed override void BackwardElementwise(Tensor<T> dOutput, ReadOnlySpan<Tensor<T>> inputs, ReadOnlySpan<Tensor<T>> dInputs)
    {
        foreach (var dx in dInputs) dx.Clear();
        var dy = dOutput.ReadOnlySpan;
        for (int e = 0; e < dy.Length; e++)
        {
            // The first input holding the extremum: a later one takes over only when strictly better.
            int winner = 0;
            T best = inputs[0].ReadOnlySpan[e];
            for (int i = 1; i < inputs.Length; i++)
            {
                T v = inputs[i].ReadOnlySpan[e];
                if (_max ? v > best : v < best) { best = v; winner = i; }
            }
            dInputs[winner].Span[e] = dy[e];
        }
    }
}

/// <summary><c>y = max(x₀, x₁, …)</c>, element by element (Keras' <c>Maximum</c>); <c>∂L/∂xᵢ = dy</c> where xᵢ is the
/// first input holding the maximum, 0 elsewhere. Two or more inputs of one rank,
/// broadcasting axes of size 1 (see <see cref="ElementwiseMerge{T}"/>).</summary>
/// <remarks>At ties the whole gradient goes to the first tied input, as in Keras on TensorFlow; PyTorch splits it (see
/// <see cref="ExtremumMerge{T}"/>).</remarks>
public sealed class Maximum<T>() : ExtremumMerge<T>(max: true) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string TypeName => "maximum";
}

/// <summary><c>y = min(x₀, x₁, …)</c>, element by element (Keras' <c>Minimum</c>); <c>∂L/∂xᵢ = dy</c> where xᵢ is the
/// first input holding the minimum, 0 elsewhere. Two or more inputs of one rank,
/// broadcasting axes of size 1 (see <see cref="ElementwiseMerge{T}"/>).</summary>
/// <remarks>At ties the whole gradient goes to the first tied input, as in Keras on TensorFlow; PyTorch splits it (see
/// <see cref="ExtremumMerge{T}"/>).</remarks>
public sealed class Minimum<T>() : ExtremumMerge<T>(max: false) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string TypeName => "minimum";
}
