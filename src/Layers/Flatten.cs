using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>Keras' <c>Flatten</c>: <c>[batch, d1, d2, …]</c> to <c>[batch, d1·d2·…]</c>, a view of the same data (no
/// copy), for feeding images such as <c>[N, 28, 28]</c> to a Dense layer.</summary>
public sealed class Flatten<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    // The views are kept while the same tensor comes back (a model's batch buffers), so steady steps allocate nothing.
    private Tensor<T>? _input, _output, _dOutput, _dx;

    /// <inheritdoc/>
    public override string TypeName => "flatten";

    /// <inheritdoc/>
    protected override void BuildCore(TensorShape inputShape, Random rng) => ComputeOutputShape(inputShape);

    /// <inheritdoc/>
    protected override void CheckFeatures(TensorShape inputShape, string paramName)
    {
        if (BuiltInputShape is { } b && Features(b) != Features(inputShape))
            throw new ArgumentException($"{Name} was built for samples of {Features(b)} values ({b}) but got {inputShape}.", paramName);
    }

    private static long Features(TensorShape s)
    {
        long n = 1;
        for (int i = 1; i < s.Rank; i++) n *= s[i];
        return n;
    }

    /// <inheritdoc/>
    public override TensorShape ComputeOutputShape(TensorShape inputShape)
    {
        if (inputShape.Rank < 2)
            throw new ArgumentException($"{Name} takes [batch, ...]; got {inputShape}.", nameof(inputShape));
        long f = Features(inputShape);
        if (f > int.MaxValue) throw new ArgumentException($"{Name}: a sample of {inputShape} has {f} values, more than a dimension can hold.", nameof(inputShape));
        return new TensorShape(inputShape[0], (int)f);
    }

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        EnsureBuilt(input);
        if (!ReferenceEquals(input, _input) || _output!.Shape != ComputeOutputShape(input.Shape))
        {
            _input = input;
            _output = input.Reshape(ComputeOutputShape(input.Shape));
        }
        return _output;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_output, dOutput, Name);
        if (!ReferenceEquals(dOutput, _dOutput) || _dx!.Shape != _input!.Shape)
        {
            _dOutput = dOutput;
            _dx = dOutput.Reshape(_input!.Shape);
        }
        return _dx;
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() => new Dictionary<string, string>();
}
