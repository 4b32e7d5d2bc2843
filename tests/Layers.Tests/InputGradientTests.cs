using Nn.Simd.Tensors;

namespace Nn.Simd.Layers.Tests;

/// <summary><c>ComputeInputGradient = false</c> skips only the input gradient: parameter gradients are unchanged.</summary>
public class InputGradientTests
{
    private static (float[][] Grads, Tensor<float> Dx) Run(ILayer<float> layer, TensorShape inputShape, bool computeInputGradient)
    {
        switch (layer)
        {
            case Dense<float> d: d.ComputeInputGradient = computeInputGradient; break;
            case RecurrentLayer<float> r: r.ComputeInputGradient = computeInputGradient; break;
        }
        layer.Build(inputShape, 3);
        var x = Tensor<float>.RandomNormal(inputShape, seed: 4);
        var y = layer.Forward(x, training: true);
        var dy = Tensor<float>.RandomNormal(y.Shape, seed: 5);
        foreach (var p in layer.Parameters) p.Grad.Clear();
        var dx = layer.Backward(dy);
        return (layer.Parameters.Select(p => p.Grad.ToArray()).ToArray(), dx);
    }

    public static TheoryData<string> Kinds => ["dense", "dense_relu_seq", "lstm", "gru", "simple_rnn"];

    private static ILayer<float> Make(string kind) => kind switch
    {
        "dense" => new Dense<float>(6),
        "dense_relu_seq" => new Dense<float>(6, "relu"),
        "lstm" => new Lstm<float>(5, returnSequences: true),
        "gru" => new Gru<float>(5),
        _ => new SimpleRnn<float>(5),
    };

    [Theory, MemberData(nameof(Kinds))]
    public void SkippingTheInputGradient_KeepsParameterGradients_AndReturnsZeros(string kind)
    {
        var shape = kind.StartsWith("dense", StringComparison.Ordinal) && kind != "dense_relu_seq"
            ? new TensorShape(7, 9) : new TensorShape(7, 4, 9);
        var (full, dxFull) = Run(Make(kind), shape, computeInputGradient: true);
        var (skipped, dxSkipped) = Run(Make(kind), shape, computeInputGradient: false);
        Assert.Equal(full.Length, skipped.Length);
        for (int i = 0; i < full.Length; i++) Assert.Equal(full[i], skipped[i]);
        Assert.Equal(shape, dxSkipped.Shape);
        Assert.All(dxSkipped.ToArray(), v => Assert.Equal(0f, v));
        Assert.Contains(dxFull.ToArray(), v => v != 0f);   // the real gradient is not trivially zero
    }
}
