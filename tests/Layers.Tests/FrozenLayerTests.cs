using Nn.Simd.Tensors;

namespace Nn.Simd.Layers.Tests;

/// <summary>A frozen layer (Trainable = false) forms no weight gradients but passes the same input gradient.</summary>
public class FrozenLayerTests
{
    public static TheoryData<string> Kinds => ["dense", "simple_rnn", "lstm", "gru", "gru_v1", "batch_norm", "layer_norm"];

    private static Layer<double> Make(string kind) => kind switch
    {
        "dense" => new Dense<double>(4, "tanh"),
        "batch_norm" => new BatchNormalization<double>(),
        "layer_norm" => new LayerNormalization<double>(),
        _ => RnnTestUtil.Make<double>(kind, 4, seq: true),
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void FrozenWeights_GetNoGradient_AndTheInputGradientIsUnchanged(string kind)
    {
        var shape = kind == "dense" ? new TensorShape(5, 3) : new TensorShape(5, 6, 3);
        var x = Tensor<double>.RandomNormal(shape, seed: 1);
        var live = Make(kind);
        var frozen = Make(kind);
        live.Build(shape, 2);
        frozen.Build(shape, 2);
        RnnTestUtil.Randomize(live, 3);
        RnnTestUtil.CopyParameters(live, frozen);
        frozen.Trainable = false;
        var dy = Tensor<double>.RandomNormal(live.ComputeOutputShape(shape), seed: 4);
        // BatchNormalization runs in inference mode when frozen; compare it with the live layer in inference mode.
        bool training = kind != "batch_norm";
        live.Forward(x, training);
        frozen.Forward(x, training: true);
        var dxLive = live.Backward(dy).ToArray();
        var dxFrozen = frozen.Backward(dy).ToArray();
        Assert.Equal(dxLive, dxFrozen);
        Assert.All(frozen.Parameters, p => Assert.All(p.Grad.ToArray(), g => Assert.Equal(0.0, g)));
        Assert.Contains(live.Parameters, p => p.Grad.ToArray().Any(g => g != 0));
    }
}
