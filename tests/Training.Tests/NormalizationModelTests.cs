using Nn.Simd.Layers;
using Nn.Simd.Layers.Constraints;
using Nn.Simd.Layers.Initializers;
using Nn.Simd.Layers.Regularizers;
using Nn.Simd.Tensors;

namespace Nn.Simd.Training.Tests;

/// <summary>Flatten, BatchNormalization, LayerNormalization, GroupNormalization and Normalization inside a model: training, the parameter counts, save and load.</summary>
public sealed class NormalizationModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nn-bn").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ImageMlp_WithFlattenAndBatchNorm_Trains_CountsBuffersAsNonTrainable_AndRoundTrips()
    {
        // 3 blobs drawn as 4×3 "images": the features are the blob coordinates repeated with noise.
        var (flat, labels, _) = TestData.Blobs(96, 11);
        var x = new Tensor<float>(96, 4, 3);
        var rng = new Random(1);
        for (int i = 0; i < 96; i++)
            for (int k = 0; k < 12; k++)
                x[i, k / 3, k % 3] = flat[i, k % 2] * 10 + 50 + (float)rng.NextDouble();   // far from zero mean
        var model = new Sequential(
            new Flatten<float>(),
            new Dense<float>(8),
            new BatchNormalization<float>(),
            new ActivationLayer<float>("relu"),
            new Dense<float>(3, "softmax")) { Seed = 5 };
        model.Compile("sparse_categorical_crossentropy", "adam", "accuracy");
        model.Fit(x, labels, epochs: 60, batchSize: 16);
        // Inference uses the moving statistics. (Without the BatchNormalization layer this model, on inputs near
        // 50, stays at chance: 0.22 after 60 epochs.)
        double accuracy = model.Evaluate(x, labels)["accuracy"];
        Assert.True(accuracy > 0.95, $"accuracy {accuracy}");

        var bn = (BatchNormalization<float>)model.Layers[2];
        Assert.NotEqual(new float[8], bn.MovingMean.Value.ToArray());
        string summary = model.Summary();
        Assert.Contains("Total params: 163 (652.00 B)", summary);          // 12·8 + 8 + 4·8 + 8·3 + 3
        Assert.Contains("Trainable params: 147 (588.00 B)", summary);
        Assert.Contains("Non-trainable params: 16 (64.00 B)", summary);   // moving mean and variance

        string path = Path.Combine(_dir, "bn.safetensors");
        model.Save(path);
        var loaded = Sequential.Load(path);
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
        Assert.Equal(bn.MovingVariance.Value.ToArray(), ((BatchNormalization<float>)loaded.Layers[2]).MovingVariance.Value.ToArray());
        Assert.Equal(summary, loaded.Summary());
        // The optimizer keeps no state for the buffers.
        Assert.Null(model.Optimizer!.GetStateOf(bn.MovingMean));
    }

    [Fact]
    public void RecurrentStack_WithLayerNorm_TrainsAndRoundTrips()
    {
        var x = Tensor<float>.RandomNormal(new TensorShape(16, 5, 3), 1);
        var y = Tensor<float>.RandomNormal(new TensorShape(16, 1), 2);
        var model = new Sequential(new Lstm<float>(6, returnSequences: true), new LayerNormalization<float>(), new Gru<float>(4), new Dense<float>(1)) { Seed = 3 };
        model.Compile("mse", "adam");
        var history = model.Fit(x, y, epochs: 20, batchSize: 8);
        Assert.True(history["loss"][^1] < history["loss"][0]);
        string path = Path.Combine(_dir, "ln.safetensors");
        model.Save(path);
        var loaded = Sequential.Load(path);
        Assert.IsType<LayerNormalization<float>>(loaded.Layers[1]);
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
    }

    [Fact]
    public void AdaptedNormalization_FirstInAModel_TrainsOnRawFeatures_AndRoundTripsWithItsStatistics()
    {
        // Features in the thousands: with the layer first, the model learns from raw values.
        var (flat, labels, _) = TestData.Blobs(96, 12);
        var x = new Tensor<float>(96, 2);
        for (int i = 0; i < 96; i++)
        {
            x[i, 0] = flat[i, 0] * 300 + 5000;
            x[i, 1] = flat[i, 1] * 0.01f - 40;
        }
        var norm = new Normalization<float>();
        norm.Adapt(x);
        var model = new Sequential(norm, new Dense<float>(8, "relu"), new Dense<float>(3, "softmax")) { Seed = 6 };
        model.Compile("sparse_categorical_crossentropy", "adam", "accuracy");
        float[] mean = norm.Mean.Value.ToArray();
        model.Fit(x, labels, epochs: 40, batchSize: 16);
        Assert.True(model.Evaluate(x, labels)["accuracy"] > 0.9);
        Assert.Equal(mean, norm.Mean.Value.ToArray());   // never trained
        Assert.Contains("Non-trainable params: 4 (16.00 B)", model.Summary());

        string path = Path.Combine(_dir, "norm.safetensors");
        model.Save(path);
        var loaded = Sequential.Load(path);
        Assert.Equal(mean, ((Normalization<float>)loaded.Layers[0]).Mean.Value.ToArray());
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
    }

    [Fact]
    public void FixedAndInvertedNormalization_RoundTripTheirOptions()
    {
        var model = new Sequential(new Normalization<float>([1.5, -2], [4, 0.25]), new Dense<float>(2),
            new Normalization<float>([10.0], [9.0], invert: true)) { Seed = 7 };
        model.Compile("mse", "sgd");
        var x = Tensor<float>.RandomNormal(new TensorShape(5, 2), 8);
        var before = model.Predict(x).ToArray();
        string path = Path.Combine(_dir, "fixed.safetensors");
        model.Save(path);
        var loaded = Sequential.Load(path);
        var first = (Normalization<float>)loaded.Layers[0];
        var last = (Normalization<float>)loaded.Layers[2];
        Assert.True(first.HasFixedStatistics && !first.Invert);
        Assert.True(last.HasFixedStatistics && last.Invert);
        Assert.Equal([10f, 10f], last.Mean.Value.ToArray());   // one value broadcast to both features
        Assert.Equal(before, loaded.Predict(x).ToArray());
    }

    [Fact]
    public void ConvNet_WithGroupNorm_Trains_AndRoundTripsItsOptionsAndWeights()
    {
        var x = Tensor<float>.RandomNormal(new TensorShape(24, 6, 6, 2), 1);
        var y = new Tensor<float>(24, 1);
        var xs = x.ToArray();
        for (int i = 0; i < 24; i++) y[i, 0] = xs[i * 72 + (2 * 6 + 3) * 2] - xs[i * 72 + (4 * 6 + 1) * 2 + 1];   // x[i,2,3,0] − x[i,4,1,1]
        var gn = new GroupNormalization<float>(4, gammaInitializer: new Constant(0.5))
        {
            GammaRegularizer = Regularizer.Ridge(1e-3), BetaConstraint = new NonNeg(),
        };
        var model = new Sequential(new Conv2D<float>(8, (3, 3), padding: "same", activation: "relu"), gn,
            new GlobalAveragePooling2D<float>(), new Dense<float>(1)) { Seed = 4 };
        model.Compile("mse", "adam");
        var history = model.Fit(x, y, epochs: 8, batchSize: 8);
        Assert.True(history["loss"][^1] < history["loss"][0], string.Join(", ", history["loss"]));
        Assert.All(gn.Parameters[1].Value.ToArray(), v => Assert.True(v >= 0));
        Assert.Contains("Total params: 177", model.Summary());   // 3·3·2·8 + 8, γ and β 2·8, 8 + 1

        string path = Path.Combine(_dir, "gn.safetensors");
        model.Save(path);
        var loaded = Sequential.Load(path);
        var restored = Assert.IsType<GroupNormalization<float>>(loaded.Layers[1]);
        Assert.Equal(gn.GetConfig().OrderBy(p => p.Key), restored.GetConfig().OrderBy(p => p.Key));
        Assert.Equal("constant:0.5", restored.GammaInitializer.Name);
        Assert.Equal(model.Parameters.Select(p => (p.Name, p.Regularizer?.Name, p.Constraint?.Name)),
            loaded.Parameters.Select(p => (p.Name, p.Regularizer?.Name, p.Constraint?.Name)));
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
    }

    [Fact]
    public void UnitNormalization_InAModel_TrainsAndRoundTripsItsAxis()
    {
        var x = Tensor<float>.RandomNormal(new TensorShape(16, 4, 3), 1);
        var y = Tensor<float>.RandomNormal(new TensorShape(16, 1), 2);
        var model = new Sequential(new Dense<float>(5), new UnitNormalization<float>(axis: 1), new Flatten<float>(), new Dense<float>(1)) { Seed = 6 };
        model.Compile("mse", "adam");
        var history = model.Fit(x, y, epochs: 10, batchSize: 8);
        Assert.True(history["loss"][^1] < history["loss"][0], string.Join(", ", history["loss"]));
        string path = Path.Combine(_dir, "un.safetensors");
        model.Save(path);
        var loaded = Sequential.Load(path);
        Assert.Equal(1, Assert.IsType<UnitNormalization<float>>(loaded.Layers[1]).Axis);
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
    }
}
