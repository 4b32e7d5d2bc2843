using Nn.Simd.Tensors;
using Nn.Simd.Training;

namespace Nn.Simd.Layers.Tests;

/// <summary>Timestep masks (Keras' <c>mask</c>): a masked step is skipped, so a layer must compute exactly what it
/// computes on the sequence with those steps removed, and gradients pass through masked steps unchanged.</summary>
public class RecurrentMaskTests
{
    public static TheoryData<string, bool, bool> Cases()
    {
        var d = new TheoryData<string, bool, bool>();
        foreach (var kind in new[] { "simple_rnn", "lstm", "gru", "gru_v1" })
            foreach (bool back in new[] { false, true })
                foreach (bool training in new[] { false, true })
                    d.Add(kind, back, training);
        return d;
    }

    /// <summary>Row 0 all kept, row 1 right padding, row 2 holes, row 3 only its last step, row 4 nothing.</summary>
    private static SequenceMask Holes(int steps)
    {
        var m = SequenceMask.FromLengths([steps, 4, steps, steps, 0], steps);
        m[2, 1] = m[2, 2] = m[2, 5] = false;
        for (int t = 0; t < steps - 1; t++) m[3, t] = false;
        return m;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Masked_EqualsTheSequenceWithTheMaskedStepsRemoved(string kind, bool back, bool training)
    {
        int b = 5, t = 7, f = 3, h = 19;
        var mask = Holes(t);
        foreach (bool zeroOutput in new[] { false, true })
        {
            var layer = RnnTestUtil.Make<double>(kind, h, seq: true, back: back, returnState: true);
            layer.ZeroOutputForMask = zeroOutput;
            var x = Tensor<double>.RandomNormal(new TensorShape(b, t, f), seed: 3);
            layer.Build(x.Shape, seed: 4);
            RnnTestUtil.Randomize(layer, seed: 5);
            layer.InputMask = mask;
            var y = layer.Forward(x, training).ToArray();
            var finalH = layer.FinalH.ToArray();
            var finalC = kind == "lstm" ? layer.FinalC.ToArray() : null;

            var reference = RnnTestUtil.Make<double>(kind, h, seq: true, back: back, returnState: true);
            reference.Build(x.Shape, seed: 4);
            RnnTestUtil.CopyParameters(layer, reference);
            for (int r = 0; r < b; r++)
            {
                var kept = Enumerable.Range(0, t).Where(s => mask[r, s]).ToList();
                double[] refOut = [], refH = new double[h], refC = new double[h];
                if (kept.Count > 0)
                {
                    var xr = new Tensor<double>(1, kept.Count, f);
                    for (int k = 0; k < kept.Count; k++)
                        x.ReadOnlySpan.Slice((r * t + kept[k]) * f, f).CopyTo(xr.Span.Slice(k * f, f));
                    refOut = reference.Forward(xr, training: false).ToArray();
                    refH = reference.FinalH.ToArray();
                    if (kind == "lstm") refC = reference.FinalC.ToArray();
                }
                RnnTestUtil.AssertClose(refH, finalH.AsSpan(r * h, h).ToArray(), 1e-13, 1e-14, $"{kind} row {r} final h");
                if (finalC is not null) RnnTestUtil.AssertClose(refC, finalC.AsSpan(r * h, h).ToArray(), 1e-13, 1e-14, $"row {r} final c");
                // Output step s (processing order) is the state after the kept steps processed so far, or zero at a
                // masked step with zeroOutput.
                int done = 0;
                for (int s = 0; s < t; s++)
                {
                    int time = back ? t - 1 - s : s;
                    if (mask[r, time]) done++;
                    var expected = !mask[r, time] && zeroOutput ? new double[h]
                        : done == 0 ? new double[h] : refOut.AsSpan((done - 1) * h, h).ToArray();
                    RnnTestUtil.AssertClose(expected, y.AsSpan((r * t + s) * h, h).ToArray(), 1e-13, 1e-14, $"{kind} row {r} step {s} zero={zeroOutput}");
                }
            }
        }
    }

    public static TheoryData<string, bool, bool> GradientCases()
    {
        var d = new TheoryData<string, bool, bool>();
        foreach (var kind in new[] { "simple_rnn", "lstm", "gru", "gru_v1" })
        {
            d.Add(kind, false, false);
            d.Add(kind, true, false);
            d.Add(kind, true, true);
        }
        return d;
    }

    [Theory]
    [MemberData(nameof(GradientCases))]
    public void Masked_Backward_MatchesFiniteDifferences(string kind, bool seq, bool zeroOutput)
    {
        int b = 5, t = 7, f = 3, h = 4;
        var layer = RnnTestUtil.Make<double>(kind, h, seq: seq, back: zeroOutput);
        layer.ZeroOutputForMask = zeroOutput;
        var x = Tensor<double>.RandomNormal(new TensorShape(b, t, f), seed: 6);
        layer.Build(x.Shape, seed: 7);
        RnnTestUtil.Randomize(layer, seed: 8);
        layer.InputMask = Holes(t);
        var report = GradientCheck.Check(layer, x, new GradientCheck.Options(MaxElementsPerTensor: 60));
        Assert.True(report.Passed, $"{kind} seq={seq} zero={zeroOutput}: {report}");

        // A masked step's input changes nothing, so its gradient is exactly zero.
        var dy = Tensor<double>.RandomNormal(layer.ComputeOutputShape(x.Shape), seed: 9);
        layer.Forward(x, training: true);
        var dx = layer.Backward(dy);
        var mask = Holes(t);
        for (int r = 0; r < b; r++)
            for (int s = 0; s < t; s++)
                if (!mask[r, s]) Assert.All(dx.ReadOnlySpan.Slice((r * t + s) * f, f).ToArray(), v => Assert.Equal(0.0, v));
    }

    [Theory]
    [InlineData("concat")]
    [InlineData("sum")]
    public void Bidirectional_Masked_ZeroAtMaskedSteps_AndMatchesFiniteDifferences(string merge)
    {
        int b = 5, t = 7, f = 2, h = 3;
        var bi = new Bidirectional<double>(new Lstm<double>(h, returnSequences: true), merge);
        var x = Tensor<double>.RandomNormal(new TensorShape(b, t, f), seed: 1);
        bi.Build(x.Shape, 2);
        RnnTestUtil.Randomize(bi, 3);
        var mask = Holes(t);
        bi.InputMask = mask;
        Assert.Same(mask, bi.BackwardLayer.InputMask);
        var y = bi.Forward(x, training: false);
        int w = y.Shape[2];
        for (int r = 0; r < b; r++)
            for (int s = 0; s < t; s++)
                if (!mask[r, s]) Assert.All(y.ReadOnlySpan.Slice((r * t + s) * w, w).ToArray(), v => Assert.Equal(0.0, v));
                else Assert.Contains(y.ReadOnlySpan.Slice((r * t + s) * w, w).ToArray(), v => v != 0);
        Assert.Same(mask, bi.OutputMask);
        var report = GradientCheck.Check(bi, x, new GradientCheck.Options(MaxElementsPerTensor: 40));
        Assert.True(report.Passed, report.ToString());
    }

    [Fact]
    public void Mask_OfTheWrongShape_IsRejectedByName()
    {
        var layer = new Lstm<float>(4) { InputMask = new SequenceMask(3, 5) };
        var e = Assert.Throws<ArgumentException>(() => layer.Forward(new Tensor<float>(2, 5, 1), false));
        Assert.Contains("[3, 5]", e.Message);
        Assert.Contains("[2, 5, 1]", e.Message);
        Assert.Equal("InputMask", e.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => SequenceMask.FromLengths([2, 6], 5));
        Assert.Null(new Lstm<float>(4).OutputMask);
    }

    [Fact]
    public void OutputMask_IsTheInputMask_OnlyWithReturnSequences()
    {
        var mask = SequenceMask.FromLengths([3, 1], 4);
        var seq = new Gru<float>(2, returnSequences: true) { InputMask = mask };
        var last = new Gru<float>(2) { InputMask = mask };
        seq.Forward(new Tensor<float>(2, 4, 1), false);
        last.Forward(new Tensor<float>(2, 4, 1), false);
        Assert.Same(mask, seq.OutputMask);
        Assert.Null(last.OutputMask);
    }

    [Fact]
    public void MaskingLayer_ZeroesAndMasksPaddedSteps_AndPassesGradientsOfKeptSteps()
    {
        var x = Tensor<double>.FromArray([1, 2, -1, -1, 0, -1, -1, -1, 5, -1], 2, 5, 1);
        var x2 = new Tensor<double>(2, 3, 2);
        x2[0, 1, 0] = -1; x2[0, 1, 1] = -1;   // only step (0, 1) is all −1
        x2[1, 2, 0] = -1;                     // one feature is not enough
        var layer = new Masking<double>(-1);
        var y = layer.Forward(x, training: true);
        Assert.Equal([1, 2, 0, 0, 0, 0, 0, 0, 5, 0], y.ToArray());
        Assert.Equal([true, true, false, false, true, false, false, false, true, false], layer.OutputMask!.Values.ToArray());
        var dx = layer.Backward(Tensor<double>.FromArray([1, 1, 1, 1, 1, 1, 1, 1, 1, 1], 2, 5, 1));
        Assert.Equal([1, 1, 0, 0, 1, 0, 0, 0, 1, 0], dx.ToArray());

        var other = new Masking<double>(-1);
        other.Forward(x2, false);
        Assert.Equal([true, false, true, true, true, true], other.OutputMask!.Values.ToArray());
        Assert.Throws<ArgumentException>(() => new Masking<double>(double.NaN));
        Assert.Throws<ArgumentException>(() => new Masking<double>().Forward(new Tensor<double>(2, 3), false));
        Assert.Equal("-1", layer.GetConfig()["mask_value"]);
    }
}
