using Nn.Simd.Tensors;
using Nn.Simd.Training;
using Nn.Simd.Training.Serialization;

namespace Nn.Simd.Layers.Tests;

/// <summary>The merge layers against float64 index-loop references of Keras' formulas, finite differences for every
/// input, the tie rule of Maximum/Minimum, Dot's output shapes and normalisation floor, bad inputs, zero allocation and
/// the registry round trip.</summary>
public class MergeLayerTests
{
    private static Tensor<double>[] Inputs(int count, TensorShape shape, int seed) =>
        [.. Enumerable.Range(0, count).Select(i => Tensor<double>.RandomNormal(shape, seed: seed + 17 * i))];

    private static IMergeLayer<double> Elementwise(string type) => type switch
    {
        "add" => new Add<double>(),
        "subtract" => new Subtract<double>(),
        "multiply" => new Multiply<double>(),
        "average" => new Average<double>(),
        "maximum" => new Maximum<double>(),
        _ => new Minimum<double>(),
    };

    /// <summary>The scalar formula of each element-wise layer.</summary>
    private static double ElementwiseReference(string type, double[] v) => type switch
    {
        "add" => v.Sum(),
        "subtract" => v[0] - v[1],
        "multiply" => v.Aggregate(1.0, (p, x) => p * x),
        "average" => v.Sum() / v.Length,
        "maximum" => v.Max(),
        _ => v.Min(),
    };

    public static TheoryData<string, int, int[]> ElementwiseCases() => new()
    {
        { "add", 2, [3, 4] }, { "add", 3, [2, 3, 5] },
        { "subtract", 2, [3, 4] }, { "subtract", 2, [2, 3, 5] },
        { "multiply", 2, [3, 4] }, { "multiply", 4, [2, 3, 5] },
        { "average", 2, [3, 4] }, { "average", 3, [2, 3, 5] },
        { "maximum", 2, [3, 4] }, { "maximum", 3, [2, 3, 5] },
        { "minimum", 2, [3, 4] }, { "minimum", 3, [2, 3, 5] },
    };

    [Theory]
    [MemberData(nameof(ElementwiseCases))]
    public void Elementwise_MatchesScalarFormula_AndBackwardMatchesFiniteDifferences(string type, int count, int[] dims)
    {
        var shape = new TensorShape(dims);
        var xs = Inputs(count, shape, seed: dims.Sum() + count);
        var layer = Elementwise(type);
        Assert.Equal(type, layer.TypeName);
        Assert.Equal(shape, layer.ComputeOutputShape([.. xs.Select(x => x.Shape)]));
        var y = layer.Forward(xs, training: true).ToArray();
        for (int e = 0; e < y.Length; e++)
            Assert.Equal(ElementwiseReference(type, [.. xs.Select(x => x.ToArray()[e])]), y[e], 12);
        var report = GradientCheck.Check(layer, xs);
        Assert.True(report.Passed, $"{type} x{count} {shape}: {report}");
        Assert.Equal(count, report.Tensors.Count);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void MaximumAndMinimum_SendTheWholeGradientToTheFirstTiedInput(bool max)
    {
        // Element 0: inputs 1 and 2 tie at the extremum; element 1: all three tie; element 2: inputs 0 and 2 tie;
        // element 3: no tie (input 2 wins).
        double s = max ? 1 : -1;
        var x0 = Tensor<double>.FromArray([0, 5 * s, 7 * s, 1 * s], 1, 4);
        var x1 = Tensor<double>.FromArray([3 * s, 5 * s, 2 * s, 2 * s], 1, 4);
        var x2 = Tensor<double>.FromArray([3 * s, 5 * s, 7 * s, 9 * s], 1, 4);
        IMergeLayer<double> layer = max ? new Maximum<double>() : new Minimum<double>();
        Assert.Equal(new[] { 3 * s, 5 * s, 7 * s, 9 * s }, layer.Forward([x0, x1, x2], true).ToArray());
        var dy = Tensor<double>.FromArray([10, 20, 30, 40], 1, 4);
        var d = layer.Backward(dy);
        Assert.Equal(new double[] { 0, 20, 30, 0 }, d[0].ToArray());
        Assert.Equal(new double[] { 10, 0, 0, 0 }, d[1].ToArray());
        Assert.Equal(new double[] { 0, 0, 0, 40 }, d[2].ToArray());
    }

    /// <summary>Input <paramref name="x"/>'s value at output index (i₀, i₁, i₂, i₃) (shapes padded in front to rank 4): index
    /// 0 on every axis where x has size 1.</summary>
    private static double BroadcastAt(Tensor<double> x, int[] o)
    {
        var d = x.Shape.ToArray();
        var e = new int[4];
        for (int a = 0; a < 4; a++) e[a] = a < 4 - d.Length ? 1 : d[a - (4 - d.Length)];
        int flat = 0;
        for (int a = 0; a < 4; a++) flat = flat * e[a] + (e[a] == 1 ? 0 : o[a]);
        return x.ToArray()[flat];
    }

    public static TheoryData<string, int[][], int[]> BroadcastCases() => new()
    {
        { "add", [[2, 3, 4], [2, 1, 4]], [2, 3, 4] },          // middle axis
        { "multiply", [[2, 3, 4], [2, 3, 1]], [2, 3, 4] },     // last axis
        { "subtract", [[2, 1, 4], [2, 3, 1]], [2, 3, 4] },     // both inputs, different axes
        { "average", [[2, 3, 4], [2, 1, 4], [2, 3, 1]], [2, 3, 4] },
        { "maximum", [[2, 1, 4], [2, 3, 1], [2, 3, 4]], [2, 3, 4] },
        { "minimum", [[3, 1, 2, 5], [3, 4, 2, 1]], [3, 4, 2, 5] },
        { "add", [[3, 1], [3, 4]], [3, 4] },
        { "multiply", [[2, 3, 1], [2, 1, 4], [2, 1, 1]], [2, 3, 4] },
        { "subtract", [[2, 3, 4], [2, 1, 1]], [2, 3, 4] },
    };

    [Theory]
    [MemberData(nameof(BroadcastCases))]
    public void Elementwise_BroadcastsAxesOfSize1_MatchingIndexArithmetic_AndBackwardMatchesFiniteDifferences(string type, int[][] dims, int[] expected)
    {
        var xs = dims.Select((d, i) => Tensor<double>.RandomNormal(new TensorShape(d), seed: 40 + 7 * i + d.Sum())).ToArray();
        var layer = Elementwise(type);
        var outShape = new TensorShape(expected);
        Assert.Equal(outShape, layer.ComputeOutputShape([.. xs.Select(x => x.Shape)]));
        var y = layer.Forward(xs, training: true);
        Assert.Equal(outShape, y.Shape);
        var o4 = new int[4];
        var e = Enumerable.Repeat(1, 4 - expected.Length).Concat(expected).ToArray();
        int flat = 0;
        for (o4[0] = 0; o4[0] < e[0]; o4[0]++)
            for (o4[1] = 0; o4[1] < e[1]; o4[1]++)
                for (o4[2] = 0; o4[2] < e[2]; o4[2]++)
                    for (o4[3] = 0; o4[3] < e[3]; o4[3]++, flat++)
                        Assert.Equal(ElementwiseReference(type, [.. xs.Select(x => BroadcastAt(x, o4))]), y.ToArray()[flat], 12);
        var report = GradientCheck.Check(layer, xs);
        Assert.True(report.Passed, $"{type} {string.Join(" ", xs.Select(x => x.Shape))}: {report}");
        Assert.Equal(xs.Length, report.Tensors.Count);
        var d = layer.Backward(Tensor<double>.RandomNormal(outShape, seed: 5));
        for (int i = 0; i < xs.Length; i++) Assert.Equal(xs[i].Shape, d[i].Shape);
    }

    [Fact]
    public void Maximum_UnderBroadcasting_KeepsTheFirstTiedInputRulePerOutputElement_ThenSumsTheGradient()
    {
        // x0 [1, 1, 2] broadcast along axis 1 against x1 [1, 3, 2]; the output is [[4, 6], [4, 6], [5, 6]].
        var x0 = Tensor<double>.FromArray([4, 6], 1, 1, 2);
        var x1 = Tensor<double>.FromArray([4, 1, 2, 6, 5, 6], 1, 3, 2);
        var dy = Tensor<double>.FromArray([1, 2, 3, 4, 5, 6], 1, 3, 2);
        var layer = new Maximum<double>();
        Assert.Equal(new double[] { 4, 6, 4, 6, 5, 6 }, layer.Forward([x0, x1], true).ToArray());
        var d = layer.Backward(dy);
        // Ties at (0, 0), (1, 1) and (2, 1) go to x0, which also wins (0, 1) and (1, 0); x1 wins only (2, 0).
        Assert.Equal(new double[] { 1 + 3, 2 + 4 + 6 }, d[0].ToArray());
        Assert.Equal(new double[] { 0, 0, 0, 0, 5, 0 }, d[1].ToArray());
        // Order reversed: the ties now go to x1.
        Assert.Equal(new double[] { 4, 6, 4, 6, 5, 6 }, layer.Forward([x1, x0], true).ToArray());
        d = layer.Backward(dy);
        Assert.Equal(new double[] { 1, 0, 0, 4, 5, 6 }, d[0].ToArray());
        Assert.Equal(new double[] { 3, 2 }, d[1].ToArray());
    }

    [Fact]
    public void Elementwise_SwitchingBetweenBroadcastAndSameShapeInputs_GivesWhatAFreshLayerGives()
    {
        var a = Tensor<double>.RandomNormal(new TensorShape(2, 3, 4), seed: 1);
        var b = Tensor<double>.RandomNormal(new TensorShape(2, 3, 4), seed: 2);
        var c = Tensor<double>.RandomNormal(new TensorShape(2, 1, 4), seed: 3);
        var dy = Tensor<double>.RandomNormal(new TensorShape(2, 3, 4), seed: 4);
        foreach (var type in new[] { "add", "subtract", "multiply", "average", "maximum", "minimum" })
        {
            var reused = Elementwise(type);
            foreach (var xs in new[] { new[] { a, c }, [a, b], [c, b], [a, b] })
            {
                var fresh = Elementwise(type);
                Assert.Equal(fresh.Forward(xs, true).ToArray(), reused.Forward(xs, true).ToArray());
                var df = fresh.Backward(dy);
                var dr = reused.Backward(dy);
                for (int i = 0; i < 2; i++) Assert.Equal(df[i].ToArray(), dr[i].ToArray());
            }
        }
    }

    /// <summary>Concatenation by index loops: input i's element (o, a, r) lands at (o, off_i + a, r).</summary>
    private static double[] ConcatReference(Tensor<double>[] xs, int axis)
    {
        int rank = xs[0].Rank, a = axis < 0 ? axis + rank : axis;
        var dims = xs[0].Shape.ToArray();
        int outer = dims[..a].Aggregate(1, (p, d) => p * d), inner = dims[(a + 1)..].Aggregate(1, (p, d) => p * d);
        int total = xs.Sum(x => x.Shape[a]);
        var y = new double[outer * total * inner];
        int off = 0;
        foreach (var x in xs)
        {
            var v = x.ToArray();
            int n = x.Shape[a];
            for (int o = 0; o < outer; o++)
                for (int k = 0; k < n; k++)
                    for (int r = 0; r < inner; r++)
                        y[(o * total + off + k) * inner + r] = v[(o * n + k) * inner + r];
            off += n;
        }
        return y;
    }

    public static TheoryData<int[][], int, int[]> ConcatCases() => new()
    {
        { [[3, 2], [3, 5]], -1, [3, 7] },
        { [[2, 3, 4], [2, 3, 1], [2, 3, 2]], -1, [2, 3, 7] },
        { [[2, 3, 4], [2, 1, 4]], 1, [2, 4, 4] },
        { [[2, 3, 4], [2, 2, 4]], -2, [2, 5, 4] },
        { [[2, 2, 3, 2], [2, 2, 1, 2]], 2, [2, 2, 4, 2] },
    };

    [Theory]
    [MemberData(nameof(ConcatCases))]
    public void Concatenate_MatchesIndexLoops_AndBackwardMatchesFiniteDifferences(int[][] dims, int axis, int[] expected)
    {
        var xs = dims.Select((d, i) => Tensor<double>.RandomNormal(new TensorShape(d), seed: 3 + i)).ToArray();
        var layer = new Concatenate<double>(axis);
        Assert.Equal(new TensorShape(expected), layer.ComputeOutputShape([.. xs.Select(x => x.Shape)]));
        var y = layer.Forward(xs, true);
        Assert.Equal(new TensorShape(expected), y.Shape);
        Assert.Equal(ConcatReference(xs, axis), y.ToArray());
        var report = GradientCheck.Check(layer, xs);
        Assert.True(report.Passed, report.ToString());
    }

    /// <summary>Keras' batch_dot by index loops over the named axes, and the Keras 3 normalisation x / max(‖x‖, 1e-7).</summary>
    private static double[] DotReference(Tensor<double> x, Tensor<double> z, int ax, int az, bool normalize)
    {
        ax = ax < 0 ? ax + x.Rank : ax;
        az = az < 0 ? az + z.Rank : az;
        double At(Tensor<double> t, int b, int free, int k, int axis) =>
            t.Rank == 2 ? t[b, k] : axis == 1 ? t[b, k, free] : t[b, free, k];
        int FreeSize(Tensor<double> t, int axis) => t.Rank == 2 ? 1 : t.Shape[3 - axis];
        int batch = x.Shape[0], n = x.Shape[ax], px = FreeSize(x, ax), pz = FreeSize(z, az);
        double Norm(Tensor<double> t, int b, int free, int axis)
        {
            if (!normalize) return 1;
            double s = 0;
            for (int k = 0; k < n; k++) s += At(t, b, free, k, axis) * At(t, b, free, k, axis);
            return Math.Max(Math.Sqrt(s), 1e-7);
        }
        var y = new double[batch * px * pz];
        for (int b = 0; b < batch; b++)
            for (int p = 0; p < px; p++)
                for (int q = 0; q < pz; q++)
                {
                    double s = 0;
                    for (int k = 0; k < n; k++) s += At(x, b, p, k, ax) * At(z, b, q, k, az);
                    y[(b * px + p) * pz + q] = s / (Norm(x, b, p, ax) * Norm(z, b, q, az));
                }
        return y;
    }

    public static TheoryData<int[], int[], int, int, int[]> DotCases() => new()
    {
        { [3, 5], [3, 5], 1, 1, [3, 1] },
        { [3, 5], [3, 5], -1, -1, [3, 1] },
        { [2, 4, 3], [2, 5, 3], 2, 2, [2, 4, 5] },
        { [2, 3, 4], [2, 3, 5], 1, 1, [2, 4, 5] },
        { [2, 4, 3], [2, 3, 5], 2, 1, [2, 4, 5] },
        { [2, 3, 4], [2, 5, 3], 1, 2, [2, 4, 5] },
        { [2, 3], [2, 3, 4], 1, 1, [2, 4] },
        { [2, 3], [2, 4, 3], -1, -1, [2, 4] },
        { [2, 4, 3], [2, 3], 2, 1, [2, 4] },
        { [2, 3, 4], [2, 3], -2, -1, [2, 4] },
    };

    [Theory]
    [MemberData(nameof(DotCases))]
    public void Dot_MatchesBatchDot_WithKerasShapes_AndBackwardMatchesFiniteDifferences(int[] xd, int[] zd, int ax, int az, int[] expected)
    {
        var x = Tensor<double>.RandomNormal(new TensorShape(xd), seed: xd.Sum());
        var z = Tensor<double>.RandomNormal(new TensorShape(zd), seed: zd.Sum() + 1);
        foreach (bool normalize in new[] { false, true })
        {
            var layer = ax == az && xd.Length == zd.Length ? new Dot<double>(ax, normalize) : new Dot<double>((ax, az), normalize);
            Assert.Equal(new TensorShape(expected), layer.ComputeOutputShape([x.Shape, z.Shape]));
            var y = layer.Forward([x, z], true);
            Assert.Equal(new TensorShape(expected), y.Shape);
            var r = DotReference(x, z, ax, az, normalize);
            for (int i = 0; i < r.Length; i++) Assert.Equal(r[i], y.ToArray()[i], 12);
            var report = GradientCheck.Check(layer, [x, z]);
            Assert.True(report.Passed, $"normalize {normalize}: {report}");
        }
    }

    [Fact]
    public void DotNormalize_ScalesVectorsWithNormUnder1e7_By1e7_WithTheLinearGradient()
    {
        var x = Tensor<double>.FromArray([3e-9, 4e-9, 0, 1, 2, 2], 2, 3);
        var z = Tensor<double>.FromArray([1, 2, 3, 0, 0, 3], 2, 3);
        var layer = new Dot<double>(1, normalize: true);
        var y = layer.Forward([x, z], true).ToArray();
        // Row 0: ‖x‖ = 5e-9 is under the floor, so x̂ = 1e7·x = (0.03, 0.04, 0) and ẑ = z/√14.
        Assert.Equal((0.03 * 1 + 0.04 * 2) / Math.Sqrt(14), y[0], 12);
        Assert.Equal(2.0 / 3.0, y[1], 12);
        var d = layer.Backward(Tensor<double>.FromArray([1, 1], 2, 1));
        // dx̂ = ẑ and, below the floor, dx = 1e7·dx̂.
        Assert.Equal(1e7 * 2 / Math.Sqrt(14), d[0][0, 1], 1e-3);
        // A step far below the tiny vector's norm keeps the check on the clamped branch; round-off of the O(1) loss
        // over so small a step is what limits the other input's accuracy.
        var report = GradientCheck.Check(layer, [x, z], new GradientCheck.Options(Epsilon: 1e-11));
        Assert.True(report.Tensors[0].RelativeError < 1e-4, report.ToString());
        Assert.True(report.Tensors[1].RelativeError < 1e-2, report.ToString());
    }

    [Fact]
    public void BadInputs_AreRejected_NamingEveryShape()
    {
        var a = new Tensor<float>(2, 3);
        var b = new Tensor<float>(2, 4);
        var e = Assert.Throws<ArgumentException>("inputs", () => new Add<float>().Forward([a, b], true));
        Assert.Contains("[2, 3], [2, 4]", e.Message);
        Assert.Contains("axis 1: 3 vs 4", e.Message);
        e = Assert.Throws<ArgumentException>("inputs", () =>
            new Multiply<float>().Forward([new Tensor<float>(2, 1, 5), new Tensor<float>(2, 3, 5), new Tensor<float>(2, 4, 1)], true));
        Assert.Contains("[2, 1, 5], [2, 3, 5], [2, 4, 1]", e.Message);
        Assert.Contains("axis 1: 3 vs 4", e.Message);
        e = Assert.Throws<ArgumentException>("inputShapes", () => new Maximum<float>().ComputeOutputShape([new TensorShape(2, 3, 4), new TensorShape(2, 3, 3)]));
        Assert.Contains("[2, 3, 4], [2, 3, 3]", e.Message);
        Assert.Contains("axis 2: 4 vs 3", e.Message);
        e = Assert.Throws<ArgumentException>("inputs", () => new Average<float>().Forward([a, new Tensor<float>(2, 3, 1)], true));
        Assert.Contains("[2, 3], [2, 3, 1]", e.Message);
        Assert.Contains("one rank", e.Message);
        e = Assert.Throws<ArgumentException>("inputs", () => new Subtract<float>().Forward([a, new Tensor<float>(1, 3)], true));
        Assert.Contains("[2, 3], [1, 3]", e.Message);
        Assert.Contains("different batch sizes", e.Message);
        e = Assert.Throws<ArgumentException>("inputs", () => new Multiply<float>().Forward([a], true));
        Assert.Contains("at least 2", e.Message);
        Assert.Contains("[2, 3]", e.Message);
        e = Assert.Throws<ArgumentException>("inputShapes", () => new Subtract<float>().ComputeOutputShape([a.Shape, a.Shape, a.Shape]));
        Assert.Contains("exactly 2", e.Message);
        e = Assert.Throws<ArgumentException>("inputs", () => new Concatenate<float>().Forward([new Tensor<float>(2, 3, 4), new Tensor<float>(2, 2, 4)], true));
        Assert.Contains("[2, 3, 4], [2, 2, 4]", e.Message);
        e = Assert.Throws<ArgumentException>("inputs", () => new Concatenate<float>(-2).Forward([a, b], true));
        Assert.Contains("batch axis", e.Message);
        Assert.Throws<ArgumentException>("inputs", () => new Concatenate<float>(1).Forward([a, new Tensor<float>(2, 3, 1)], true));
        Assert.Contains("got 0", Assert.Throws<ArgumentOutOfRangeException>("axis", () => new Concatenate<float>(0)).Message);
        Assert.Throws<ArgumentOutOfRangeException>("axes", () => new Dot<float>(0));
        Assert.Throws<ArgumentOutOfRangeException>("axes", () => new Dot<float>((1, 3)));
        e = Assert.Throws<ArgumentException>("inputs", () => new Dot<float>(1).Forward([a, b], true));
        Assert.Contains("[2, 3], [2, 4]", e.Message);
        e = Assert.Throws<ArgumentException>("inputs", () => new Dot<float>(-2).Forward([a, a], true));
        Assert.Contains("non-batch axis", e.Message);
        Assert.Throws<ArgumentException>("inputs", () => new Dot<float>(1).Forward([a, new Tensor<float>(3, 3)], true));
        Assert.Throws<ArgumentException>("inputs", () => new Dot<float>(1).Forward([new Tensor<float>(2, 3, 1, 1), a], true));

        var layer = new Maximum<float>();
        Assert.Throws<InvalidOperationException>(() => layer.Backward(a));
        layer.Forward([a, a], true);
        e = Assert.Throws<ArgumentException>("dOutput", () => layer.Backward(b));
        Assert.Contains("[2, 4]", e.Message);
        Assert.Contains("[2, 3]", e.Message);
    }

    [Fact]
    public void Names_DefaultToTypeAndCounter_AndBackwardReturnsOneListInstance()
    {
        var layer = new Add<float>();
        Assert.Matches("^add_[0-9]+$", layer.Name);
        Assert.NotEqual(layer.Name, new Add<float>().Name);
        Assert.Empty(layer.Parameters);
        var x = Tensor<float>.RandomNormal(new TensorShape(2, 3), seed: 1);
        layer.Forward([x, x], true);
        var first = layer.Backward(x);
        layer.Forward([x, x], true);
        Assert.Same(first, layer.Backward(x));
    }

    [Fact]
    public void SteadyBroadcastTrainingPass_AllocatesNothing()
    {
        var x = Tensor<float>.RandomNormal(new TensorShape(4, 6, 8), seed: 1);
        var z = Tensor<float>.RandomNormal(new TensorShape(4, 1, 8), seed: 2);
        var w = Tensor<float>.RandomNormal(new TensorShape(4, 6, 1), seed: 3);
        IReadOnlyList<Tensor<float>> three = [x, z, w], two = [z, w];
        IMergeLayer<float>[] layers = [new Add<float>(), new Subtract<float>(), new Multiply<float>(), new Average<float>(), new Maximum<float>(),
            new Minimum<float>()];
        SteadyState.AssertAllocatesNothing(() =>
        {
            foreach (var l in layers)
            {
                var y = l.Forward(l is Subtract<float> ? two : three, true);
                l.Backward(y);
            }
        });
    }

    [Fact]
    public void SteadyTrainingPass_AllocatesNothing()
    {
        var x = Tensor<float>.RandomNormal(new TensorShape(4, 6, 8), seed: 1);
        var z = Tensor<float>.RandomNormal(new TensorShape(4, 6, 8), seed: 2);
        var w = Tensor<float>.RandomNormal(new TensorShape(4, 6, 8), seed: 3);
        IReadOnlyList<Tensor<float>> three = [x, z, w], two = [x, z];
        IMergeLayer<float>[] layers = [new Add<float>(), new Subtract<float>(), new Multiply<float>(), new Average<float>(), new Maximum<float>(),
            new Minimum<float>(), new Concatenate<float>(1), new Dot<float>(2, normalize: true)];
        SteadyState.AssertAllocatesNothing(() =>
        {
            foreach (var l in layers)
            {
                var inputs = l is Subtract<float> or Dot<float> ? two : three;
                var y = l.Forward(inputs, true);
                l.Backward(y);
            }
        });
    }


    [Fact]
    public void Registry_RecreatesEveryLayerFromItsConfig_AndRejectsUnknownTypesAndBadOptions()
    {
        IMergeLayer<double>[] layers = [new Add<double>(), new Subtract<double>(), new Multiply<double>(), new Average<double>(),
            new Maximum<double>(), new Minimum<double>(), new Concatenate<double>(-2), new Concatenate<double>(),
            new Dot<double>(-1, normalize: true), new Dot<double>((2, 1)), new Dot<double>(1)];
        foreach (var layer in layers)
        {
            var copy = MergeRegistry.Create<double>(layer.TypeName, layer.GetConfig());
            Assert.Equal(layer.GetType(), copy.GetType());
            Assert.Equal(layer.GetConfig(), copy.GetConfig());
        }
        var dot = (Dot<double>)MergeRegistry.Create<double>("dot", new Dictionary<string, string> { ["axes"] = "2,1", ["normalize"] = "true" });
        Assert.Equal((2, 1, true), (dot.AxisX, dot.AxisZ, dot.Normalize));
        Assert.Equal("-2", MergeRegistry.Create<float>("concatenate", new Dictionary<string, string> { ["axis"] = "-2" }).GetConfig()["axis"]);

        // The attention layers, every option.
        foreach (IMergeLayer<float> attention in new IMergeLayer<float>[]
        {
            new Attention<float>(useScale: true, scoreMode: "concat", dropout: 0.25, useCausalMask: true, seed: 3),
            new Attention<float>(),
            new AdditiveAttention<float>(useScale: false, dropout: 0.5, useCausalMask: true, seed: 4),
            new AdditiveAttention<float>(),
        })
        {
            var copy = MergeRegistry.Create<float>(attention.TypeName, attention.GetConfig());
            Assert.IsType(attention.GetType(), copy);
            Assert.Equal(attention.GetConfig(), copy.GetConfig());
        }

        var e = Assert.Throws<KeyNotFoundException>(() => MergeRegistry.Create<float>("grouped_query_attention", new Dictionary<string, string>()));
        Assert.Contains("'grouped_query_attention'", e.Message);
        Assert.Contains("concatenate", e.Message);
        Assert.Throws<InvalidDataException>(() => MergeRegistry.Create<float>("dot", new Dictionary<string, string>()));
        Assert.Throws<InvalidDataException>(() => MergeRegistry.Create<float>("dot", new Dictionary<string, string> { ["axes"] = "1,2,3" }));
        Assert.Throws<InvalidDataException>(() => MergeRegistry.Create<float>("concatenate", new Dictionary<string, string> { ["axis"] = "0" }));

        MergeRegistry.Register("test_add_alias", new AddAliasFactory());
        Assert.True(MergeRegistry.IsRegistered("TEST_ADD_ALIAS"));
        Assert.IsType<Add<float>>(MergeRegistry.Create<float>("test_add_alias", new Dictionary<string, string>()));
    }

    private sealed class AddAliasFactory : IMergeFactory
    {
        public IMergeLayer<T> Create<T>(IReadOnlyDictionary<string, string> config) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> => new Add<T>();
    }
}
