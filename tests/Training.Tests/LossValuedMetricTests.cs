using Nn.Simd.Tensors;
using Nn.Simd.Training.Metrics;
using Nn.Simd.Training.Optimizers;

namespace Nn.Simd.Training.Tests;

/// <summary>Keras' loss-valued metrics by name (<c>metrics=["msle", "hinge", …]</c>): the running mean over the rows
/// seen, against float64 formulas written from Keras' definitions.</summary>
public sealed class LossValuedMetricTests
{
    private const double Eps = 1e-7;

    /// <summary>One row's value by Keras' formula (p and y are the row; y for the sparse case is the label).</summary>
    private static double Reference(string name, double[] p, double[] y) => name switch
    {
        "msle" => p.Zip(y, (a, b) => Math.Pow(Math.Log(Math.Max(a, Eps) + 1) - Math.Log(Math.Max(b, Eps) + 1), 2)).Average(),
        "logcosh" => p.Zip(y, (a, b) => Math.Log(Math.Cosh(a - b))).Average(),
        "kl_divergence" => p.Zip(y, (a, b) => Math.Clamp(b, Eps, 1) * Math.Log(Math.Clamp(b, Eps, 1) / Math.Clamp(a, Eps, 1))).Sum(),
        "poisson" => p.Zip(y, (a, b) => a - b * Math.Log(a + Eps)).Average(),
        "hinge" => p.Zip(y, (a, b) => Math.Max(1 - (b == 0 ? -1 : b) * a, 0)).Average(),
        "squared_hinge" => p.Zip(y, (a, b) => Math.Pow(Math.Max(1 - (b == 0 ? -1 : b) * a, 0), 2)).Average(),
        "categorical_hinge" => Math.Max(0, 1 + p.Zip(y, (a, b) => (1 - b) * a).Max() - p.Zip(y, (a, b) => a * b).Sum()),
        "cosine_similarity" => p.Zip(y, (a, b) => a * b).Sum() / (Math.Sqrt(p.Sum(a => a * a)) * Math.Sqrt(y.Sum(b => b * b))),
        "binary_crossentropy" => p.Zip(y, (a, b) => { a = Math.Clamp(a, Eps, 1 - Eps); return -(b * Math.Log(a) + (1 - b) * Math.Log(1 - a)); }).Average(),
        "categorical_crossentropy" => -p.Zip(y, (a, b) => b * Math.Log(Math.Clamp(a / p.Sum(), Eps, 1 - Eps))).Sum(),
        "sparse_categorical_crossentropy" => -Math.Log(Math.Clamp(p[(int)y[0]], Eps, 1 - Eps)),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [InlineData("msle")]
    [InlineData("logcosh")]
    [InlineData("kl_divergence")]
    [InlineData("poisson")]
    [InlineData("hinge")]
    [InlineData("squared_hinge")]
    [InlineData("categorical_hinge")]
    [InlineData("cosine_similarity")]
    [InlineData("binary_crossentropy")]
    [InlineData("categorical_crossentropy")]
    [InlineData("sparse_categorical_crossentropy")]
    public void LossValuedMetric_IsTheMeanOfKerasFormulaOverTheRowsSeen(string name)
    {
        const int rows = 8, columns = 4;
        var rng = new Random(name.Length);
        // Probabilities (rows summing to 1) for the cross-entropies and KL, positive values otherwise.
        var p = new double[rows, columns];
        var y = new double[rows, columns];
        for (int r = 0; r < rows; r++)
        {
            double sum = 0;
            for (int c = 0; c < columns; c++) { p[r, c] = 0.05 + rng.NextDouble(); sum += p[r, c]; }
            int label = rng.Next(columns);
            for (int c = 0; c < columns; c++)
            {
                if (name is "kl_divergence" or "categorical_crossentropy" or "binary_crossentropy" or "sparse_categorical_crossentropy") p[r, c] /= sum;
                if (name == "logcosh" || name == "cosine_similarity") p[r, c] -= 0.5;
                y[r, c] = name switch
                {
                    "categorical_crossentropy" or "categorical_hinge" => c == label ? 1 : 0,
                    "kl_divergence" => c == label ? 0.7 : 0.1,
                    "binary_crossentropy" or "hinge" or "squared_hinge" => rng.Next(2),
                    _ => rng.NextDouble() * 2 - (name == "cosine_similarity" || name == "logcosh" ? 1 : 0),
                };
            }
            if (name == "sparse_categorical_crossentropy") y[r, 0] = label;
        }
        bool sparse = name == "sparse_categorical_crossentropy";
        Tensor<double> Rows(double[,] a, int from, int count, int width)
        {
            var t = new Tensor<double>(count, width);
            for (int r = 0; r < count; r++)
                for (int c = 0; c < width; c++) t[r, c] = a[from + r, c];
            return t;
        }
        var metric = MetricFactory.Get<double>(name);
        Assert.Equal(name, metric.Name);
        metric.Update(Rows(p, 0, 5, columns), Rows(y, 0, 5, sparse ? 1 : columns));
        metric.Update(Rows(p, 5, 3, columns), Rows(y, 5, 3, sparse ? 1 : columns));
        double expected = Enumerable.Range(0, rows).Average(r => Reference(name,
            Enumerable.Range(0, columns).Select(c => p[r, c]).ToArray(), Enumerable.Range(0, sparse ? 1 : columns).Select(c => y[r, c]).ToArray()));
        Assert.Equal(expected, metric.Result, 1e-9);
        Assert.Equal(name == "cosine_similarity", metric.HigherIsBetter);
    }

    [Fact]
    public void LossValuedMetrics_ReachTheLogsByTheirNames()
    {
        var (x, y, _) = TestData.Blobs(48, 3);
        var model = TestData.SmallMlp(1);
        model.Compile("sparse_categorical_crossentropy", new Adam(0.01), "sparse_categorical_crossentropy");
        var logs = model.Evaluate(x, y);
        Assert.Equal(logs["loss"], logs["sparse_categorical_crossentropy"], 1e-6);
        Assert.Contains("cosine_similarity", MetricFactory.Names);
    }
}
