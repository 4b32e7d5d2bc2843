using System.Globalization;
using System.Numerics;

namespace Nn.Simd.Layers.Activations;

/// <summary>Looks activations up by their Keras name.</summary>
public static class Activations
{
    /// <summary>The names <see cref="Get{T}"/> accepts, Keras' aliases (<c>swish</c>, <c>hard_swish</c>) included.</summary>
    public static IReadOnlyList<string> Names { get; } =
    [
        "linear", "relu", "sigmoid", "tanh", "softmax", "leaky_relu", "gelu",
        "elu", "selu", "silu", "swish", "softplus", "softsign", "hard_sigmoid", "hard_silu", "hard_swish",
        "relu6", "mish", "exponential", "log_softmax",
    ];

    /// <summary>
    /// Creates the activation named <paramref name="name"/> (case-insensitive); null or empty means linear. The
    /// parametrised ones also accept <see cref="Activation{T}.Name"/>'s form with the parameter after a colon:
    /// <c>elu:0.5</c> (α) and <c>leaky_relu:0.1</c> (negative slope); <c>gelu:tanh</c> is GELU's tanh approximation
    /// (PyTorch's <c>approximate='tanh'</c>, Keras' <c>approximate=True</c>).
    /// </summary>
    /// <exception cref="ArgumentException">The name is unknown (the message lists the known names), or a parameter
    /// is given to an activation that takes none, or is not a number.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The parameter is out of the activation's range.</exception>
    public static Activation<T> Get<T>(string? name) where T : unmanaged, IFloatingPointIeee754<T>
    {
        string n = (name ?? "linear").Trim().ToLowerInvariant();
        int colon = n.IndexOf(':');
        string kind = colon < 0 ? n : n[..colon];
        bool tanhGelu = n == "gelu:tanh";
        double? parameter = colon < 0 || tanhGelu ? null
            : double.TryParse(n.AsSpan(colon + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v
            : throw new ArgumentException($"Activation '{name}': '{n[(colon + 1)..]}' is not a number.", nameof(name));
        if (parameter is not null && kind is not ("elu" or "leaky_relu" or "leakyrelu"))
            throw new ArgumentException($"Activation '{name}': only elu and leaky_relu take a parameter (elu:0.5, leaky_relu:0.1), and gelu the form gelu:tanh.", nameof(name));
        return kind switch
        {
            "" or "linear" or "none" => new Linear<T>(),
            "relu" => new Relu<T>(),
            "sigmoid" => new Sigmoid<T>(),
            "tanh" => new Tanh<T>(),
            "softmax" => new Softmax<T>(),
            "leaky_relu" or "leakyrelu" => new LeakyRelu<T>(parameter ?? 0.3),
            "gelu" => new Gelu<T>(approximate: tanhGelu),
            "elu" => new Elu<T>(parameter ?? 1.0),
            "selu" => new Selu<T>(),
            "silu" or "swish" => new Silu<T>(),
            "softplus" => new Softplus<T>(),
            "softsign" => new Softsign<T>(),
            "hard_sigmoid" => new HardSigmoid<T>(),
            "hard_silu" or "hard_swish" => new HardSilu<T>(),
            "relu6" => new Relu6<T>(),
            "mish" => new Mish<T>(),
            "exponential" => new Exponential<T>(),
            "log_softmax" => new LogSoftmax<T>(),
            _ => throw new ArgumentException($"Unknown activation '{name}'. Known: {string.Join(", ", Names)}.", nameof(name)),
        };
    }
}
