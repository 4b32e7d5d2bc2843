using System.Globalization;
using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Training.Losses;

// Shapes: R = rows (samples, or samples × time steps), C = the last axis. prediction p [.., C]; target y [.., C].
// Focal losses (Lin et al. 2017, "Focal Loss for Dense Object Detection", https://arxiv.org/abs/1708.02002) scale each
// element's cross-entropy by (1 − p_t)^γ, so that confident, correct predictions count less.

/// <summary>
/// Binary focal cross-entropy, Keras 3's <c>BinaryFocalCrossentropy</c> (<c>binary_focal_crossentropy</c>): per element,
/// with <c>ỹ = y·(1 − s) + s/2</c> (label smoothing s), <c>p</c> the probability (<c>σ(z)</c> from logits),
/// <c>p̂ = clip(p, ε, 1 − ε)</c> with ε = 1e-7 and <c>p_t = ỹ·p + (1 − ỹ)·(1 − p)</c>,
/// <c>ℓ = w·(1 − p_t)^γ·(−ỹ·log p̂ − (1 − ỹ)·log(1 − p̂))</c>, where <c>w = ỹ·α + (1 − ỹ)·(1 − α)</c> with class
/// balancing and 1 without; the mean over the last axis, then over rows (<c>sum_over_batch_size</c>).
/// </summary>
/// <remarks>
/// <para>As Keras' formula: the focal factor uses the unclipped probability, the cross-entropy the clipped one; where
/// the probability was clipped the cross-entropy's derivative is zero (a clip's), the factor's is not. From logits,
/// the sigmoid is taken first and then the probability path runs, as Keras' NumPy, JAX and PyTorch backends do
/// (TensorFlow's backend may instead take the stable logits form of the cross-entropy, which differs once |z| &gt; 16).</para>
/// <para>The gradient is the derivative of that formula, written out: with <c>u = 1 − p_t</c>,
/// <c>∂ℓ/∂p = w·(γ·u^(γ−1)·(1 − 2ỹ)·bce + u^γ·(−ỹ/p̂ + (1 − ỹ)/(1 − p̂)))</c>, times <c>p·(1 − p)</c> from logits.</para>
/// </remarks>
public sealed class BinaryFocalCrossEntropy<T> : RowLoss<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T _alpha, _gamma, _smoothing;

    /// <summary>Creates the loss with Keras' defaults.</summary>
    /// <param name="applyClassBalancing">Whether to weigh class 1 by α and class 0 by 1 − α.</param>
    /// <param name="alpha">The class-1 weight when balancing; in [0, 1].</param>
    /// <param name="gamma">The focusing parameter γ ≥ 0 (0 gives binary cross-entropy).</param>
    /// <param name="fromLogits">Whether predictions are logits rather than probabilities.</param>
    /// <param name="labelSmoothing">s in [0, 1]: targets are squeezed towards 0.5.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range or not finite.</exception>
    public BinaryFocalCrossEntropy(bool applyClassBalancing = false, double alpha = 0.25, double gamma = 2.0,
        bool fromLogits = false, double labelSmoothing = 0.0)
    {
        Focal.Validate(alpha, gamma, labelSmoothing, alphaInUnitInterval: true);
        ApplyClassBalancing = applyClassBalancing;
        Alpha = alpha;
        Gamma = gamma;
        FromLogits = fromLogits;
        LabelSmoothing = labelSmoothing;
        _alpha = T.CreateChecked(alpha);
        _gamma = T.CreateChecked(gamma);
        _smoothing = T.CreateChecked(labelSmoothing);
    }

    /// <summary>Whether class 1 is weighed by α and class 0 by 1 − α.</summary>
    public bool ApplyClassBalancing { get; }

    /// <summary>α, the class-1 weight when balancing.</summary>
    public double Alpha { get; }

    /// <summary>γ, the focusing parameter.</summary>
    public double Gamma { get; }

    /// <summary>Whether predictions are logits.</summary>
    public bool FromLogits { get; }

    /// <summary>The label smoothing s.</summary>
    public double LabelSmoothing { get; }

    /// <inheritdoc/>
    public override string Name => "binary_focal_crossentropy";

    /// <inheritdoc/>
    protected override void CheckTargetValues(ReadOnlySpan<T> target, TensorShape predictionShape) => CheckUnitInterval(target);

    /// <inheritdoc/>
    protected override T Row(ReadOnlySpan<T> p, ReadOnlySpan<T> y, Span<T> d)
    {
        T half = T.CreateChecked(0.5), hi = T.One - Epsilon, sum = T.Zero, invC = T.One / T.CreateChecked(p.Length);
        bool grad = !d.IsEmpty;
        for (int j = 0; j < p.Length; j++)
        {
            T yt = _smoothing == T.Zero ? y[j] : y[j] * (T.One - _smoothing) + half * _smoothing;
            T prob = FromLogits ? T.One / (T.One + T.Exp(-p[j])) : p[j];
            T pc = T.Clamp(prob, Epsilon, hi);
            T bce = -(yt * T.Log(pc) + (T.One - yt) * T.Log(T.One - pc));
            T u = T.One - (yt * prob + (T.One - yt) * (T.One - prob));
            T factor = T.Pow(u, _gamma);
            T w = ApplyClassBalancing ? yt * _alpha + (T.One - yt) * (T.One - _alpha) : T.One;
            sum += w * factor * bce;
            if (grad)
            {
                // d(1 − p_t)/dp = 1 − 2ỹ; the clip passes the gradient only inside [ε, 1 − ε].
                T dFactor = _gamma == T.Zero ? T.Zero : _gamma * T.Pow(u, _gamma - T.One) * (T.One - yt - yt);
                T dBce = pc == prob ? -yt / pc + (T.One - yt) / (T.One - pc) : T.Zero;
                T g = w * (dFactor * bce + factor * dBce) * invC;
                d[j] = FromLogits ? g * prob * (T.One - prob) : g;
            }
        }
        return sum * invC;
    }

    internal IReadOnlyDictionary<string, string> GetConfig() => new Dictionary<string, string>
    {
        ["apply_class_balancing"] = ApplyClassBalancing ? "true" : "false",
        ["alpha"] = Focal.Str(Alpha),
        ["gamma"] = Focal.Str(Gamma),
        ["label_smoothing"] = Focal.Str(LabelSmoothing),
    };
}

/// <summary>
/// Categorical focal cross-entropy, Keras 3's <c>CategoricalFocalCrossentropy</c> (<c>categorical_focal_crossentropy</c>):
/// per row, with <c>ỹ = y·(1 − s) + s/C</c> (label smoothing s), <c>σ</c> the probabilities (<c>softmax(z)</c> from
/// logits), <c>q = clip(σ / Σσ, ε, 1 − ε)</c> with ε = 1e-7, <c>ℓ = Σ_j −α·(1 − q_j)^γ·ỹ_j·log q_j</c>; the mean over
/// rows (<c>sum_over_batch_size</c>).
/// </summary>
/// <remarks>
/// <para>As Keras: probabilities are renormalised and clipped before both the cross-entropy and the modulating factor;
/// where a probability was clipped its gradient is zero (a clip's).</para>
/// <para>The gradient is written out: <c>g_j = ∂ℓ/∂q_j = −α·ỹ_j·((1 − q_j)^γ / q_j − γ·(1 − q_j)^(γ−1)·log q_j)</c>
/// where unclipped; through the renormalisation <c>∂ℓ/∂σ_k = (g_k − Σ_j g_j·q_j) / Σσ</c>; from logits, through the
/// softmax, <c>∂ℓ/∂z_k = σ_k·(h_k − Σ_j h_j·σ_j)</c> with <c>h = ∂ℓ/∂σ</c>, whose second term vanishes (Σσ = 1, and
/// <c>h</c> is already orthogonal to σ after the renormalisation), leaving <c>σ_k·h_k</c>.</para>
/// </remarks>
public sealed class CategoricalFocalCrossEntropy<T> : RowLoss<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T _alpha, _gamma, _smoothing;
    private T[] _sigma = [];

    /// <summary>Creates the loss with Keras' defaults.</summary>
    /// <param name="alpha">The weighting factor α (a scale on the loss); finite.</param>
    /// <param name="gamma">The focusing parameter γ ≥ 0 (0 gives α times categorical cross-entropy).</param>
    /// <param name="fromLogits">Whether predictions are logits (softmax is applied) rather than probabilities.</param>
    /// <param name="labelSmoothing">s in [0, 1]: targets are mixed with the uniform distribution over the C classes.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range or not finite.</exception>
    public CategoricalFocalCrossEntropy(double alpha = 0.25, double gamma = 2.0, bool fromLogits = false, double labelSmoothing = 0.0)
    {
        Focal.Validate(alpha, gamma, labelSmoothing, alphaInUnitInterval: false);
        Alpha = alpha;
        Gamma = gamma;
        FromLogits = fromLogits;
        LabelSmoothing = labelSmoothing;
        _alpha = T.CreateChecked(alpha);
        _gamma = T.CreateChecked(gamma);
        _smoothing = T.CreateChecked(labelSmoothing);
    }

    /// <summary>α, the weighting factor.</summary>
    public double Alpha { get; }

    /// <summary>γ, the focusing parameter.</summary>
    public double Gamma { get; }

    /// <summary>Whether predictions are logits.</summary>
    public bool FromLogits { get; }

    /// <summary>The label smoothing s.</summary>
    public double LabelSmoothing { get; }

    /// <inheritdoc/>
    public override string Name => "categorical_focal_crossentropy";

    /// <inheritdoc/>
    protected override void CheckTargetShape(TensorShape prediction, TensorShape target)
    {
        if (prediction != target)
            throw new ArgumentException($"{Name}: target shape {target} must equal the prediction shape {prediction} (one-hot rows).", nameof(target));
    }

    /// <inheritdoc/>
    protected override void CheckTargetValues(ReadOnlySpan<T> target, TensorShape predictionShape) => CheckUnitInterval(target);

    /// <inheritdoc/>
    protected override T Row(ReadOnlySpan<T> p, ReadOnlySpan<T> y, Span<T> d)
    {
        int c = p.Length;
        ReadOnlySpan<T> sigma = p;
        if (FromLogits)
        {
            if (_sigma.Length < c) _sigma = new T[c];
            var s = _sigma.AsSpan(0, c);
            TensorPrimitives.Subtract(p, TensorPrimitives.Max(p), s);
            TensorPrimitives.Exp(s, s);
            TensorPrimitives.Divide(s, TensorPrimitives.Sum<T>(s), s);
            sigma = s;
        }
        T sum = TensorPrimitives.Sum(sigma), hi = T.One - Epsilon, loss = T.Zero, dot = T.Zero, smoothing = _smoothing / T.CreateChecked(c);
        bool grad = !d.IsEmpty;
        for (int j = 0; j < c; j++)
        {
            T yt = _smoothing == T.Zero ? y[j] : y[j] * (T.One - _smoothing) + smoothing;
            T q = sigma[j] / sum;
            T qc = T.Clamp(q, Epsilon, hi);
            T logQ = T.Log(qc), factor = T.Pow(T.One - qc, _gamma);
            loss -= _alpha * factor * yt * logQ;
            if (grad)
            {
                T dFactor = _gamma == T.Zero ? T.Zero : _gamma * T.Pow(T.One - qc, _gamma - T.One);
                T g = qc == q ? -_alpha * yt * (factor / q - dFactor * logQ) : T.Zero;
                d[j] = g;
                dot += g * q;
            }
        }
        if (grad)
        {
            // Through the renormalisation q = σ / Σσ: h_k = (g_k − Σ_j g_j q_j) / Σσ.
            // From logits, through the softmax as well: ∂ℓ/∂z_k = σ_k·(h_k − Σ_j h_j σ_j), and
            // Σ_j h_j σ_j = (Σ_j g_j σ_j − dot·Σσ)/Σσ = (dot·Σσ − dot·Σσ)/Σσ = 0 since σ_j = q_j·Σσ: the renormalisation
            // has already projected that term out, so ∂ℓ/∂z_k = σ_k·h_k.
            T inv = T.One / sum;
            if (FromLogits) for (int j = 0; j < c; j++) d[j] = sigma[j] * (d[j] - dot) * inv;
            else for (int j = 0; j < c; j++) d[j] = (d[j] - dot) * inv;
        }
        return loss;
    }

    internal IReadOnlyDictionary<string, string> GetConfig() => new Dictionary<string, string>
    {
        ["alpha"] = Focal.Str(Alpha),
        ["gamma"] = Focal.Str(Gamma),
        ["label_smoothing"] = Focal.Str(LabelSmoothing),
    };
}

/// <summary>Option checks and config helpers shared by the focal losses.</summary>
internal static class Focal
{
    public static void Validate(double alpha, double gamma, double labelSmoothing, bool alphaInUnitInterval)
    {
        if (!double.IsFinite(alpha) || (alphaInUnitInterval && !(alpha >= 0 && alpha <= 1)))
            throw new ArgumentOutOfRangeException(nameof(alpha), $"alpha must be {(alphaInUnitInterval ? "in [0, 1]" : "finite")}; got {alpha}.");
        if (!(gamma >= 0) || !double.IsFinite(gamma))
            throw new ArgumentOutOfRangeException(nameof(gamma), $"gamma must be finite and non-negative; got {gamma}.");
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), $"labelSmoothing must be in [0, 1]; got {labelSmoothing}.");
    }

    public static string Str(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>The focal loss named <paramref name="name"/> with its saved options (Keras' config names).</summary>
    /// <exception cref="ArgumentException">An option is missing or malformed.</exception>
    public static ILoss<T> FromConfig<T>(string name, bool fromLogits, IReadOnlyDictionary<string, string> config)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double Get(string key, double fallback)
        {
            if (!config.TryGetValue(key, out var v)) return fallback;
            return double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double d)
                ? d : throw new ArgumentException($"{name}: option '{key}' = '{v}' is not a number.", nameof(config));
        }
        if (name is not ("binary_focal_crossentropy" or "categorical_focal_crossentropy"))
            throw new ArgumentException($"Loss '{name}' takes no options besides from_logits; got {string.Join(", ", config.Keys)}.", nameof(config));
        double alpha = Get("alpha", 0.25), gamma = Get("gamma", 2.0), smoothing = Get("label_smoothing", 0.0);
        if (name == "binary_focal_crossentropy")
        {
            bool balancing = config.TryGetValue("apply_class_balancing", out var b) && (bool.TryParse(b, out bool v)
                ? v : throw new ArgumentException($"{name}: option 'apply_class_balancing' = '{b}' is not true or false.", nameof(config)));
            return new BinaryFocalCrossEntropy<T>(balancing, alpha, gamma, fromLogits, smoothing);
        }
        return new CategoricalFocalCrossEntropy<T>(alpha, gamma, fromLogits, smoothing);
    }
}
