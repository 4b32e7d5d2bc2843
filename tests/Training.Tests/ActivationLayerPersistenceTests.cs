using Nn.Simd.Layers;
using Nn.Simd.Layers.Activations;
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

    public static TheoryData<string> ActivationNames() => new(Activations.Names);

    [Theory]
    [MemberData(nameof(ActivationNames))]
    public void DenseWithEachActivation_SavesAndLoadsByName(string name)
    {
        string path = Path.Combine(Path.GetTempPath(), $"act-{name}-{Guid.NewGuid():N}.safetensors");
        try
        {
            var model = new Sequential(new Dense<float>(6, name), new ActivationLayer<float>(name));
            model.Seed = 5;
            model.Build(4);
            var x = Tensor<float>.RandomNormal(new TensorShape(3, 4), seed: 9);
            model.Save(path);
            var loaded = Model.Load(path);
            Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
            var dense = Assert.IsType<Dense<float>>(loaded.Layers[0]);
            Assert.Equal(Activations.Get<float>(name).GetType(), dense.Activation.GetType());
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void NonDefaultEluAlphaAndLeakySlope_SurviveSaveAndLoad()
    {
        string path = Path.Combine(Path.GetTempPath(), $"act-param-{Guid.NewGuid():N}.safetensors");
        try
        {
            var model = new Sequential(new Dense<float>(6, new Elu<float>(0.25)), new ActivationLayer<float>(new LeakyRelu<float>(0.05)),
                new Dense<float>(2, new Elu<float>()), new ActivationLayer<float>(new Gelu<float>(approximate: true)));
            model.Seed = 5;
            model.Build(4);
            var x = Tensor<float>.RandomNormal(new TensorShape(3, 4), seed: 9);
            model.Save(path);
            var loaded = Model.Load(path);
            Assert.Equal(0.25, Assert.IsType<Elu<float>>(Assert.IsType<Dense<float>>(loaded.Layers[0]).Activation).Alpha);
            Assert.Equal(0.05, Assert.IsType<LeakyRelu<float>>(Assert.IsType<ActivationLayer<float>>(loaded.Layers[1]).Activation).NegativeSlope);
            Assert.Equal(1.0, Assert.IsType<Elu<float>>(Assert.IsType<Dense<float>>(loaded.Layers[2]).Activation).Alpha);
            Assert.True(Assert.IsType<Gelu<float>>(Assert.IsType<ActivationLayer<float>>(loaded.Layers[3]).Activation).Approximate);
            Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void GeluForms_ByName()
    {
        Assert.False(Assert.IsType<Gelu<float>>(Activations.Get<float>("gelu")).Approximate);
        Assert.True(Assert.IsType<Gelu<float>>(Activations.Get<float>("GELU:tanh")).Approximate);
        Assert.Equal("gelu:tanh", new Gelu<double>(approximate: true).Name);
        Assert.Throws<ArgumentException>("name", () => Activations.Get<float>("gelu:0.5"));
        Assert.Throws<ArgumentException>("name", () => Activations.Get<float>("relu:tanh"));
    }
}
