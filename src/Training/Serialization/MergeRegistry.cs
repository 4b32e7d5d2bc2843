using System.Collections.Concurrent;
using System.Globalization;
using System.Numerics;
using Nn.Simd.Layers;
using Nn.Simd.Layers.Initializers;

namespace Nn.Simd.Training.Serialization;

/// <summary>Creates a merge layer of any element type from its saved options; register one with
/// <see cref="MergeRegistry.Register(string, IMergeFactory)"/> to make a merge layer type loadable for float and double.</summary>
public interface IMergeFactory
{
    /// <summary>Creates the layer from the options its <see cref="IMergeLayer{T}.GetConfig"/> returned.</summary>
    IMergeLayer<T> Create<T>(IReadOnlyDictionary<string, string> config) where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>
/// Maps saved merge-layer type names (<c>add</c>, <c>concatenate</c>, <c>dot</c>, …) to factories that rebuild the
/// layer from its <see cref="IMergeLayer{T}.GetConfig"/> options, so that a saved functional graph can recreate its
/// merge layers; register your own merge layer types here. The counterpart of <see cref="LayerRegistry"/>.
/// </summary>
public static class MergeRegistry
{
    private static readonly ConcurrentDictionary<string, IMergeFactory> s_factories = new(StringComparer.OrdinalIgnoreCase);

    static MergeRegistry() => RegisterBuiltIns();

    /// <summary>The built-in types, under Keras' names.</summary>
    private static void RegisterBuiltIns()
    {
        Register("add", new ElementwiseFactory("add"));
        Register("subtract", new ElementwiseFactory("subtract"));
        Register("multiply", new ElementwiseFactory("multiply"));
        Register("average", new ElementwiseFactory("average"));
        Register("maximum", new ElementwiseFactory("maximum"));
        Register("minimum", new ElementwiseFactory("minimum"));
        Register("concatenate", new ConcatenateFactory());
        Register("dot", new DotFactory());
        Register("attention", new AttentionFactory());
        Register("additive_attention", new AttentionFactory());
        Register("functional", new FunctionalFactory());
        Register("multi_head_attention", new MultiHeadAttentionFactory());
    }

    /// <summary>Registers (or replaces) a factory for every element type.</summary>
    /// <param name="typeName">The type name the layer reports (<see cref="IMergeLayer{T}.TypeName"/>); case-insensitive.</param>
    /// <param name="factory">The factory.</param>
    public static void Register(string typeName, IMergeFactory factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(typeName);
        ArgumentNullException.ThrowIfNull(factory);
        s_factories[typeName] = factory;
    }

    /// <summary>Whether a factory is registered for <paramref name="typeName"/>.</summary>
    public static bool IsRegistered(string typeName) => s_factories.ContainsKey(typeName);

    /// <summary>Creates a merge layer of <paramref name="type"/> from its options.</summary>
    /// <exception cref="KeyNotFoundException">No factory is registered; the message lists the known types.</exception>
    /// <exception cref="InvalidDataException">The factory rejected the options; the message names the type.</exception>
    public static IMergeLayer<T> Create<T>(string type, IReadOnlyDictionary<string, string> config) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(config);
        try
        {
            if (s_factories.TryGetValue(type, out var f)) return f.Create<T>(config);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or KeyNotFoundException or OverflowException)
        {
            throw new InvalidDataException($"Cannot create a '{type}' merge layer from its saved options ({LayerConfig.Format(config)}): {e.Message}", e);
        }
        throw new KeyNotFoundException($"No merge layer factory is registered for type '{type}'. Known: {string.Join(", ", s_factories.Keys.Order())}. Register one with MergeRegistry.Register.");
    }

    /// <summary>The layers without options.</summary>
    private sealed class ElementwiseFactory(string type) : IMergeFactory
    {
        public IMergeLayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T> => type switch
        {
            "add" => new Add<T>(),
            "subtract" => new Subtract<T>(),
            "multiply" => new Multiply<T>(),
            "average" => new Average<T>(),
            "maximum" => new Maximum<T>(),
            _ => new Minimum<T>(),
        };
    }

    private sealed class ConcatenateFactory : IMergeFactory
    {
        public IMergeLayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T> =>
            new Concatenate<T>(LayerConfig.GetInt(c, "axis", -1));
    }

    /// <summary>Attention and AdditiveAttention: <c>use_scale</c>, <c>score_mode</c> (Attention only), <c>dropout</c>,
    /// <c>use_causal_mask</c>, <c>seed</c>.</summary>
    private sealed class AttentionFactory : IMergeFactory
    {
        public IMergeLayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T>
        {
            double dropout = LayerConfig.GetDouble(c, "dropout", 0);
            bool causal = LayerConfig.GetBool(c, "use_causal_mask", false);
            int? seed = c.ContainsKey("seed") ? LayerConfig.GetInt(c, "seed") : null;
            return c.ContainsKey("score_mode")
                ? new Attention<T>(LayerConfig.GetBool(c, "use_scale", false), LayerConfig.GetString(c, "score_mode"), dropout, causal, seed)
                : new AdditiveAttention<T>(LayerConfig.GetBool(c, "use_scale", true), dropout, causal, seed);
        }
    }

    /// <summary>MultiHeadAttention: <c>num_heads</c>, <c>key_dim</c> (required), <c>value_dim</c>, <c>dropout</c>,
    /// <c>use_bias</c>, <c>output_shape</c>, <c>kernel_initializer</c>, <c>bias_initializer</c>, <c>use_causal_mask</c>,
    /// <c>seed</c>.</summary>
    private sealed class MultiHeadAttentionFactory : IMergeFactory
    {
        public IMergeLayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T>
        {
            int? Optional(string key) => c.ContainsKey(key) ? LayerConfig.GetInt(c, key) : null;
            return new MultiHeadAttention<T>(LayerConfig.GetInt(c, "num_heads"), LayerConfig.GetInt(c, "key_dim"), Optional("value_dim"),
                LayerConfig.GetDouble(c, "dropout", 0), LayerConfig.GetBool(c, "use_bias", true), Optional("output_shape"),
                Initializer.Get(LayerConfig.GetString(c, "kernel_initializer", "glorot_uniform")),
                Initializer.Get(LayerConfig.GetString(c, "bias_initializer", "zeros")),
                LayerConfig.GetBool(c, "use_causal_mask", false), Optional("seed"));
        }
    }

    /// <summary><c>axes</c> is one integer (<c>"1"</c>) or a pair (<c>"1,2"</c>); <c>normalize</c> defaults to false.</summary>
    private sealed class DotFactory : IMergeFactory
    {
        public IMergeLayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T>
        {
            string axes = LayerConfig.GetString(c, "axes");
            bool normalize = LayerConfig.GetBool(c, "normalize", false);
            var parts = axes.Split(',', StringSplitOptions.TrimEntries);
            return parts.Length switch
            {
                1 => new Dot<T>(Int(parts[0]), normalize),
                2 => new Dot<T>((Int(parts[0]), Int(parts[1])), normalize),
                _ => throw new ArgumentException($"'axes' must be one integer or two, 'a,b'; got '{axes}'.", "axes"),
            };
        }

        private static int Int(string s) => int.Parse(s, NumberStyles.Integer, CultureInfo.InvariantCulture);
    }

    /// <summary>A graph of several inputs used as a call inside another graph: the same options as a one-input graph
    /// saved as a layer (see LayerRegistry's <c>functional</c>).</summary>
    private sealed class FunctionalFactory : IMergeFactory
    {
        public IMergeLayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T> =>
            (Functional<T>)LayerRegistry<T>.Create("functional", c);
    }
}
