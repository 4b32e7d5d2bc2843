using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>The name hash and argument check that single-input layers (<see cref="Layer{T}"/>) and multi-input layers
/// (<see cref="MultiInputLayer{T}"/>) share.</summary>
internal static class LayerChecks
{
    /// <summary>The FNV-1a hash of <paramref name="s"/>, h = (h ⊕ c)·16777619 from h = 2166136261, masked to a
    /// non-negative int: the same in every process (string.GetHashCode is not), for the build seed of a layer built on
    /// first use.</summary>
    internal static int StableHash(string s)
    {
        unchecked
        {
            int h = (int)2166136261;
            foreach (char c in s) h = (h ^ c) * 16777619;
            return h & int.MaxValue;
        }
    }

    /// <summary>Throws unless a forward pass was run (<paramref name="lastOutput"/> is not null) and
    /// <paramref name="dOutput"/> has the last output's shape.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="dOutput"/> is null.</exception>
    /// <exception cref="InvalidOperationException">No forward pass precedes it.</exception>
    /// <exception cref="ArgumentException">The shapes differ; the message names both and the layer.</exception>
    internal static void CheckBackward<T>(Tensor<T>? lastOutput, Tensor<T> dOutput, string layerName)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(dOutput);
        if (lastOutput is null)
            throw new InvalidOperationException($"{layerName}: Backward was called before Forward.");
        if (lastOutput.Shape != dOutput.Shape)
            throw new ArgumentException($"{layerName}: dOutput has shape {dOutput.Shape} but the last output was {lastOutput.Shape}.", nameof(dOutput));
    }
}
