using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>
/// Keras' <c>Rescaling</c>: y = x · <see cref="Scale"/> + <see cref="Offset"/>, elementwise, any input shape, in
/// training and inference alike; no weights. Backward: dx = scale · dy.
/// </summary>
/// <remarks>
/// Typical uses: <c>Rescaling(1 / 255.0)</c> maps pixels from [0, 255] to [0, 1], and <c>Rescaling(1 / 127.5, -1)</c>
/// maps them to [−1, 1]. As a model's first layer its input gradient is of the data and nothing reads it, so
/// <c>Sequential</c> switches it off (<see cref="IInputGradientOptional"/>) and Backward returns zeros without the
/// multiply. Keras 3 also takes a per-channel list for scale and offset; this layer takes scalars only.
/// </remarks>
public sealed class Rescaling<T> : Layer<T>, IInputGradientOptional where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Workspace<T> _wY = new(), _wDx = new();
    private readonly T _scale, _offset;
    private Tensor<T>? _lastY;

    /// <summary>Creates the layer.</summary>
    /// <param name="scale">The factor each element is multiplied by; finite.</param>
    /// <param name="offset">The value added after scaling; finite (Keras' default: 0).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="scale"/> or <paramref name="offset"/> is NaN or infinite.</exception>
    public Rescaling(double scale, double offset = 0)
    {
        if (!double.IsFinite(scale)) throw new ArgumentOutOfRangeException(nameof(scale), $"scale must be finite; got {scale}.");
        if (!double.IsFinite(offset)) throw new ArgumentOutOfRangeException(nameof(offset), $"offset must be finite; got {offset}.");
        (Scale, Offset) = (scale, offset);
        (_scale, _offset) = (T.CreateChecked(scale), T.CreateChecked(offset));
    }

    /// <inheritdoc/>
    public override string TypeName => "rescaling";

    /// <summary>The factor each element is multiplied by.</summary>
    public double Scale { get; }

    /// <summary>The value added after scaling.</summary>
    public double Offset { get; }

    /// <inheritdoc/>
    public bool ComputeInputGradient { get; set; } = true;

    /// <inheritdoc/>
    protected override void BuildCore(TensorShape inputShape, Random rng) { }

    /// <inheritdoc/>
    /// <remarks>Any shape fits: the layer is elementwise.</remarks>
    protected override void CheckFeatures(TensorShape inputShape, string paramName) { }

    /// <inheritdoc/>
    public override TensorShape ComputeOutputShape(TensorShape inputShape) => inputShape;

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        EnsureBuilt(input);
        var y = _wY.Get(input.Shape);
        TensorPrimitives.Multiply(input.ReadOnlySpan, _scale, y.Span);   // rounded, then the offset added: not fused
        if (_offset != T.Zero) TensorPrimitives.Add(y.Span, _offset, y.Span);
        _lastY = y;
        return y;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_lastY, dOutput, Name);
        if (!ComputeInputGradient) return _wDx.Get(dOutput.Shape, clear: true);
        var dx = _wDx.Get(dOutput.Shape);
        TensorPrimitives.Multiply(dOutput.ReadOnlySpan, _scale, dx.Span);
        return dx;
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() => new Dictionary<string, string>
    {
        ["scale"] = Str(Scale),
        ["offset"] = Str(Offset),
    };
}
