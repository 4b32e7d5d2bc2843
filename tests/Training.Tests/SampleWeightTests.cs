using Nn.Simd.Tensors;
using Nn.Simd.Training.Optimizers;

namespace Nn.Simd.Training.Tests;

/// <summary>Keras' <c>sample_weight</c> and <c>class_weight</c> in Fit.</summary>
public sealed class SampleWeightTests
{
    private static readonly (Tensor<float> X, Tensor<float> Labels, Tensor<float> OneHot) Data = TestData.Blobs(30, 8);

    private static Sequential Make(double lr)
    {
        var m = TestData.SmallMlp(3);
        m.Compile("sparse_categorical_crossentropy", new Sgd(lr));
        return m;
    }

    private static float[][] Weights(Sequential m) => m.Parameters.Select(p => p.Value.ToArray()).ToArray();

    private static void Close(float[][] expected, float[][] actual, double tol = 1e-6)
    {
        for (int i = 0; i < expected.Length; i++)
            for (int j = 0; j < expected[i].Length; j++)
                Assert.True(Math.Abs(expected[i][j] - actual[i][j]) <= tol * (1 + Math.Abs(expected[i][j])), $"parameter {i}[{j}]: {expected[i][j]} vs {actual[i][j]}");
    }

    [Fact]
    public void TheLossIsTheWeightedSumOverTheBatchSize_AndTheGradientScalesPerSample()
    {
        var weights = new Tensor<float>(30);
        for (int i = 0; i < 30; i++) weights[i] = i % 3 == 0 ? 0 : 1 + i % 4;
        var weighted = Make(0.1);
        weighted.Build(2);
        // The reported loss: Σ wᵢ·ℓᵢ / N with each sample's own loss, taken before the step.
        var p = weighted.Predict(Data.X);
        double expected = 0;
        for (int i = 0; i < 30; i++)
            expected += weights[i] * weighted.Loss!.Compute(p.Slice(i, 1), Data.Labels.Slice(i, 1));
        Assert.Equal(expected / 30, weighted.Evaluate(Data.X, Data.Labels, batchSize: 30, sampleWeight: weights)["loss"], 5);
        Assert.Equal(expected / 30, weighted.Evaluate(Data.X, Data.Labels, batchSize: 7, sampleWeight: weights)["loss"], 5);
        var history = weighted.Fit(Data.X, Data.Labels, epochs: 1, batchSize: 30, shuffle: false, sampleWeight: weights);
        Assert.Equal(expected / 30, history["loss"][0], 5);

        // Zero weight removes a sample; doubling the rest equals a doubled step on them alone: with SGD and one
        // batch, Σ wᵢ·gᵢ / 30 = 2·Σ_kept gᵢ / 30, which is the kept samples' mean gradient times 2·20/30.
        var half = new Tensor<float>(30);
        var keptX = new Tensor<float>(20, 2);
        var keptY = new Tensor<float>(20);
        for (int i = 0, k = 0; i < 30; i++)
        {
            if (i % 3 == 0) continue;
            half[i] = 2;
            keptX[k, 0] = Data.X[i, 0]; keptX[k, 1] = Data.X[i, 1]; keptY[k] = Data.Labels[i];
            k++;
        }
        var a = Make(0.1);
        a.Fit(Data.X, Data.Labels, epochs: 1, batchSize: 30, shuffle: false, sampleWeight: half);
        var b = Make(0.1 * 2 * 20 / 30);
        b.Fit(keptX, keptY, epochs: 1, batchSize: 20, shuffle: false);
        Close(Weights(b), Weights(a));
        var plain = Make(0.1);
        plain.Fit(Data.X, Data.Labels, epochs: 1, batchSize: 30, shuffle: false);
        Assert.NotEqual(Weights(plain)[0], Weights(a)[0]);
    }

    [Fact]
    public void ClassWeight_IsTheSameAsTheMatchingSampleWeights_ForIndexAndOneHotTargets()
    {
        var classWeight = new Dictionary<int, double> { [1] = 3, [2] = 0.5 };
        var sw = new Tensor<float>(30);
        for (int i = 0; i < 30; i++) sw[i] = Data.Labels[i] switch { 1 => 3, 2 => 0.5f, _ => 1 };
        var byClass = Make(0.1);
        byClass.Fit(Data.X, Data.Labels, epochs: 2, batchSize: 8, shuffle: false, classWeight: classWeight);
        var bySample = Make(0.1);
        bySample.Fit(Data.X, Data.Labels, epochs: 2, batchSize: 8, shuffle: false, sampleWeight: sw);
        Assert.Equal(Weights(bySample), Weights(byClass));

        var oneHot = TestData.SmallMlp(3);
        oneHot.Compile("categorical_crossentropy", new Sgd(0.1));
        oneHot.Fit(Data.X, Data.OneHot, epochs: 2, batchSize: 8, shuffle: false, classWeight: classWeight);
        var oneHotBySample = TestData.SmallMlp(3);
        oneHotBySample.Compile("categorical_crossentropy", new Sgd(0.1));
        oneHotBySample.Fit(Data.X, Data.OneHot, epochs: 2, batchSize: 8, shuffle: false, sampleWeight: sw);
        Assert.Equal(Weights(oneHotBySample), Weights(oneHot));
    }

    [Fact]
    public void TrainOnBatch_TakesTheSameWeightsAsFit()
    {
        var sw = Tensor<float>.RandomUniform(new TensorShape(30), 5, 0, 3);
        var a = Make(0.1);
        var b = Make(0.1);
        double fitLoss = a.Fit(Data.X, Data.Labels, epochs: 1, batchSize: 30, shuffle: false, sampleWeight: sw)["loss"][0];
        double batchLoss = b.TrainOnBatch(Data.X, Data.Labels, sampleWeight: sw)["loss"];
        Assert.Equal(fitLoss, batchLoss);
        Assert.Equal(Weights(a), Weights(b));
        Assert.Throws<ArgumentException>(() => b.TrainOnBatch(Data.X, Data.Labels, sampleWeight: new Tensor<float>(3)));
    }

    [Fact]
    public void BadWeights_AreRejectedByName()
    {
        var m = Make(0.1);
        var e = Assert.Throws<ArgumentException>(() => m.Fit(Data.X, Data.Labels, sampleWeight: new Tensor<float>(29)));
        Assert.Equal("sampleWeight", e.ParamName);
        Assert.Contains("[29]", e.Message);
        var negative = new Tensor<float>(30);
        negative[4] = -1;
        e = Assert.Throws<ArgumentException>(() => m.Fit(Data.X, Data.Labels, sampleWeight: negative));
        Assert.Contains("sampleWeight[4]", e.Message);
        e = Assert.Throws<ArgumentException>(() => m.Fit(Data.X, Data.Labels, classWeight: new Dictionary<int, double> { [0] = double.NaN }));
        Assert.Equal("classWeight", e.ParamName);
    }
}
