using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using Nn.Simd.Training;
using Nn.Simd.Training.Optimizers;

namespace Nn.Simd.Training.Tests;

/// <summary>The README's code example, kept compiling and working.</summary>
public class ReadmeExampleTests
{
    [Fact]
    public void ReadmeExample_TrainsSavesAndLoads()
    {
        string path = Path.Combine(Path.GetTempPath(), $"readme-{Guid.NewGuid():N}.safetensors");
        try
        {
            // --- README example begins ---
            // A sequence regressor: [samples, time, features] -> [samples, 1].
            var x = Tensor<float>.RandomNormal(new TensorShape(512, 20, 3), seed: 1);
            var y = new Tensor<float>(512, 1);
            for (int i = 0; i < 512; i++) y[i, 0] = x[i, 19, 0] - 0.5f * x[i, 18, 1];   // something to learn

            var model = new Sequential(
                new Lstm<float>(32),
                new Dense<float>(1));
            model.Seed = 42;                       // fixes initialisation and shuffling
            model.Compile("mse", new Adam(learningRate: 3e-3));

            var history = model.Fit(x, y, epochs: 10, batchSize: 32, validationSplit: 0.2);
            Console.WriteLine(model.Summary());
            Console.WriteLine($"val_loss {history["val_loss"][^1]:F4}");

            model.Save(path);                      // safetensors, architecture in the header
            var restored = Model.Load(path);
            var prediction = restored.Predict(x);  // identical to model.Predict(x)
            // --- README example ends ---

            Assert.True(history["val_loss"][^1] < 0.5 * history["val_loss"][0], $"val_loss {history["val_loss"][0]} -> {history["val_loss"][^1]}");
            Assert.Equal(model.Predict(x).ToArray(), prediction.ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ReadmeFunctionalExample_Trains()
    {
        var x = Tensor<float>.RandomNormal(new TensorShape(512, 20, 3), seed: 1);
        var y = new Tensor<float>(512, 1);
        for (int i = 0; i < 512; i++) y[i, 0] = x[i, 19, 0] - 0.5f * x[i, 18, 1];

        // --- README functional example begins ---
        var inputs = new Input<float>(20, 3);                              // keras.Input(shape=(20, 3))
        var h = new Lstm<float>(32, returnSequences: true).Call(inputs);    // layer(x)
        var attended = new Attention<float>(useScale: true).Call(h, h);    // self-attention over the states
        var pooled = new GlobalAveragePooling1D<float>().Call(new Add<float>().Call(h, attended));   // a skip connection
        var model = Model.Create(inputs, new Dense<float>(1).Call(pooled), seed: 42);
        model.Compile("mse", new Adam(learningRate: 3e-3));
        var history = model.Fit(x, y, epochs: 30, batchSize: 32, validationSplit: 0.2);   // the data above
        // --- README functional example ends ---

        Assert.True(history["val_loss"][^1] < 0.5 * history["val_loss"][0], $"val_loss {history["val_loss"][0]} -> {history["val_loss"][^1]}");
    }
}
