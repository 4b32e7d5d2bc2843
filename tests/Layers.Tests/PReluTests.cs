using Nn.Simd.Layers.Initializers;
using Nn.Simd.Layers.Regularizers;
using Nn.Simd.Tensors;
using Nn.Simd.Training;

namespace Nn.Simd.Layers.Tests;

/// <summary>PRelu: values, input and slope gradients against a float64 index-loop reference for every run layout
/// (no sharing, per feature, per channel, shared innermost axis, interleaved, size-1 axes), finite differences,
/// accumulation, freezing, zero allocation and bad input.</summary>
public class PReluTests
{
    // (sample shape with batch, shared axes): per-element runs, scalar runs, mixed and degenerate layouts; sizes
    // chosen so that float runs take the 512-, 256- and 128-bit paths with remainders, and the scalar path.
    public static TheoryData<int[], int[]> Cases() => new()
    {
        { [3, 5], [] },
        { [2, 37], [] },
        { [2, 4, 3], [1] },
        { [3, 6, 19], [1] },
        { [2, 3, 4, 5], [1, 2] },
        { [2, 3, 4, 5], [3] },
        { [2, 3, 4, 21], [3] },
        { [2, 3, 4, 5], [2] },
        { [2, 3, 1, 5], [1, 3] },
        { [2, 3, 4, 5], [1, 2, 3] },
        { [2, 4, 3], [2] },
        { [2, 1], [1] },
    };

    /// <summary>The reference: α's flat index for x's flat index i within a sample of <paramref name="dims"/>.</summary>
    private static int AlphaIndex(int i, int[] dims, int[] shared)
    {
        int off = 0, stride = 1;
        for (int a = dims.Length - 1; a >= 1; a--)
        {
            int idx = i % dims[a];
            i /= dims[a];
            if (Array.IndexOf(shared, a) < 0) { off += idx * stride; stride *= dims[a]; }
        }
        return off;
    }

    private static void Check<T>(int[] dims, int[] shared, double valueTolerance) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var shape = new TensorShape(dims);
        var layer = new PRelu<T>(sharedAxes: shared);
        layer.Build(shape, seed: 1);
        var rng = new Random(dims.Sum() * 7 + shared.Length);
        var alpha = layer.Alpha.Value.Span;
        for (int i = 0; i < alpha.Length; i++) alpha[i] = T.CreateChecked(rng.NextDouble() * 1.5 - 0.25);
        var x = Tensor<T>.RandomNormal(shape, seed: 3);
        var xs = x.Span;
        for (int i = 0; i < xs.Length; i += 7) xs[i] = T.Zero; // x = 0 takes the negative branch's slope
        var dy = Tensor<T>.RandomNormal(shape, seed: 4);
        var y = layer.Forward(x, training: true).Clone();
        var dx = layer.Backward(dy).Clone();

        int sample = shape.Length / dims[0];
        var expectedY = new double[shape.Length];
        var expectedDx = new double[shape.Length];
        var expectedDa = new double[alpha.Length];
        for (int i = 0; i < shape.Length; i++)
        {
            double xi = double.CreateChecked(xs[i]), g = double.CreateChecked(dy.Span[i]);
            int k = AlphaIndex(i % sample, dims, shared);
            double a = double.CreateChecked(alpha[k]);
            expectedY[i] = xi > 0 ? xi : a * xi;
            expectedDx[i] = xi > 0 ? g : a * g;
            if (xi <= 0) expectedDa[k] += xi * g;
        }
        string where = $"shape {shape}, shared [{string.Join(", ", shared)}]";
        AssertClose(expectedY, y, valueTolerance, "y", where);
        AssertClose(expectedDx, dx, valueTolerance, "dx", where);
        AssertClose(expectedDa, layer.Alpha.Grad, valueTolerance * 100, "dAlpha", where);

        // Backward adds into the gradient; dx is overwritten, not accumulated.
        layer.Forward(x, true);
        var dx2 = layer.Backward(dy);
        AssertClose(expectedDx, dx2, valueTolerance, "dx (second pass)", where);
        AssertClose([.. expectedDa.Select(v => 2 * v)], layer.Alpha.Grad, valueTolerance * 100, "dAlpha (accumulated)", where);
    }

    private static void AssertClose<T>(double[] expected, Tensor<T> actual, double tol, string what, string where)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var a = actual.ReadOnlySpan;
        Assert.Equal(expected.Length, a.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double v = double.CreateChecked(a[i]);
            Assert.True(Math.Abs(v - expected[i]) <= tol * (1 + Math.Abs(expected[i])),
                $"{what} at {i} ({where}): expected {expected[i]:R}, got {v:R}");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Double_MatchesScalarReference(int[] dims, int[] shared) => Check<double>(dims, shared, 1e-14);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Float_MatchesScalarReference(int[] dims, int[] shared) => Check<float>(dims, shared, 1e-6);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Gradients_MatchFiniteDifferences(int[] dims, int[] shared)
    {
        var shape = new TensorShape(dims);
        var layer = new PRelu<double>(new Constant(0.2), shared);
        layer.Build(shape, seed: 1);
        var rng = new Random(5);
        var alpha = layer.Alpha.Value.Span;
        for (int i = 0; i < alpha.Length; i++) alpha[i] = rng.NextDouble() - 0.3;
        // Away from the kink at 0: |x| ≥ 0.1, both signs.
        var x = Tensor<double>.RandomNormal(shape, seed: 6);
        foreach (ref double v in x.Span) v = (v < 0 ? -1 : 1) * (0.1 + Math.Abs(v));
        var report = GradientCheck.Check(layer, x);
        Assert.True(report.Passed, report.ToString());
    }

    [Fact]
    public void DefaultAlphaIsZero_SoTheLayerStartsAsRelu_AndSharedAxesShapeAlpha()
    {
        var layer = new PRelu<float>(sharedAxes: [1, 2]);
        var x = Tensor<float>.RandomNormal(new TensorShape(2, 3, 4, 5), seed: 1);
        var y = layer.Forward(x, false);
        Assert.Equal(new TensorShape(1, 1, 5), layer.Alpha.Value.Shape);
        for (int i = 0; i < x.Length; i++) Assert.Equal(Math.Max(x.Span[i], 0f), y.Span[i]);
        Assert.Equal(new TensorShape(3, 4), new PRelu<float>().ComputeOutputShape(new TensorShape(3, 4)));
        var full = new PRelu<float>();
        full.Build(new TensorShape(7, 3, 4), 1);
        Assert.Equal(new TensorShape(3, 4), full.Alpha.Value.Shape);
    }

    [Fact]
    public void SharedAxesMayChangeSize_UnsharedMayNot()
    {
        var layer = new PRelu<float>(new Constant(0.5), sharedAxes: [1]);
        layer.Forward(Tensor<float>.RandomNormal(new TensorShape(2, 5, 3), seed: 1), true);
        // A different sequence length along the shared time axis is fine (Keras' input spec only fixes unshared axes).
        var x = Tensor<float>.RandomNormal(new TensorShape(4, 9, 3), seed: 2);
        var y = layer.Forward(x, true);
        for (int i = 0; i < x.Length; i++) Assert.Equal(x.Span[i] > 0 ? x.Span[i] : 0.5f * x.Span[i], y.Span[i]);
        var e = Assert.Throws<ArgumentException>(() => layer.Forward(new Tensor<float>(2, 5, 4), true));
        Assert.Equal("input", e.ParamName);
        Assert.Contains("[2, 5, 4]", e.Message);
        Assert.Contains("axis 2 must be 3", e.Message);
        var rank = Assert.Throws<ArgumentException>(() => layer.Forward(new Tensor<float>(2, 15), true));
        Assert.Contains("rank 2", rank.Message);

        var noShare = new PRelu<float>();
        noShare.Forward(new Tensor<float>(2, 5, 3), true);
        var e2 = Assert.Throws<ArgumentException>(() => noShare.Forward(new Tensor<float>(2, 6, 3), true));
        Assert.Contains("axis 1 must be 5", e2.Message);
    }

    [Fact]
    public void BadSharedAxes_Throw_NamingTheAxisAndShape()
    {
        var below = Assert.Throws<ArgumentOutOfRangeException>(() => new PRelu<float>(sharedAxes: [0, 1]));
        Assert.Equal("sharedAxes", below.ParamName);
        Assert.Contains("got 0", below.Message);
        var layer = new PRelu<float>(sharedAxes: [1, 3]);
        var e = Assert.Throws<ArgumentException>(() => layer.Build(new TensorShape(2, 4, 3), 1));
        Assert.Contains("shared axis 3", e.Message);
        Assert.Contains("[2, 4, 3]", e.Message);
        Assert.False(layer.IsBuilt);
        Assert.Throws<ArgumentException>(() => layer.ComputeOutputShape(new TensorShape(2, 4, 3)));
        Assert.Throws<ArgumentException>(() => new PRelu<float>().Build(new TensorShape(5), 1));
        Assert.Throws<InvalidOperationException>(() => new PRelu<float>().Backward(new Tensor<float>(2, 3)));
        var built = new PRelu<float>();
        built.Forward(new Tensor<float>(2, 3), true);
        Assert.Throws<ArgumentException>(() => built.Backward(new Tensor<float>(2, 4)));
    }

    [Fact]
    public void Frozen_LeavesAlphaGradZero_AndStillPassesDx()
    {
        var layer = new PRelu<float>(new Constant(0.25)) { Trainable = false };
        var x = Tensor<float>.RandomNormal(new TensorShape(3, 8), seed: 1);
        layer.Forward(x, true);
        var dx = layer.Backward(Tensor<float>.Ones(3, 8));
        for (int i = 0; i < x.Length; i++) Assert.Equal(x.Span[i] > 0 ? 1f : 0.25f, dx.Span[i]);
        Assert.All(layer.Alpha.Grad.ToArray(), g => Assert.Equal(0f, g));
        var shared = new PRelu<float>(new Constant(0.25), [1]) { Trainable = false };
        shared.Forward(x, true);
        shared.Backward(Tensor<float>.Ones(3, 8));
        Assert.All(shared.Alpha.Grad.ToArray(), g => Assert.Equal(0f, g));
    }

    [Theory]
    [InlineData(new int[0])]
    [InlineData(new[] { 1, 2 })]
    [InlineData(new[] { 3 })]
    public void SteadyStateStep_AllocatesNothing(int[] shared)
    {
        var layer = new PRelu<float>(new Constant(0.1), shared);
        var x = Tensor<float>.RandomNormal(new TensorShape(8, 6, 6, 16), seed: 1);
        var partial = Tensor<float>.RandomNormal(new TensorShape(3, 6, 6, 16), seed: 2);
        var dy = Tensor<float>.RandomNormal(x.Shape, seed: 3);
        var dyPartial = Tensor<float>.RandomNormal(partial.Shape, seed: 4);
        for (int i = 0; i < 3; i++)
        {
            layer.Forward(x, true); layer.Backward(dy);
            layer.Forward(partial, true); layer.Backward(dyPartial);
        }
        SteadyState.AssertAllocatesNothing(() => { layer.Forward(x, true); layer.Backward(dy); });
    }

    [Fact]
    public void Config_RoundTripsTheOptions()
    {
        var layer = new PRelu<float>(new Constant(0.25), [2, 1, 2]) { AlphaRegularizer = Regularizer.Ridge(1e-3) };
        var c = layer.GetConfig();
        Assert.Equal("constant:0.25", c["alpha_initializer"]);
        Assert.Equal("1,2", c["shared_axes"]);
        Assert.Equal("l2:0.001", c["alpha_regularizer"]);
        Assert.Equal([1, 2], layer.SharedAxes);
        Assert.False(new PRelu<float>().GetConfig().ContainsKey("shared_axes"));
        Assert.Equal("zeros", new PRelu<float>().GetConfig()["alpha_initializer"]);
    }
}
