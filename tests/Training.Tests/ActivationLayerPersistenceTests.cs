using Nn.Simd.Layers;
using Nn.Simd.Tensors;

namespace Nn.Simd.Training.Tests;

public class ActivationLayerPersistenceTests
{
    [Fact]
    public void ModelWithActivationLayers_RoundTrips()
    {
        string path = Path.Combine(Path.GetTempPath(), $"act-{Guid.NewGuid():N}.safetensors");
        try
        {
            var model = new Sequential(new Dense<float>(8), new ActivationLayer<float>("gelu"), new Dense<float>(3), new ActivationLayer<float>("softmax"));
            model.Seed = 3;
            model.Build(5);
            var x = Tensor<float>.RandomNormal(new TensorShape(4, 5), seed: 2);
            model.Save(path);
            var loaded = Model.Load(path);
            Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
            Assert.Contains("activation", loaded.Summary());
        }
        finally { File.Delete(path); }
    }
}
