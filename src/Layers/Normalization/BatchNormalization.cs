using System.Globalization;
using System.Numerics;
using Nn.Simd.Layers.Initializers;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

// Shapes: R = rows (every axis but the last: B, or B·T), C = features (the last axis).
// Training: μ = mean over rows, σ² = biased variance, x̂ = (x − μ)/√(σ² + ε), y = γ·x̂ + β;
//   moving_mean ← m·moving_mean + (1 − m)·μ, moving_variance ← m·moving_variance + (1 − m)·σ².
// Inference (or a frozen layer): the same with the moving statistics.
// Backward (batch statistics): dx = γ/√(σ² + ε) · (dy − mean(dy) − x̂·mean(dy·x̂)); dγ = Σ dy·x̂; dβ = Σ dy.

/// <summary>
/// Keras' <c>BatchNormalization</c> over the last axis of <c>[batch, features]</c> or <c>[batch, time, features]</c>:
/// in training, each feature is normalised with the batch's mean and (biased) variance, then scaled by γ and
/// shifted by β, and moving averages of the statistics are updated; in inference the moving statistics are used.
/// </summary>
/// <remarks>
/// <para>Weights in Keras' order: <c>gamma</c> (ones), <c>beta</c> (zeros), and the buffers <c>moving_mean</c>
/// (zeros) and <c>moving_variance</c> (ones), which are saved with the model, counted as non-trainable and never
/// touched by the optimizer. Keras' defaults: momentum 0.99, ε = 1e-3. PyTorch's <c>BatchNorm1d(momentum=0.1,
/// eps=1e-5)</c> is momentum 0.9 and ε = 1e-5 here, except that PyTorch's running variance takes the unbiased batch
/// variance.</para>
/// <para>As in Keras 2 and later, a frozen layer (<see cref="Layer{T}.Trainable"/> false) runs in inference mode
/// even while the model trains, so fine-tuning does not disturb its statistics.</para>
/// </remarks>
public sealed class BatchNormalization<T> : NormalizationLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Workspace<T> _wY = new(), _wXHat = new(), _wDx = new(), _wMean = new(), _wInvStd = new(), _wSum = new(), _wDot = new();
    private Parameter<T>? _movingMean, _movingVariance;
    private Tensor<T>? _xHat, _invStd, _lastY;
    private bool _batchStatistics;

    /// <summary>Creates the layer.</summary>
    /// <param name="momentum">The moving averages' momentum, in [0, 1).</param>
    /// <param name="epsilon">Added to the variance; positive.</param>
    /// <param name="center">Whether to add β.</param>
    /// <param name="scale">Whether to multiply by γ.</param>
    /// <param name="betaInitializer">Fills β (Keras' <c>beta_initializer</c>); zeros by default.</param>
    /// <param name="gammaInitializer">Fills γ (Keras' <c>gamma_initializer</c>); ones by default.</param>
    /// <exception cref="ArgumentOutOfRangeException">The momentum or ε is out of range.</exception>
    public BatchNormalization(double momentum = 0.99, double epsilon = 1e-3, bool center = true, bool scale = true,
        Initializers.Initializer? betaInitializer = null, Initializers.Initializer? gammaInitializer = null)
        : base(epsilon, center, scale, gammaInitializer, betaInitializer)
    {
        if (!(momentum >= 0 && momentum < 1))
            throw new ArgumentOutOfRangeException(nameof(momentum), $"momentum must be in [0, 1); got {momentum}.");
        Momentum = momentum;
    }

    /// <inheritdoc/>
    public override string TypeName => "batch_normalization";

    /// <summary>The moving averages' momentum.</summary>
    public double Momentum { get; }

    /// <summary>The moving mean [C] (a buffer).</summary>
    public Parameter<T> MovingMean => _movingMean ?? throw new InvalidOperationException($"{Name} is not built yet.");

    /// <summary>The moving variance [C] (a buffer).</summary>
    public Parameter<T> MovingVariance => _movingVariance ?? throw new InvalidOperationException($"{Name} is not built yet.");

    private protected override void BuildState(TensorShape inputShape, TensorShape features, Random rng)
    {
        _movingMean = AddBuffer("moving_mean", features, new Constant(0), rng);
        _movingVariance = AddBuffer("moving_variance", features, new Constant(1), rng);
    }

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        EnsureBuilt(input);
        int rows = input.Shape.Rows, c = input.Shape.Columns;
        var x = input.ReadOnlySpan;
        var mean = _wMean.Get(new TensorShape(c)).Span;
        var invStd = (_invStd = _wInvStd.Get(new TensorShape(c))).Span;
        _batchStatistics = training && Trainable;
        if (_batchStatistics)
        {
            if (rows == 0) throw new ArgumentException($"{Name}: training needs at least one row to take batch statistics; got {input.Shape}.", nameof(input));
            ColumnMeans(x, rows, c, mean);
            // Two passes (mean, then squared deviations) keep the variance accurate when |μ| ≫ σ.
            var variance = _wSum.Get(new TensorShape(c)).Span;
            variance.Clear();
            var dev = _wDot.Get(new TensorShape(c)).Span;
            for (int r = 0; r < rows; r++)
            {
                TensorPrimitives.Subtract(x.Slice(r * c, c), mean, dev);
                TensorPrimitives.MultiplyAdd(dev, dev, variance, variance);
            }
            TensorPrimitives.Divide(variance, T.CreateChecked(rows), variance);
            // Moving averages (Keras: the biased batch variance).
            T m = T.CreateChecked(Momentum), m1 = T.One - m;
            var mm = MovingMean.Value.Span;
            var mv = MovingVariance.Value.Span;
            for (int j = 0; j < c; j++)
            {
                mm[j] = m * mm[j] + m1 * mean[j];
                mv[j] = m * mv[j] + m1 * variance[j];
            }
            InverseStd(variance, invStd);
        }
        else
        {
            MovingMean.Value.ReadOnlySpan.CopyTo(mean);
            InverseStd(MovingVariance.Value.ReadOnlySpan, invStd);
        }

        var xHat = (_xHat = _wXHat.Get(input.Shape)).Span;
        var y = _wY.Get(input.Shape);
        var ys = y.Span;
        for (int r = 0; r < rows; r++)
        {
            var xh = xHat.Slice(r * c, c);
            TensorPrimitives.Subtract(x.Slice(r * c, c), mean, xh);
            TensorPrimitives.Multiply(xh, invStd, xh);
            ScaleShift(xh, ys.Slice(r * c, c));
        }
        _lastY = y;
        return y;
    }

    private void InverseStd(ReadOnlySpan<T> variance, Span<T> invStd)
    {
        TensorPrimitives.Add(variance, T.CreateChecked(Epsilon), invStd);
        TensorPrimitives.ReciprocalSqrt(invStd, invStd);
    }

    private static void ColumnMeans(ReadOnlySpan<T> x, int rows, int c, Span<T> mean)
    {
        mean.Clear();
        for (int r = 0; r < rows; r++) TensorPrimitives.Add(x.Slice(r * c, c), mean, mean);
        TensorPrimitives.Divide(mean, T.CreateChecked(rows), mean);
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_lastY, dOutput, Name);
        int rows = dOutput.Shape.Rows, c = dOutput.Shape.Columns;
        var dy = dOutput.ReadOnlySpan;
        var xHat = _xHat!.ReadOnlySpan;
        // Σ dy and Σ dy·x̂ per feature: β's and γ's gradients, and the batch-statistics terms of dx.
        var sumDy = _wSum.Get(new TensorShape(c)).Span;
        var sumDyXHat = _wDot.Get(new TensorShape(c)).Span;
        sumDy.Clear();
        sumDyXHat.Clear();
        for (int r = 0; r < rows; r++)
        {
            var dyr = dy.Slice(r * c, c);
            TensorPrimitives.Add(dyr, sumDy, sumDy);
            TensorPrimitives.MultiplyAdd(dyr, xHat.Slice(r * c, c), sumDyXHat, sumDyXHat);
        }
        if (Gamma is { Trainable: true }) TensorPrimitives.Add(Gamma.Grad.Span, sumDyXHat, Gamma.Grad.Span);
        if (Beta is { Trainable: true }) TensorPrimitives.Add(Beta.Grad.Span, sumDy, Beta.Grad.Span);

        // k = γ/√(σ² + ε) per feature.
        var k = _wMean.Get(new TensorShape(c)).Span;
        if (Gamma is not null) TensorPrimitives.Multiply(Gamma.Value.ReadOnlySpan, _invStd!.ReadOnlySpan, k);
        else _invStd!.ReadOnlySpan.CopyTo(k);
        var dx = _wDx.Get(dOutput.Shape);
        var dxs = dx.Span;
        if (!_batchStatistics)
        {
            // Fixed statistics: y is affine in x.
            for (int r = 0; r < rows; r++) TensorPrimitives.Multiply(dy.Slice(r * c, c), k, dxs.Slice(r * c, c));
            return dx;
        }
        T invRows = T.One / T.CreateChecked(rows);
        TensorPrimitives.Multiply(sumDy, invRows, sumDy);           // mean(dy)
        TensorPrimitives.Multiply(sumDyXHat, invRows, sumDyXHat);   // mean(dy·x̂)
        for (int r = 0; r < rows; r++)
        {
            var d = dxs.Slice(r * c, c);
            // dx = k·(dy − mean(dy) − x̂·mean(dy·x̂))
            TensorPrimitives.MultiplyAdd(xHat.Slice(r * c, c), sumDyXHat, sumDy, d);
            TensorPrimitives.Subtract(dy.Slice(r * c, c), d, d);
            TensorPrimitives.Multiply(d, k, d);
        }
        return dx;
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig()
    {
        var c = BaseConfig();
        c["momentum"] = Momentum.ToString("R", CultureInfo.InvariantCulture);
        return c;
    }
}
