using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Nn.Simd.Layers;
using Nn.Simd.Reference;
using Nn.Simd.Tensors;
using static TorchSharp.torch;

namespace Nn.Simd.Parity.Tests;

/// <summary>
/// SimpleRNN, LSTM and GRU agree with libtorch's nn.RNN / nn.LSTM / nn.GRU given the same weights, in the
/// forward output and in every gradient (input, kernel, recurrent kernel, bias), over random shapes.
/// The weight mapping these tests exercise is documented on <see cref="TorchModel"/>: it is also how to
/// import PyTorch weights (Kernel = weight_ihᵀ, RecurrentKernel = weight_hhᵀ, Bias = b_ih + b_hh; GRU keeps
/// two bias rows and swaps the r/z gate blocks).
/// </summary>
public class RecurrentParityTests
{
    public static RecurrentLayer<float> Create(RecurrentKind kind, int h, bool seq) => kind switch
    {
        RecurrentKind.SimpleRnn => new SimpleRnn<float>(h, returnSequences: seq),
        RecurrentKind.Lstm => new Lstm<float>(h, returnSequences: seq),
        _ => new Gru<float>(h, returnSequences: seq),
    };

    [Property(MaxTest = 12, Replay = "(11,13)")]
    public void SimpleRnn_MatchesTorch(PositiveInt b, PositiveInt t, PositiveInt f, PositiveInt h, bool seq) =>
        Check(RecurrentKind.SimpleRnn, b, t, f, h, seq);

    [Property(MaxTest = 12, Replay = "(17,19)")]
    public void Lstm_MatchesTorch(PositiveInt b, PositiveInt t, PositiveInt f, PositiveInt h, bool seq) =>
        Check(RecurrentKind.Lstm, b, t, f, h, seq);

    [Property(MaxTest = 12, Replay = "(23,29)")]
    public void Gru_MatchesTorch(PositiveInt b, PositiveInt t, PositiveInt f, PositiveInt h, bool seq) =>
        Check(RecurrentKind.Gru, b, t, f, h, seq);

    private static void Check(RecurrentKind kind, PositiveInt pb, PositiveInt pt, PositiveInt pf, PositiveInt ph, bool seq)
    {
        int b = 1 + pb.Get % 8, t = 1 + pt.Get % 12, f = 1 + pf.Get % 10, h = 1 + ph.Get % 12;
        var layer = Create(kind, h, seq);
        var x = Tensor<float>.RandomNormal(new TensorShape(b, t, f), seed: b * 131 + t * 17 + f);
        layer.Build(x.Shape, seed: h + 7);
        // Random biases so the bias mapping is exercised (Keras initialises them to zero / unit forget bias).
        var rng = new Random(h);
        foreach (ref float v in layer.Parameters[2].Value.Span) v = (float)(rng.NextDouble() - 0.5);

        var y = layer.Forward(x, training: true).Clone();
        var dy = Tensor<float>.RandomNormal(y.Shape, seed: 5);
        foreach (var p in layer.Parameters) p.Grad.Clear();
        var dx = layer.Backward(dy).Clone();

        using var scope = NewDisposeScope();
        var spec = new RecurrentSpec(kind, f, h, seq, layer.Parameters[0].Value.ToArray(),
            layer.Parameters[1].Value.ToArray(), layer.Parameters[2].Value.ToArray());
        using var model = new TorchModel([spec]);
        var tx = tensor(x.ToArray(), [b, t, f]).requires_grad_(true);
        var ty = model.Forward(tx);
        ty.backward([tensor(dy.ToArray(), ty.shape)]);

        string where = $"{kind} B={b} T={t} F={f} H={h} seq={seq}";
        Parity.AssertClose(TorchModel.ToArray(ty), y.ToArray(), $"{where} output");
        Parity.AssertClose(TorchModel.ToArray(tx.grad!), dx.ToArray(), $"{where} dX");
        var grads = model.GetKerasGradients();
        string[] names = ["dKernel", "dRecurrentKernel", "dBias"];
        for (int i = 0; i < 3; i++)
            Parity.AssertClose(grads[i], layer.Parameters[i].Grad.ToArray(), $"{where} {names[i]}");
        // The round trip of the weights through torch's layout is exact.
        var back = model.GetKerasWeights();
        for (int i = 0; i < 3; i++)
            Assert.Equal(layer.Parameters[i].Value.ToArray(), back[i]);
    }
}
