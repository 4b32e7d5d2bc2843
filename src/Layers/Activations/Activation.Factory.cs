using System.Numerics;

namespace Nn.Simd.Layers.Activations;

/// <summary>Looks activations up by their Keras name.</summary>
public static class Activations
{
    /// <summary>The names <see cref="Get{T}"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["linear", "relu", "sigmoid", "tanh", "softmax", "leaky_relu", "gelu"];

    /// <summary>Creates the activation named <paramref name="name"/> (case-insensitive); null or empty means linear.</summary>
    /// <exception cref="ArgumentException">The name is unknown; the message lists the known names.</exception>
    public static Activation<T> Get<T>(string? name) where T : unmanaged, IFloatingPointIeee754<T> =>
        (name ?? "linear").ToLowerInvariant() switch
        {
            "" or "linear" or "none" => new Linear<T>(),
            "relu" => new Relu<T>(),
            "sigmoid" => new Sigmoid<T>(),
            "tanh" => new Tanh<T>(),
            "softmax" => new Softmax<T>(),
            "leaky_relu" or "leakyrelu" => new LeakyRelu<T>(),
            "gelu" => new Gelu<T>(),
            _ => throw new ArgumentException($"Unknown activation '{name}'. Known: {string.Join(", ", Names)}.", nameof(name)),
        };
}
