using Nn.Simd.Training.Serialization;
using Nn.Simd.Layers.Initializers;
using Nn.Simd.Tensors;
using Nn.Simd.Training;

namespace Nn.Simd.Layers.Tests;

/// <summary>Keras' initializers: VarianceScaling and its special cases, random/truncated normal, identity, constant;
/// statistics on large seeded tensors against float64 formulas, fans, determinism, arguments and names.</summary>
public sealed class KerasInitializerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nn-init").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // Keras' compute_fans, transcribed.
    private static (double FanIn, double FanOut) KerasFans(int[] shape)
    {
        if (shape.Length == 1) return (shape[0], shape[0]);
        if (shape.Length == 2) return (shape[0], shape[1]);
        double r = 1;
        for (int i = 0; i < shape.Length - 2; i++) r *= shape[i];
        return (shape[^2] * r, shape[^1] * r);
    }

    // Keras' VarianceScaling.__call__: scale /= max(1, n).
    private static double KerasScaleOverN(double scale, string mode, int[] shape)
    {
        var (fi, fo) = KerasFans(shape);
        return scale / (mode switch { "fan_in" => Math.Max(1.0, fi), "fan_out" => Math.Max(1.0, fo), _ => Math.Max(1.0, (fi + fo) / 2.0) });
    }

    private static (double Mean, double Variance) Moments(double[] v)
    {
        double mean = v.Average();
        return (mean, v.Sum(x => (x - mean) * (x - mean)) / v.Length);
    }

    [Theory]
    [InlineData(new[] { 7 }, 7, 7)]
    [InlineData(new[] { 12, 5 }, 12, 5)]                  // Dense kernel [in, out]
    [InlineData(new[] { 16, 64 }, 16, 64)]                // LSTM recurrent kernel [H, 4H]
    [InlineData(new[] { 5, 3, 4 }, 15, 20)]               // Conv1D kernel [k, in, out]
    [InlineData(new[] { 3, 3, 2, 8 }, 18, 72)]            // Conv2D kernel [kh, kw, in, out]
    public void Fans_AreKeras(int[] shape, int fanIn, int fanOut)
    {
        Assert.Equal((fanIn, fanOut), Initializer.Fans(new TensorShape(shape)));
        var s = new TensorShape(shape);
        Assert.Equal(fanIn, new VarianceScaling(mode: "fan_in").FanFor(s));
        Assert.Equal(fanOut, new VarianceScaling(mode: "fan_out").FanFor(s));
        Assert.Equal((fanIn + fanOut) / 2.0, new VarianceScaling(mode: "fan_avg").FanFor(s));
    }

    [Theory]
    [InlineData(1.0, "fan_in", "truncated_normal", new[] { 200, 300 })]
    [InlineData(2.0, "fan_out", "untruncated_normal", new[] { 200, 300 })]
    [InlineData(0.5, "fan_avg", "uniform", new[] { 200, 300 })]
    [InlineData(2.0, "fan_in", "truncated_normal", new[] { 3, 3, 16, 64 })]   // He normal on a Conv2D kernel: n = 144
    [InlineData(3.0, "fan_avg", "uniform", new[] { 5, 40, 128 })]
    public void VarianceScaling_HasTheRequestedVariance_AndRespectsItsBounds(double scale, string mode, string distribution, int[] shape)
    {
        var t = new Tensor<double>(shape);
        new VarianceScaling(scale, mode, distribution).Initialize(t, new Random(11));
        var v = t.ToArray();
        double target = KerasScaleOverN(scale, mode, shape);     // the variance Keras promises
        var (mean, variance) = Moments(v);
        Assert.InRange(mean, -5 * Math.Sqrt(target / v.Length), 5 * Math.Sqrt(target / v.Length));
        Assert.InRange(variance / target, 0.975, 1.025);
        double bound = distribution switch
        {
            "uniform" => Math.Sqrt(3.0 * target),
            "truncated_normal" => 2 * Math.Sqrt(target) / 0.87962566103423978,
            _ => double.PositiveInfinity,
        };
        Assert.All(v, x => Assert.True(Math.Abs(x) <= bound * (1 + 1e-15), $"{x} outside ±{bound}"));
        if (double.IsFinite(bound)) Assert.True(v.Max(Math.Abs) > 0.99 * bound, "the draws should reach close to the bound");
        else Assert.True(v.Max(Math.Abs) > 3.5 * Math.Sqrt(target), "an untruncated normal should exceed 2σ by far");
    }

    [Theory]
    [InlineData("lecun_normal", 1.0, "fan_in", true)]
    [InlineData("lecun_uniform", 1.0, "fan_in", false)]
    [InlineData("he_normal", 2.0, "fan_in", true)]
    [InlineData("he_uniform", 2.0, "fan_in", false)]
    [InlineData("glorot_normal", 1.0, "fan_avg", true)]
    [InlineData("glorot_uniform", 1.0, "fan_avg", false)]
    public void NamedVarianceScalings_DrawAsTheirGeneralForm(string name, double scale, string mode, bool normal)
    {
        var named = Initializer.Get(name);
        var general = new VarianceScaling(scale, mode, normal ? "truncated_normal" : "uniform");
        Assert.Equal(name, named.Name);
        foreach (var shape in new[] { new[] { 30, 50 }, new[] { 3, 3, 4, 6 } })
        {
            var a = new Tensor<float>(shape);
            var b = new Tensor<float>(shape);
            named.Initialize(a, new Random(3));
            general.Initialize(b, new Random(3));
            Assert.Equal(a.ToArray(), b.ToArray());
        }
    }

    // The Glorot and He initializers as they were before VarianceScaling existed (commit 0815c1c), transcribed,
    // so that their seeded draws (and every result in the README) provably did not change.
    private static void LegacyDraw<T>(string name, Tensor<T> t, Random rng) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var (fi, fo) = Initializer.Fans(t.Shape);
        var s = t.Span;
        switch (name)
        {
            case "glorot_uniform" or "he_uniform":
                double limit = name == "glorot_uniform" ? Math.Sqrt(6.0 / Math.Max(1, fi + fo)) : Math.Sqrt(6.0 / Math.Max(1, fi));
                for (int i = 0; i < s.Length; i++) s[i] = T.CreateChecked((2 * rng.NextDouble() - 1) * limit);
                break;
            default:
                double sd = (name == "glorot_normal" ? Math.Sqrt(2.0 / Math.Max(1, fi + fo)) : Math.Sqrt(2.0 / Math.Max(1, fi))) / 0.87962566103423978;
                for (int i = 0; i < s.Length; i++)
                {
                    double z;
                    do z = rng.NextGaussian(); while (Math.Abs(z) > 2);
                    s[i] = T.CreateChecked(sd * z);
                }
                break;
        }
    }

    [Theory]
    [InlineData("glorot_uniform")]
    [InlineData("glorot_normal")]
    [InlineData("he_uniform")]
    [InlineData("he_normal")]
    public void GlorotAndHe_AreBitIdenticalToTheirFormerImplementation(string name)
    {
        int[][] shapes = [[2, 64], [64, 3], [784, 128], [128, 64], [64, 10], [5, 200], [50, 200], [50, 150], [128, 512],
            [7], [3, 3, 1, 16], [3, 3, 16, 32], [5, 3, 4], [1, 1], [13, 37], [1000, 1]];
        foreach (var shape in shapes)
        {
            var now = new Tensor<float>(shape);
            var then = new Tensor<float>(shape);
            Initializer.Get(name).Initialize(now, new Random(42));
            LegacyDraw(name, then, new Random(42));
            Assert.Equal(then.ToArray(), now.ToArray());
            var nowD = new Tensor<double>(shape);
            var thenD = new Tensor<double>(shape);
            Initializer.Get(name).Initialize(nowD, new Random(7));
            LegacyDraw(name, thenD, new Random(7));
            Assert.Equal(thenD.ToArray(), nowD.ToArray());
        }
    }

    [Fact]
    public void RandomNormal_HasItsMeanAndStddev()
    {
        var t = new Tensor<double>(250, 240);
        new RandomNormal(0.3, 2.0).Initialize(t, new Random(5));
        var (mean, variance) = Moments(t.ToArray());
        Assert.InRange(mean, 0.3 - 5 * 2.0 / Math.Sqrt(60000), 0.3 + 5 * 2.0 / Math.Sqrt(60000));
        Assert.InRange(Math.Sqrt(variance) / 2.0, 0.99, 1.01);
        // Keras' default: N(0, 0.05²).
        var d = new Tensor<double>(250, 240);
        Initializer.Get("random_normal").Initialize(d, new Random(5));
        Assert.InRange(Math.Sqrt(Moments(d.ToArray()).Variance) / 0.05, 0.99, 1.01);
    }

    [Theory]
    [InlineData(0.0, 0.05)]
    [InlineData(-1.5, 3.0)]
    public void TruncatedNormal_StaysWithinTwoStddevsExactly_WithTheTruncatedVariance(double mean, double stddev)
    {
        var t = new Tensor<float>(300, 200);
        new TruncatedNormal(mean, stddev).Initialize(t, new Random(9));
        var v = t.ToArray();
        float lo = (float)(mean - 2 * stddev), hi = (float)(mean + 2 * stddev);
        Assert.All(v, x => Assert.InRange(x, lo, hi));
        Assert.True(v.Max() > mean + 1.98 * stddev && v.Min() < mean - 1.98 * stddev, "both tails reach the truncation point");
        var (m, variance) = Moments(v.Select(x => (double)x).ToArray());
        Assert.InRange(m, mean - 5 * stddev / Math.Sqrt(v.Length), mean + 5 * stddev / Math.Sqrt(v.Length));
        // The standard deviation of N(0, 1) truncated to ±2 is 0.87962566103423978.
        Assert.InRange(Math.Sqrt(variance) / (0.87962566103423978 * stddev), 0.99, 1.01);
    }

    [Fact]
    public void Draws_AreDeterminedBySeed()
    {
        foreach (var init in new Initializer[] { new RandomNormal(), new TruncatedNormal(), new LecunNormal(), new LecunUniform(),
                     new VarianceScaling(2, "fan_out", "untruncated_normal") })
        {
            var a = new Tensor<float>(20, 30);
            var b = new Tensor<float>(20, 30);
            var c = new Tensor<float>(20, 30);
            init.Initialize(a, new Random(1));
            init.Initialize(b, new Random(1));
            init.Initialize(c, new Random(2));
            Assert.Equal(a.ToArray(), b.ToArray());
            Assert.NotEqual(a.ToArray(), c.ToArray());
        }
    }

    [Fact]
    public void Identity_IsGainTimesTheEyeMatrix_AndRejectsOtherRanks()
    {
        foreach (var (rows, cols) in new[] { (3, 5), (5, 3), (4, 4) })
        {
            var t = Tensor<double>.Full(new TensorShape(rows, cols), 9.0);
            new Identity(2.5).Initialize(t, new Random(1));
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                    Assert.Equal(r == c ? 2.5 : 0.0, t[r, c]);
        }
        var e = Assert.Throws<ArgumentException>(() => new Identity().Initialize(new Tensor<float>(3, 3, 2), new Random(1)));
        Assert.Contains("[3, 3, 2]", e.Message.Replace("(", "[").Replace(")", "]"));
        Assert.Throws<ArgumentException>(() => new Identity().Initialize(new Tensor<float>(4), new Random(1)));
    }

    [Fact]
    public void Constant_FillsTheValue()
    {
        var t = new Tensor<float>(4, 3);
        Initializer.Get("constant:-0.25").Initialize(t, new Random(1));
        Assert.All(t.ToArray(), v => Assert.Equal(-0.25f, v));
        Assert.Equal(0.0, ((Constant)Initializer.Get("constant")).Value);
        Assert.Equal(1.0, ((Constant)Initializer.Get("One")).Value);
    }

    [Fact]
    public void BadArguments_AreRejectedWithTheirNames()
    {
        Assert.Equal("stddev", Assert.Throws<ArgumentOutOfRangeException>(() => new RandomNormal(stddev: -0.1)).ParamName);
        Assert.Equal("stddev", Assert.Throws<ArgumentOutOfRangeException>(() => new TruncatedNormal(stddev: double.NaN)).ParamName);
        Assert.Equal("mean", Assert.Throws<ArgumentOutOfRangeException>(() => new RandomNormal(double.PositiveInfinity)).ParamName);
        Assert.Equal("scale", Assert.Throws<ArgumentOutOfRangeException>(() => new VarianceScaling(0)).ParamName);
        Assert.Equal("scale", Assert.Throws<ArgumentOutOfRangeException>(() => new VarianceScaling(-2)).ParamName);
        var m = Assert.Throws<ArgumentException>(() => new VarianceScaling(mode: "fan_sum"));
        Assert.Equal("mode", m.ParamName);
        Assert.Contains("fan_sum", m.Message);
        Assert.Equal("distribution", Assert.Throws<ArgumentException>(() => new VarianceScaling(distribution: "gaussian")).ParamName);
        Assert.Equal("gain", Assert.Throws<ArgumentOutOfRangeException>(() => new Identity(double.NaN)).ParamName);
        Assert.Contains("-1", Assert.Throws<ArgumentException>(() => Initializer.Get("random_normal:0,-1")).Message);
        Assert.Throws<ArgumentException>(() => Initializer.Get("identity:1,2"));
        Assert.Throws<ArgumentException>(() => Initializer.Get("he_normal:2"));
        Assert.Throws<ArgumentException>(() => Initializer.Get("truncated_normal:x"));
        Assert.Throws<ArgumentException>(() => Initializer.Get("variance_scaling:1,fan_in,cauchy"));
        Assert.Contains("lecun_normal", Assert.Throws<ArgumentException>(() => Initializer.Get("xavier")).Message);
    }

    public static TheoryData<string> AllInitializers => new()
    {
        "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal", "variance_scaling",
        "variance_scaling:0.5,fan_out,untruncated_normal", "variance_scaling:3,fan_avg,uniform", "uniform", "random_normal",
        "random_normal:0.25,0.125", "truncated_normal", "truncated_normal:-1,0.5", "orthogonal", "orthogonal:0.5",
        "identity", "identity:3", "zeros", "ones", "constant:0.75", "random_uniform:-0.1,0.1", "random_uniform:0,1",
        "random_uniform:-0.25,0.5",
    };

    [Fact]
    public void RandomUniform_Default_DrawsAsBefore_BitForBit()
    {
        // The draws the argument-less initializer always made: (2u − 1)·0.05 per element, u from the seeded Random.
        foreach (var init in new[] { new RandomUniform(), Initializer.Get("uniform"), Initializer.Get("random_uniform"),
                     Initializer.Get("RandomUniform:-0.05,0.05"), new RandomUniform(-0.05) })
        {
            Assert.Equal("uniform", init.Name);
            var f = new Tensor<float>(7, 9);
            var d = new Tensor<double>(7, 9);
            init.Initialize(f, new Random(11));
            init.Initialize(d, new Random(11));
            var rf = new Random(11);
            var rd = new Random(11);
            Assert.Equal(f.ToArray(), Enumerable.Range(0, 63).Select(_ => (float)((2 * rf.NextDouble() - 1) * 0.05)).ToArray());
            Assert.Equal(d.ToArray(), Enumerable.Range(0, 63).Select(_ => (2 * rd.NextDouble() - 1) * 0.05).ToArray());
        }
        // Embedding's default table, seeded, is the same draws.
        var emb = new Embedding<double>(6, 4);
        emb.Build(new TensorShape(2, 3), 5);
        var r = new Random(5);
        Assert.Equal(emb.Embeddings.Value.ToArray(), Enumerable.Range(0, 24).Select(_ => (2 * r.NextDouble() - 1) * 0.05).ToArray());
    }

    [Theory]
    [InlineData(0.0, 1.0)]
    [InlineData(-0.3, 0.1)]
    [InlineData(2.0, 2.5)]
    [InlineData(-1.0, 1.0)]
    public void RandomUniform_Range_IsKerasFormula_AndFillsIt(double minval, double maxval)
    {
        var init = new RandomUniform(minval, maxval);
        var t = new Tensor<double>(200, 100);
        init.Initialize(t, new Random(3));
        var v = t.ToArray();
        var rng = new Random(3);
        // Keras: minval + (maxval − minval)·u (a symmetric range as (2u − 1)·maxval, the same function of u).
        double[] expected = [.. Enumerable.Range(0, v.Length).Select(_ =>
            minval == -maxval ? (2 * rng.NextDouble() - 1) * maxval : minval + (maxval - minval) * rng.NextDouble())];
        Assert.Equal(expected, v);
        double w = maxval - minval;
        Assert.All(v, x => Assert.True(x >= minval && x < maxval || (minval == -maxval && x <= maxval), $"{x} outside [{minval}, {maxval})"));
        Assert.True(v.Min() < minval + 0.001 * w && v.Max() > maxval - 0.001 * w, "the draws reach both ends");
        var (m, variance) = Moments(v);
        Assert.InRange(m, (minval + maxval) / 2 - 0.01 * w, (minval + maxval) / 2 + 0.01 * w);
        Assert.InRange(variance / (w * w / 12), 0.97, 1.03);
        var f = new Tensor<float>(3, 5);
        init.Initialize(f, new Random(3));
        Assert.Equal(expected.Take(15).Select(x => (float)x).ToArray(), f.ToArray());
    }

    [Fact]
    public void RandomUniform_BadBounds_AreRejected()
    {
        Assert.Equal("minval", Assert.Throws<ArgumentOutOfRangeException>(() => new RandomUniform(double.NaN)).ParamName);
        Assert.Equal("maxval", Assert.Throws<ArgumentOutOfRangeException>(() => new RandomUniform(0, double.PositiveInfinity)).ParamName);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new RandomUniform(0.5, 0.25));
        Assert.Equal("maxval", e.ParamName);
        Assert.Contains("0.5", e.Message);
        Assert.Contains("0.25", e.Message);
        Assert.Contains("0.25", Assert.Throws<ArgumentException>(() => Initializer.Get("random_uniform:1,0.25")).Message);
        Assert.Throws<ArgumentException>(() => Initializer.Get("uniform:0,1,2"));
        Assert.Throws<ArgumentException>(() => Initializer.Get("random_uniform:a"));
        var c = new Tensor<float>(2, 2);
        new RandomUniform(0.5, 0.5).Initialize(c, new Random(1));
        Assert.All(c.ToArray(), x => Assert.Equal(0.5f, x));
    }

    [Fact]
    public void RandomUniform_OnEmbedding_SurvivesSaveAndLoad()
    {
        var model = new Sequential(new Embedding<float>(10, 3, embeddingsInitializer: new RandomUniform(-0.2, 0.3)), new Dense<float>(1)) { Seed = 2 };
        model.Build(4);
        string path = Path.Combine(_dir, "emb.safetensors");
        model.Save(path);
        var loaded = Sequential.Load(path);
        Assert.Equal("random_uniform:-0.2,0.3", loaded.Layers[0].GetConfig()["embeddings_initializer"]);
        var init = Assert.IsType<RandomUniform>(((Embedding<float>)loaded.Layers[0]).EmbeddingsInitializer);
        Assert.Equal((-0.2, 0.3), (init.Minval, init.Maxval));
        Assert.Equal(model.Layers[0].Parameters[0].Value.ToArray(), loaded.Layers[0].Parameters[0].Value.ToArray());
    }

    [Theory]
    [MemberData(nameof(AllInitializers))]
    public void Names_RoundTrip_AndTheDrawsWithThem(string name)
    {
        var init = Initializer.Get(name);
        Assert.Equal(name, init.Name);
        var back = Initializer.Get(init.Name);
        Assert.Equal(init.GetType(), back.GetType());
        var a = new Tensor<float>(6, 9);
        var b = new Tensor<float>(6, 9);
        init.Initialize(a, new Random(4));
        back.Initialize(b, new Random(4));
        Assert.Equal(a.ToArray(), b.ToArray());
    }

    [Fact]
    public void KerasSpellings_AreAccepted()
    {
        Assert.IsType<LecunNormal>(Initializer.Get("LecunNormal"));
        Assert.IsType<VarianceScaling>(Initializer.Get("VarianceScaling"));
        Assert.IsType<RandomNormal>(Initializer.Get("normal"));
        Assert.IsType<TruncatedNormal>(Initializer.Get("TruncatedNormal"));
        Assert.IsType<Orthogonal>(Initializer.Get("OrthogonalInitializer"));
        Assert.Equal("truncated_normal", new VarianceScaling(distribution: "Normal").Distribution);
    }

    [Fact]
    public void LayerKernels_UseKerasFans()
    {
        // LSTM(8) on 5 features: kernel [5, 32] with he_uniform (l = √(6/5)); recurrent [8, 32] with fan_out uniform (l = √(3/32)).
        var lstm = new Lstm<double>(8, kernelInitializer: new HeUniform(), recurrentInitializer: new VarianceScaling(1, "fan_out", "uniform"));
        lstm.Build(new TensorShape(4, 6, 5), 3);
        void InLimit(double[] v, double limit)
        {
            Assert.All(v, x => Assert.True(Math.Abs(x) <= limit));
            Assert.True(v.Max(Math.Abs) > 0.9 * limit);
        }
        InLimit(lstm.Parameters[0].Value.ToArray(), Math.Sqrt(6.0 / 5));
        InLimit(lstm.Parameters[1].Value.ToArray(), Math.Sqrt(3.0 / 32));
        // Conv2D(32, 3×3) on 16 channels with lecun_normal: n = 3·3·16, truncated at 2·√(1/144)/0.8796.
        var conv = new Conv2D<double>(32, (3, 3), kernelInitializer: new LecunNormal());
        conv.Build(new TensorShape(1, 8, 8, 16), 5);
        var k = conv.Kernel.Value.ToArray();
        Assert.Equal(3 * 3 * 16 * 32, k.Length);
        Assert.InRange(Moments(k).Variance * 144, 0.93, 1.07);
        Assert.All(k, x => Assert.True(Math.Abs(x) <= 2 * Math.Sqrt(1.0 / 144) / 0.87962566103423978));
    }

    [Fact]
    public void LayerConfigs_WithTheNewInitializers_SurviveSaveAndLoad()
    {
        var model = new Sequential(
            new Conv1D<float>(4, 3, kernelInitializer: new VarianceScaling(0.5, "fan_out", "untruncated_normal"), biasInitializer: new TruncatedNormal(0.1, 0.01)),
            new Lstm<float>(5, kernelInitializer: new LecunUniform(), recurrentInitializer: new Orthogonal(0.5), biasInitializer: new RandomNormal(0, 0.2)),
            new Dense<float>(5, kernelInitializer: new Identity(2), biasInitializer: new Constant(0.25)),
            new Dense<float>(1, kernelInitializer: new LecunNormal())) { Seed = 3 };
        model.Build(7, 3);
        string path = Path.Combine(_dir, "init.safetensors");
        model.Save(path);
        var loaded = Sequential.Load(path);
        for (int i = 0; i < model.Layers.Count; i++)
            Assert.Equal(model.Layers[i].GetConfig().OrderBy(p => p.Key), loaded.Layers[i].GetConfig().OrderBy(p => p.Key));
        Assert.Equal("variance_scaling:0.5,fan_out,untruncated_normal", model.Layers[0].GetConfig()["kernel_initializer"]);
        Assert.Equal("orthogonal:0.5", model.Layers[1].GetConfig()["recurrent_initializer"]);
        Assert.Equal("identity:2", model.Layers[2].GetConfig()["kernel_initializer"]);
        // Rebuilding the loaded architecture with the same seed draws the same weights.
        var fresh = new Sequential(loaded.Layers.Select(l => LayerRegistry<float>.Create(((Layer<float>)l).TypeName, l.GetConfig())).ToArray()) { Seed = 3 };
        fresh.Build(7, 3);
        for (int i = 0; i < model.Parameters.Count; i++) Assert.Equal(model.Parameters[i].Value.ToArray(), fresh.Parameters[i].Value.ToArray());
    }
}
