using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using Nn.Simd.Training.Losses;

namespace Nn.Simd.Training;

/// <summary>
/// Checks a layer's or a loss's analytic gradients against central finite differences, in float64.
/// Use it from your own tests when you write a custom layer:
/// <code>
/// var report = GradientCheck.Check(new MyLayer&lt;double&gt;(...), Tensor&lt;double&gt;.RandomNormal(new(4, 7), seed: 1));
/// Assert.True(report.Passed, report.ToString());
/// </code>
/// </summary>
/// <remarks>
/// For a layer, the scalar checked is <c>L = Σ g ⊙ layer(x)</c> with a fixed random <c>g</c>, so
/// <c>Backward(g)</c> must return <c>∂L/∂x</c> and add <c>∂L/∂θ</c> into every parameter's gradient. Each
/// element of the input and of every parameter is perturbed by ±ε and
/// <c>(L(θ+ε) − L(θ−ε)) / 2ε</c> is compared with the analytic value by the relative error
/// <c>|a − n| / max(|a|, |n|, floor)</c>; the floor keeps gradients that are essentially zero from dividing
/// round-off by round-off.
/// </remarks>
public static class GradientCheck
{
    /// <summary>Settings for a check.</summary>
    /// <param name="Epsilon">The finite-difference step.</param>
    /// <param name="Tolerance">The largest relative error that passes.</param>
    /// <param name="Seed">Seed for the upstream gradient <c>g</c> and any element sampling.</param>
    /// <param name="Training">The <c>training</c> flag passed to Forward.</param>
    /// <param name="MaxElementsPerTensor">Check at most this many (randomly chosen) elements of each tensor.</param>
    /// <param name="Floor">The smallest denominator of the relative error.</param>
    /// <param name="BeforeForward">Called before every forward pass, e.g. to restore a stateful layer's state
    /// or to fix a dropout mask, so every evaluation sees the same function.</param>
    public sealed record Options(double Epsilon = 1e-5, double Tolerance = 1e-6, int Seed = 12345, bool Training = true,
        int MaxElementsPerTensor = int.MaxValue, double Floor = 1e-2, Action? BeforeForward = null);

    /// <summary>The worst error found in one tensor.</summary>
    /// <param name="Tensor">"input" (a merge layer's: "input 0", "input 1", …), or the parameter's name.</param>
    /// <param name="Checked">How many elements were compared.</param>
    /// <param name="WorstIndex">The flat index of the worst element.</param>
    /// <param name="Analytic">The analytic gradient there.</param>
    /// <param name="Numeric">The finite-difference gradient there.</param>
    /// <param name="RelativeError">The relative error there.</param>
    public sealed record TensorReport(string Tensor, int Checked, int WorstIndex, double Analytic, double Numeric, double RelativeError);

    /// <summary>The result of a check.</summary>
    /// <param name="Tensors">One entry per checked tensor: the input (or each input of a merge layer, in order) first, then
    /// the parameters in order.</param>
    /// <param name="Tolerance">The tolerance the check was run with.</param>
    public sealed record Report(IReadOnlyList<TensorReport> Tensors, double Tolerance)
    {
        /// <summary>The tensor holding the worst error overall.</summary>
        public TensorReport Worst => Tensors.MaxBy(t => t.RelativeError)!;

        /// <summary>The worst relative error over all tensors.</summary>
        public double WorstRelativeError => Tensors.Count == 0 ? 0 : Worst.RelativeError;

        /// <summary>Whether every error is within the tolerance (and finite).</summary>
        public bool Passed => Tensors.All(t => t.RelativeError <= Tolerance);

        /// <summary>A readable summary naming the worst element.</summary>
        public override string ToString()
        {
            if (Tensors.Count == 0) return "gradient check: nothing to check";
            var w = Worst;
            var sb = new System.Text.StringBuilder();
            sb.Append(Passed ? "gradient check passed" : "gradient check FAILED")
              .Append($": worst relative error {w.RelativeError:G3} (tolerance {Tolerance:G3}) in '{w.Tensor}' at index {w.WorstIndex}: analytic {w.Analytic:G10}, numeric {w.Numeric:G10}");
            foreach (var t in Tensors)
                sb.Append($"\n  {t.Tensor}: {t.Checked} checked, worst {t.RelativeError:G3} at {t.WorstIndex}");
            return sb.ToString();
        }
    }

    /// <summary>Checks the gradients of <paramref name="layer"/> with respect to its input and all its parameters.</summary>
    /// <param name="layer">The layer; built from the input's shape if it is not built yet.</param>
    /// <param name="input">The input at which to check.</param>
    /// <param name="options">Settings; null means the defaults.</param>
    public static Report Check(ILayer<double> layer, Tensor<double> input, Options? options = null)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(input);
        var o = options ?? new Options();
        if (!layer.IsBuilt) layer.Build(input.Shape, o.Seed);
        var x = input.Clone();
        return CheckCore([("input", x)], layer.Parameters, () => layer.Forward(x, o.Training), g => [layer.Backward(g)], o);
    }

    /// <summary>Checks the gradients of a merge layer with respect to each of its inputs and all its parameters.</summary>
    /// <param name="layer">The layer.</param>
    /// <param name="inputs">The inputs at which to check (copied; the same tensor twice counts as two inputs). The
    /// report names them <c>input 0</c>, <c>input 1</c>, …</param>
    /// <param name="options">Settings; null means the defaults.</param>
    public static Report Check(IMergeLayer<double> layer, IReadOnlyList<Tensor<double>> inputs, Options? options = null)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(inputs);
        var o = options ?? new Options();
        var xs = new Tensor<double>[inputs.Count];
        for (int i = 0; i < xs.Length; i++)
            xs[i] = (inputs[i] ?? throw new ArgumentNullException(nameof(inputs), $"Input {i} is null.")).Clone();
        return CheckCore([.. xs.Select((x, i) => ($"input {i}", x))], layer.Parameters, () => layer.Forward(xs, o.Training), layer.Backward, o);
    }

    /// <summary>Compares <paramref name="backward"/>'s gradients of every input and trainable parameter with central
    /// differences of <c>L = Σ g ⊙ forward()</c>, perturbing the tensors that <paramref name="forward"/> reads.</summary>
    private static Report CheckCore(IReadOnlyList<(string Name, Tensor<double> Value)> inputs, IReadOnlyList<Parameter<double>> parameters,
        Func<Tensor<double>> forward, Func<Tensor<double>, IReadOnlyList<Tensor<double>>> backward, Options o)
    {
        o.BeforeForward?.Invoke();
        var y = forward();
        var g = Tensor<double>.RandomNormal(y.Shape, o.Seed);
        foreach (var p in parameters) p.Grad.Clear();
        var dInputs = backward(g).Select(d => d.Clone()).ToList();
        if (dInputs.Count != inputs.Count)
            throw new InvalidOperationException($"Backward returned {dInputs.Count} input gradients for {inputs.Count} inputs.");
        var analyticParams = parameters.Select(p => p.Grad.Clone()).ToList();

        double Loss()
        {
            o.BeforeForward?.Invoke();
            var out_ = forward();
            return TensorPrimitives.Dot(out_.ReadOnlySpan, g.ReadOnlySpan);
        }

        var rng = new Random(o.Seed);
        var reports = new List<TensorReport>();
        for (int i = 0; i < inputs.Count; i++)
            reports.Add(Compare(inputs[i].Name, inputs[i].Value, dInputs[i], Loss, o, rng));
        for (int i = 0; i < parameters.Count; i++)
        {
            // A buffer (moving statistics) is layer state, and a frozen weight gets no gradient: nothing to check.
            if (!parameters[i].Trainable) continue;
            reports.Add(Compare(parameters[i].Name, parameters[i].Value, analyticParams[i], Loss, o, rng));
        }
        return new Report(reports, o.Tolerance);
    }

    /// <summary>Checks the gradient of <paramref name="loss"/> with respect to its predictions.</summary>
    /// <param name="loss">The loss.</param>
    /// <param name="prediction">Predictions at which to check (e.g. probabilities for a probability-input loss).</param>
    /// <param name="target">The targets.</param>
    /// <param name="options">Settings; null means the defaults.</param>
    public static Report CheckLoss(ILoss<double> loss, Tensor<double> prediction, Tensor<double> target, Options? options = null)
    {
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        var o = options ?? new Options();
        var p = prediction.Clone();
        var dp = new Tensor<double>(p.Shape);
        loss.Gradient(p, target, dp);
        var rng = new Random(o.Seed);
        return new Report([Compare("prediction", p, dp, () => loss.Compute(p, target), o, rng)], o.Tolerance);
    }

    private static TensorReport Compare(string name, Tensor<double> value, Tensor<double> analytic, Func<double> loss, Options o, Random rng)
    {
        var v = value.Span;
        int n = v.Length;
        IEnumerable<int> indices = n <= o.MaxElementsPerTensor
            ? Enumerable.Range(0, n)
            : Enumerable.Range(0, n).OrderBy(_ => rng.Next()).Take(o.MaxElementsPerTensor).Order().ToArray();
        int count = 0, worst = -1;
        double worstErr = 0, worstA = 0, worstN = 0;
        foreach (int i in indices)
        {
            double saved = value.Span[i];
            value.Span[i] = saved + o.Epsilon;
            double plus = loss();
            value.Span[i] = saved - o.Epsilon;
            double minus = loss();
            value.Span[i] = saved;
            double num = (plus - minus) / (2 * o.Epsilon);
            double ana = analytic.ReadOnlySpan[i];
            double err = Math.Abs(ana - num) / Math.Max(o.Floor, Math.Max(Math.Abs(ana), Math.Abs(num)));
            if (double.IsNaN(err)) err = double.PositiveInfinity;
            if (worst < 0 || err > worstErr) { worst = i; worstErr = err; worstA = ana; worstN = num; }
            count++;
        }
        return new TensorReport(name, count, worst, worstA, worstN, worstErr);
    }
}
