using Nn.Simd.Layers.Initializers;
using Nn.Simd.Tensors;
using Nn.Simd.Training;
using Nn.Simd.Training.Serialization;

namespace Nn.Simd.Layers.Tests;

/// <summary>MultiHeadAttention against a float64 index-loop reference of Keras' formula (key ≠ value, value_dim ≠ key_dim,
/// output_shape, causal, no bias, dropout); finite differences of every input and parameter; Keras' parameter names,
/// shapes and initializers; zero allocation; registry round trip; bad inputs.</summary>
public class MultiHeadAttentionTests
{
    private const int B = 2, Tq = 3, Tv = 4, Dq = 5, Dvin = 3, Dkin = 4;

    /// <summary>Keras' MultiHeadAttention by index loops from the layer's current parameters: Q, K, V projections per head,
    /// S = (Q/√Dk)·Kᵀ, S −= 1e9 where j &gt; i when causal, A = softmax_j S, A' = A ⊙ mask, C = A'·V, y = Σ_h C_h·Wo_h + bo.
    /// Returns y <c>[B, Tq, O]</c> and A <c>[B, H, Tq, Tv]</c> (before dropout).</summary>
    private static (double[] Output, double[] Weights) Reference(MultiHeadAttention<double> layer, Tensor<double>[] inputs, double[]? mask)
    {
        double[] query = inputs[0].ToArray(), value = inputs[1].ToArray(), key = inputs[^1].ToArray();
        int dq = inputs[0].Shape[2], dv = inputs[1].Shape[2], dk = inputs[^1].Shape[2];
        int h = layer.NumHeads, kd = layer.KeyDim, vd = layer.ValueDim, o = layer.OutputShape ?? dq;
        double[] P(string name) => layer.Parameters.SingleOrDefault(p => p.Name == name)?.Value.ToArray() ?? new double[h * Math.Max(kd, vd) + o];
        double[] wq = P("query.kernel"), bq = P("query.bias"), wk = P("key.kernel"), bk = P("key.bias");
        double[] wv = P("value.kernel"), bv = P("value.bias"), wo = P("attention_output.kernel"), bo = P("attention_output.bias");
        if (!layer.UseBias) { Array.Clear(bq); Array.Clear(bk); Array.Clear(bv); Array.Clear(bo); }

        // proj[s, t, head, d] = Σ_c x[s, t, c]·W[c, head, d] + b[head, d]
        double Proj(double[] x, int t, int s, int features, double[] w, double[] bias, int head, int d, int dim, int len) =>
            Enumerable.Range(0, features).Sum(c => x[(s * len + t) * features + c] * w[(c * h + head) * dim + d]) + bias[head * dim + d];

        var weights = new double[B * h * Tq * Tv];
        var y = new double[B * Tq * o];
        for (int s = 0; s < B; s++)
        {
            var ctx = new double[Tq, h, vd];
            for (int head = 0; head < h; head++)
                for (int i = 0; i < Tq; i++)
                {
                    var row = new double[Tv];
                    for (int j = 0; j < Tv; j++)
                    {
                        double dot = 0;
                        for (int d = 0; d < kd; d++)
                            dot += Proj(query, i, s, dq, wq, bq, head, d, kd, Tq) / Math.Sqrt(kd) * Proj(key, j, s, dk, wk, bk, head, d, kd, Tv);
                        row[j] = dot - (layer.UseCausalMask && j > i ? 1e9 : 0);
                    }
                    double max = row.Max(), sum = row.Sum(x => Math.Exp(x - max));
                    for (int j = 0; j < Tv; j++)
                    {
                        int at = ((s * h + head) * Tq + i) * Tv + j;
                        weights[at] = Math.Exp(row[j] - max) / sum;
                        double a = weights[at] * (mask is null ? 1 : mask[at]);
                        for (int d = 0; d < vd; d++) ctx[i, head, d] += a * Proj(value, j, s, dv, wv, bv, head, d, vd, Tv);
                    }
                }
            for (int i = 0; i < Tq; i++)
                for (int e = 0; e < o; e++)
                {
                    double acc = bo[e];
                    for (int head = 0; head < h; head++)
                        for (int d = 0; d < vd; d++) acc += ctx[i, head, d] * wo[(head * vd + d) * o + e];
                    y[(s * Tq + i) * o + e] = acc;
                }
        }
        return (y, weights);
    }

    /// <summary>[query, value] (value is the key) or [query, value, key] with three different feature sizes.</summary>
    private static Tensor<double>[] Inputs(bool withKey, int seed)
    {
        var q = Tensor<double>.RandomNormal(new TensorShape(B, Tq, Dq), seed);
        var v = Tensor<double>.RandomNormal(new TensorShape(B, Tv, Dvin), seed + 1);
        return withKey ? [q, v, Tensor<double>.RandomNormal(new TensorShape(B, Tv, Dkin), seed + 2)] : [q, v];
    }

    /// <summary>Builds the layer and moves its parameters (zero biases included) off their initial values.</summary>
    private static void BuildAndPerturb(MultiHeadAttention<double> layer, Tensor<double>[] inputs)
    {
        layer.Build([.. inputs.Select(t => t.Shape)], seed: 3);
        var rng = new Random(5);
        foreach (var p in layer.Parameters)
            foreach (ref double x in p.Value.Span) x += 0.3 * (rng.NextDouble() - 0.5);
    }

    public static TheoryData<bool, int, int?, int?, bool, bool> Cases() => new()
    {
        // withKey, heads, valueDim, outputShape, causal, useBias
        { false, 2, null, null, false, true },
        { true, 2, 4, 6, false, true },
        { true, 3, null, null, true, false },
        { false, 1, 2, 4, true, true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Forward_MatchesKerasFormula_AndBackwardMatchesFiniteDifferences(bool withKey, int heads, int? valueDim, int? outputShape, bool causal, bool useBias)
    {
        var inputs = Inputs(withKey, seed: heads * 10 + (withKey ? 1 : 0));
        var layer = new MultiHeadAttention<double>(heads, keyDim: 3, valueDim, useBias: useBias, outputShape: outputShape, useCausalMask: causal);
        BuildAndPerturb(layer, inputs);
        var y = layer.Forward(inputs, training: true);
        var (expected, weights) = Reference(layer, inputs, mask: null);
        Assert.Equal(new TensorShape(B, Tq, outputShape ?? Dq), y.Shape);
        Assert.Equal(layer.ComputeOutputShape([.. inputs.Select(t => t.Shape)]), y.Shape);
        AssertClose(expected, y.ToArray(), 1e-12, "output");
        Assert.Equal(new TensorShape(B, heads, Tq, Tv), layer.LastAttentionScores!.Shape);
        AssertClose(weights, layer.LastAttentionScores.ToArray(), 1e-12, "weights");
        if (causal) Assert.Equal(0.0, layer.LastAttentionScores.ToArray()[1]);

        var report = GradientCheck.Check(layer, inputs);
        Assert.True(report.Passed, report.ToString());
        Assert.Equal(inputs.Length + (useBias ? 8 : 4), report.Tensors.Count);
    }

    [Fact]
    public void Dropout_DropsWeightsFromTheSeededSequence_OnlyWhileTraining_AndIsDifferentiatedThrough()
    {
        const double rate = 0.3;
        var inputs = Inputs(withKey: true, seed: 40);
        var layer = new MultiHeadAttention<double>(2, 3, dropout: rate, useCausalMask: true, seed: 77);
        BuildAndPerturb(layer, inputs);
        var y = layer.Forward(inputs, training: true).ToArray();
        // The mask is the sequence of new Random(77): 0 with probability rate, else 1/(1 − rate), row-major over [B, H, Tq, Tv].
        var rng = new Random(77);
        var mask = new double[B * 2 * Tq * Tv];
        for (int i = 0; i < mask.Length; i++) mask[i] = rng.NextDouble() < rate ? 0 : 1 / (1 - rate);
        Assert.Contains(0.0, mask);
        var (expected, weights) = Reference(layer, inputs, mask);
        AssertClose(expected, y, 1e-12, "output");
        AssertClose(weights, layer.LastAttentionScores!.ToArray(), 1e-12, "weights (Keras returns them before dropout)");
        var (inference, _) = Reference(layer, inputs, null);
        AssertClose(inference, layer.Forward(inputs, training: false).ToArray(), 1e-12, "inference output");

        var report = GradientCheck.Check(layer, inputs, new GradientCheck.Options(BeforeForward: () => layer.Reseed(77)));
        Assert.True(report.Passed, report.ToString());
    }

    [Fact]
    public void Parameters_HaveKerasNamesShapesOrderAndInitializers()
    {
        var layer = new MultiHeadAttention<double>(numHeads: 4, keyDim: 8, valueDim: 6, outputShape: 10);
        layer.Build([new(2, 3, 16), new(2, 5, 12), new(2, 5, 20)], seed: 9);
        Assert.Equal(["query.kernel", "query.bias", "key.kernel", "key.bias", "value.kernel", "value.bias", "attention_output.kernel", "attention_output.bias"],
            layer.Parameters.Select(p => p.Name));
        Assert.Equal([new TensorShape(16, 4, 8), new(4, 8), new(20, 4, 8), new(4, 8), new(12, 4, 6), new(4, 6), new(4, 6, 10), new(10)],
            layer.Parameters.Select(p => p.Value.Shape));
        // glorot_uniform with Keras' fans of a rank-3 kernel [a, b, c]: fanIn = a·b, fanOut = a·c.
        foreach (var (p, fanIn, fanOut) in new[] { (0, 16 * 4, 16 * 8), (2, 20 * 4, 20 * 8), (4, 12 * 4, 12 * 6), (6, 4 * 6, 4 * 10) })
        {
            double limit = Math.Sqrt(6.0 / (fanIn + fanOut));
            var w = layer.Parameters[p].Value.ToArray();
            Assert.All(w, x => Assert.InRange(Math.Abs(x), 0, limit));
            Assert.True(w.Max(Math.Abs) > 0.8 * limit, $"{layer.Parameters[p].Name}: max {w.Max(Math.Abs)}, limit {limit}");
        }
        Assert.All(layer.Parameters.Where(p => p.Name.EndsWith(".bias")), p => Assert.All(p.Value.ToArray(), x => Assert.Equal(0.0, x)));
        // Each kernel is drawn afresh (Keras clones the initializer per sub-layer).
        Assert.NotEqual(layer.Parameters[0].Value.ToArray()[..16], layer.Parameters[2].Value.ToArray()[..16]);

        var again = new MultiHeadAttention<double>(4, 8, 6, outputShape: 10);
        again.Build([new(2, 3, 16), new(2, 5, 12), new(2, 5, 20)], seed: 9);
        Assert.Equal(layer.Parameters[6].Value.ToArray(), again.Parameters[6].Value.ToArray());

        var plain = new MultiHeadAttention<float>(2, 3, useBias: false, kernelInitializer: new Constant(0.5));
        plain.Build([new(1, 2, 4), new(1, 2, 4)], seed: 1);
        Assert.Equal(["query.kernel", "key.kernel", "value.kernel", "attention_output.kernel"], plain.Parameters.Select(p => p.Name));
        Assert.Equal(new TensorShape(2, 3, 4), plain.Parameters[3].Value.Shape);
        Assert.All(plain.Parameters, p => Assert.All(p.Value.ToArray(), x => Assert.Equal(0.5f, x)));
    }

    [Fact]
    public void Config_UsesKerasNames_AndTheRegistryRecreatesTheLayer()
    {
        var layer = new MultiHeadAttention<float>(3, 4, valueDim: 2, dropout: 0.25, useBias: false, outputShape: 7,
            kernelInitializer: new HeNormal(), biasInitializer: new Constant(0.1), useCausalMask: true, seed: 4);
        var c = layer.GetConfig();
        Assert.Equal("multi_head_attention", layer.TypeName);
        Assert.StartsWith("multi_head_attention_", layer.Name);
        Assert.Equal("3", c["num_heads"]);
        Assert.Equal("4", c["key_dim"]);
        Assert.Equal("2", c["value_dim"]);
        Assert.Equal("0.25", c["dropout"]);
        Assert.Equal("false", c["use_bias"]);
        Assert.Equal("7", c["output_shape"]);
        Assert.Equal("he_normal", c["kernel_initializer"]);
        Assert.Equal("true", c["use_causal_mask"]);
        Assert.Equal("4", c["seed"]);
        var copy = Assert.IsType<MultiHeadAttention<float>>(MergeRegistry.Create<float>("multi_head_attention", c));
        Assert.Equal(c, copy.GetConfig());
        Assert.Equal(0.1, Assert.IsType<Constant>(copy.BiasInitializer).Value, 12);

        var defaults = new MultiHeadAttention<double>(2, 5, seed: 1);
        var dc = defaults.GetConfig();
        Assert.Equal("5", dc["value_dim"]);
        Assert.False(dc.ContainsKey("output_shape"));
        Assert.Equal("glorot_uniform", dc["kernel_initializer"]);
        Assert.Equal("zeros", dc["bias_initializer"]);
        var dcopy = Assert.IsType<MultiHeadAttention<double>>(MergeRegistry.Create<double>("multi_head_attention", dc));
        Assert.Equal(dc, dcopy.GetConfig());
        Assert.Null(dcopy.OutputShape);

        // The same options and build seed give the same layer.
        var inputs = Inputs(withKey: false, seed: 8);
        defaults.Build([.. inputs.Select(t => t.Shape)], seed: 2);
        dcopy.Build([.. inputs.Select(t => t.Shape)], seed: 2);
        Assert.Equal(defaults.Forward(inputs, true).ToArray(), dcopy.Forward(inputs, true).ToArray());
        Assert.Throws<InvalidDataException>(() => MergeRegistry.Create<float>("multi_head_attention", new Dictionary<string, string> { ["num_heads"] = "2" }));
    }

    [Fact]
    public void SteadyTrainingPass_AllocatesNothing()
    {
        var q = Tensor<float>.RandomNormal(new TensorShape(2, 5, 8), seed: 1);
        var v = Tensor<float>.RandomNormal(new TensorShape(2, 6, 4), seed: 2);
        var k = Tensor<float>.RandomNormal(new TensorShape(2, 6, 7), seed: 3);
        var dy = Tensor<float>.RandomNormal(new TensorShape(2, 5, 8), seed: 4);
        var dyOut = Tensor<float>.RandomNormal(new TensorShape(2, 5, 3), seed: 5);
        IReadOnlyList<Tensor<float>> withKey = [q, v, k], self = [q, q];
        var cross = new MultiHeadAttention<float>(2, 4, valueDim: 3, dropout: 0.2, outputShape: 3, seed: 1);
        var causal = new MultiHeadAttention<float>(3, 2, useCausalMask: true, useBias: false);
        SteadyState.AssertAllocatesNothing(() =>
        {
            cross.Forward(withKey, true);
            cross.Backward(dyOut);
            causal.Forward(self, true);
            causal.Backward(dy);
        });
    }

    [Fact]
    public void BadInputs_AreRejected_NamingTheShapes()
    {
        var q = new Tensor<float>(2, 3, 5);
        var v = new Tensor<float>(2, 4, 6);
        var layer = new MultiHeadAttention<float>(2, 3);
        Assert.Contains("got 1 input", Assert.Throws<ArgumentException>("inputs", () => layer.Forward([q], true)).Message);
        Assert.Contains("got 4 input", Assert.Throws<ArgumentException>("inputs", () => layer.Forward([q, v, v, v], true)).Message);
        var e = Assert.Throws<ArgumentException>("inputShapes", () => layer.Forward([new Tensor<float>(2, 5), v], true));
        Assert.Contains("query", e.Message);
        Assert.Contains("[2, 5]", e.Message);
        e = Assert.Throws<ArgumentException>("inputShapes", () => layer.Forward([q, v, new Tensor<float>(2, 7, 5)], true));
        Assert.Contains("Tv = 7 ([2, 7, 5])", e.Message);
        Assert.Contains("Tv = 4 ([2, 4, 6])", e.Message);
        e = Assert.Throws<ArgumentException>("inputShapes", () => layer.Forward([q, new Tensor<float>(3, 4, 6)], true));
        Assert.Contains("batch", e.Message);
        Assert.Contains("[3, 4, 6]", e.Message);

        layer.Forward([q, v], true);
        e = Assert.Throws<ArgumentException>("inputs", () => layer.Forward([q, new Tensor<float>(2, 4, 7)], true));
        Assert.Contains("value 6", e.Message);
        Assert.Contains("[2, 4, 7]", e.Message);
        e = Assert.Throws<ArgumentException>("inputShapes", () => layer.Build([new(2, 3, 9), new(2, 4, 6)], seed: 1));
        Assert.Contains("query 5", e.Message);
        Assert.Contains("[2, 3, 9]", e.Message);

        Assert.Contains("got 0", Assert.Throws<ArgumentOutOfRangeException>("numHeads", () => new MultiHeadAttention<float>(0, 3)).Message);
        Assert.Contains("got -1", Assert.Throws<ArgumentOutOfRangeException>("keyDim", () => new MultiHeadAttention<float>(2, -1)).Message);
        Assert.Throws<ArgumentOutOfRangeException>("valueDim", () => new MultiHeadAttention<float>(2, 3, valueDim: 0));
        Assert.Throws<ArgumentOutOfRangeException>("outputShape", () => new MultiHeadAttention<float>(2, 3, outputShape: 0));
        Assert.Contains("got 1", Assert.Throws<ArgumentOutOfRangeException>("dropout", () => new MultiHeadAttention<float>(2, 3, dropout: 1)).Message);
        var fresh = new MultiHeadAttention<float>(2, 3);
        Assert.Throws<InvalidOperationException>(() => fresh.Backward(new Tensor<float>(2, 3, 5)));
        fresh.Forward([q, v], true);
        Assert.Contains("[2, 3, 4]", Assert.Throws<ArgumentException>("dOutput", () => fresh.Backward(new Tensor<float>(2, 3, 4))).Message);
    }

    private static void AssertClose(double[] expected, double[] actual, double tol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * (1 + Math.Abs(expected[i])), $"{what}[{i}]: expected {expected[i]}, got {actual[i]}");
    }
}
