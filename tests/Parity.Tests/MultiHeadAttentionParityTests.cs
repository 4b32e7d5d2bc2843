using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using static TorchSharp.torch;

namespace Nn.Simd.Parity.Tests;

/// <summary>MultiHeadAttention against plain libtorch ops with the same weights: the projections as matmuls of the
/// kernels viewed <c>[d, heads·dim]</c>, softmax((Q/√key_dim)·Kᵀ − 1e9·causal)·V per head, the concatenated heads times
/// the output kernel; forward, weights, and the gradients of every input and parameter. (Keras' causal shift is −1e9,
/// not −∞, so it is built from plain ops rather than scaled_dot_product_attention.)</summary>
public class MultiHeadAttentionParityTests
{
    [Theory]
    [InlineData(2, 5, 7, 8, 6, 4, 2, 4, 3, 5, true, false)]
    [InlineData(3, 6, 6, 16, 16, 16, 4, 8, 8, 0, false, true)]
    [InlineData(1, 9, 4, 3, 5, 7, 3, 2, 5, 6, true, true)]
    public void MultiHeadAttention_MatchesTorch(int b, int tq, int tv, int dq, int dv, int dk, int h, int keyDim, int valueDim,
        int outputShape, bool withKey, bool causal)
    {
        if (!withKey) dk = dv;
        var query = Tensor<float>.RandomNormal(new TensorShape(b, tq, dq), seed: 1);
        var value = Tensor<float>.RandomNormal(new TensorShape(b, tv, dv), seed: 2);
        var key = Tensor<float>.RandomNormal(new TensorShape(b, tv, dk), seed: 3);
        var layer = new MultiHeadAttention<float>(h, keyDim, valueDim, outputShape: outputShape == 0 ? null : outputShape, useCausalMask: causal);
        Tensor<float>[] inputs = withKey ? [query, value, key] : [query, value];
        layer.Build([.. inputs.Select(t => t.Shape)], seed: 1);
        // Non-zero biases, so their use is compared too.
        var rng = new Random(6);
        foreach (var p in layer.Parameters.Where(p => p.Name.EndsWith(".bias")))
            foreach (ref float x in p.Value.Span) x = (float)(rng.NextDouble() - 0.5);
        var y = layer.Forward(inputs, training: true).Clone();
        int o = y.Shape[2];
        var dy = Tensor<float>.RandomNormal(y.Shape, seed: 4);
        var grads = layer.Backward(dy).Select(t => t.Clone()).ToList();

        using var scope = NewDisposeScope();
        var tQuery = tensor(query.ToArray(), [b, tq, dq]).requires_grad_(true);
        var tValue = tensor(value.ToArray(), [b, tv, dv]).requires_grad_(true);
        var tKey = withKey ? tensor(key.ToArray(), [b, tv, dk]).requires_grad_(true) : tValue;
        var ps = layer.Parameters.Select(p => tensor(p.Value.ToArray(), p.Value.Shape.ToArray().Select(d => (long)d).ToArray()).requires_grad_(true)).ToList();
        TorchSharp.torch.Tensor Project(TorchSharp.torch.Tensor x, int d, TorchSharp.torch.Tensor w, TorchSharp.torch.Tensor bias, int dim) =>
            (matmul(x, w.view(d, h * dim)) + bias.view(h * dim)).view(b, -1, h, dim).transpose(1, 2); // [b, h, T, dim]
        var q = Project(tQuery, dq, ps[0], ps[1], keyDim);
        var k = Project(tKey, dk, ps[2], ps[3], keyDim);
        var v = Project(tValue, dv, ps[4], ps[5], valueDim);
        var scores = matmul(q * (float)(1 / Math.Sqrt(keyDim)), k.transpose(-1, -2));
        if (causal) scores = scores - 1e9f * ones(tq, tv).triu(1);
        var weights = nn.functional.softmax(scores, -1);
        var context = matmul(weights, v).transpose(1, 2).reshape(b, tq, h * valueDim);
        var ty = matmul(context, ps[6].view(h * valueDim, o)) + ps[7];
        ty.backward([tensor(dy.ToArray(), [b, tq, o])]);

        Parity.AssertClose(ty.data<float>().ToArray(), y.ToArray(), "output", 1e-4, 1e-5);
        Parity.AssertClose(weights.data<float>().ToArray(), layer.LastAttentionScores!.ToArray(), "weights", 1e-4, 1e-5);
        Parity.AssertClose(tQuery.grad!.data<float>().ToArray(), grads[0].ToArray(), "dQuery", 1e-4, 1e-4);
        Parity.AssertClose(tValue.grad!.data<float>().ToArray(), grads[1].ToArray(), "dValue", 1e-4, 1e-4);
        if (withKey) Parity.AssertClose(tKey.grad!.data<float>().ToArray(), grads[2].ToArray(), "dKey", 1e-4, 1e-4);
        for (int i = 0; i < ps.Count; i++)
            Parity.AssertClose(ps[i].grad!.data<float>().ToArray(), layer.Parameters[i].Grad.ToArray(), "d" + layer.Parameters[i].Name, 1e-4, 1e-4);
    }
}
