using System.Globalization;
using System.Numerics;
using Nn.Simd.Layers.Initializers;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>
/// What <see cref="BatchNormalization{T}"/>, <see cref="LayerNormalization{T}"/> and <see cref="GroupNormalization{T}"/>
/// share: inputs normalised along the last axis (<c>[batch, features]</c> or <c>[batch, time, features]</c>; any rank
/// from 2 for group normalisation), ε added to the variance, and the optional per-feature scale γ (<c>gamma</c>, ones
/// by default) and shift β (<c>beta</c>, zeros), in Keras' order and with Keras' names.
/// </summary>
public abstract class NormalizationLayer<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Sets the shared options.</summary>
    /// <param name="epsilon">Added to the variance; positive.</param>
    /// <param name="center">Whether to add β.</param>
    /// <param name="scale">Whether to multiply by γ.</param>
    /// <exception cref="ArgumentOutOfRangeException">ε is not positive and finite.</exception>
    /// <param name="gammaInitializer">Fills γ; null means ones.</param>
    /// <param name="betaInitializer">Fills β; null means zeros.</param>
    private protected NormalizationLayer(double epsilon, bool center, bool scale,
        Initializer? gammaInitializer = null, Initializer? betaInitializer = null)
    {
        if (!(epsilon > 0) || !double.IsFinite(epsilon))
            throw new ArgumentOutOfRangeException(nameof(epsilon), $"epsilon must be positive; got {epsilon}.");
        Epsilon = epsilon;
        Center = center;
        Scale = scale;
        GammaInitializer = gammaInitializer ?? new Constant(1);
        BetaInitializer = betaInitializer ?? new Constant(0);
    }

    /// <summary>Fills γ when the layer is built (Keras' <c>gamma_initializer</c>; ones by default).</summary>
    public Initializer GammaInitializer { get; }

    /// <summary>Fills β when the layer is built (Keras' <c>beta_initializer</c>; zeros by default).</summary>
    public Initializer BetaInitializer { get; }

    /// <summary>ε, added to the variance.</summary>
    public double Epsilon { get; }

    /// <summary>Whether β is added.</summary>
    public bool Center { get; }

    /// <summary>Whether γ multiplies.</summary>
    public bool Scale { get; }

    /// <summary>A penalty on γ added to the training loss (Keras' <c>gamma_regularizer</c>); null for none.</summary>
    public Regularizers.Regularizer? GammaRegularizer { get => GetRegularizer("gamma"); set => SetRegularizer("gamma", value); }

    /// <summary>A penalty on β added to the training loss (Keras' <c>beta_regularizer</c>); null for none.</summary>
    public Regularizers.Regularizer? BetaRegularizer { get => GetRegularizer("beta"); set => SetRegularizer("beta", value); }

    /// <summary>A projection of γ after each optimizer step (Keras' <c>gamma_constraint</c>, e.g. <c>new NonNeg()</c>);
    /// null for none.</summary>
    /// <exception cref="ArgumentException">Set on a built layer, the constraint does not fit γ's shape [C].</exception>
    public Constraints.Constraint? GammaConstraint { get => GetConstraint("gamma"); set => SetConstraint("gamma", value); }

    /// <summary>A projection of β after each optimizer step (Keras' <c>beta_constraint</c>); null for none.</summary>
    /// <exception cref="ArgumentException">Set on a built layer, the constraint does not fit β's shape [C].</exception>
    public Constraints.Constraint? BetaConstraint { get => GetConstraint("beta"); set => SetConstraint("beta", value); }

    /// <summary>γ [C], or null without <see cref="Scale"/>.</summary>
    private protected Parameter<T>? Gamma { get; private set; }

    /// <summary>β [C], or null without <see cref="Center"/>.</summary>
    private protected Parameter<T>? Beta { get; private set; }

    /// <inheritdoc/>
    protected sealed override void BuildCore(TensorShape inputShape, Random rng)
    {
        CheckInputShape(inputShape);
        var c = new TensorShape(inputShape[-1]);
        Gamma = Scale ? AddParameter("gamma", c, GammaInitializer, rng) : null;
        Beta = Center ? AddParameter("beta", c, BetaInitializer, rng) : null;
        BuildState(inputShape, c, rng);
    }

    /// <summary>Checks the input against the layer's own constraints and adds any further weights or buffers after γ
    /// and β (the moving statistics).</summary>
    private protected virtual void BuildState(TensorShape inputShape, TensorShape features, Random rng) { }

    /// <summary>Throws unless the layer takes inputs of this shape: rank 2 or 3 unless overridden.</summary>
    private protected virtual void CheckInputShape(TensorShape shape)
    {
        if (shape.Rank is < 2 or > 3)
            throw new ArgumentException($"{Name} takes [batch, features] or [batch, time, features]; got {shape}.", "input");
    }

    /// <inheritdoc/>
    public override TensorShape ComputeOutputShape(TensorShape inputShape)
    {
        CheckInputShape(inputShape);
        return inputShape;
    }

    /// <summary><c>y = γ⊙x̂ + β</c> for one row (either factor left out when absent).</summary>
    private protected void ScaleShift(ReadOnlySpan<T> xHat, Span<T> y)
    {
        if (Gamma is not null) TensorPrimitives.Multiply(xHat, Gamma.Value.ReadOnlySpan, y); else xHat.CopyTo(y);
        if (Beta is not null) TensorPrimitives.Add(y, Beta.Value.ReadOnlySpan, y);
    }

    /// <summary>The shared options with Keras' names (the regularizers and constraints of γ and β when set).</summary>
    private protected Dictionary<string, string> BaseConfig()
    {
        var config = new Dictionary<string, string>
        {
            ["epsilon"] = Epsilon.ToString("R", CultureInfo.InvariantCulture),
            ["center"] = Str(Center),
            ["scale"] = Str(Scale),
            ["beta_initializer"] = BetaInitializer.Name,
            ["gamma_initializer"] = GammaInitializer.Name,
        };
        AddRegularizerConfig(config);
        AddConstraintConfig(config);
        return config;
    }
}
