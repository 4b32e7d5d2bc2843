using System.Globalization;
using System.Numerics;

namespace Nn.Simd.Training.Losses;

/// <summary>The options of the built-in losses beyond <c>from_logits</c> as a saved model holds them
/// (<c>training_config.loss_config</c>, Keras' config names), and their checks.</summary>
internal static class LossOptions
{
    /// <summary>Throws unless the label smoothing s is in [0, 1] (NaN included).</summary>
    /// <exception cref="ArgumentOutOfRangeException">s is outside [0, 1].</exception>
    public static void CheckLabelSmoothing(double labelSmoothing)
    {
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), $"labelSmoothing must be in [0, 1]; got {labelSmoothing}.");
    }

    /// <summary><c>label_smoothing</c> when it is set; empty for the default 0, so a model saved with the default
    /// loss holds no <c>loss_config</c> (as before the option existed).</summary>
    public static IReadOnlyDictionary<string, string> SmoothingConfig(double labelSmoothing) =>
        labelSmoothing == 0 ? new Dictionary<string, string>()
        : new Dictionary<string, string> { ["label_smoothing"] = labelSmoothing.ToString("R", CultureInfo.InvariantCulture) };

    /// <summary>The options of <paramref name="loss"/> to save, or null when it has none beyond <c>from_logits</c>.</summary>
    public static IReadOnlyDictionary<string, string>? GetConfig<T>(ILoss<T> loss) where T : unmanaged, IFloatingPointIeee754<T> => loss switch
    {
        BinaryFocalCrossEntropy<T> f => f.GetConfig(),
        CategoricalFocalCrossEntropy<T> f => f.GetConfig(),
        BinaryCrossEntropy<T> b => b.GetConfig(),
        CategoricalCrossEntropy<T> c => c.GetConfig(),
        _ => null,
    };

    /// <summary>The loss named <paramref name="name"/> with its saved options.</summary>
    /// <exception cref="ArgumentException">The loss takes no such option, or a value is malformed or out of range.</exception>
    public static ILoss<T> FromConfig<T>(string name, bool fromLogits, IReadOnlyDictionary<string, string> config)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (name is "binary_focal_crossentropy" or "categorical_focal_crossentropy") return Focal.FromConfig<T>(name, fromLogits, config);
        if (name is not ("binary_crossentropy" or "categorical_crossentropy"))
            throw new ArgumentException($"Loss '{name}' takes no options besides from_logits; got {string.Join(", ", config.Keys)}.", nameof(config));
        var unknown = config.Keys.Where(k => k != "label_smoothing").ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"{name}: unknown option(s) {string.Join(", ", unknown)}; it takes label_smoothing.", nameof(config));
        double s = 0;
        if (config.TryGetValue("label_smoothing", out var v) && !double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out s))
            throw new ArgumentException($"{name}: option 'label_smoothing' = '{v}' is not a number.", nameof(config));
        return name == "binary_crossentropy" ? new BinaryCrossEntropy<T>(fromLogits, s) : new CategoricalCrossEntropy<T>(fromLogits, s);
    }
}
