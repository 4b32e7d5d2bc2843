using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using Nn.Simd.Training.Optimizers;

namespace Nn.Simd.Training.Tests;

/// <summary>
/// Validation weights in Fit, as Keras 3: <c>validation_split</c> splits <c>sample_weight</c> with x and y, and
/// <c>validation_data=(x, y, sample_weight)</c> carries its own; <c>class_weight</c> stays with the training data.
/// The validation logs are then what Evaluate reports on the validation samples with their weights.
/// </summary>
[Collection(nameof(GlobalParallelism))]
public sealed class ValidationSampleWeightTests
{
    private const int N = 40, NTrain = 30, NVal = 10;   // validationSplit 0.25 of 40 samples: 30 train, 10 validate

    private static (Tensor<double> X, Tensor<double> Labels) Data()
    {
        var (x, labels, _) = TestData.Blobs(N, 12);
        return (ToDouble(x), ToDouble(labels));
    }

    private static Tensor<double> ToDouble(Tensor<float> t) =>
        Tensor<double>.FromArray(t.ToArray().Select(v => (double)v).ToArray(), t.Shape.ToArray());

    /// <summary>Varied weights with zeros: 0 for every third sample, else 1 + i mod 4.</summary>
    private static Tensor<double> Varied(int n)
    {
        var w = new Tensor<double>(n);
        for (int i = 0; i < n; i++) w[i] = i % 3 == 0 ? 0 : 1 + i % 4;
        return w;
    }

    private static Sequential<double> Make(int seed = 3)
    {
        var m = new Sequential<double>(new Dense<double>(8, "tanh"), new Dense<double>(3, "softmax")) { Seed = seed };
        m.Compile("sparse_categorical_crossentropy", new Sgd(0.1), metrics: ["accuracy"], weightedMetrics: ["accuracy"]);
        return m;
    }

    /// <summary>Σ wᵢ·(−log pᵢ[yᵢ]) / n over the model's current predictions: the weighted loss from its formula.</summary>
    private static double WeightedCrossEntropy(Sequential<double> m, Tensor<double> x, Tensor<double> labels, Tensor<double> w)
    {
        var p = m.Predict(x);
        int n = x.Shape[0];
        double sum = 0;
        for (int i = 0; i < n; i++) sum += w[i] * -Math.Log(p[i, (int)labels[i]]);
        return sum / n;
    }

    /// <summary>Σ wᵢ·[argmax pᵢ = yᵢ] / Σ wᵢ.</summary>
    private static double WeightedAccuracy(Sequential<double> m, Tensor<double> x, Tensor<double> labels, Tensor<double> w)
    {
        var p = m.Predict(x);
        double hit = 0, total = 0;
        for (int i = 0; i < x.Shape[0]; i++)
        {
            int best = 0;
            for (int c = 1; c < 3; c++) if (p[i, c] > p[i, best]) best = c;
            hit += best == (int)labels[i] ? w[i] : 0;
            total += w[i];
        }
        return hit / total;
    }

    private static void AssertValidationIsEvaluate(History h, IReadOnlyDictionary<string, double> evaluated)
    {
        foreach (var (k, v) in evaluated) Assert.Equal(v, h["val_" + k][^1]);
    }

    [Fact]
    public void Split_TheTailOfTheWeightsWeighsValidation_AsEvaluateOnTheTail()
    {
        var (x, labels) = Data();
        var sw = Varied(N);
        var m = Make();
        var h = m.Fit(x, labels, epochs: 2, batchSize: 8, shuffle: false, validationSplit: 0.25, sampleWeight: sw);
        var (xVal, yVal, wVal) = (x.Slice(NTrain, NVal), labels.Slice(NTrain, NVal), sw.Slice(NTrain, NVal));
        // The logs after the last epoch are Evaluate's on the tail with the tail's weights, to the bit (same batches).
        var evaluated = m.Evaluate(xVal, yVal, batchSize: 8, sampleWeight: wVal);
        AssertValidationIsEvaluate(h, evaluated);
        // And the formulas: val_loss = Σ w·ℓ / N_val, val_weighted_accuracy = Σ w·hit / Σ w, val_accuracy unweighted.
        Assert.Equal(WeightedCrossEntropy(m, xVal, yVal, wVal), h["val_loss"][1], 12);
        Assert.Equal(WeightedAccuracy(m, xVal, yVal, wVal), h["val_weighted_accuracy"][1], 12);
        var ones = new Tensor<double>(NVal);
        ones.Fill(1);
        Assert.Equal(WeightedAccuracy(m, xVal, yVal, ones), h["val_accuracy"][1], 12);
        Assert.NotEqual(m.Evaluate(xVal, yVal, batchSize: 8)["loss"], h["val_loss"][1]);

        // The head of the weights trains: the same run as fitting the first 30 samples with the first 30 weights.
        var head = Make();
        var hHead = head.Fit(x.Slice(0, NTrain), labels.Slice(0, NTrain), epochs: 2, batchSize: 8, shuffle: false, sampleWeight: sw.Slice(0, NTrain));
        Assert.Equal(hHead["loss"], h["loss"]);
        Assert.Equal(head.Parameters.Select(p => p.Value.ToArray()), m.Parameters.Select(p => p.Value.ToArray()));
    }

    [Fact]
    public void ValidationData_WithWeights_IsEvaluateWithThoseWeights()
    {
        var (x, labels) = Data();
        var (xVal, yVal, wVal) = (x.Slice(NTrain, NVal), labels.Slice(NTrain, NVal), Varied(NVal));
        var m = Make();
        var h = m.Fit(x.Slice(0, NTrain), labels.Slice(0, NTrain), epochs: 2, batchSize: 4, shuffle: false,
            validationData: (xVal, yVal), validationSampleWeight: wVal);
        AssertValidationIsEvaluate(h, m.Evaluate(xVal, yVal, batchSize: 4, sampleWeight: wVal));
        Assert.Equal(WeightedCrossEntropy(m, xVal, yVal, wVal), h["val_loss"][1], 12);
        Assert.Equal(WeightedAccuracy(m, xVal, yVal, wVal), h["val_weighted_accuracy"][1], 12);

        // validationData overrides validationSplit, and its weights go with it; training sampleWeight stays [N_train].
        var trainWeights = Varied(NTrain);
        var both = Make();
        h = both.Fit(x.Slice(0, NTrain), labels.Slice(0, NTrain), epochs: 1, batchSize: 4, shuffle: false, validationSplit: 0.5,
            validationData: (xVal, yVal), sampleWeight: trainWeights, validationSampleWeight: wVal);
        AssertValidationIsEvaluate(h, both.Evaluate(xVal, yVal, batchSize: 4, sampleWeight: wVal));

        // A [N_val, 1] column of weights is accepted as sampleWeight's is, with the same result.
        var column = Make();
        h = column.Fit(x.Slice(0, NTrain), labels.Slice(0, NTrain), epochs: 2, batchSize: 4, shuffle: false,
            validationData: (xVal, yVal), validationSampleWeight: wVal.Reshape(NVal, 1));
        AssertValidationIsEvaluate(h, m.Evaluate(xVal, yVal, batchSize: 4, sampleWeight: wVal));
    }

    [Fact]
    public void ClassWeight_DoesNotReachValidation()
    {
        var (x, labels) = Data();
        var cw = new Dictionary<int, double> { [0] = 4, [2] = 0.25 };
        var (xVal, yVal) = (x.Slice(NTrain, NVal), labels.Slice(NTrain, NVal));

        // Class weights alone: training is weighted, validation is not.
        var m = Make();
        var h = m.Fit(x, labels, epochs: 2, batchSize: 8, shuffle: false, validationSplit: 0.25, classWeight: cw);
        AssertValidationIsEvaluate(h, m.Evaluate(xVal, yVal, batchSize: 8));
        Assert.Equal(h["val_accuracy"], h["val_weighted_accuracy"]);
        var plain = Make();
        var hPlain = plain.Fit(x, labels, epochs: 2, batchSize: 8, shuffle: false, validationSplit: 0.25);
        Assert.NotEqual(hPlain["loss"], h["loss"]);   // the class weights did reach training

        // With sample weights too, validation gets the tail of the sample weights alone.
        var sw = Varied(N);
        var mixed = Make();
        h = mixed.Fit(x, labels, epochs: 2, batchSize: 8, shuffle: false, validationSplit: 0.25, sampleWeight: sw, classWeight: cw);
        AssertValidationIsEvaluate(h, mixed.Evaluate(xVal, yVal, batchSize: 8, sampleWeight: sw.Slice(NTrain, NVal)));

        // And with validationData: its weights alone, never the class weights.
        var vd = Make();
        h = vd.Fit(x.Slice(0, NTrain), labels.Slice(0, NTrain), epochs: 1, batchSize: 8, shuffle: false,
            validationData: (xVal, yVal), classWeight: cw);
        AssertValidationIsEvaluate(h, vd.Evaluate(xVal, yVal, batchSize: 8));
    }

    [Fact]
    public void EqualWeights_ScaleTheValidationLoss_AndLeaveTheWeightedMetricsUnweighted()
    {
        var (x, labels) = Data();
        var (xVal, yVal) = (x.Slice(NTrain, NVal), labels.Slice(NTrain, NVal));
        foreach (double c in new[] { 1.0, 2.5 })
        {
            var w = new Tensor<double>(N);
            w.Fill(c);
            var m = Make();
            var h = m.Fit(x, labels, epochs: 2, batchSize: 8, shuffle: false, validationSplit: 0.25, sampleWeight: w);
            var unweighted = m.Evaluate(xVal, yVal, batchSize: 8);
            // Keras' sum_over_batch_size: Σ c·ℓ / N = c · mean ℓ, so all ones give the unweighted loss.
            Assert.Equal(c * unweighted["loss"], h["val_loss"][1], 12);
            Assert.Equal(unweighted["accuracy"], h["val_weighted_accuracy"][1], 12);
            Assert.Equal(unweighted["accuracy"], h["val_accuracy"][1]);
        }
    }

    [Fact]
    public void BadValidationWeights_AreRejectedByName()
    {
        var (x, labels) = Data();
        var (xTrain, yTrain, xVal, yVal) = (x.Slice(0, NTrain), labels.Slice(0, NTrain), x.Slice(NTrain, NVal), labels.Slice(NTrain, NVal));
        var m = Make();
        var e = Assert.Throws<ArgumentException>(() => m.Fit(xTrain, yTrain, validationData: (xVal, yVal), validationSampleWeight: new Tensor<double>(9)));
        Assert.Equal("validationSampleWeight", e.ParamName);
        Assert.Contains("[10]", e.Message);
        Assert.Contains("[9]", e.Message);
        e = Assert.Throws<ArgumentException>(() => m.Fit(xTrain, yTrain, validationData: (xVal, yVal), validationSampleWeight: new Tensor<double>(5, 2)));
        Assert.Equal("validationSampleWeight", e.ParamName);
        Assert.Contains("[5, 2]", e.Message);
        var negative = new Tensor<double>(NVal);
        negative[3] = -1;
        e = Assert.Throws<ArgumentException>(() => m.Fit(xTrain, yTrain, validationData: (xVal, yVal), validationSampleWeight: negative));
        Assert.Equal("validationSampleWeight", e.ParamName);
        Assert.Contains("validationSampleWeight[3]", e.Message);
        // Weights without validationData have nothing to weigh (with validationSplit they come from sampleWeight).
        e = Assert.Throws<ArgumentException>(() => m.Fit(x, labels, validationSplit: 0.25, validationSampleWeight: new Tensor<double>(NVal)));
        Assert.Equal("validationSampleWeight", e.ParamName);
        // The validation tail of sampleWeight is checked too, by its index in sampleWeight.
        var badTail = new Tensor<double>(N);
        badTail.Fill(1);
        badTail[35] = double.NaN;
        e = Assert.Throws<ArgumentException>(() => m.Fit(x, labels, validationSplit: 0.25, sampleWeight: badTail));
        Assert.Equal("sampleWeight", e.ParamName);
        Assert.Contains("sampleWeight[35]", e.Message);
    }

    private static long AllocatedByFit(int n)
    {
        var (x, y, _) = TestData.Blobs(n, 3);
        var (xVal, yVal, _) = TestData.Blobs(16, 4);
        var model = TestData.SmallMlp(1);
        model.Threads = 1;
        model.Compile("sparse_categorical_crossentropy", new Adam(0.01), metrics: ["accuracy"], weightedMetrics: ["accuracy"]);
        var w = Tensor<float>.RandomUniform(new TensorShape(n), 4, 0, 2);
        var wVal = Tensor<float>.RandomUniform(new TensorShape(16), 5, 0, 2);
        model.Fit(x, y, epochs: 1, batchSize: 16, sampleWeight: w, validationData: (xVal, yVal), validationSampleWeight: wVal);   // warm-up
        long before = GC.GetAllocatedBytesForCurrentThread();
        model.Fit(x, y, epochs: 1, batchSize: 16, sampleWeight: w, validationData: (xVal, yVal), validationSampleWeight: wVal);
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    [Fact]
    public void WeightedValidation_AddsNothingPerTrainingStep()
    {
        // The same validation set for both; each call makes the training weight array (4 bytes a sample).
        SteadyStateFit.AssertNoPerStepAllocation(AllocatedByFit, 4);
    }
}
