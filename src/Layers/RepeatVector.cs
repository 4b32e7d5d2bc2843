using System.Globalization;
using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>
/// Keras' <c>RepeatVector</c>: y[b, t, f] = x[b, f] for t &lt; n, <c>[batch, features]</c> to <c>[batch, n, features]</c>,
/// e.g. to feed an encoder's last state to every step of a decoder (LSTM → RepeatVector → LSTM(return_sequences)).
/// Backward: dx[b, f] = Σ_t dy[b, t, f].
/// </summary>
public sealed class RepeatVector<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Workspace<T> _wY = new(), _wDx = new();
    private Tensor<T>? _lastY;

    /// <summary>Creates the layer.</summary>
    /// <param name="n">The number of repetitions (output steps); positive.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="n"/> is not positive.</exception>
    public RepeatVector(int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        N = n;
    }

    /// <inheritdoc/>
    public override string TypeName => "repeat_vector";

    /// <summary>The number of repetitions.</summary>
    public int N { get; }

    /// <inheritdoc/>
    protected override void BuildCore(TensorShape inputShape, Random rng) => ComputeOutputShape(inputShape);

    /// <inheritdoc/>
    public override TensorShape ComputeOutputShape(TensorShape inputShape)
    {
        if (inputShape.Rank != 2)
            throw new ArgumentException($"{Name} takes [batch, features]; got {inputShape}.", "input");
        return new TensorShape(inputShape[0], N, inputShape[1]);
    }

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        EnsureBuilt(input);
        var y = _wY.Get(ComputeOutputShape(input.Shape));
        int b = input.Shape[0], f = input.Shape[1];
        var x = input.ReadOnlySpan;
        var ys = y.Span;
        for (int n = 0; n < b; n++)
            for (int t = 0; t < N; t++) x.Slice(n * f, f).CopyTo(ys.Slice((n * N + t) * f, f));
        _lastY = y;
        return y;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_lastY, dOutput, Name);
        int b = dOutput.Shape[0], f = dOutput.Shape[2];
        var dx = _wDx.Get(b, f);
        var dy = dOutput.ReadOnlySpan;
        var dxs = dx.Span;
        for (int n = 0; n < b; n++)
        {
            var d = dxs.Slice(n * f, f);
            dy.Slice(n * N * f, f).CopyTo(d);
            for (int t = 1; t < N; t++) TensorPrimitives.Add(d, dy.Slice((n * N + t) * f, f), d);
        }
        return dx;
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() => new Dictionary<string, string>
    {
        ["n"] = N.ToString(CultureInfo.InvariantCulture),
    };
}
