using FsCheck;
using FsCheck.Xunit;
using Nn.Simd.Layers.Initializers;
using Nn.Simd.Tensors;
using Nn.Simd.Training;

namespace Nn.Simd.Layers.Tests;

/// <summary>GroupNormalization against a float64 index-loop reference written from the definition, its two identities
/// (one group: layer normalisation over all non-batch axes; one channel per group: instance normalisation), finite
/// differences, zero allocation and bad arguments.</summary>
public class GroupNormalizationTests
{
    /// <summary>y[b, s, c] = γ_c·(x − μ_{b,g})/√(σ²_{b,g} + ε) + β_c with μ, σ² over every s and the channels of group g.</summary>
    private static double[] Reference(Tensor<double> x, int groups, double eps, double[]? gamma, double[]? beta)
    {
        int batch = x.Shape[0], c = x.Shape[-1], s = x.Shape.Rows / batch, cg = c / groups;
        var xs = x.ToArray();
        var y = new double[xs.Length];
        for (int b = 0; b < batch; b++)
            for (int g = 0; g < groups; g++)
            {
                double mean = 0, variance = 0;
                for (int p = 0; p < s; p++)
                    for (int k = g * cg; k < (g + 1) * cg; k++) mean += xs[(b * s + p) * c + k];
                mean /= s * cg;
                for (int p = 0; p < s; p++)
                    for (int k = g * cg; k < (g + 1) * cg; k++) variance += Math.Pow(xs[(b * s + p) * c + k] - mean, 2);
                variance /= s * cg;
                for (int p = 0; p < s; p++)
                    for (int k = g * cg; k < (g + 1) * cg; k++)
                    {
                        int i = (b * s + p) * c + k;
                        y[i] = (gamma?[k] ?? 1) * (xs[i] - mean) / Math.Sqrt(variance + eps) + (beta?[k] ?? 0);
                    }
            }
        return y;
    }

    private static GroupNormalization<double> Randomized(TensorShape shape, int groups, bool center = true, bool scale = true, int seed = 2)
    {
        var gn = new GroupNormalization<double>(groups, center: center, scale: scale);
        gn.Build(shape, 1);
        RnnTestUtil.Randomize(gn, seed, scale: 1.5);
        return gn;
    }

    private static double[]? Values(GroupNormalization<double> gn, string name) =>
        gn.Parameters.FirstOrDefault(p => p.Name == name)?.Value.ToArray();

    public static TheoryData<int[], int> Cases() => new()
    {
        { [3, 12], 4 },          // [batch, channels]: one position per sample
        { [2, 5, 6], 3 },        // sequences
        { [2, 3, 4, 8], 2 },     // images
        { [2, 3, 4, 8], 1 },
        { [2, 3, 4, 8], -1 },
        { [1, 2, 3, 37], 37 },   // odd channel count: every vector width's remainder
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Forward_MatchesTheDefinition_TheSameInTrainingAndInference(int[] dims, int groups)
    {
        var shape = new TensorShape(dims);
        var x = Tensor<double>.RandomNormal(shape, seed: 3);
        TensorPrimitives.Add(x.Span, 50.0, x.Span);   // a large mean: the variance must still be accurate
        var gn = Randomized(shape, groups);
        var y = gn.Forward(x, training: true).ToArray();
        var expected = Reference(x, groups == -1 ? dims[^1] : groups, 1e-3, Values(gn, "gamma"), Values(gn, "beta"));
        for (int i = 0; i < y.Length; i++) Assert.Equal(expected[i], y[i], 10);
        Assert.Equal(y, gn.Forward(x, training: false).ToArray());
    }

    [Fact]
    public void OneGroup_IsLayerNormalisationOverAllNonBatchAxes_ThenPerChannelScaleAndShift()
    {
        var x = Tensor<double>.RandomNormal(new TensorShape(3, 4, 5, 6), seed: 4);
        var gn = Randomized(x.Shape, groups: 1);
        var gamma = Values(gn, "gamma")!;
        var beta = Values(gn, "beta")!;
        var y = gn.Forward(x, training: true).ToArray();
        // LayerNormalization without γ and β on each sample flattened to one row of 4·5·6 values.
        var ln = new LayerNormalization<double>(1e-3, center: false, scale: false);
        var flat = x.Clone().Reshape(new TensorShape(3, 120));
        var l = ln.Forward(flat, training: true).ToArray();
        for (int i = 0; i < y.Length; i++) Assert.Equal(gamma[i % 6] * l[i] + beta[i % 6], y[i], 12);
    }

    [Fact]
    public void OneChannelPerGroup_IsInstanceNormalisation()
    {
        var x = Tensor<double>.RandomNormal(new TensorShape(2, 5, 3, 4), seed: 5);
        var gn = new GroupNormalization<double>(groups: -1, center: false, scale: false);
        var y = gn.Forward(x, training: true).ToArray();
        Assert.Equal(y, new GroupNormalization<double>(groups: 4, center: false, scale: false).Forward(x, true).ToArray());
        // Instance normalisation: each (sample, channel) over its 5·3 positions p; x[b, p, k] is xs[(b·15 + p)·4 + k].
        var xs = x.ToArray();
        for (int b = 0; b < 2; b++)
            for (int k = 0; k < 4; k++)
            {
                var v = Enumerable.Range(0, 15).Select(p => xs[(b * 15 + p) * 4 + k]).ToArray();
                double mean = v.Average(), variance = v.Sum(e => (e - mean) * (e - mean)) / v.Length;
                for (int p = 0; p < 15; p++)
                    Assert.Equal((v[p] - mean) / Math.Sqrt(variance + 1e-3), y[(b * 15 + p) * 4 + k], 12);
            }
    }

    [Property(MaxTest = 12, Replay = "(405,5005)")]
    public void Backward_MatchesFiniteDifferences(PositiveInt b, PositiveInt s, PositiveInt g, PositiveInt cg, bool center, bool scale, int rank)
    {
        int groups = 1 + g.Get % 3, c = groups * (1 + cg.Get % 3);
        var shape = (Math.Abs(rank) % 3) switch
        {
            0 => new TensorShape(1 + b.Get % 3, c),
            1 => new TensorShape(1 + b.Get % 3, 1 + s.Get % 4, c),
            _ => new TensorShape(1 + b.Get % 2, 1 + s.Get % 3, 2, c),
        };
        var x = Tensor<double>.RandomNormal(shape, seed: b.Get + 7);
        var gn = Randomized(shape, groups, center, scale, seed: s.Get);
        var report = GradientCheck.Check(gn, x);
        Assert.True(report.Passed, $"{shape} groups={groups} center={center} scale={scale}: {report}");
    }

    [Fact]
    public void Backward_AccumulatesParameterGradients_AndAFrozenLayerLeavesThemAlone()
    {
        var x = Tensor<double>.RandomNormal(new TensorShape(2, 3, 6), seed: 6);
        var dy = Tensor<double>.RandomNormal(x.Shape, seed: 7);
        var gn = Randomized(x.Shape, groups: 3);
        gn.Forward(x, true);
        gn.Backward(dy);
        var once = gn.Parameters.Select(p => p.Grad.ToArray()).ToList();
        gn.Forward(x, true);
        gn.Backward(dy);
        for (int i = 0; i < once.Count; i++)
            Assert.Equal(once[i].Select(v => 2 * v), gn.Parameters[i].Grad.ToArray(), (a, b) => Math.Abs(a - b) <= 1e-12 * (1 + Math.Abs(a)));
        gn.Trainable = false;
        foreach (var p in gn.Parameters) p.Grad.Clear();
        gn.Forward(x, true);
        var dx = gn.Backward(dy).ToArray();
        Assert.All(gn.Parameters, p => Assert.All(p.Grad.ToArray(), v => Assert.Equal(0, v)));
        Assert.Contains(dx, v => v != 0);
    }

    [Fact]
    public void Initializers_FillGammaAndBeta_AndAreSavedByName()
    {
        var gn = new GroupNormalization<float>(2, betaInitializer: new Constant(0.25), gammaInitializer: new Constant(2));
        gn.Build(new TensorShape(1, 4), 1);
        Assert.Equal(["gamma", "beta"], gn.Parameters.Select(p => p.Name));
        Assert.All(gn.Parameters[0].Value.ToArray(), v => Assert.Equal(2f, v));
        Assert.All(gn.Parameters[1].Value.ToArray(), v => Assert.Equal(0.25f, v));
        var config = gn.GetConfig();
        Assert.Equal("constant:2", config["gamma_initializer"]);
        Assert.Equal("constant:0.25", config["beta_initializer"]);
        Assert.Equal("2", config["groups"]);
        Assert.Equal("-1", config["axis"]);
        Assert.Equal("0.001", config["epsilon"]);
    }

    [Fact]
    public void SteadyTrainingPass_AllocatesNothing()
    {
        var layer = new GroupNormalization<float>(4);
        var x = Tensor<float>.RandomNormal(new TensorShape(4, 6, 6, 16), seed: 1);
        var dy = Tensor<float>.RandomNormal(x.Shape, seed: 2);
        SteadyState.AssertAllocatesNothing(() => { layer.Forward(x, true); layer.Backward(dy); });
    }

    [Fact]
    public void BadArguments_AreRejected_NamingTheValues()
    {
        Assert.Contains("got 0", Assert.Throws<ArgumentOutOfRangeException>("groups", () => new GroupNormalization<float>(0)).Message);
        Assert.Throws<ArgumentOutOfRangeException>("groups", () => new GroupNormalization<float>(-2));
        Assert.Throws<ArgumentOutOfRangeException>("axis", () => new GroupNormalization<float>(2, axis: 0));
        Assert.Throws<ArgumentOutOfRangeException>("axis", () => new GroupNormalization<float>(2, axis: -2));
        Assert.Throws<ArgumentOutOfRangeException>("epsilon", () => new GroupNormalization<float>(2, epsilon: 0));

        var e = Assert.Throws<ArgumentException>(() => new GroupNormalization<float>(4).Forward(new Tensor<float>(2, 3, 6), true));
        Assert.Contains("channels (6)", e.Message);
        Assert.Contains("multiple of the number of groups (4)", e.Message);
        Assert.Contains("[2, 3, 6]", e.Message);
        e = Assert.Throws<ArgumentException>(() => new GroupNormalization<float>().Forward(new Tensor<float>(2, 16), true));
        Assert.Contains("groups (32) cannot be more than the number of channels (16)", e.Message);
        e = Assert.Throws<ArgumentException>(() => new GroupNormalization<float>(2, axis: 1).Forward(new Tensor<float>(2, 4, 6), true));
        Assert.Contains("axis 1", e.Message);
        Assert.Throws<ArgumentException>(() => new GroupNormalization<float>(1).ComputeOutputShape(new TensorShape(5)));
        // axis given as the last index is the same layer as -1.
        var x = Tensor<float>.RandomNormal(new TensorShape(2, 3, 4), seed: 1);
        Assert.Equal(new GroupNormalization<float>(2).Forward(x, true).ToArray(), new GroupNormalization<float>(2, axis: 2).Forward(x, true).ToArray());

        var gn = new GroupNormalization<float>(2);
        gn.Forward(new Tensor<float>(2, 4), true);
        Assert.Throws<ArgumentException>(() => gn.Forward(new Tensor<float>(2, 6), true));
        Assert.Throws<ArgumentException>(() => gn.Backward(new Tensor<float>(3, 4)));
    }
}
