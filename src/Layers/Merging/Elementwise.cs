using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

// Shapes: every input and the output are [B, ...], all the same shape; x_i is input i, y the output, dy = ∂L/∂y.

/// <summary>A merge layer that combines inputs of one shape element by element (Keras' <c>Add</c>, <c>Maximum</c>, …).</summary>
/// <remarks>Keras also broadcasts axes of size 1 between the inputs; this is not supported here: all inputs must have
/// exactly the same shape, batch included, or an <see cref="ArgumentException"/> names them all.</remarks>
public abstract class ElementwiseMerge<T> : MergeLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Sets the number of inputs the layer accepts.</summary>
    protected ElementwiseMerge(int minInputs, int maxInputs = int.MaxValue) : base(minInputs, maxInputs) { }

    /// <inheritdoc/>
    protected sealed override TensorShape OutputShape(IReadOnlyList<TensorShape> shapes, string paramName)
    {
        for (int i = 1; i < shapes.Count; i++)
            if (shapes[i] != shapes[0])
                throw new ArgumentException($"{Describe(shapes)}; a {TypeName} layer needs inputs of one shape (broadcasting is not supported).", paramName);
        return shapes[0];
    }
}

/// <summary><c>y = Σᵢ xᵢ</c>, element by element (Keras' <c>Add</c>); <c>∂L/∂xᵢ = dy</c>. Two or more inputs of one
/// shape.</summary>
/// <remarks>Keras broadcasts axes of size 1; this layer does not (see <see cref="ElementwiseMerge{T}"/>).</remarks>
public sealed class Add<T>() : ElementwiseMerge<T>(2) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string TypeName => "add";

    /// <inheritdoc/>
    protected override void ForwardCore(ReadOnlySpan<Tensor<T>> inputs, Tensor<T> output)
    {
        TensorPrimitives.Add(inputs[0].ReadOnlySpan, inputs[1].ReadOnlySpan, output.Span);
        for (int i = 2; i < inputs.Length; i++) TensorPrimitives.Add(output.ReadOnlySpan, inputs[i].ReadOnlySpan, output.Span);
    }

    /// <inheritdoc/>
    protected override void BackwardCore(Tensor<T> dOutput, ReadOnlySpan<Tensor<T>> inputs, ReadOnlySpan<Tensor<T>> dInputs)
    {
        foreach (var dx in dInputs) dOutput.CopyTo(dx);
    }
}

/// <summary><c>y = x₀ − x₁</c>, element by element (Keras' <c>Subtract</c>); <c>∂L/∂x₀ = dy</c>, <c>∂L/∂x₁ = −dy</c>.
/// Exactly two inputs of one shape.</summary>
/// <remarks>Keras broadcasts axes of size 1; this layer does not (see <see cref="ElementwiseMerge{T}"/>).</remarks>
public sealed class Subtract<T>() : ElementwiseMerge<T>(2, 2) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string TypeName => "subtract";

    /// <inheritdoc/>
    protected override void ForwardCore(ReadOnlySpan<Tensor<T>> inputs, Tensor<T> output) =>
        TensorPrimitives.Subtract(inputs[0].ReadOnlySpan, inputs[1].ReadOnlySpan, output.Span);

    /// <inheritdoc/>
    protected override void BackwardCore(Tensor<T> dOutput, ReadOnlySpan<Tensor<T>> inputs, ReadOnlySpan<Tensor<T>> dInputs)
    {
        dOutput.CopyTo(dInputs[0]);
        TensorPrimitives.Negate(dOutput.ReadOnlySpan, dInputs[1].Span);
    }
}

/// <summary><c>y = Πᵢ xᵢ</c>, element by element (Keras' <c>Multiply</c>); <c>∂L/∂xᵢ = dy · Π_{j≠i} xⱼ</c>. Two or
/// more inputs of one shape.</summary>
/// <remarks>The gradient multiplies the other inputs rather than dividing the output by xᵢ, so zeros are exact. Keras
/// broadcasts axes of size 1; this layer does not (see <see cref="ElementwiseMerge{T}"/>).</remarks>
public sealed class Multiply<T>() : ElementwiseMerge<T>(2) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string TypeName => "multiply";

    /// <inheritdoc/>
    protected override void ForwardCore(ReadOnlySpan<Tensor<T>> inputs, Tensor<T> output)
    {
        TensorPrimitives.Multiply(inputs[0].ReadOnlySpan, inputs[1].ReadOnlySpan, output.Span);
        for (int i = 2; i < inputs.Length; i++) TensorPrimitives.Multiply(output.ReadOnlySpan, inputs[i].ReadOnlySpan, output.Span);
    }

    /// <inheritdoc/>
    protected override void BackwardCore(Tensor<T> dOutput, ReadOnlySpan<Tensor<T>> inputs, ReadOnlySpan<Tensor<T>> dInputs)
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
/// Two or more inputs of one shape.</summary>
/// <remarks>Keras broadcasts axes of size 1; this layer does not (see <see cref="ElementwiseMerge{T}"/>).</remarks>
public sealed class Average<T>() : ElementwiseMerge<T>(2) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string TypeName => "average";

    /// <inheritdoc/>
    protected override void ForwardCore(ReadOnlySpan<Tensor<T>> inputs, Tensor<T> output)
    {
        var y = output.Span;
        TensorPrimitives.Add(inputs[0].ReadOnlySpan, inputs[1].ReadOnlySpan, y);
        for (int i = 2; i < inputs.Length; i++) TensorPrimitives.Add(y, inputs[i].ReadOnlySpan, y);
        TensorPrimitives.Divide(y, T.CreateChecked(inputs.Length), y);
    }

    /// <inheritdoc/>
    protected override void BackwardCore(Tensor<T> dOutput, ReadOnlySpan<Tensor<T>> inputs, ReadOnlySpan<Tensor<T>> dInputs)
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
/// equally between the tied inputs instead. Away from ties the two agree, and it is the derivative.
/// </remarks>
public abstract class ExtremumMerge<T> : ElementwiseMerge<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly bool _max;

    /// <summary>A maximum (<paramref name="max"/>) or a minimum of two or more inputs.</summary>
    private protected ExtremumMerge(bool max) : base(2) => _max = max;

    /// <inheritdoc/>
    protected sealed override void ForwardCore(ReadOnlySpan<Tensor<T>> inputs, Tensor<T> output)
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
    protected sealed override void BackwardCore(Tensor<T> dOutput, ReadOnlySpan<Tensor<T>> inputs, ReadOnlySpan<Tensor<T>> dInputs)
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
/// first input holding the maximum, 0 elsewhere. Two or more inputs of one shape.</summary>
/// <remarks>At ties the whole gradient goes to the first tied input, as in Keras on TensorFlow; PyTorch splits it (see
/// <see cref="ExtremumMerge{T}"/>). Keras broadcasts axes of size 1; this layer does not.</remarks>
public sealed class Maximum<T>() : ExtremumMerge<T>(max: true) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string TypeName => "maximum";
}

/// <summary><c>y = min(x₀, x₁, …)</c>, element by element (Keras' <c>Minimum</c>); <c>∂L/∂xᵢ = dy</c> where xᵢ is the
/// first input holding the minimum, 0 elsewhere. Two or more inputs of one shape.</summary>
/// <remarks>At ties the whole gradient goes to the first tied input, as in Keras on TensorFlow; PyTorch splits it (see
/// <see cref="ExtremumMerge{T}"/>). Keras broadcasts axes of size 1; this layer does not.</remarks>
public sealed class Minimum<T>() : ExtremumMerge<T>(max: false) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string TypeName => "minimum";
}
