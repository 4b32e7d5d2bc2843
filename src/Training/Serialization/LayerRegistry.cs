using System.Collections.Concurrent;
using System.Globalization;
using System.Numerics;
using Nn.Simd.Layers;
using Nn.Simd.Layers.Initializers;
using Nn.Simd.Layers.Constraints;
using Nn.Simd.Layers.Regularizers;

namespace Nn.Simd.Training.Serialization;

/// <summary>Creates a layer of any element type from its saved options; register one with
/// <see cref="LayerRegistry.Register(string, ILayerFactory)"/> to make a layer type loadable for float and double.</summary>
public interface ILayerFactory
{
    /// <summary>Creates the layer from the options its <see cref="ILayer{T}.GetConfig"/> returned.</summary>
    ILayer<T> Create<T>(IReadOnlyDictionary<string, string> config) where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>
/// Maps saved layer type names (<c>dense</c>, <c>lstm</c>, …) to factories that rebuild a layer from its
/// <see cref="ILayer{T}.GetConfig"/> options. <c>Sequential.Load</c> uses it; register your own layer types
/// here to make models containing them loadable.
/// </summary>
public static class LayerRegistry
{
    private static readonly ConcurrentDictionary<string, ILayerFactory> s_generic = new(StringComparer.OrdinalIgnoreCase);

    static LayerRegistry() => RegisterBuiltIns();

    /// <summary>The built-in types. To add a layer type, add a line here (it is then loadable for float and double).</summary>
    private static void RegisterBuiltIns()
    {
        Register("dense", new DenseFactory());
        Register("prelu", new PReluFactory());
        Register("dropout", new NoiseFactory("dropout"));
        Register("spatial_dropout1d", new NoiseFactory("spatial_dropout1d"));
        Register("spatial_dropout2d", new NoiseFactory("spatial_dropout2d"));
        Register("gaussian_dropout", new NoiseFactory("gaussian_dropout"));
        Register("gaussian_noise", new NoiseFactory("gaussian_noise"));
        Register("masking", new MaskingFactory());
        Register("flatten", new FlattenFactory());
        Register("reshape", new ReshapeFactory());
        Register("repeat_vector", new RepeatVectorFactory());
        Register("permute", new PermuteFactory());
        Register("zero_padding1d", new BorderFactory(pad: true, rank: 1));
        Register("zero_padding2d", new BorderFactory(pad: true, rank: 2));
        Register("cropping1d", new BorderFactory(pad: false, rank: 1));
        Register("cropping2d", new BorderFactory(pad: false, rank: 2));
        Register("up_sampling1d", new UpSamplingFactory(rank: 1));
        Register("up_sampling2d", new UpSamplingFactory(rank: 2));
        Register("rescaling", new RescalingFactory());
        Register("random_flip", new RandomFlipFactory());
        Register("center_crop", new CenterCropFactory());
        Register("resizing", new ResizingFactory());
        Register("random_translation", new RandomAffineFactory("random_translation"));
        Register("random_rotation", new RandomAffineFactory("random_rotation"));
        Register("random_zoom", new RandomAffineFactory("random_zoom"));
        Register("random_contrast", new RandomIntensityFactory(contrast: true));
        Register("random_brightness", new RandomIntensityFactory(contrast: false));
        Register("random_crop", new RandomCropFactory());
        Register("batch_normalization", new BatchNormalizationFactory());
        Register("layer_normalization", new LayerNormalizationFactory());
        Register("group_normalization", new GroupNormalizationFactory());
        Register("unit_normalization", new UnitNormalizationFactory());
        Register("normalization", new NormalizationFactory());
        Register("embedding", new EmbeddingFactory());
        Register("conv2d", new Conv2DFactory());
        Register("conv1d", new Conv1DFactory());
        Register("conv2d_transpose", new Conv2DTransposeFactory());
        Register("depthwise_conv2d", new DepthwiseConv2DFactory());
        Register("separable_conv2d", new SeparableConv2DFactory());
        Register("max_pooling1d", new PoolingFactory(max: true, rank: 1));
        Register("max_pooling2d", new PoolingFactory(max: true, rank: 2));
        Register("average_pooling1d", new PoolingFactory(max: false, rank: 1));
        Register("average_pooling2d", new PoolingFactory(max: false, rank: 2));
        Register("global_average_pooling1d", new GlobalPoolingFactory(max: false, rank: 1));
        Register("global_average_pooling2d", new GlobalPoolingFactory(max: false, rank: 2));
        Register("global_max_pooling1d", new GlobalPoolingFactory(max: true, rank: 1));
        Register("global_max_pooling2d", new GlobalPoolingFactory(max: true, rank: 2));
        Register("activation", new ActivationFactory());
        Register("simple_rnn", new SimpleRnnFactory());
        Register("lstm", new LstmFactory());
        Register("gru", new GruFactory());
        Register("bidirectional", new BidirectionalFactory());
        Register("time_distributed", new TimeDistributedFactory());
        Register("functional", new FunctionalFactory());
    }

    /// <summary>Registers (or replaces) a factory for every element type.</summary>
    /// <param name="typeName">The type name layers report (e.g. <c>Layer&lt;T&gt;.TypeName</c>); case-insensitive.</param>
    /// <param name="factory">The factory.</param>
    public static void Register(string typeName, ILayerFactory factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(typeName);
        ArgumentNullException.ThrowIfNull(factory);
        s_generic[typeName] = factory;
    }

    /// <summary>Registers (or replaces) a factory for float models.</summary>
    /// <param name="typeName">The type name; case-insensitive.</param>
    /// <param name="factory">Creates the layer from its options.</param>
    public static void Register(string typeName, Func<IReadOnlyDictionary<string, string>, ILayer<float>> factory) =>
        LayerRegistry<float>.Register(typeName, factory);

    /// <summary>Whether <paramref name="typeName"/> can be created for element type <typeparamref name="T"/>.</summary>
    public static bool IsRegistered<T>(string typeName) where T : unmanaged, IFloatingPointIeee754<T> =>
        LayerRegistry<T>.IsRegistered(typeName);

    internal static bool TryGetGeneric(string typeName, out ILayerFactory factory) => s_generic.TryGetValue(typeName, out factory!);

    internal static IEnumerable<string> GenericNames => s_generic.Keys;

    private sealed class ActivationFactory : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T> =>
            new ActivationLayer<T>(LayerConfig.GetString(c, "activation", "linear"));
    }

    /// <summary>The random training-only layers: <c>rate</c> (or <c>stddev</c>) and an optional <c>seed</c>.</summary>
    private sealed class NoiseFactory(string type) : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T>
        {
            int? seed = c.ContainsKey("seed") ? LayerConfig.GetInt(c, "seed") : null;
            return type switch
            {
                "dropout" => new Dropout<T>(LayerConfig.GetDouble(c, "rate"), seed),
                "spatial_dropout1d" => new SpatialDropout1D<T>(LayerConfig.GetDouble(c, "rate"), seed),
                "spatial_dropout2d" => new SpatialDropout2D<T>(LayerConfig.GetDouble(c, "rate"), seed),
                "gaussian_dropout" => new GaussianDropout<T>(LayerConfig.GetDouble(c, "rate"), seed),
                _ => new GaussianNoise<T>(LayerConfig.GetDouble(c, "stddev"), seed),
            };
        }
    }

    private static RecurrentLayer<T> WithMaskOptions<T>(IReadOnlyDictionary<string, string> c, RecurrentLayer<T> layer)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        layer.ZeroOutputForMask = LayerConfig.GetBool(c, "zero_output_for_mask", false);
        layer.KernelRegularizer = RegularizerOf(c, "kernel_regularizer");
        layer.RecurrentRegularizer = RegularizerOf(c, "recurrent_regularizer");
        layer.BiasRegularizer = RegularizerOf(c, "bias_regularizer");
        layer.KernelConstraint = ConstraintOf(c, "kernel_constraint");
        layer.RecurrentConstraint = ConstraintOf(c, "recurrent_constraint");
        layer.BiasConstraint = ConstraintOf(c, "bias_constraint");
        layer.Dropout = LayerConfig.GetDouble(c, "dropout", 0);
        layer.RecurrentDropout = LayerConfig.GetDouble(c, "recurrent_dropout", 0);
        return layer;
    }

    private static Regularizer? RegularizerOf(IReadOnlyDictionary<string, string> c, string key) =>
        c.TryGetValue(key, out var name) ? Regularizer.Get(name) : null;

    private sealed class PReluFactory : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T> =>
            new PRelu<T>(Initializer.Get(LayerConfig.GetString(c, "alpha_initializer", "zeros")),
                c.ContainsKey("shared_axes") ? Ints(c, "shared_axes") : null)
            {
                AlphaRegularizer = RegularizerOf(c, "alpha_regularizer"),
                AlphaConstraint = ConstraintOf(c, "alpha_constraint"),
            };
    }

    private static Constraint? ConstraintOf(IReadOnlyDictionary<string, string> c, string key) =>
        c.TryGetValue(key, out var name) ? Constraint.Get(name) : null;

    private sealed class FlattenFactory : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T> => new Flatten<T>();
    }

    private sealed class ReshapeFactory : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T> => new Reshape<T>(Ints(c, "target_shape"));
    }

    private sealed class RepeatVectorFactory : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T> => new RepeatVector<T>(LayerConfig.GetInt(c, "n"));
    }

    private sealed class PermuteFactory : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T> => new Permute<T>(Ints(c, "dims"));
    }

    /// <summary>Padding and cropping save their sizes as <c>"left,right"</c> (1-D) or <c>"top,bottom,left,right"</c> (2-D).</summary>
    private sealed class BorderFactory(bool pad, int rank) : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T>
        {
            string key = pad ? "padding" : "cropping";
            int[] s = Ints(c, key);
            if (s.Length != 2 * rank)
                throw new ArgumentException($"'{key}' must be {2 * rank} integers; got '{c[key]}'.", key);
            return (pad, rank) switch
            {
                (true, 1) => new ZeroPadding1D<T>((s[0], s[1])),
                (true, _) => new ZeroPadding2D<T>(((s[0], s[1]), (s[2], s[3]))),
                (false, 1) => new Cropping1D<T>((s[0], s[1])),
                _ => new Cropping2D<T>(((s[0], s[1]), (s[2], s[3]))),
            };
        }
    }

    private sealed class UpSamplingFactory(int rank) : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T> =>
            rank == 1 ? new UpSampling1D<T>(LayerConfig.GetInt(c, "size", 2)) : new UpSampling2D<T>(Pair(c, "size", (2, 2)));
    }

    private sealed class RescalingFactory : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T> =>
            new Rescaling<T>(LayerConfig.GetDouble(c, "scale"), LayerConfig.GetDouble(c, "offset", 0));
    }

    private sealed class RandomFlipFactory : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T> =>
            new RandomFlip<T>(LayerConfig.GetString(c, "mode", RandomFlip<T>.HorizontalAndVertical),
                c.ContainsKey("seed") ? LayerConfig.GetInt(c, "seed") : null);
    }

    private sealed class CenterCropFactory : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T> =>
            new CenterCrop<T>(LayerConfig.GetInt(c, "height"), LayerConfig.GetInt(c, "width"));
    }

    private sealed class ResizingFactory : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T> =>
            new Resizing<T>(LayerConfig.GetInt(c, "height"), LayerConfig.GetInt(c, "width"),
                LayerConfig.GetString(c, "interpolation", "bilinear"), LayerConfig.GetBool(c, "crop_to_aspect_ratio", false));
    }

    private sealed class RandomAffineFactory(string type) : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T>
        {
            string fill = LayerConfig.GetString(c, "fill_mode", "reflect"), interpolation = LayerConfig.GetString(c, "interpolation", "bilinear");
            int? seed = c.ContainsKey("seed") ? LayerConfig.GetInt(c, "seed") : null;
            double fillValue = LayerConfig.GetDouble(c, "fill_value", 0);
            return type switch
            {
                "random_translation" => new RandomTranslation<T>(Factor(c, "height_factor"), Factor(c, "width_factor"), fill, interpolation, seed, fillValue),
                "random_rotation" => new RandomRotation<T>(Factor(c, "factor"), fill, interpolation, seed, fillValue),
                _ => new RandomZoom<T>(Factor(c, "height_factor"), c.ContainsKey("width_factor") ? Factor(c, "width_factor") : null,
                    fill, interpolation, seed, fillValue),
            };
        }

        // A factor saved as "lower,upper".
        private static (double, double) Factor(IReadOnlyDictionary<string, string> c, string key)
        {
            var parts = LayerConfig.GetString(c, key).Split(',');
            if (parts.Length != 2)
                throw new FormatException($"{key} must be saved as 'lower,upper'; got '{LayerConfig.GetString(c, key)}'.");
            return (double.Parse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture),
                double.Parse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture));
        }
    }

    private sealed class RandomIntensityFactory(bool contrast) : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var factor = Pair(c, "factor");
            (double, double)? range = c.ContainsKey("value_range") ? Pair(c, "value_range") : null;
            int? seed = c.ContainsKey("seed") ? LayerConfig.GetInt(c, "seed") : null;
            return contrast ? new RandomContrast<T>(factor, range, seed) : new RandomBrightness<T>(factor, range, seed);
        }

        // A pair saved as "a,b".
        private static (double, double) Pair(IReadOnlyDictionary<string, string> c, string key)
        {
            var parts = LayerConfig.GetString(c, key).Split(',');
            if (parts.Length != 2)
                throw new FormatException($"{key} must be saved as 'a,b'; got '{LayerConfig.GetString(c, key)}'.");
            return (double.Parse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture),
                double.Parse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture));
        }
    }

    private sealed class RandomCropFactory : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T> =>
            new RandomCrop<T>(LayerConfig.GetInt(c, "height"), LayerConfig.GetInt(c, "width"),
                c.ContainsKey("seed") ? LayerConfig.GetInt(c, "seed") : null);
    }

    /// <summary>A list of integers saved as <c>"a,b,c"</c> (shapes, axis orders).</summary>
    private static int[] Ints(IReadOnlyDictionary<string, string> c, string key) =>
        LayerConfig.GetString(c, key).Split(',').Select(v => int.Parse(v, NumberStyles.Integer, CultureInfo.InvariantCulture)).ToArray();

    private sealed class BatchNormalizationFactory : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T> =>
            WithScaleShiftOptions(c, new BatchNormalization<T>(LayerConfig.GetDouble(c, "momentum", 0.99), LayerConfig.GetDouble(c, "epsilon", 1e-3),
                LayerConfig.GetBool(c, "center", true), LayerConfig.GetBool(c, "scale", true), BetaInitializerOf(c), GammaInitializerOf(c)));
    }

    private sealed class LayerNormalizationFactory : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T> =>
            WithScaleShiftOptions(c, new LayerNormalization<T>(LayerConfig.GetDouble(c, "epsilon", 1e-3), LayerConfig.GetBool(c, "center", true),
                LayerConfig.GetBool(c, "scale", true), BetaInitializerOf(c), GammaInitializerOf(c)));
    }

    private sealed class GroupNormalizationFactory : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T> =>
            WithScaleShiftOptions(c, new GroupNormalization<T>(LayerConfig.GetInt(c, "groups", 32), LayerConfig.GetInt(c, "axis", -1),
                LayerConfig.GetDouble(c, "epsilon", 1e-3), LayerConfig.GetBool(c, "center", true), LayerConfig.GetBool(c, "scale", true),
                BetaInitializerOf(c), GammaInitializerOf(c)));
    }

    // β and γ initializers of the normalisation layers; files saved before BatchNormalization and LayerNormalization
    // recorded them have none, which means Keras' defaults.
    private static Initializer BetaInitializerOf(IReadOnlyDictionary<string, string> c) => Initializer.Get(LayerConfig.GetString(c, "beta_initializer", "zeros"));

    private static Initializer GammaInitializerOf(IReadOnlyDictionary<string, string> c) => Initializer.Get(LayerConfig.GetString(c, "gamma_initializer", "ones"));

    private sealed class UnitNormalizationFactory : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T> =>
            new UnitNormalization<T>(LayerConfig.GetInt(c, "axis", -1));
    }

    /// <summary>Keras' <c>gamma_regularizer</c>, <c>beta_regularizer</c>, <c>gamma_constraint</c> and <c>beta_constraint</c>.</summary>
    private static NormalizationLayer<T> WithScaleShiftOptions<T>(IReadOnlyDictionary<string, string> c, NormalizationLayer<T> layer)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        layer.GammaRegularizer = RegularizerOf(c, "gamma_regularizer");
        layer.BetaRegularizer = RegularizerOf(c, "beta_regularizer");
        layer.GammaConstraint = ConstraintOf(c, "gamma_constraint");
        layer.BetaConstraint = ConstraintOf(c, "beta_constraint");
        return layer;
    }

    private sealed class NormalizationFactory : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T> =>
            new Normalization<T>(Doubles(c, "mean"), Doubles(c, "variance"), LayerConfig.GetBool(c, "invert", false));

        private static double[]? Doubles(IReadOnlyDictionary<string, string> c, string key) =>
            c.TryGetValue(key, out var v) ? [.. v.Split(',').Select(s => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture))] : null;
    }

    private sealed class EmbeddingFactory : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T> =>
            new Embedding<T>(LayerConfig.GetInt(c, "input_dim"), LayerConfig.GetInt(c, "output_dim"), LayerConfig.GetBool(c, "mask_zero", false),
                Initializer.Get(LayerConfig.GetString(c, "embeddings_initializer", "uniform")))
            {
                EmbeddingsRegularizer = RegularizerOf(c, "embeddings_regularizer"),
                EmbeddingsConstraint = ConstraintOf(c, "embeddings_constraint"),
            };
    }

    /// <summary>A pair saved as <c>"h,w"</c> (kernel sizes, strides, dilation rates).</summary>
    private static (int, int) Pair(IReadOnlyDictionary<string, string> c, string key, (int, int) fallback)
    {
        if (!c.TryGetValue(key, out var v)) return fallback;
        var parts = v.Split(',');
        if (parts.Length == 2 && int.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out int a)
            && int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int b))
            return (a, b);
        throw new ArgumentException($"'{key}' must be two integers 'h,w'; got '{v}'.", key);
    }

    private sealed class Conv2DFactory : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T> =>
            new Conv2D<T>(LayerConfig.GetInt(c, "filters"), Pair(c, "kernel_size", (0, 0)), Pair(c, "strides", (1, 1)),
                LayerConfig.GetString(c, "padding", "valid"), LayerConfig.GetString(c, "activation", "linear"), LayerConfig.GetBool(c, "use_bias", true),
                Initializer.Get(LayerConfig.GetString(c, "kernel_initializer", "glorot_uniform")),
                Initializer.Get(LayerConfig.GetString(c, "bias_initializer", "zeros")), Pair(c, "dilation_rate", (1, 1)))
            {
                KernelRegularizer = RegularizerOf(c, "kernel_regularizer"),
                BiasRegularizer = RegularizerOf(c, "bias_regularizer"),
                KernelConstraint = ConstraintOf(c, "kernel_constraint"),
                BiasConstraint = ConstraintOf(c, "bias_constraint"),
            };
    }

    /// <summary>Conv2DTranspose: Conv2D's options plus <c>output_padding</c> ("h,w"), absent for Keras' default sizes.</summary>
    private sealed class Conv2DTransposeFactory : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T> =>
            new Conv2DTranspose<T>(LayerConfig.GetInt(c, "filters"), Pair(c, "kernel_size", (0, 0)), Pair(c, "strides", (1, 1)),
                LayerConfig.GetString(c, "padding", "valid"), c.ContainsKey("output_padding") ? Pair(c, "output_padding", (0, 0)) : null,
                LayerConfig.GetString(c, "activation", "linear"), LayerConfig.GetBool(c, "use_bias", true),
                Initializer.Get(LayerConfig.GetString(c, "kernel_initializer", "glorot_uniform")),
                Initializer.Get(LayerConfig.GetString(c, "bias_initializer", "zeros")), Pair(c, "dilation_rate", (1, 1)))
            {
                KernelRegularizer = RegularizerOf(c, "kernel_regularizer"),
                BiasRegularizer = RegularizerOf(c, "bias_regularizer"),
                KernelConstraint = ConstraintOf(c, "kernel_constraint"),
                BiasConstraint = ConstraintOf(c, "bias_constraint"),
            };
    }

    private sealed class DepthwiseConv2DFactory : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T> =>
            new DepthwiseConv2D<T>(Pair(c, "kernel_size", (0, 0)), Pair(c, "strides", (1, 1)), LayerConfig.GetString(c, "padding", "valid"),
                LayerConfig.GetInt(c, "depth_multiplier", 1), LayerConfig.GetString(c, "activation", "linear"), LayerConfig.GetBool(c, "use_bias", true),
                Initializer.Get(LayerConfig.GetString(c, "depthwise_initializer", "glorot_uniform")),
                Initializer.Get(LayerConfig.GetString(c, "bias_initializer", "zeros")), Pair(c, "dilation_rate", (1, 1)))
            {
                DepthwiseRegularizer = RegularizerOf(c, "depthwise_regularizer"),
                BiasRegularizer = RegularizerOf(c, "bias_regularizer"),
                DepthwiseConstraint = ConstraintOf(c, "depthwise_constraint"),
                BiasConstraint = ConstraintOf(c, "bias_constraint"),
            };
    }

    private sealed class SeparableConv2DFactory : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T> =>
            new SeparableConv2D<T>(LayerConfig.GetInt(c, "filters"), Pair(c, "kernel_size", (0, 0)), Pair(c, "strides", (1, 1)),
                LayerConfig.GetString(c, "padding", "valid"), LayerConfig.GetInt(c, "depth_multiplier", 1), Pair(c, "dilation_rate", (1, 1)),
                LayerConfig.GetString(c, "activation", "linear"), LayerConfig.GetBool(c, "use_bias", true),
                Initializer.Get(LayerConfig.GetString(c, "depthwise_initializer", "glorot_uniform")),
                Initializer.Get(LayerConfig.GetString(c, "pointwise_initializer", "glorot_uniform")),
                Initializer.Get(LayerConfig.GetString(c, "bias_initializer", "zeros")))
            {
                DepthwiseRegularizer = RegularizerOf(c, "depthwise_regularizer"),
                PointwiseRegularizer = RegularizerOf(c, "pointwise_regularizer"),
                BiasRegularizer = RegularizerOf(c, "bias_regularizer"),
                DepthwiseConstraint = ConstraintOf(c, "depthwise_constraint"),
                PointwiseConstraint = ConstraintOf(c, "pointwise_constraint"),
                BiasConstraint = ConstraintOf(c, "bias_constraint"),
            };
    }

    private sealed class Conv1DFactory : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T> =>
            new Conv1D<T>(LayerConfig.GetInt(c, "filters"), LayerConfig.GetInt(c, "kernel_size"), LayerConfig.GetInt(c, "strides", 1),
                LayerConfig.GetString(c, "padding", "valid"), LayerConfig.GetString(c, "activation", "linear"), LayerConfig.GetBool(c, "use_bias", true),
                Initializer.Get(LayerConfig.GetString(c, "kernel_initializer", "glorot_uniform")),
                Initializer.Get(LayerConfig.GetString(c, "bias_initializer", "zeros")), LayerConfig.GetInt(c, "dilation_rate", 1))
            {
                KernelRegularizer = RegularizerOf(c, "kernel_regularizer"),
                BiasRegularizer = RegularizerOf(c, "bias_regularizer"),
                KernelConstraint = ConstraintOf(c, "kernel_constraint"),
                BiasConstraint = ConstraintOf(c, "bias_constraint"),
            };
    }

    private sealed class GlobalPoolingFactory(bool max, int rank) : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T> => (max, rank) switch
        {
            (true, 1) => new GlobalMaxPooling1D<T>(),
            (true, _) => new GlobalMaxPooling2D<T>(),
            (false, 1) => new GlobalAveragePooling1D<T>(),
            _ => new GlobalAveragePooling2D<T>(),
        };
    }

    /// <summary>Max and average pooling share their options: <c>pool_size</c>, <c>strides</c> (an integer in 1-D, a
    /// pair in 2-D) and <c>padding</c>.</summary>
    private sealed class PoolingFactory(bool max, int rank) : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T>
        {
            string padding = LayerConfig.GetString(c, "padding", "valid");
            if (rank == 1)
            {
                int pool = LayerConfig.GetInt(c, "pool_size", 2), strides = LayerConfig.GetInt(c, "strides", pool);
                return max ? new MaxPooling1D<T>(pool, strides, padding) : new AveragePooling1D<T>(pool, strides, padding);
            }
            var pool2 = Pair(c, "pool_size", (2, 2));
            var strides2 = Pair(c, "strides", pool2);
            return max ? new MaxPooling2D<T>(pool2, strides2, padding) : new AveragePooling2D<T>(pool2, strides2, padding);
        }
    }

    private sealed class MaskingFactory : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T> =>
            new Masking<T>(LayerConfig.GetDouble(c, "mask_value", 0));
    }

    // The options every recurrent layer shares (RecurrentLayer's base config), with Keras' defaults.
    private static (string Activation, bool UseBias, Initializer Kernel, Initializer Recurrent, Initializer Bias,
        bool ReturnSequences, bool ReturnState, bool GoBackwards, bool Stateful, int TruncateBptt) Recurrent(IReadOnlyDictionary<string, string> c) =>
        (LayerConfig.GetString(c, "activation", "tanh"), LayerConfig.GetBool(c, "use_bias", true),
         Initializer.Get(LayerConfig.GetString(c, "kernel_initializer", "glorot_uniform")),
         Initializer.Get(LayerConfig.GetString(c, "recurrent_initializer", "orthogonal")),
         Initializer.Get(LayerConfig.GetString(c, "bias_initializer", "zeros")),
         LayerConfig.GetBool(c, "return_sequences", false), LayerConfig.GetBool(c, "return_state", false),
         LayerConfig.GetBool(c, "go_backwards", false), LayerConfig.GetBool(c, "stateful", false),
         LayerConfig.GetInt(c, "truncate_bptt", 0));

    private sealed class SimpleRnnFactory : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var r = Recurrent(c);
            return WithMaskOptions(c, new SimpleRnn<T>(LayerConfig.GetInt(c, "units"), r.Activation, r.UseBias, r.Kernel, r.Recurrent, r.Bias,
                r.ReturnSequences, r.ReturnState, r.GoBackwards, r.Stateful, r.TruncateBptt));
        }
    }

    private sealed class LstmFactory : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var r = Recurrent(c);
            return WithMaskOptions(c, new Lstm<T>(LayerConfig.GetInt(c, "units"), r.Activation, LayerConfig.GetString(c, "recurrent_activation", "sigmoid"),
                r.UseBias, r.Kernel, r.Recurrent, r.Bias, LayerConfig.GetBool(c, "unit_forget_bias", true),
                r.ReturnSequences, r.ReturnState, r.GoBackwards, r.Stateful, r.TruncateBptt));
        }
    }

    private sealed class GruFactory : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var r = Recurrent(c);
            return WithMaskOptions(c, new Gru<T>(LayerConfig.GetInt(c, "units"), r.Activation, LayerConfig.GetString(c, "recurrent_activation", "sigmoid"),
                r.UseBias, r.Kernel, r.Recurrent, r.Bias, r.ReturnSequences, r.ReturnState, r.GoBackwards, r.Stateful, r.TruncateBptt,
                LayerConfig.GetBool(c, "reset_after", true)));
        }
    }

    /// <summary>Bidirectional saves its wrapped layer's type as <c>layer</c> and its options as <c>layer.*</c>.</summary>
    private sealed class BidirectionalFactory : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T>
        {
            string inner = LayerConfig.GetString(c, "layer");
            var sub = c.Where(kv => kv.Key.StartsWith("layer.", StringComparison.Ordinal))
                       .ToDictionary(kv => kv.Key["layer.".Length..], kv => kv.Value, StringComparer.Ordinal);
            if (LayerRegistry<T>.Create(inner, sub) is not RecurrentLayer<T> rnn)
                throw new ArgumentException($"Bidirectional wraps a recurrent layer, not '{inner}'.");
            return new Bidirectional<T>(rnn, LayerConfig.GetString(c, "merge_mode", "concat"));
        }
    }

    /// <summary>TimeDistributed saves its wrapped layer's type as <c>layer</c> and its options as <c>layer.*</c> (any
    /// registered type, a TimeDistributed included).</summary>
    private sealed class TimeDistributedFactory : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var sub = c.Where(kv => kv.Key.StartsWith("layer.", StringComparison.Ordinal))
                       .ToDictionary(kv => kv.Key["layer.".Length..], kv => kv.Value, StringComparer.Ordinal);
            return new TimeDistributed<T>(LayerRegistry<T>.Create(LayerConfig.GetString(c, "layer"), sub));
        }
    }

    /// <summary>A Functional graph saves its input shape and name, the number of calls, and for call <c>i</c> (in run
    /// order) <c>node.i.kind</c>, <c>type</c>, <c>name</c>, <c>inputs</c> and the layer's options as
    /// <c>node.i.config.*</c>, and with several outputs <c>outputs</c> (their references); the graph is rebuilt by calling
    /// the recreated layers in that order.</summary>
    private sealed class FunctionalFactory : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T>
        {
            static int[] Shape(string text) => text.Split(',').Select(d => d == "None" ? Input<T>.None : int.Parse(d, NumberStyles.Integer, CultureInfo.InvariantCulture)).ToArray();
            Input<T>[] inputs;
            if (c.ContainsKey("inputs"))
            {
                int k = LayerConfig.GetInt(c, "inputs");
                if (k < 2) throw new ArgumentException($"a graph saved with 'inputs' has at least two; inputs is {k}.");
                inputs = new Input<T>[k];
                for (int i = 0; i < k; i++)
                {
                    string prefix = $"input.{i.ToString(CultureInfo.InvariantCulture)}.";
                    inputs[i] = new Input<T>(Shape(LayerConfig.GetString(c, prefix + "shape"))) { Name = LayerConfig.GetString(c, prefix + "name", $"input_{i}") };
                }
            }
            else inputs = [new Input<T>(Shape(LayerConfig.GetString(c, "input_shape"))) { Name = LayerConfig.GetString(c, "input_name", "input_layer") }];
            int count = LayerConfig.GetInt(c, "nodes");
            if (count < 1) throw new ArgumentException($"a graph has at least one call; nodes is {count}.");
            var outputs = new SymbolicTensor<T>[count][];
            for (int i = 0; i < count; i++)
            {
                string prefix = $"node.{i.ToString(CultureInfo.InvariantCulture)}.";
                var sub = c.Where(kv => kv.Key.StartsWith(prefix + "config.", StringComparison.Ordinal))
                           .ToDictionary(kv => kv.Key[(prefix.Length + "config.".Length)..], kv => kv.Value, StringComparer.Ordinal);
                // A reference: input, input:k, j (layer j's output) or j/c (call c of shared layer j).
                SymbolicTensor<T> Source(string s)
                {
                    if (s == "input" && inputs.Length == 1) return inputs[0];
                    if (s.StartsWith("input:", StringComparison.Ordinal))
                    {
                        int which = int.Parse(s.AsSpan("input:".Length), NumberStyles.None, CultureInfo.InvariantCulture);
                        if (which >= inputs.Length) throw new ArgumentException($"call {i} reads input {which}, but the graph has {inputs.Length}.");
                        return inputs[which];
                    }
                    int slash = s.IndexOf('/');
                    int k = int.Parse(slash < 0 ? s : s[..slash], NumberStyles.None, CultureInfo.InvariantCulture);
                    int call = slash < 0 ? 0 : int.Parse(s[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture);
                    if (k >= i) throw new ArgumentException($"call {i} reads call {k}, which does not run before it.");
                    if (call >= outputs[k].Length) throw new ArgumentException($"call {i} reads output {call} of layer {k}, which has {outputs[k].Length}.");
                    return outputs[k][call];
                }
                string type = LayerConfig.GetString(c, prefix + "type"), name = LayerConfig.GetString(c, prefix + "name");
                string reads = LayerConfig.GetString(c, prefix + "inputs");
                switch (LayerConfig.GetString(c, prefix + "kind"))
                {
                    case "layer":
                        // One reference per call; a layer called more than once shares its weights.
                        var layer = LayerRegistry<T>.Create(type, sub);
                        layer.Name = name;
                        outputs[i] = reads.Split(';').Select(r => r.Contains(',')
                            ? throw new ArgumentException($"call {i} ('{name}') is a single-input layer but reads '{r}'.")
                            : layer.Call(Source(r))).ToArray();
                        break;
                    case "merge":
                        var merge = MergeRegistry.Create<T>(type, sub);
                        merge.Name = name;
                        outputs[i] = [merge.Call(reads.Split(',').Select(Source).ToArray())];
                        break;
                    case var kind:
                        throw new ArgumentException($"call {i} ('{name}') has kind '{kind}'; expected 'layer' or 'merge'.");
                }
            }
            // A graph of several outputs lists them; one output is the last call's.
            if (!c.TryGetValue("outputs", out var listed)) return new Functional<T>(inputs, outputs[^1][0]);
            var results = listed.Split(',').Select(r =>
            {
                int slash = r.IndexOf('/');
                int k = int.Parse(slash < 0 ? r : r[..slash], NumberStyles.None, CultureInfo.InvariantCulture);
                int call = slash < 0 ? 0 : int.Parse(r[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture);
                if (k >= count || call >= outputs[k].Length) throw new ArgumentException($"outputs lists '{r}', which is not the output of a call of the graph.");
                return outputs[k][call];
            }).ToArray();
            return new Functional<T>(inputs, results);
        }
    }

    private sealed class DenseFactory : ILayerFactory
    {
        public ILayer<T> Create<T>(IReadOnlyDictionary<string, string> c) where T : unmanaged, IFloatingPointIeee754<T> =>
            new Dense<T>(LayerConfig.GetInt(c, "units"), LayerConfig.GetString(c, "activation", "linear"),
                LayerConfig.GetBool(c, "use_bias", true),
                Initializer.Get(LayerConfig.GetString(c, "kernel_initializer", "glorot_uniform")),
                Initializer.Get(LayerConfig.GetString(c, "bias_initializer", "zeros")))
            {
                KernelRegularizer = RegularizerOf(c, "kernel_regularizer"),
                BiasRegularizer = RegularizerOf(c, "bias_regularizer"),
                KernelConstraint = ConstraintOf(c, "kernel_constraint"),
                BiasConstraint = ConstraintOf(c, "bias_constraint"),
            };
    }
}

/// <summary>The per-element-type registry behind <see cref="LayerRegistry"/>; register a factory for one type here.</summary>
public static class LayerRegistry<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly ConcurrentDictionary<string, Func<IReadOnlyDictionary<string, string>, ILayer<T>>> s_factories =
        new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Registers (or replaces) a factory for this element type; it takes precedence over one for every type.</summary>
    public static void Register(string typeName, Func<IReadOnlyDictionary<string, string>, ILayer<T>> factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(typeName);
        ArgumentNullException.ThrowIfNull(factory);
        s_factories[typeName] = factory;
    }

    /// <summary>Whether <paramref name="typeName"/> can be created.</summary>
    public static bool IsRegistered(string typeName) => s_factories.ContainsKey(typeName) || LayerRegistry.TryGetGeneric(typeName, out _);

    /// <summary>Creates a layer of <paramref name="typeName"/> from its options. An <c>activity_regularizer</c> option
    /// (Keras' name) sets <see cref="Layer{T}.ActivityRegularizer"/> on the created layer, whatever its type.</summary>
    /// <exception cref="KeyNotFoundException">No factory is registered; the message lists the known types.</exception>
    /// <exception cref="InvalidDataException">The factory rejected the options; the message names the type.</exception>
    public static ILayer<T> Create(string typeName, IReadOnlyDictionary<string, string> config)
    {
        ArgumentNullException.ThrowIfNull(typeName);
        ArgumentNullException.ThrowIfNull(config);
        try
        {
            ILayer<T>? layer = s_factories.TryGetValue(typeName, out var f) ? f(config)
                : LayerRegistry.TryGetGeneric(typeName, out var g) ? g.Create<T>(config) : null;
            if (layer is not null && config.TryGetValue("activity_regularizer", out var activity))
            {
                if (layer is not Layer<T> withActivity)
                    throw new ArgumentException($"activity_regularizer '{activity}' is set, but {layer.GetType().Name} does not derive from Layer<T>, which holds it.");
                withActivity.ActivityRegularizer = Regularizer.Get(activity);
            }
            if (layer is not null) return layer;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or KeyNotFoundException or OverflowException)
        {
            throw new InvalidDataException($"Cannot create a '{typeName}' layer from its saved options ({LayerConfig.Format(config)}): {e.Message}", e);
        }
        var known = s_factories.Keys.Concat(LayerRegistry.GenericNames).Distinct(StringComparer.OrdinalIgnoreCase).Order();
        throw new KeyNotFoundException($"No layer factory is registered for type '{typeName}'. Known: {string.Join(", ", known)}. Register one with LayerRegistry.Register.");
    }
}

/// <summary>Reads typed values from a layer's string options (invariant culture), for layer factories.</summary>
public static class LayerConfig
{
    /// <summary>The string value of <paramref name="key"/>, or <paramref name="fallback"/> when absent.</summary>
    /// <exception cref="KeyNotFoundException">The key is absent and there is no fallback.</exception>
    public static string GetString(IReadOnlyDictionary<string, string> config, string key, string? fallback = null) =>
        config.TryGetValue(key, out var v) ? v : fallback ?? throw new KeyNotFoundException($"Option '{key}' is missing.");

    /// <summary>An integer option.</summary>
    /// <exception cref="KeyNotFoundException">The key is absent and there is no fallback.</exception>
    /// <exception cref="FormatException">The value is not an integer.</exception>
    public static int GetInt(IReadOnlyDictionary<string, string> config, string key, int? fallback = null) =>
        config.TryGetValue(key, out var v) ? int.Parse(v, NumberStyles.Integer, CultureInfo.InvariantCulture)
        : fallback ?? throw new KeyNotFoundException($"Option '{key}' is missing.");

    /// <summary>A floating-point option.</summary>
    /// <exception cref="KeyNotFoundException">The key is absent and there is no fallback.</exception>
    /// <exception cref="FormatException">The value is not a number.</exception>
    public static double GetDouble(IReadOnlyDictionary<string, string> config, string key, double? fallback = null) =>
        config.TryGetValue(key, out var v) ? double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture)
        : fallback ?? throw new KeyNotFoundException($"Option '{key}' is missing.");

    /// <summary>A boolean option (<c>true</c>/<c>false</c>).</summary>
    /// <exception cref="KeyNotFoundException">The key is absent and there is no fallback.</exception>
    /// <exception cref="FormatException">The value is not a boolean.</exception>
    public static bool GetBool(IReadOnlyDictionary<string, string> config, string key, bool? fallback = null) =>
        config.TryGetValue(key, out var v) ? bool.Parse(v) : fallback ?? throw new KeyNotFoundException($"Option '{key}' is missing.");

    internal static string Format(IReadOnlyDictionary<string, string> config) =>
        string.Join(", ", config.Select(kv => $"{kv.Key}={kv.Value}"));
}
