using System.Numerics;

namespace Nn.Simd.Training.Losses;

/// <summary>Looks losses up by their Keras names.</summary>
public static class LossFactory
{
    /// <summary>The names <see cref="Get{T}"/> accepts (aliases included).</summary>
    public static IReadOnlyList<string> Names { get; } =
    [
        "categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy",
        "binary_focal_crossentropy", "categorical_focal_crossentropy",
        "mean_squared_error", "mse", "mean_absolute_error", "mae", "huber",
        "mean_absolute_percentage_error", "mape", "mean_squared_logarithmic_error", "msle", "log_cosh", "logcosh",
        "kl_divergence", "kld", "kullback_leibler_divergence", "poisson", "cosine_similarity",
        "hinge", "squared_hinge", "categorical_hinge",
    ];

    /// <summary>Creates the loss named <paramref name="name"/> (case-insensitive), on probabilities.</summary>
    /// <param name="name">A Keras loss name, e.g. <c>categorical_crossentropy</c> or <c>mse</c>.</param>
    /// <param name="fromLogits">For the cross-entropies (focal ones included): whether predictions are logits. The focal
    /// losses take Keras' other defaults (α = 0.25, γ = 2, no label smoothing, no class balancing); construct
    /// <see cref="BinaryFocalCrossEntropy{T}"/> or <see cref="CategoricalFocalCrossEntropy{T}"/> for others, and
    /// <see cref="BinaryCrossEntropy{T}"/> or <see cref="CategoricalCrossEntropy{T}"/> for label smoothing.</param>
    /// <exception cref="ArgumentException">The name is unknown; the message lists the known ones.</exception>
    public static ILoss<T> Get<T>(string name, bool fromLogits = false) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.ToLowerInvariant() switch
        {
            "categorical_crossentropy" or "cce" => new CategoricalCrossEntropy<T>(fromLogits),
            "sparse_categorical_crossentropy" => new SparseCategoricalCrossEntropy<T>(fromLogits),
            "binary_crossentropy" or "bce" => new BinaryCrossEntropy<T>(fromLogits),
            "binary_focal_crossentropy" => new BinaryFocalCrossEntropy<T>(fromLogits: fromLogits),
            "categorical_focal_crossentropy" => new CategoricalFocalCrossEntropy<T>(fromLogits: fromLogits),
            "mean_squared_error" or "mse" => new MeanSquaredError<T>(),
            "mean_absolute_error" or "mae" => new MeanAbsoluteError<T>(),
            "huber" => new Huber<T>(),
            "mean_absolute_percentage_error" or "mape" => new MeanAbsolutePercentageError<T>(),
            "mean_squared_logarithmic_error" or "msle" => new MeanSquaredLogarithmicError<T>(),
            "log_cosh" or "logcosh" => new LogCosh<T>(),
            "kl_divergence" or "kld" or "kullback_leibler_divergence" => new KLDivergence<T>(),
            "poisson" => new Poisson<T>(),
            "cosine_similarity" => new CosineSimilarity<T>(),
            "hinge" => new Hinge<T>(),
            "squared_hinge" => new SquaredHinge<T>(),
            "categorical_hinge" => new CategoricalHinge<T>(),
            _ => throw new ArgumentException($"Unknown loss '{name}'. Known: {string.Join(", ", Names)}.", nameof(name)),
        };
    }
}
