using Nn.Simd.Tensors;
using Nn.Simd.Training;

namespace Nn.Simd.Layers.Tests;

/// <summary>Keras' <c>dropout</c> and <c>recurrent_dropout</c> on the recurrent layers: one mask per sequence for
/// the inputs and one for the state entering the recurrent product, training only.</summary>
public class RecurrentDropoutTests
{
    public static TheoryData<string> Kinds => ["simple_rnn", "lstm", "gru", "gru_v1"];

    private static RecurrentLayer<double> Make(string kind, int h, double dropout, double recurrent, bool seq = true)
    {
        var l = RnnTestUtil.Make<double>(kind, h, seq: seq, returnState: true);
        l.Dropout = dropout;
        l.RecurrentDropout = recurrent;
        return l;
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Training_EqualsTheScalarReference_OnMaskedInputsAndState(string kind)
    {
        int b = 4, t = 6, f = 5, h = 19;
        var layer = Make(kind, h, 0.3, 0.4);
        var x = Tensor<double>.RandomNormal(new TensorShape(b, t, f), seed: 1);
        layer.Build(x.Shape, seed: 2);
        RnnTestUtil.Randomize(layer, seed: 3);
        var y = layer.Forward(x, training: true).ToArray();
        var inputMask = layer.InputDropoutMask!.ToArray();
        var stateMask = layer.RecurrentDropoutMask!.ToArray();
        Assert.Equal(b * f, inputMask.Length);
        Assert.Equal(b * h, stateMask.Length);
        Assert.All(inputMask, v => Assert.True(v == 0 || Math.Abs(v - 1 / 0.7) < 1e-12, $"input mask value {v}"));
        Assert.All(stateMask, v => Assert.True(v == 0 || Math.Abs(v - 1 / 0.6) < 1e-12, $"state mask value {v}"));
        Assert.Contains(0.0, stateMask);

        // The same mask for every time step of a sequence.
        var xm = x.ToArray();
        for (int r = 0; r < b; r++)
            for (int s = 0; s < t; s++)
                for (int j = 0; j < f; j++) xm[(r * t + s) * f + j] *= inputMask[r * f + j];
        var (w, u, bias) = RnnTestUtil.Weights(layer);
        var expected = ScalarRnn.Run(kind, xm, b, t, f, h, w, u, bias, false, true, stateMask: stateMask);
        RnnTestUtil.AssertClose(expected.Output, y, 1e-12, 1e-13, $"{kind} output");

        // Inference drops nothing.
        var inferred = layer.Forward(x, training: false).ToArray();
        var plain = ScalarRnn.Run(kind, x.ToArray(), b, t, f, h, w, u, bias, false, true);
        RnnTestUtil.AssertClose(plain.Output, inferred, 1e-12, 1e-13, $"{kind} inference");
        Assert.Null(layer.InputDropoutMask);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Backward_WithFrozenMasks_MatchesFiniteDifferences(string kind)
    {
        foreach (bool seq in new[] { false, true })
        {
            var layer = Make(kind, 4, 0.25, 0.35, seq);
            layer.FreezeDropoutMasks = true;
            var x = Tensor<double>.RandomNormal(new TensorShape(5, 6, 3), seed: 4);
            layer.Build(x.Shape, seed: 5);
            RnnTestUtil.Randomize(layer, seed: 6);
            var report = GradientCheck.Check(layer, x, new GradientCheck.Options(MaxElementsPerTensor: 60));
            Assert.True(report.Passed, $"{kind} seq={seq}: {report}");
            Assert.Contains(0.0, layer.RecurrentDropoutMask!.ToArray());
        }
    }

    [Fact]
    public void Masks_DropAboutTheRate_AreRedrawnEachCall_AndFollowTheSeed()
    {
        var a = new Lstm<float>(64) { Dropout = 0.2, RecurrentDropout = 0.5 };
        var b = new Lstm<float>(64) { Dropout = 0.2, RecurrentDropout = 0.5 };
        var x = Tensor<float>.RandomNormal(new TensorShape(50, 3, 40), seed: 1);
        a.Build(x.Shape, 7);
        b.Build(x.Shape, 7);
        a.Forward(x, true);
        b.Forward(x, true);
        var first = a.RecurrentDropoutMask!.ToArray();
        Assert.Equal(first, b.RecurrentDropoutMask!.ToArray());      // same build seed, same masks
        double dropped = first.Count(v => v == 0) / (double)first.Length;
        Assert.InRange(dropped, 0.45, 0.55);                          // 3200 draws: σ ≈ 0.009
        double inputDropped = a.InputDropoutMask!.ToArray().Count(v => v == 0) / 2000.0;
        Assert.InRange(inputDropped, 0.16, 0.24);                     // 2000 draws: σ ≈ 0.009
        a.Forward(x, true);
        Assert.NotEqual(first, a.RecurrentDropoutMask!.ToArray());    // a new mask per call
        Assert.Throws<ArgumentOutOfRangeException>(() => new Gru<float>(2) { RecurrentDropout = 1 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new Gru<float>(2) { Dropout = -0.1 });
        var config = new Gru<float>(2) { Dropout = 0.25, RecurrentDropout = 0.5 }.GetConfig();
        Assert.Equal("0.25", config["dropout"]);
        Assert.Equal("0.5", config["recurrent_dropout"]);
    }
}
