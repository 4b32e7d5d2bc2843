using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using Nn.Simd.Training.Losses;
using Nn.Simd.Training.Optimizers;

namespace Nn.Simd.Benchmarks;

// The recurrent workload without any engine to compare against: it depends on the Nn.Simd projects only, so that
// bench/Nn.Simd.MemoryProbe (NativeAOT, no BenchmarkDotNet or TorchSharp) compiles this same file.

// Shapes: B = batch, T = 60 time steps, F = 5 features, H = units. x [B, T, F], y [B, 1].

/// <summary>Which recurrent cell a workload runs.</summary>
public enum CellKind
{
    /// <summary>Keras' SimpleRNN / torch's nn.RNN (tanh).</summary>
    SimpleRnn,
    /// <summary>Keras' LSTM / torch's nn.LSTM.</summary>
    Lstm,
}

/// <summary>
/// The model behind the recurrent benchmarks: a recurrent layer over <c>[B, 60, 5]</c> returning the last step,
/// a <c>Dense(H → 1)</c> head, MSE against a target and an Adam step. <see cref="NnRecurrentModel"/> and
/// <c>TorchRecurrentModel</c> (RecurrentBenchmarks.cs) build it with the same weights and the same data.
/// </summary>
public static class RecurrentProblem
{
    /// <summary>Time steps.</summary>
    public const int Steps = 60;

    /// <summary>Input features.</summary>
    public const int Features = 5;

    /// <summary>Gates per unit: 4 for the LSTM, 1 for SimpleRNN.</summary>
    public static int Gates(CellKind kind) => kind == CellKind.Lstm ? 4 : 1;

    /// <summary>FLOPs of the cell GEMMs in one forward pass, 2·G·H·(F+H)·B·T (training counts 3×).</summary>
    public static double ForwardFlops(CellKind kind, int units, int batch) =>
        2.0 * Gates(kind) * units * (Features + units) * batch * Steps;

    /// <summary>The input [B, T, F] and target [B, 1], uniform in [−1, 1), seeded.</summary>
    public static (float[] X, float[] Y) Data(int batch, int seed = 20260301)
    {
        var rng = new Random(seed);
        return (Uniform(rng, batch * Steps * Features), Uniform(rng, batch));
    }

    /// <summary><paramref name="n"/> floats uniform in [−1, 1) drawn from <paramref name="rng"/> (the filler of
    /// every benchmark's operands).</summary>
    public static float[] Uniform(Random rng, int n)
    {
        var x = new float[n];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }
}

/// <summary>Nn.Simd's side: layers, <see cref="MeanSquaredError{T}"/> and <see cref="Adam"/>, called directly.</summary>
public sealed class NnRecurrentModel
{
    private readonly RecurrentLayer<float> _rnn;
    private readonly Dense<float> _head;
    private readonly MeanSquaredError<float> _loss = new();
    private readonly Adam _adam = new();
    private readonly List<Parameter<float>> _parameters = [];
    private readonly Tensor<float> _x, _y, _dPrediction;

    /// <summary>Builds the model (seeded weights) and its data.</summary>
    public NnRecurrentModel(CellKind kind, int units, int batch, int seed = 7)
    {
        _rnn = kind == CellKind.Lstm ? new Lstm<float>(units) : new SimpleRnn<float>(units);
        // The input is data: as in torch (whose input does not require grad) and Sequential, skip its gradient.
        _rnn.ComputeInputGradient = false;
        _head = new Dense<float>(1);
        _rnn.Build(new TensorShape(batch, RecurrentProblem.Steps, RecurrentProblem.Features), seed);
        _head.Build(new TensorShape(batch, units), seed + 1);
        _parameters.AddRange(_rnn.Parameters);
        _parameters.AddRange(_head.Parameters);
        var (x, y) = RecurrentProblem.Data(batch);
        _x = Tensor<float>.FromArray(x, batch, RecurrentProblem.Steps, RecurrentProblem.Features);
        _y = Tensor<float>.FromArray(y, batch, 1);
        _dPrediction = new Tensor<float>(batch, 1);
    }

    /// <summary>The recurrent layer.</summary>
    public RecurrentLayer<float> Recurrent => _rnn;

    /// <summary>The head.</summary>
    public Dense<float> Head => _head;

    /// <summary>Zero grads, forward, loss, backward, Adam; returns the loss.</summary>
    public float TrainStep()
    {
        for (int i = 0; i < _parameters.Count; i++) _parameters[i].Grad.Clear();
        var last = _rnn.Forward(_x, training: true);
        var prediction = _head.Forward(last, training: true);
        float loss = _loss.ComputeWithGradient(prediction, _y, _dPrediction);
        _rnn.Backward(_head.Backward(_dPrediction));
        _adam.Step(_parameters);
        return loss;
    }

    /// <summary>One inference pass: the recurrent layer and the head; returns the first prediction.</summary>
    public float Infer() => _head.Forward(_rnn.Forward(_x, training: false), training: false).ReadOnlySpan[0];
}
