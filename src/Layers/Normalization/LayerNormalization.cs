using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

// Shapes: R = rows (every axis but the last), C = features (the last axis).
// Per row: μ = mean(x), σ² = mean((x − μ)²), x̂ = (x − μ)/√(σ² + ε), y = γ⊙x̂ + β.
// Backward per row, with g = γ⊙dy: dx = (g − mean(g) − x̂·mean(g⊙x̂))/√(σ² + ε); dγ = Σ_rows dy⊙x̂; dβ = Σ_rows dy.

/// <summary>
/// Keras' <c>LayerNormalization</c> over the last axis of <c>[batch, features]</c> or <c>[batch, time, features]</c>:
/// every row is normalised by its own mean and (biased) variance, then scaled by γ and shifted by β; the same in
/// training and inference, so it suits recurrent stacks and small batches. Keras' ε = 1e-3; PyTorch's
/// <c>nn.LayerNorm</c> uses 1e-5.
/// </summary>
public sealed class LayerNormalization<T> : NormalizationLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Workspace<T> _wY = new(), _wXHat = new(), _wInvStd = new(), _wDx = new(), _wG = new();
    private Tensor<T>? _xHat, _invStd, _lastY;

    /// <summary>Creates the layer.</summary>
    /// <param name="epsilon">Added to the variance; positive.</param>
    /// <param name="center">Whether to add β.</param>
    /// <param name="scale">Whether to multiply by γ.</param>
    /// <param name="betaInitializer">Fills β (Keras' <c>beta_initializer</c>); zeros by default.</param>
    /// <param name="gammaInitializer">Fills γ (Keras' <c>gamma_initializer</c>); ones by default.</param>
    /// <exception cref="ArgumentOutOfRangeException">ε is not positive and finite.</exception>
    public LayerNormalization(double epsilon = 1e-3, bool center = true, bool scale = true,
        Initializers.Initializer? betaInitializer = null, Initializers.Initializer? gammaInitializer = null)
        : base(epsilon, center, scale, gammaInitializer, betaInitializer) { }

    /// <inheritdoc/>
    public override string TypeName => "layer_normalization";

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        EnsureBuilt(input);
        int rows = input.Shape.Rows, c = input.Shape.Columns;
        var x = input.ReadOnlySpan;
        var xHat = (_xHat = _wXHat.Get(input.Shape)).Span;
        var invStd = (_invStd = _wInvStd.Get(new TensorShape(Math.Max(rows, 1)))).Span;
        var y = _wY.Get(input.Shape);
        var ys = y.Span;
        T count = T.CreateChecked(c), eps = T.CreateChecked(Epsilon);
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * c, c);
            var xh = xHat.Slice(r * c, c);
            T mean = TensorPrimitives.Sum(xr) / count;
            TensorPrimitives.Subtract(xr, mean, xh);
            // Two passes: the variance of the centred row stays accurate when |μ| ≫ σ.
            T inv = T.One / T.Sqrt(TensorPrimitives.SumOfSquares<T>(xh) / count + eps);
            invStd[r] = inv;
            TensorPrimitives.Multiply(xh, inv, xh);
            ScaleShift(xh, ys.Slice(r * c, c));
        }
        _lastY = y;
        return y;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_lastY, dOutput, Name);
        int rows = dOutput.Shape.Rows, c = dOutput.Shape.Columns;
        var dy = dOutput.ReadOnlySpan;
        var xHat = _xHat!.ReadOnlySpan;
        var invStd = _invStd!.ReadOnlySpan;
        var dx = _wDx.Get(dOutput.Shape);
        var dxs = dx.Span;
        var g = _wG.Get(new TensorShape(c)).Span;
        T invC = T.One / T.CreateChecked(c);
        for (int r = 0; r < rows; r++)
        {
            var dyr = dy.Slice(r * c, c);
            var xh = xHat.Slice(r * c, c);
            if (Gamma is not null)
            {
                if (Gamma.Trainable) TensorPrimitives.MultiplyAdd(dyr, xh, Gamma.Grad.Span, Gamma.Grad.Span);
                TensorPrimitives.Multiply(dyr, Gamma.Value.ReadOnlySpan, g);
            }
            else dyr.CopyTo(g);
            if (Beta is { Trainable: true }) TensorPrimitives.Add(Beta.Grad.Span, dyr, Beta.Grad.Span);
            T meanG = TensorPrimitives.Sum<T>(g) * invC, meanGX = TensorPrimitives.Dot<T>(g, xh) * invC;
            // dx = (g − mean(g) − x̂·mean(g⊙x̂)) / √(σ² + ε)
            var d = dxs.Slice(r * c, c);
            TensorPrimitives.MultiplyAdd(xh, -meanGX, g, d);
            TensorPrimitives.Subtract(d, meanG, d);
            TensorPrimitives.Multiply(d, invStd[r], d);
        }
        return dx;
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() => BaseConfig();
}
