using Nn.Simd.Layers;
using Nn.Simd.Layers.Activations;
using Nn.Simd.Tensors;
using static TorchSharp.torch;

namespace Nn.Simd.Parity.Tests;

/// <summary>The Keras activations added beyond relu/tanh/sigmoid/softmax against libtorch's functional ops:
/// output and the gradient with respect to the input, on the same inputs.</summary>
public class ActivationParityTests
{
    public static TheoryData<string> Names() =>
        ["elu", "elu:0.5", "selu", "silu", "swish", "softplus", "softsign", "hard_sigmoid", "hard_silu", "hard_swish", "relu6", "mish", "exponential", "log_softmax"];

    private static Tensor Torch(string name, Tensor x) => name switch
    {
        "elu" => nn.functional.elu(x, 1.0),
        "elu:0.5" => nn.functional.elu(x, 0.5),
        "selu" => nn.functional.selu(x),
        "silu" or "swish" => nn.functional.silu(x),
        "softplus" => nn.functional.softplus(x),
        "softsign" => nn.functional.softsign(x),
        "hard_sigmoid" => nn.functional.hardsigmoid(x),
        "hard_silu" or "hard_swish" => nn.functional.hardswish(x),
        "relu6" => nn.functional.relu6(x),
        "mish" => nn.functional.mish(x),
        "exponential" => exp(x),
        "log_softmax" => nn.functional.log_softmax(x, -1),
        _ => throw new ArgumentException(name, nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void Activation_MatchesTorch(string name)
    {
        const int b = 5, f = 37;
        var rng = new Random(name.Length * 31 + name[0]);
        // Mostly in [−8, 8], where every function bends, plus large magnitudes in the first row (not for exponential,
        // whose e^60 would make the comparison a test of float overflow).
        float[] values = Enumerable.Range(0, b * f).Select(_ => (float)((rng.NextDouble() - 0.5) * 16)).ToArray();
        if (name != "exponential") { values[0] = -60; values[1] = 60; values[2] = -25; values[3] = 25; values[4] = 0; }
        var x = Tensor<float>.FromArray(values, b, f);
        var dy = Tensor<float>.RandomNormal(new TensorShape(b, f), seed: 17);
        var layer = new ActivationLayer<float>(name);
        var y = layer.Forward(x, training: true).Clone();
        var dx = layer.Backward(dy).Clone();

        using var scope = NewDisposeScope();
        var tx = tensor(values, [b, f]).requires_grad_(true);
        var ty = Torch(name, tx);
        ty.backward([tensor(dy.ToArray(), [b, f])]);
        Parity.AssertClose(ty.data<float>().ToArray(), y.ToArray(), $"{name} output");
        Parity.AssertClose(tx.grad!.data<float>().ToArray(), dx.ToArray(), $"{name} dX");
    }
}
