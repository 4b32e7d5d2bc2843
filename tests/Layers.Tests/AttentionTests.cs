using Nn.Simd.Tensors;

namespace Nn.Simd.Layers.Tests;

/// <summary>Attention (dot and concat) and AdditiveAttention against a float64 index-loop reference of Keras' formulas,
/// with and without key, scale, causal mask and dropout; central finite differences of every input and parameter;
/// zero allocation; config; bad inputs.</summary>
public class AttentionTests
{
    private const int B = 2, Tq = 3, Tv = 4, D = 5, Dv = 3;

    /// <summary>Keras' attention by index loops: S from the score, S −= 1e9 where j &gt; i when causal, W = softmax_j S,
    /// W' = W ⊙ mask, O = W'·V. <paramref name="score"/>(s, i, j) gives S before masking.</summary>
    private static (double[] Output, double[] Weights) Reference(double[] v, int b, int tq, int tv, int dv,
        Func<int, int, int, double> score, bool causal, double[]? mask)
    {
        var w = new double[b * tq * tv];
        var o = new double[b * tq * dv];
        for (int s = 0; s < b; s++)
            for (int i = 0; i < tq; i++)
            {
                var row = new double[tv];
                for (int j = 0; j < tv; j++) row[j] = score(s, i, j) - (causal && j > i ? 1e9 : 0);
                double max = row.Max(), sum = row.Sum(x => Math.Exp(x - max));
                for (int j = 0; j < tv; j++)
                {
                    int at = (s * tq + i) * tv + j;
                    w[at] = Math.Exp(row[j] - max) / sum * (mask is null ? 1 : mask[at]);
                }
                for (int c = 0; c < dv; c++)
                {
                    double acc = 0;
                    for (int j = 0; j < tv; j++) acc += w[(s * tq + i) * tv + j] * v[(s * tv + j) * dv + c];
                    o[(s * tq + i) * dv + c] = acc;
                }
            }
        return (o, w);
    }

    /// <summary>The score of <paramref name="layer"/> by loops: σ·q·k (dot), c·Σ tanh(σ(q + k)) (concat) or
    /// Σ w_d tanh(q + k) (additive), with the layer's current parameter values.</summary>
    private static Func<int, int, int, double> ScoreOf(AttentionLayer<double> layer, double[] q, double[] k, int tq, int tv, int d)
    {
        double P(string name, int i = 0) => layer.Parameters.Single(p => p.Name == name).Value[i];
        bool has(string name) => layer.Parameters.Any(p => p.Name == name);
        double Qk(int s, int i, int j, int c) => q[(s * tq + i) * d + c] + k[(s * tv + j) * d + c];
        return layer switch
        {
            Attention<double> { ScoreMode: "dot" } => (s, i, j) =>
            {
                double dot = 0;
                for (int c = 0; c < d; c++) dot += q[(s * tq + i) * d + c] * k[(s * tv + j) * d + c];
                return (has("scale") ? P("scale") : 1) * dot;
            },
            Attention<double> => (s, i, j) =>
            {
                double sigma = has("scale") ? P("scale") : 1, sum = 0;
                for (int c = 0; c < d; c++) sum += Math.Tanh(sigma * Qk(s, i, j, c));
                return P("concat_score_weight") * sum;
            },
            _ => (s, i, j) =>
            {
                double sum = 0;
                for (int c = 0; c < d; c++) sum += (has("scale") ? P("scale", c) : 1) * Math.Tanh(Qk(s, i, j, c));
                return sum;
            },
        };
    }

    /// <summary>Layer kinds: 0 dot, 1 dot scaled, 2 concat, 3 concat scaled, 4 additive, 5 additive unscaled.</summary>
    private static AttentionLayer<double> Create(int kind, bool causal, double dropout = 0, int seed = 1) => kind switch
    {
        0 => new Attention<double>(useCausalMask: causal, dropout: dropout, seed: seed),
        1 => new Attention<double>(useScale: true, useCausalMask: causal, dropout: dropout, seed: seed),
        2 => new Attention<double>(scoreMode: "concat", useCausalMask: causal, dropout: dropout, seed: seed),
        3 => new Attention<double>(true, "concat", dropout, causal, seed),
        4 => new AdditiveAttention<double>(useCausalMask: causal, dropout: dropout, seed: seed),
        _ => new AdditiveAttention<double>(useScale: false, useCausalMask: causal, dropout: dropout, seed: seed),
    };

    /// <summary>Inputs [query, value] (value is the key, so dv = D) or [query, value, key], query scaled so the tanh terms
    /// are not saturated.</summary>
    private static Tensor<double>[] Inputs(bool withKey, int seed)
    {
        var q = Tensor<double>.RandomNormal(new TensorShape(B, Tq, D), seed, stddev: 0.6);
        if (!withKey) return [q, Tensor<double>.RandomNormal(new TensorShape(B, Tv, D), seed + 1, stddev: 0.6)];
        return [q, Tensor<double>.RandomNormal(new TensorShape(B, Tv, Dv), seed + 1), Tensor<double>.RandomNormal(new TensorShape(B, Tv, D), seed + 2, stddev: 0.6)];
    }

    /// <summary>Builds the layer and moves its parameters off their initial values, so a test sees them used.</summary>
    private static void BuildAndPerturb(AttentionLayer<double> layer, Tensor<double>[] inputs)
    {
        layer.Build([.. inputs.Select(t => t.Shape)], seed: 3);
        var rng = new Random(5);
        foreach (var p in layer.Parameters)
            foreach (ref double x in p.Value.Span) x += 0.3 * (rng.NextDouble() - 0.25);
    }

    public static TheoryData<int, bool, bool> Cases()
    {
        var data = new TheoryData<int, bool, bool>();
        for (int kind = 0; kind < 6; kind++)
        {
            data.Add(kind, false, false);
            data.Add(kind, true, true);
        }
        data.Add(1, false, true);
        data.Add(3, true, false);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Forward_MatchesKerasFormula_AndBackwardMatchesFiniteDifferences(int kind, bool withKey, bool causal)
    {
        var inputs = Inputs(withKey, seed: 10 * kind + (withKey ? 1 : 0));
        var layer = Create(kind, causal);
        BuildAndPerturb(layer, inputs);
        var y = layer.Forward(inputs, training: true);
        var k = inputs[withKey ? 2 : 1];
        var v = inputs[1];
        var (expected, weights) = Reference(v.ToArray(), B, Tq, Tv, v.Shape[2],
            ScoreOf(layer, inputs[0].ToArray(), k.ToArray(), Tq, Tv, D), causal, mask: null);
        Assert.Equal(new TensorShape(B, Tq, v.Shape[2]), y.Shape);
        Assert.Equal(layer.ComputeOutputShape([.. inputs.Select(t => t.Shape)]), y.Shape);
        AssertClose(expected, y.ToArray(), 1e-12, "output");
        AssertClose(weights, layer.LastAttentionScores!.ToArray(), 1e-12, "weights");

        var worst = FiniteDifferences(layer, inputs, training: true);
        Assert.True(worst.Error < 1e-6, $"kind {kind}, key {withKey}, causal {causal}: {worst}");
    }

    [Fact]
    public void CausalMask_ZeroesWeightsAboveTheDiagonal_SoTheFirstQueryReadsOnlyTheFirstValue()
    {
        var inputs = Inputs(withKey: true, seed: 3);
        var layer = new Attention<double>(useCausalMask: true);
        var y = layer.Forward(inputs, training: false).ToArray();
        var w = layer.LastAttentionScores!.ToArray();
        for (int s = 0; s < B; s++)
            for (int i = 0; i < Tq; i++)
            {
                for (int j = i + 1; j < Tv; j++) Assert.Equal(0.0, w[(s * Tq + i) * Tv + j]);
                Assert.Equal(1.0, Enumerable.Range(0, Tv).Sum(j => w[(s * Tq + i) * Tv + j]), 12);
            }
        var v = inputs[1].ToArray();
        for (int s = 0; s < B; s++)
            for (int c = 0; c < Dv; c++) Assert.Equal(v[s * Tv * Dv + c], y[s * Tq * Dv + c], 12);
        // Without the mask the weights above the diagonal are not zero.
        var plain = new Attention<double>();
        plain.Forward(inputs, training: false);
        Assert.True(plain.LastAttentionScores!.ToArray()[1] > 1e-6);
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(3, false)]
    [InlineData(4, true)]
    public void Dropout_DropsWeightsFromTheSeededSequence_OnlyWhileTraining_AndIsDifferentiatedThrough(int kind, bool causal)
    {
        const double rate = 0.3;
        var inputs = Inputs(withKey: true, seed: 20 + kind);
        var layer = Create(kind, causal, dropout: rate, seed: 77);
        BuildAndPerturb(layer, inputs);
        var y = layer.Forward(inputs, training: true).ToArray();
        // The mask is the sequence of new Random(77): 0 with probability rate, else 1/(1 − rate), row-major over [B, Tq, Tv].
        var rng = new Random(77);
        var mask = new double[B * Tq * Tv];
        for (int i = 0; i < mask.Length; i++) mask[i] = rng.NextDouble() < rate ? 0 : 1 / (1 - rate);
        Assert.Contains(0.0, mask);
        var score = ScoreOf(layer, inputs[0].ToArray(), inputs[2].ToArray(), Tq, Tv, D);
        var (expected, weights) = Reference(inputs[1].ToArray(), B, Tq, Tv, Dv, score, causal, mask);
        AssertClose(expected, y, 1e-12, "output");
        AssertClose(weights, layer.LastAttentionScores!.ToArray(), 1e-12, "weights after dropout");
        var (inference, _) = Reference(inputs[1].ToArray(), B, Tq, Tv, Dv, score, causal, null);
        AssertClose(inference, layer.Forward(inputs, training: false).ToArray(), 1e-12, "inference output");

        var worst = FiniteDifferences(layer, inputs, training: true, beforeForward: () => layer.Reseed(77));
        Assert.True(worst.Error < 1e-6, $"kind {kind}: {worst}");
    }

    [Fact]
    public void AdditiveScale_IsGlorotUniformOverTheQueryFeatures_FromTheBuildSeed()
    {
        const int d = 64;
        TensorShape[] shapes = [new(2, 3, d), new(2, 4, d)];
        var a = new AdditiveAttention<double>();
        var b = new AdditiveAttention<double>();
        a.Build(shapes, seed: 9);
        b.Build(shapes, seed: 9);
        var scale = Assert.Single(a.Parameters);
        Assert.Equal("scale", scale.Name);
        Assert.Equal(new TensorShape(d), scale.Value.Shape);
        Assert.Equal(scale.Value.ToArray(), b.Parameters[0].Value.ToArray());
        double limit = Math.Sqrt(6.0 / (d + d));
        Assert.All(scale.Value.ToArray(), x => Assert.InRange(Math.Abs(x), 0, limit));
        Assert.True(scale.Value.ToArray().Max(Math.Abs) > 0.7 * limit);
        Assert.Empty(new AdditiveAttention<double>(useScale: false).Parameters);
        var attention = new Attention<double>(true, "concat");
        attention.Build(shapes, seed: 1);
        Assert.Equal(["scale", "concat_score_weight"], attention.Parameters.Select(p => p.Name));
        Assert.All(attention.Parameters, p => Assert.Equal([1.0], p.Value.ToArray()));
    }

    [Fact]
    public void Config_UsesKerasNames_AndRecreatesTheLayer()
    {
        var attention = new Attention<double>(useScale: true, scoreMode: "concat", dropout: 0.25, useCausalMask: true, seed: 4);
        var c = attention.GetConfig();
        Assert.Equal("attention", attention.TypeName);
        Assert.Equal("true", c["use_scale"]);
        Assert.Equal("concat", c["score_mode"]);
        Assert.Equal("0.25", c["dropout"]);
        Assert.Equal("true", c["use_causal_mask"]);
        Assert.Equal("4", c["seed"]);
        var again = new Attention<double>(bool.Parse(c["use_scale"]), c["score_mode"], double.Parse(c["dropout"], System.Globalization.CultureInfo.InvariantCulture),
            bool.Parse(c["use_causal_mask"]), int.Parse(c["seed"], System.Globalization.CultureInfo.InvariantCulture));
        var inputs = Inputs(withKey: false, seed: 8);
        Assert.Equal(attention.Forward(inputs, true).ToArray(), again.Forward(inputs, true).ToArray());

        var additive = new AdditiveAttention<double>(useScale: false, dropout: 0.5, seed: 2);
        var ac = additive.GetConfig();
        Assert.Equal("additive_attention", additive.TypeName);
        Assert.False(ac.ContainsKey("score_mode"));
        Assert.Equal("false", ac["use_scale"]);
        Assert.Equal("0.5", ac["dropout"]);
        Assert.Equal("false", ac["use_causal_mask"]);
        Assert.Equal("2", ac["seed"]);
        Assert.StartsWith("additive_attention_", additive.Name);
    }

    [Fact]
    public void SteadyTrainingPass_AllocatesNothing()
    {
        var q = Tensor<float>.RandomNormal(new TensorShape(2, 5, 8), seed: 1);
        var v = Tensor<float>.RandomNormal(new TensorShape(2, 6, 4), seed: 2);
        var k = Tensor<float>.RandomNormal(new TensorShape(2, 6, 8), seed: 3);
        var dy = Tensor<float>.RandomNormal(new TensorShape(2, 5, 4), seed: 4);
        var dySelf = Tensor<float>.RandomNormal(new TensorShape(2, 5, 8), seed: 5);
        IReadOnlyList<Tensor<float>> withKey = [q, v, k], self = [q, k];
        var dot = new Attention<float>(useScale: true, dropout: 0.2, seed: 1);
        var concat = new Attention<float>(true, "concat", useCausalMask: true);
        var additive = new AdditiveAttention<float>(dropout: 0.1, useCausalMask: true, seed: 2);
        SteadyState.AssertAllocatesNothing(() =>
        {
            dot.Forward(withKey, true);
            dot.Backward(dy);
            concat.Forward(self, true);
            concat.Backward(dySelf);
            additive.Forward(withKey, true);
            additive.Backward(dy);
        });
    }

    [Fact]
    public void BadInputs_AreRejected_NamingTheShapes()
    {
        var q = new Tensor<float>(2, 3, 5);
        var v = new Tensor<float>(2, 4, 5);
        var layer = new Attention<float>();
        Assert.Contains("got 1 input", Assert.Throws<ArgumentException>("inputs", () => layer.Forward([q], true)).Message);
        Assert.Contains("got 4 input", Assert.Throws<ArgumentException>("inputs", () => layer.Forward([q, v, v, v], true)).Message);
        var e = Assert.Throws<ArgumentException>("inputShapes", () => layer.Forward([new Tensor<float>(2, 5), v], true));
        Assert.Contains("query", e.Message);
        Assert.Contains("[2, 5]", e.Message);
        e = Assert.Throws<ArgumentException>("inputShapes", () => layer.Forward([q, v, new Tensor<float>(2, 6, 5)], true));
        Assert.Contains("Tv = 6 ([2, 6, 5])", e.Message);
        Assert.Contains("Tv = 4 ([2, 4, 5])", e.Message);
        e = Assert.Throws<ArgumentException>("inputShapes", () => layer.Forward([q, new Tensor<float>(2, 4, 7)], true));
        Assert.Contains("5 ([2, 3, 5])", e.Message);
        Assert.Contains("7 ([2, 4, 7])", e.Message);
        e = Assert.Throws<ArgumentException>("inputShapes", () => layer.ComputeOutputShape([new(2, 3, 5), new(2, 4, 3), new(2, 4, 6)]));
        Assert.Contains("key's 6", e.Message);
        e = Assert.Throws<ArgumentException>("inputShapes", () => layer.Forward([q, new Tensor<float>(3, 4, 5)], true));
        Assert.Contains("batch", e.Message);
        Assert.Contains("[3, 4, 5]", e.Message);

        var additive = new AdditiveAttention<float>();
        additive.Forward([q, v], true);
        e = Assert.Throws<ArgumentException>("inputs", () => additive.Forward([new Tensor<float>(2, 3, 6), new Tensor<float>(2, 4, 6)], true));
        Assert.Contains("feature size 5", e.Message);
        Assert.Contains("[2, 3, 6]", e.Message);

        Assert.Contains("'general'", Assert.Throws<ArgumentException>("scoreMode", () => new Attention<float>(scoreMode: "general")).Message);
        Assert.Contains("got 1", Assert.Throws<ArgumentOutOfRangeException>("dropout", () => new Attention<float>(dropout: 1)).Message);
        Assert.Throws<ArgumentOutOfRangeException>("dropout", () => new AdditiveAttention<float>(dropout: -0.1));
        var fresh = new Attention<float>();
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

    private sealed record Worst(string Tensor, int Index, double Analytic, double Numeric, double Error);

    /// <summary>Central differences of L = Σ g ⊙ layer(inputs) for every element of every input and parameter, against
    /// Backward(g) and the parameter gradients; the relative error is |a − n| / max(|a|, |n|, 1e-2).</summary>
    private static Worst FiniteDifferences(AttentionLayer<double> layer, Tensor<double>[] inputs, bool training, Action? beforeForward = null)
    {
        const double eps = 1e-5;
        beforeForward?.Invoke();
        var y = layer.Forward(inputs, training);
        var g = Tensor<double>.RandomNormal(y.Shape, seed: 12345).ToArray();
        foreach (var p in layer.Parameters) p.Grad.Clear();
        var analytic = layer.Backward(Tensor<double>.FromArray(g, y.Shape.ToArray())).Select(t => t.ToArray()).ToList();
        var tensors = inputs.Select((t, i) => ($"input {i}", t.Span.ToArray(), t)).ToList();
        foreach (var p in layer.Parameters)
        {
            tensors.Add((p.Name, p.Grad.ToArray(), p.Value));
            analytic.Add(p.Grad.ToArray());
        }
        double Loss()
        {
            beforeForward?.Invoke();
            var o = layer.Forward(inputs, training).ToArray();
            double l = 0;
            for (int i = 0; i < o.Length; i++) l += g[i] * o[i];
            return l;
        }
        var worst = new Worst("", -1, 0, 0, 0);
        for (int t = 0; t < tensors.Count; t++)
        {
            var values = tensors[t].Item3.Span;
            for (int i = 0; i < values.Length; i++)
            {
                double keep = values[i];
                values[i] = keep + eps;
                double plus = Loss();
                values = tensors[t].Item3.Span;
                values[i] = keep - eps;
                double minus = Loss();
                values = tensors[t].Item3.Span;
                values[i] = keep;
                double n = (plus - minus) / (2 * eps), a = analytic[t][i];
                double err = Math.Abs(a - n) / Math.Max(Math.Max(Math.Abs(a), Math.Abs(n)), 1e-2);
                if (err > worst.Error || worst.Index < 0) worst = new Worst(tensors[t].Item1, i, a, n, err);
            }
        }
        return worst;
    }
}
