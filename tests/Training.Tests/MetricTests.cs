using Nn.Simd.Tensors;
using Nn.Simd.Training.Losses;
using Nn.Simd.Training.Metrics;

namespace Nn.Simd.Training.Tests;

public class MetricTests
{
    [Fact]
    public void CategoricalAccuracy_CountsArgmaxMatches_AcrossBatches()
    {
        var m = new CategoricalAccuracy<float>();
        m.Update(Tensor<float>.FromArray([0.1f, 0.9f, 0.8f, 0.2f], 2, 2), Tensor<float>.FromArray([0f, 1f, 0f, 1f], 2, 2)); // 1 of 2
        m.Update(Tensor<float>.FromArray([0.3f, 0.7f], 1, 2), Tensor<float>.FromArray([0f, 1f], 1, 2));                     // 1 of 1
        Assert.Equal(2 / 3.0, m.Result, 12);
        m.Reset();
        Assert.Equal(0, m.Result);
    }

    [Fact]
    public void SparseCategoricalAccuracy_ComparesArgmaxWithLabel()
    {
        var m = new SparseCategoricalAccuracy<float>();
        m.Update(Tensor<float>.FromArray([1f, 5f, 2f, 9f, 0f, 0f, 0f, 0f, 3f], 3, 3), Tensor<float>.FromArray([1f, 0f, 1f]));
        Assert.Equal(2 / 3.0, m.Result, 12);
        Assert.Throws<ArgumentException>(() => m.Update(new Tensor<float>(1, 3), Tensor<float>.FromArray([3f])));
    }

    [Fact]
    public void BinaryAccuracy_ThresholdHalf_PerSampleMean()
    {
        var m = new BinaryAccuracy<float>();
        // Sample 1: [0.6 → 1 vs 1 ✓, 0.4 → 0 vs 1 ✗]; sample 2: [0.5 → 0 vs 0 ✓, 0.9 → 1 vs 1 ✓]: (0.5 + 1) / 2.
        m.Update(Tensor<float>.FromArray([0.6f, 0.4f, 0.5f, 0.9f], 2, 2), Tensor<float>.FromArray([1f, 1f, 0f, 1f], 2, 2));
        Assert.Equal(0.75, m.Result, 12);
    }

    [Fact]
    public void AccuracyName_ResolvesLikeKeras()
    {
        Assert.IsType<SparseCategoricalAccuracy<float>>(MetricFactory.Get("accuracy", new SparseCategoricalCrossEntropy<float>()));
        Assert.IsType<BinaryAccuracy<float>>(MetricFactory.Get("accuracy", new BinaryCrossEntropy<float>()));
        Assert.IsType<BinaryAccuracy<float>>(MetricFactory.Get("accuracy", new MeanSquaredError<float>(), outputWidth: 1));
        Assert.IsType<CategoricalAccuracy<float>>(MetricFactory.Get("accuracy", new CategoricalCrossEntropy<float>(), outputWidth: 3));
        Assert.Equal(0.0, ((BinaryAccuracy<float>)MetricFactory.Get("acc", new BinaryCrossEntropy<float>(fromLogits: true))).Threshold);
        Assert.Throws<ArgumentException>(() => MetricFactory.Get<float>("f1_score"));
    }

    [Fact]
    public void LossMetric_IsSampleWeightedMean()
    {
        var m = new LossMetric<double>(new MeanAbsoluteError<double>(), "mae");
        m.Update(Tensor<double>.FromArray([1.0, 2.0], 2, 1), Tensor<double>.FromArray([0.0, 0.0], 2, 1)); // mean 1.5 over 2
        m.Update(Tensor<double>.FromArray([3.0], 1, 1), Tensor<double>.FromArray([0.0], 1, 1));           // 3 over 1
        Assert.Equal(2.0, m.Result, 12);
        Assert.False(m.HigherIsBetter);
    }
}
