using FsCheck;
using FsCheck.Xunit;
using Nn.Simd.Tensors;
using Nn.Simd.Training;

namespace Nn.Simd.Layers.Tests;

/// <summary>Finite-difference gradient checks (float64, relative error ≤ 1e-6) over random shapes and options.
/// Shapes: batch 1–8, time 1–12, features 1–10, units 1–12. Seeds are fixed with Replay.</summary>
public class RecurrentGradientTests
{
    private static readonly string[] s_kinds = ["simple_rnn", "lstm", "gru"];

    private static GradientCheck.Options Opts(Action? before = null) =>
        new(MaxElementsPerTensor: 24, BeforeForward: before);

    private static (int B, int T, int F, int H) Dims(PositiveInt b, PositiveInt t, PositiveInt f, PositiveInt h) =>
        (1 + b.Get % 8, 1 + t.Get % 12, 1 + f.Get % 10, 1 + h.Get % 12);

    private static void AssertPasses(ILayer<double> layer, Tensor<double> x, string what, GradientCheck.Options? o = null)
    {
        var report = GradientCheck.Check(layer, x, o ?? Opts());
        Assert.True(report.Passed, $"{what}, input {x.Shape}: {report}");
    }

    private static void CheckRecurrent(string kind, int b, int t, int f, int h, bool seq, bool back, string activation = "tanh")
    {
        var layer = RnnTestUtil.Make<double>(kind, h, seq, back, activation: activation);
        var x = Tensor<double>.RandomNormal(new TensorShape(b, t, f), seed: b * 131 + t * 17 + f);
        layer.Build(x.Shape, seed: h);
        RnnTestUtil.Randomize(layer, seed: h + 1);
        AssertPasses(layer, x, $"{kind} H={h} seq={seq} back={back} act={activation}");
    }

    [Property(MaxTest = 12, Replay = "(101,2021)")]
    public void SimpleRnn_Backward_MatchesFiniteDifferences(PositiveInt b, PositiveInt t, PositiveInt f, PositiveInt h, bool seq, bool back)
    {
        var d = Dims(b, t, f, h);
        CheckRecurrent("simple_rnn", d.B, d.T, d.F, d.H, seq, back);
    }

    [Property(MaxTest = 12, Replay = "(103,2041)")]
    public void Lstm_Backward_MatchesFiniteDifferences(PositiveInt b, PositiveInt t, PositiveInt f, PositiveInt h, bool seq, bool back)
    {
        var d = Dims(b, t, f, h);
        CheckRecurrent("lstm", d.B, d.T, d.F, d.H, seq, back);
    }

    [Property(MaxTest = 12, Replay = "(105,2061)")]
    public void Gru_Backward_MatchesFiniteDifferences(PositiveInt b, PositiveInt t, PositiveInt f, PositiveInt h, bool seq, bool back)
    {
        var d = Dims(b, t, f, h);
        CheckRecurrent("gru", d.B, d.T, d.F, d.H, seq, back);
    }

    [Property(MaxTest = 12, Replay = "(117,2181)")]
    public void GruResetBefore_Backward_MatchesFiniteDifferences(PositiveInt b, PositiveInt t, PositiveInt f, PositiveInt h, bool seq, bool back)
    {
        var d = Dims(b, t, f, h);
        CheckRecurrent("gru_v1", d.B, d.T, d.F, d.H, seq, back, activation: back ? "gelu" : "tanh");
    }

    [Property(MaxTest = 8, Replay = "(107,2081)")]
    public void OtherActivations_Backward_MatchesFiniteDifferences(PositiveInt b, PositiveInt t, PositiveInt f, PositiveInt h, PositiveInt which)
    {
        // The general (non-fused) gate paths and a non-tanh SimpleRNN.
        var d = Dims(b, t, f, h);
        var (kind, act) = (which.Get % 3) switch { 0 => ("lstm", "sigmoid"), 1 => ("gru", "gelu"), _ => ("simple_rnn", "sigmoid") };
        CheckRecurrent(kind, d.B, d.T, d.F, d.H, seq: which.Get % 2 == 0, back: which.Get % 4 < 2, activation: act);
    }

    [Theory]
    [InlineData("simple_rnn")]
    [InlineData("lstm")]
    [InlineData("gru")]
    [InlineData("gru_v1")]
    public void LongSequence_CarriesGradientToTheFirstStep(string kind)
    {
        // Only the last step's output is used, so every input gradient before it exists only through the carried
        // dH (and dC); all input elements are checked.
        var layer = RnnTestUtil.Make<double>(kind, 3);
        var x = Tensor<double>.RandomNormal(new TensorShape(2, 16, 2), seed: 1);
        layer.Build(x.Shape, 2);
        RnnTestUtil.Randomize(layer, 3, scale: 0.9);
        // Early-step gradients are small (1e-4..1e-7): the floor 1e-4 makes the test absolute at 1e-10 there,
        // above finite-difference round-off, and still far below what a broken carry would change.
        var report = GradientCheck.Check(layer, x, new GradientCheck.Options(Floor: 1e-4));
        Assert.True(report.Passed, report.ToString());
        var dx = layer.Backward(Tensor<double>.RandomNormal(new TensorShape(2, 3), 4));
        Assert.True(Math.Abs(dx[0, 0, 0]) + Math.Abs(dx[0, 0, 1]) > 1e-8, "the first step's gradient vanished");
    }

    [Property(MaxTest = 10, Replay = "(109,2101)")]
    public void Stacked_LstmSimpleRnnDense_MatchesFiniteDifferences(PositiveInt b, PositiveInt t, PositiveInt f, PositiveInt h, bool seq)
    {
        var d = Dims(b, t, f, h);
        var stack = new Stack<double>(new Lstm<double>(d.H, returnSequences: true), new SimpleRnn<double>(1 + d.H % 5, returnSequences: seq),
            new Dense<double>(3, "tanh"));
        var x = Tensor<double>.RandomNormal(new TensorShape(d.B, d.T, d.F), seed: d.T);
        stack.Build(x.Shape, 1);
        RnnTestUtil.Randomize(stack, 2);
        AssertPasses(stack, x, $"stack seq={seq}");
    }

    [Property(MaxTest = 10, Replay = "(111,2121)")]
    public void Stateful_SecondCall_MatchesFiniteDifferences(PositiveInt b, PositiveInt t, PositiveInt f, PositiveInt h, PositiveInt kind, bool seq)
    {
        var d = Dims(b, t, f, h);
        var layer = RnnTestUtil.Make<double>(s_kinds[kind.Get % 3], d.H, seq, stateful: true);
        var x1 = Tensor<double>.RandomNormal(new TensorShape(d.B, d.T, d.F), seed: 1);
        var x2 = Tensor<double>.RandomNormal(new TensorShape(d.B, d.T, d.F), seed: 2);
        layer.Build(x1.Shape, 3);
        RnnTestUtil.Randomize(layer, 4);
        layer.Forward(x1, training: false);
        var savedH = layer.StateH!.Clone();
        var savedC = layer.StateC?.Clone();
        Assert.True(savedH.ToArray().Any(v => v != 0), "the first call left no state");
        // Each evaluation of the second call starts from the state the first call left.
        AssertPasses(layer, x2, $"stateful {layer.TypeName}", Opts(() => layer.ResetState(savedH, savedC)));
    }

    [Property(MaxTest = 10, Replay = "(113,2141)")]
    public void Bidirectional_MatchesFiniteDifferences(PositiveInt b, PositiveInt t, PositiveInt f, PositiveInt h, PositiveInt kind, PositiveInt mode, bool seq)
    {
        var d = Dims(b, t, f, h);
        string merge = new[] { "concat", "sum", "mul", "ave" }[mode.Get % 4];
        var bi = new Bidirectional<double>(RnnTestUtil.Make<double>(s_kinds[kind.Get % 3], d.H, seq), merge);
        var x = Tensor<double>.RandomNormal(new TensorShape(d.B, d.T, d.F), seed: 5);
        bi.Build(x.Shape, 1);
        RnnTestUtil.Randomize(bi, 2);
        AssertPasses(bi, x, $"bidirectional {merge} seq={seq}");
    }

    [Property(MaxTest = 8, Replay = "(115,2161)")]
    public void Dropout_WithFixedMask_MatchesFiniteDifferences(PositiveInt b, PositiveInt t, PositiveInt f, PositiveInt h)
    {
        var d = Dims(b, t, f, h);
        var dropout = new Dropout<double>(0.4, seed: 7);
        var stack = new Stack<double>(new Lstm<double>(d.H, returnSequences: true), dropout, new SimpleRnn<double>(3));
        var x = Tensor<double>.RandomNormal(new TensorShape(d.B, d.T, d.F), seed: 6);
        stack.Build(x.Shape, 1);
        RnnTestUtil.Randomize(stack, 2);
        // Reseeding before every forward pass draws the same mask each time.
        AssertPasses(stack, x, "lstm → dropout → rnn", Opts(() => dropout.Reseed(7)));
    }

    [Fact]
    public void Dropout_FreezeMask_MatchesFiniteDifferences()
    {
        var dropout = new Dropout<double>(0.5, seed: 3) { FreezeMask = true };
        var x = Tensor<double>.RandomNormal(new TensorShape(4, 3, 5), seed: 1);
        AssertPasses(dropout, x, "dropout");
        Assert.Contains(0.0, dropout.Mask!.ToArray());
    }

    [Theory]
    [InlineData("lstm")]
    [InlineData("gru")]
    [InlineData("simple_rnn")]
    public void InitialAndFinalStateGradients_MatchFiniteDifferences(string kind)
    {
        // L = Σ g⊙y + Σ gh⊙FinalH (+ Σ gc⊙FinalC): checks Backward(dY, dFinalH, dFinalC) and the
        // gradients with respect to the initial states.
        int b = 2, t = 5, f = 3, h = 4;
        bool lstm = kind == "lstm";
        var layer = RnnTestUtil.Make<double>(kind, h, seq: true, returnState: true);
        var x = Tensor<double>.RandomNormal(new TensorShape(b, t, f), seed: 1);
        layer.Build(x.Shape, 1);
        RnnTestUtil.Randomize(layer, 2);
        var h0 = Tensor<double>.RandomNormal(new TensorShape(b, h), seed: 3);
        var c0 = Tensor<double>.RandomNormal(new TensorShape(b, h), seed: 4);
        layer.InitialH = h0;
        if (lstm) layer.InitialC = c0;
        var g = Tensor<double>.RandomNormal(new TensorShape(b, t, h), seed: 5);
        var gh = Tensor<double>.RandomNormal(new TensorShape(b, h), seed: 6);
        var gc = Tensor<double>.RandomNormal(new TensorShape(b, h), seed: 7);
        double Loss()
        {
            var y = layer.Forward(x, true);
            double l = TensorPrimitives.Dot(y.ReadOnlySpan, g.ReadOnlySpan) + TensorPrimitives.Dot(layer.FinalH.ReadOnlySpan, gh.ReadOnlySpan);
            return lstm ? l + TensorPrimitives.Dot(layer.FinalC.ReadOnlySpan, gc.ReadOnlySpan) : l;
        }
        layer.Forward(x, true);
        foreach (var p in layer.Parameters) p.Grad.Clear();
        layer.Backward(g, gh, lstm ? gc : null);
        var dh0 = layer.InitialHGradient.ToArray();
        var dc0 = lstm ? layer.InitialCGradient.ToArray() : null;
        var dU = layer.Parameters[1].Grad.ToArray();
        void Check(Tensor<double> v, double[] analytic, string name)
        {
            for (int i = 0; i < v.Length; i++)
            {
                double saved = v[i];
                v[i] = saved + 1e-5; double p = Loss();
                v[i] = saved - 1e-5; double m = Loss();
                v[i] = saved;
                double num = (p - m) / 2e-5;
                Assert.True(Math.Abs(num - analytic[i]) <= 1e-6 * Math.Max(1e-2, Math.Abs(num)), $"{name}[{i}]: analytic {analytic[i]}, numeric {num}");
            }
        }
        Check(h0, dh0, "dH0");
        if (lstm) Check(c0, dc0!, "dC0");
        Check(layer.Parameters[1].Value, dU, "recurrent_kernel");
    }
}
