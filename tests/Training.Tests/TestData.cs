using Nn.Simd.Layers;
using Nn.Simd.Tensors;

namespace Nn.Simd.Training.Tests;

internal static class TestData
{
    /// <summary>Three well-separated Gaussian blobs in 2-D: x [n, 2], sparse labels [n] (and one-hot [n, 3]).</summary>
    public static (Tensor<float> X, Tensor<float> Labels, Tensor<float> OneHot) Blobs(int n, int seed)
    {
        var rng = new Random(seed);
        var x = new Tensor<float>(n, 2);
        var labels = new Tensor<float>(n);
        var onehot = new Tensor<float>(n, 3);
        (double, double)[] centres = [(-2, -2), (2, -2), (0, 2.5)];
        for (int i = 0; i < n; i++)
        {
            int c = rng.Next(3);
            x[i, 0] = (float)(centres[c].Item1 + 0.5 * rng.NextGaussian());
            x[i, 1] = (float)(centres[c].Item2 + 0.5 * rng.NextGaussian());
            labels[i] = c;
            onehot[i, c] = 1;
        }
        return (x, labels, onehot);
    }

    public static Sequential SmallMlp(int seed) =>
        new(new Dense<float>(16, "relu"), new Dense<float>(3, "softmax")) { Seed = seed };
}

/// <summary>An identity layer with no parameters that records the first feature of every row it sees in training.</summary>
internal sealed class RecordingLayer<T> : Layer<T> where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
{
    public List<List<double>> Batches { get; } = [];
    public bool PoisonBackward { get; set; }
    private readonly Workspace<T> _dx = new();

    public override string TypeName => "recording_test";

    protected override void BuildCore(TensorShape inputShape, Random rng) { }

    public override TensorShape ComputeOutputShape(TensorShape inputShape) => inputShape;

    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        EnsureBuilt(input);
        if (training)
        {
            var rows = new List<double>();
            int f = input.Shape.Columns;
            for (int r = 0; r < input.Shape.Rows; r++) rows.Add(double.CreateChecked(input.ReadOnlySpan[r * f]));
            Batches.Add(rows);
        }
        return input;
    }

    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        if (!PoisonBackward) return dOutput;
        var dx = _dx.Get(dOutput.Shape);
        dx.Fill(T.NaN);
        return dx;
    }

    public override IReadOnlyDictionary<string, string> GetConfig() => new Dictionary<string, string> { ["poison"] = Str(PoisonBackward) };
}

/// <summary>Collects progress reports synchronously (Progress&lt;T&gt; would post them to the thread pool).</summary>
internal sealed class ListProgress<T> : IProgress<T>
{
    public List<T> Reports { get; } = [];
    public void Report(T value) => Reports.Add(value);
}
