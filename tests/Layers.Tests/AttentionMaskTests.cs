using Nn.Simd.Tensors;
using Nn.Simd.Training;

namespace Nn.Simd.Layers.Tests;

/// <summary>Keras' query, value and key masks in the attention layers: masked values get no weight, Attention zeroes
/// the rows of masked queries, MultiHeadAttention merges every mask into its attention mask; values against a float64
/// reference, finite differences with the masks set.</summary>
public class AttentionMaskTests
{
    private const int B = 2, Tq = 4, Tv = 5, D = 3;

    private static SequenceMask Mask(int batch, int steps, params (int B, int T)[] dropped)
    {
        var m = new SequenceMask(batch, steps);
        foreach (var (b, t) in dropped) m[b, t] = false;
        return m;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Attention_WithQueryAndValueMasks_IsKerasFormula(bool causal)
    {
        var q = Tensor<double>.RandomNormal(new TensorShape(B, Tq, D), 1);
        var v = Tensor<double>.RandomNormal(new TensorShape(B, Tv, D), 2);
        var layer = new Attention<double>(useScale: true, useCausalMask: causal)
        {
            QueryMask = Mask(B, Tq, (0, 3), (1, 1)),
            ValueMask = Mask(B, Tv, (0, 2), (1, 1), (1, 4)),   // every query keeps a value, even under the causal mask
        };
        layer.Build([q.Shape, v.Shape], 3);
        layer.Parameters[0].Value[0] = 0.7;
        var y = layer.Forward([q, v], training: false);
        var w = layer.LastAttentionScores!;
        for (int b = 0; b < B; b++)
            for (int i = 0; i < Tq; i++)
            {
                // Keras: S −= 1e9 once where the merged mask (value kept, and j ≤ i when causal) is false; softmax; O = W·V;
                // O *= q_mask.
                var s = new double[Tv];
                for (int j = 0; j < Tv; j++)
                {
                    double dot = 0;
                    for (int c = 0; c < D; c++) dot += q[b, i, c] * v[b, j, c];
                    bool kept = layer.ValueMask[b, j] && (!causal || j <= i);
                    s[j] = 0.7 * dot - (kept ? 0 : 1e9);
                }
                double max = s.Max(), sum = s.Sum(x => Math.Exp(x - max));
                for (int j = 0; j < Tv; j++)
                {
                    double expected = Math.Exp(s[j] - max) / sum;
                    Assert.Equal(expected, w[b, i, j], 1e-12);
                    // A masked value gets no weight (unless the query has no kept value at all: then every score is
                    // shifted alike and the softmax is of the raw scores, as in Keras).
                    if (!layer.ValueMask[b, j] && s.Any(x => x > -1e8)) Assert.Equal(0.0, w[b, i, j]);
                }
                for (int c = 0; c < D; c++)
                {
                    double o = 0;
                    for (int j = 0; j < Tv; j++) o += Math.Exp(s[j] - max) / sum * v[b, j, c];
                    Assert.Equal(layer.QueryMask[b, i] ? o : 0, y[b, i, c], 1e-12);
                }
            }

        // (No query here is left without a kept value: finite differences of scores shifted by −1e9 lose their digits.)
        var report = GradientCheck.Check(layer, [q, v]);
        Assert.True(report.Passed, report.ToString());
    }

    [Fact]
    public void MultiHeadAttention_MergesQueryValueAndKeyMasks()
    {
        var q = Tensor<double>.RandomNormal(new TensorShape(B, Tq, D), 4);
        var v = Tensor<double>.RandomNormal(new TensorShape(B, Tv, D), 5);
        var k = Tensor<double>.RandomNormal(new TensorShape(B, Tv, D), 6);
        var layer = new MultiHeadAttention<double>(2, keyDim: 2, useCausalMask: true)
        {
            QueryMask = Mask(B, Tq, (1, 2)),
            ValueMask = Mask(B, Tv, (0, 0)),
            KeyMask = Mask(B, Tv, (1, 3)),
        };
        layer.Build([q.Shape, v.Shape, k.Shape], 7);
        var plain = new MultiHeadAttention<double>(2, keyDim: 2, useCausalMask: true);
        plain.Build([q.Shape, v.Shape, k.Shape], 7);
        layer.Forward([q, v, k], training: false);
        var w = layer.LastAttentionScores!.ToArray();
        var wPlain = plain.Forward([q, v, k], training: false);
        var unmasked = plain.LastAttentionScores!.ToArray();
        for (int b = 0; b < B; b++)
            for (int h = 0; h < 2; h++)
                for (int i = 0; i < Tq; i++)
                {
                    bool queryKept = layer.QueryMask[b, i];
                    // Keras' attention mask: q_mask[i] & v_mask[j] & k_mask[j] & (j ≤ i), one −1e9 where false. A kept
                    // query attends only to kept steps, renormalised; a masked query's row is all −1e9, i.e. the plain
                    // causal row shifted (float64 keeps the differences).
                    var kept = Enumerable.Range(0, Tv).Select(j => layer.ValueMask[b, j] && layer.KeyMask[b, j] && j <= i).ToArray();
                    int row = ((b * 2 + h) * Tq + i) * Tv;
                    if (!queryKept || !kept.Any(x => x)) continue;
                    double total = Enumerable.Range(0, Tv).Where(j => kept[j]).Sum(j => unmasked[row + j]);
                    for (int j = 0; j < Tv; j++)
                        Assert.Equal(kept[j] ? unmasked[row + j] / total : 0, w[row + j], 1e-9);
                }
        // Finite differences of scores shifted by −1e9 lose their digits, so the gradient check runs on masks that
        // leave every query a kept value (a masked query's row is all shifted in MultiHeadAttention).
        layer.QueryMask = null;
        layer.ValueMask = Mask(B, Tv, (0, 1));
        var report = GradientCheck.Check(layer, [q, v, k]);
        Assert.True(report.Passed, report.ToString());
    }

    [Fact]
    public void MasksOfTheWrongShape_AreRefused()
    {
        var q = new Tensor<float>(B, Tq, D);
        var v = new Tensor<float>(B, Tv, D);
        var layer = new Attention<float> { Name = "att", ValueMask = new SequenceMask(B, Tq) };
        var e = Assert.Throws<ArgumentException>(() => layer.Forward([q, v], false));
        Assert.Contains("att", e.Message);
        Assert.Contains($"[{B}, {Tq}]", e.Message);
    }
}
