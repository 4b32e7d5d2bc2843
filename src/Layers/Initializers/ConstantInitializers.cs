using Nn.Simd.Tensors;

namespace Nn.Simd.Layers.Initializers;

/// <summary>Every element equals <see cref="Value"/> (<c>zeros</c>, <c>ones</c>, <c>constant</c>).</summary>
public sealed class Constant(double value) : Initializer
{
    /// <summary>The fill value.</summary>
    public double Value { get; } = value;

    /// <inheritdoc/>
    public override string Name => Value == 0 ? "zeros" : Value == 1 ? "ones" : "constant:" + Arg(Value);

    /// <inheritdoc/>
    public override void Initialize<T>(Tensor<T> tensor, Random rng) => tensor.Fill(T.CreateChecked(Value));
}

/// <summary><c>gain·I</c>: ones times <see cref="Gain"/> on the main diagonal of a <c>[rows, cols]</c> matrix (square or
/// not), zeros elsewhere; Keras' <c>Identity(gain = 1)</c> (<c>identity</c>). It draws nothing.</summary>
/// <remarks>As in Keras, only matrices are accepted; a tensor of any other rank is an error.</remarks>
public sealed class Identity : Initializer
{
    /// <summary>Creates the initializer.</summary>
    /// <param name="gain">The diagonal value; finite.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="gain"/> is not finite.</exception>
    public Identity(double gain = 1.0) =>
        Gain = double.IsFinite(gain) ? gain : throw new ArgumentOutOfRangeException(nameof(gain), $"gain must be finite; got {gain}.");

    /// <summary>The diagonal value.</summary>
    public double Gain { get; }

    /// <inheritdoc/>
    public override string Name => Gain == 1 ? "identity" : "identity:" + Arg(Gain);

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">The tensor is not rank 2.</exception>
    public override void Initialize<T>(Tensor<T> tensor, Random rng)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Shape.Rank != 2)
            throw new ArgumentException($"The identity initializer fills 2-D matrices only; got shape {tensor.Shape} of rank {tensor.Shape.Rank}.", nameof(tensor));
        int rows = tensor.Shape[0], cols = tensor.Shape[1];
        var s = tensor.Span;
        s.Clear();
        T g = T.CreateChecked(Gain);
        for (int i = 0; i < Math.Min(rows, cols); i++) s[i * cols + i] = g;
    }
}
