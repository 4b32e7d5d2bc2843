using Nn.Simd.Tensors;

namespace Nn.Simd.Layers.Tests;

/// <summary>Plain scalar forward passes of the three cells, written straight from Keras' equations, in
/// double precision and batch-first order, used as the independent reference for the layers.</summary>
internal static class ScalarRnn
{
    public record Result(double[] Output, double[] FinalH, double[] FinalC);

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    /// <summary>kind: "simple_rnn", "lstm", "gru" or "gru_v1" (reset_after = false). W [F, G·H], U [H, G·H],
    /// bias [G·H] (GRU: [2, 3H]).</summary>
    public static Result Run(string kind, double[] x, int batch, int steps, int features, int units,
        double[] w, double[] u, double[]? bias, bool goBackwards, bool returnSequences,
        double[]? h0 = null, double[]? c0 = null, Func<double, double>? act = null, double[]? stateMask = null)
    {
        int g = kind switch { "lstm" => 4, "gru" or "gru_v1" => 3, _ => 1 };
        int gh = g * units;
        act ??= Math.Tanh;
        var output = new double[returnSequences ? batch * steps * units : batch * units];
        var finalH = new double[batch * units];
        var finalC = new double[batch * units];
        for (int b = 0; b < batch; b++)
        {
            var h = new double[units];
            var c = new double[units];
            if (h0 is not null) Array.Copy(h0, b * units, h, 0, units);
            if (c0 is not null) Array.Copy(c0, b * units, c, 0, units);
            for (int s = 0; s < steps; s++)
            {
                int t = goBackwards ? steps - 1 - s : s;
                var xw = new double[gh];
                var hu = new double[gh];
                // Recurrent dropout: the state enters the products (not the GRU's blend) times its mask.
                var hm = new double[units];
                for (int k = 0; k < units; k++) hm[k] = h[k] * (stateMask is null ? 1 : stateMask[b * units + k]);
                for (int j = 0; j < gh; j++)
                {
                    double a = 0, r = 0;
                    for (int f = 0; f < features; f++) a += x[(b * steps + t) * features + f] * w[f * gh + j];
                    for (int k = 0; k < units; k++) r += hm[k] * u[k * gh + j];
                    xw[j] = a + (bias is null ? 0 : bias[j]);
                    hu[j] = r + (bias is not null && kind == "gru" ? bias[gh + j] : 0);
                }
                var hn = new double[units];
                if (kind == "gru_v1")
                {
                    // ĥ = act(x·W_h + b_h + (r⊙h)·U_h): r of every unit is needed before any candidate.
                    var rh = new double[units];
                    for (int k = 0; k < units; k++) rh[k] = Sigmoid(xw[units + k] + hu[units + k]) * hm[k];
                    for (int j = 0; j < units; j++)
                    {
                        double z = Sigmoid(xw[j] + hu[j]), a = xw[2 * units + j];
                        for (int k = 0; k < units; k++) a += rh[k] * u[k * gh + 2 * units + j];
                        hn[j] = z * h[j] + (1 - z) * act(a);
                    }
                }
                else for (int j = 0; j < units; j++)
                {
                    switch (kind)
                    {
                        case "simple_rnn":
                            hn[j] = act(xw[j] + hu[j]);
                            break;
                        case "lstm":
                        {
                            double i = Sigmoid(xw[j] + hu[j]), f = Sigmoid(xw[units + j] + hu[units + j]);
                            double cc = act(xw[2 * units + j] + hu[2 * units + j]), o = Sigmoid(xw[3 * units + j] + hu[3 * units + j]);
                            c[j] = f * c[j] + i * cc;
                            hn[j] = o * act(c[j]);
                            break;
                        }
                        default:
                        {
                            double z = Sigmoid(xw[j] + hu[j]), r = Sigmoid(xw[units + j] + hu[units + j]);
                            double hh = act(xw[2 * units + j] + r * hu[2 * units + j]);
                            hn[j] = z * h[j] + (1 - z) * hh;
                            break;
                        }
                    }
                }
                h = hn;
                if (returnSequences) Array.Copy(h, 0, output, (b * steps + s) * units, units);
            }
            if (!returnSequences) Array.Copy(h, 0, output, b * units, units);
            Array.Copy(h, 0, finalH, b * units, units);
            Array.Copy(c, 0, finalC, b * units, units);
        }
        return new Result(output, finalH, finalC);
    }
}

/// <summary>Layers chained in order, for gradient checks of stacks (backward runs in reverse).</summary>
internal sealed class Stack<T>(params ILayer<T>[] layers) : ILayer<T>
    where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
{
    private readonly List<Parameter<T>> _parameters = [];
    public string Name { get; set; } = "stack";
    public bool IsBuilt { get; private set; }
    public IReadOnlyList<Parameter<T>> Parameters => _parameters;

    public void Build(TensorShape inputShape, int seed)
    {
        if (IsBuilt) return;
        var shape = inputShape;
        foreach (var l in layers)
        {
            l.Build(shape, seed++);
            _parameters.AddRange(l.Parameters);
            shape = l.ComputeOutputShape(shape);
        }
        IsBuilt = true;
    }

    public TensorShape ComputeOutputShape(TensorShape inputShape)
    {
        foreach (var l in layers) inputShape = l.ComputeOutputShape(inputShape);
        return inputShape;
    }

    public Tensor<T> Forward(Tensor<T> input, bool training)
    {
        foreach (var l in layers) input = l.Forward(input, training);
        return input;
    }

    public Tensor<T> Backward(Tensor<T> dOutput)
    {
        for (int i = layers.Length - 1; i >= 0; i--) dOutput = layers[i].Backward(dOutput);
        return dOutput;
    }

    public IReadOnlyDictionary<string, string> GetConfig() => new Dictionary<string, string>();
}

internal static class RnnTestUtil
{
    /// <summary>Fills every parameter with seeded values in [−scale, scale] (biases included, so they are exercised).</summary>
    public static void Randomize<T>(ILayer<T> layer, int seed, double scale = 0.5)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var rng = new Random(seed);
        foreach (var p in layer.Parameters)
        {
            var s = p.Value.Span;
            for (int i = 0; i < s.Length; i++) s[i] = T.CreateChecked((2 * rng.NextDouble() - 1) * scale);
        }
    }

    public static void CopyParameters<TFrom, TTo>(ILayer<TFrom> from, ILayer<TTo> to)
        where TFrom : unmanaged, System.Numerics.IFloatingPointIeee754<TFrom>
        where TTo : unmanaged, System.Numerics.IFloatingPointIeee754<TTo>
    {
        Assert.Equal(from.Parameters.Count, to.Parameters.Count);
        for (int i = 0; i < from.Parameters.Count; i++)
        {
            var src = from.Parameters[i].Value.ReadOnlySpan;
            var dst = to.Parameters[i].Value.Span;
            Assert.Equal(src.Length, dst.Length);
            for (int j = 0; j < src.Length; j++) dst[j] = TTo.CreateChecked(src[j]);
        }
    }

    public static void AssertClose(double[] expected, double[] actual, double rtol, double atol, string what)
    {
        var r = Tolerance.Compare<double>(expected, actual, rtol, atol);
        Assert.True(r.Passed, $"{what}: {r} (length {expected.Length})");
    }

    public static RecurrentLayer<T> Make<T>(string kind, int units, bool seq = false, bool back = false, bool stateful = false,
        int truncate = 0, bool returnState = false, string activation = "tanh")
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> => kind switch
    {
        "lstm" => new Lstm<T>(units, activation, returnSequences: seq, goBackwards: back, stateful: stateful, truncateBptt: truncate, returnState: returnState),
        "gru" => new Gru<T>(units, activation, returnSequences: seq, goBackwards: back, stateful: stateful, truncateBptt: truncate, returnState: returnState),
        "gru_v1" => new Gru<T>(units, activation, returnSequences: seq, goBackwards: back, stateful: stateful, truncateBptt: truncate, returnState: returnState, resetAfter: false),
        _ => new SimpleRnn<T>(units, activation, returnSequences: seq, goBackwards: back, stateful: stateful, truncateBptt: truncate, returnState: returnState),
    };

    public static (double[] W, double[] U, double[]? Bias) Weights(ILayer<double> layer) =>
        (layer.Parameters[0].Value.ToArray(), layer.Parameters[1].Value.ToArray(),
         layer.Parameters.Count > 2 ? layer.Parameters[2].Value.ToArray() : null);
}
