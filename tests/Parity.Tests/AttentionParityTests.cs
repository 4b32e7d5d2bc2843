using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using static TorchSharp.torch;

namespace Nn.Simd.Parity.Tests;

/// <summary>Attention's dot mode against libtorch ops: softmax(σ·Q·Kᵀ − 1e9·causal)·V, forward and the gradients of
/// query, value, key and the scale. Keras subtracts 1e9 from masked scores (it does not set them to −∞ as
/// scaled_dot_product_attention does), so the same shift is built here from plain ops.</summary>
public class AttentionParityTests
{
    [Theory]
    [InlineData(2, 5, 7, 8, 6, true, false)]
    [InlineData(3, 6, 6, 16, 16, false, true)]
    [InlineData(1, 9, 4, 3, 5, true, true)]
    public void DotAttention_MatchesTorch(int b, int tq, int tv, int d, int dv, bool withKey, bool causal)
    {
        var q = Tensor<float>.RandomNormal(new TensorShape(b, tq, d), seed: 1);
        var v = Tensor<float>.RandomNormal(new TensorShape(b, tv, withKey ? dv : d), seed: 2);
        var k = Tensor<float>.RandomNormal(new TensorShape(b, tv, d), seed: 3);
        dv = v.Shape[2];
        var layer = new Attention<float>(useScale: true, useCausalMask: causal);
        Tensor<float>[] inputs = withKey ? [q, v, k] : [q, v];
        layer.Build([.. inputs.Select(t => t.Shape)], seed: 1);
        layer.Parameters[0].Value[0] = 0.7f;
        var y = layer.Forward(inputs, training: true).Clone();
        var dy = Tensor<float>.RandomNormal(y.Shape, seed: 4);
        var grads = layer.Backward(dy).Select(t => t.Clone()).ToList();

        using var scope = NewDisposeScope();
        var tq_ = tensor(q.ToArray(), [b, tq, d]).requires_grad_(true);
        var tv_ = tensor(v.ToArray(), [b, tv, dv]).requires_grad_(true);
        var tk_ = withKey ? tensor(k.ToArray(), [b, tv, d]).requires_grad_(true) : tv_;
        var scale = tensor(new[] { 0.7f }, [1]).requires_grad_(true);
        var scores = matmul(tq_, tk_.transpose(1, 2)) * scale;
        if (causal) scores = scores - 1e9f * ones(tq, tv).triu(1);
        var weights = nn.functional.softmax(scores, -1);
        var ty = matmul(weights, tv_);
        ty.backward([tensor(dy.ToArray(), [b, tq, dv])]);

        Parity.AssertClose(ty.data<float>().ToArray(), y.ToArray(), "output");
        Parity.AssertClose(weights.data<float>().ToArray(), layer.LastAttentionScores!.ToArray(), "weights");
        Parity.AssertClose(tq_.grad!.data<float>().ToArray(), grads[0].ToArray(), "dQuery", 1e-4, 1e-4);
        Parity.AssertClose(tv_.grad!.data<float>().ToArray(), grads[1].ToArray(), "dValue", 1e-4, 1e-4);
        if (withKey) Parity.AssertClose(tk_.grad!.data<float>().ToArray(), grads[2].ToArray(), "dKey", 1e-4, 1e-4);
        Parity.AssertClose(scale.grad!.data<float>().ToArray(), layer.Parameters[0].Grad.ToArray(), "dScale", 1e-4, 1e-4);
    }
}
