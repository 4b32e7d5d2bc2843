using FsCheck;
using FsCheck.Xunit;
using Nn.Simd.Layers.Activations;
using Nn.Simd.Tensors;
using Nn.Simd.Training;

namespace Nn.Simd.Layers.Tests;

/// <summary>Every activation, as a layer and inside Dense, passes the float64 gradient check over random shapes.</summary>
public class ActivationPropertyTests
{
    [Property(MaxTest = 10, Replay = "(307,4099)")]
    public void EveryActivation_GradientCheck_RandomShapes(PositiveInt batch, PositiveInt time, PositiveInt features, PositiveInt units, int seed)
    {
        foreach (string name in Activations.Activations.Names) Check(name, batch, time, features, units, seed);
    }

    private static void Check(string name, PositiveInt batch, PositiveInt time, PositiveInt features, PositiveInt units, int seed)
    {
        int b = 1 + batch.Get % 8, t = 1 + time.Get % 12, f = 1 + features.Get % 10, h = 1 + units.Get % 12;
        var x = Tensor<double>.RandomNormal(new TensorShape(b, t, f), seed);

        var asLayer = GradientCheck.Check(new ActivationLayer<double>(name), x);
        Assert.True(asLayer.Passed, $"{name} layer on [{b}, {t}, {f}]: {asLayer}");

        var dense = new Dense<double>(h, name);
        dense.Build(x.Shape, seed);
        dense.Bias!.Value.Span.Fill(0.05);
        var inDense = GradientCheck.Check(dense, x);
        Assert.True(inDense.Passed, $"Dense({h}, {name}) on [{b}, {t}, {f}]: {inDense}");
    }
}
