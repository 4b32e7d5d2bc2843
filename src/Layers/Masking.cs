using System.Globalization;
using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>
/// Keras' <c>Masking</c>: a time step whose features all equal <see cref="MaskValue"/> is padding. The output is the
/// input with those steps set to zero, and its <see cref="OutputMask"/> tells the recurrent layers after it to skip
/// them (<see cref="SequenceMask"/>). Input and output <c>[batch, time, features]</c>.
/// </summary>
public sealed class Masking<T> : Layer<T>, IMaskProducer where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Workspace<T> _wOut = new(), _wDx = new();
    private Tensor<T>? _lastOutput;
    private SequenceMask? _mask;

    /// <summary>Creates the layer.</summary>
    /// <param name="maskValue">The padding value (Keras' default 0).</param>
    /// <exception cref="ArgumentException">The value is NaN (no feature would ever equal it).</exception>
    public Masking(double maskValue = 0)
    {
        if (double.IsNaN(maskValue)) throw new ArgumentException("maskValue must not be NaN: NaN equals nothing, so no step would be masked.", nameof(maskValue));
        MaskValue = maskValue;
    }

    /// <inheritdoc/>
    public override string TypeName => "masking";

    /// <summary>The padding value.</summary>
    public double MaskValue { get; }

    /// <inheritdoc/>
    public SequenceMask? OutputMask => _mask;

    /// <inheritdoc/>
    protected override void BuildCore(TensorShape inputShape, Random rng) => CheckRank(inputShape);

    /// <inheritdoc/>
    protected override void CheckFeatures(TensorShape inputShape, string paramName) => CheckRank(inputShape);

    private void CheckRank(TensorShape shape)
    {
        if (shape.Rank != 3)
            throw new ArgumentException($"{Name} takes [batch, time, features]; got {shape}.", "input");
    }

    /// <inheritdoc/>
    public override TensorShape ComputeOutputShape(TensorShape inputShape)
    {
        CheckRank(inputShape);
        return inputShape;
    }

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        EnsureBuilt(input);
        int b = input.Shape[0], steps = input.Shape[1], f = input.Shape[2];
        if (_mask is null || _mask.Batch != b || _mask.Steps != steps) _mask = b > 0 && steps > 0 ? new SequenceMask(b, steps) : null;
        var y = _wOut.Get(input.Shape);
        var xs = input.ReadOnlySpan;
        var ys = y.Span;
        var kept = _mask is null ? default : _mask.Values;
        T value = T.CreateChecked(MaskValue);
        for (int i = 0; i < kept.Length; i++)
        {
            var row = xs.Slice(i * f, f);
            // Kept when any feature differs from the mask value (a NaN feature differs, as in Keras).
            kept[i] = row.IndexOfAnyExcept(value) >= 0;
            if (kept[i]) row.CopyTo(ys.Slice(i * f, f));
            else ys.Slice(i * f, f).Clear();
        }
        _lastOutput = y;
        return y;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_lastOutput, dOutput, Name);
        int f = dOutput.Shape[2];
        var dx = _wDx.Get(dOutput.Shape);
        var dys = dOutput.ReadOnlySpan;
        var dxs = dx.Span;
        var kept = _mask is null ? default : _mask.Values;
        for (int i = 0; i < kept.Length; i++)
        {
            if (kept[i]) dys.Slice(i * f, f).CopyTo(dxs.Slice(i * f, f));
            else dxs.Slice(i * f, f).Clear();
        }
        return dx;
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() => new Dictionary<string, string>
    {
        ["mask_value"] = MaskValue.ToString("R", CultureInfo.InvariantCulture),
    };
}
