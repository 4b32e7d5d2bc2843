using Nn.Simd.Layers;
using Nn.Simd.Tensors;
using Nn.Simd.Training.Data;

namespace Nn.Simd.Training.Tests;

/// <summary>TimeseriesWindows against Keras' indexing rule and its docstring examples; ToCategorical; bad input.</summary>
public class DatasetsTests
{
    private static Tensor<float> Range(int n, int features = 1)
    {
        var t = features == 1 ? new Tensor<float>(n) : new Tensor<float>(n, features);
        for (int i = 0; i < t.Length; i++) t.Span[i] = i;
        return t;
    }

    [Fact]
    public void Windows_FollowKerasIndexing_WithStrideSamplingRateAndStartIndex()
    {
        // Keras' docstring: data [0..99], sequence_length=10, sampling_rate=2 → the first window is [0, 2, …, 18].
        var (x, y) = Datasets.TimeseriesWindows(Range(100), null, sequenceLength: 10, samplingRate: 2);
        Assert.Null(y);
        Assert.Equal(new TensorShape(100 - 18, 10, 1), x.Shape);
        Assert.Equal(Enumerable.Range(0, 10).Select(j => 2f * j), x.ToArray().Take(10));

        // The general rule, on [N, F] data with targets: window k starts at p = start + k·stride.
        var data = Range(40, 3);
        var targets = Range(40);
        int len = 4, stride = 3, rate = 2, start = 5, end = 33;
        (x, y) = Datasets.TimeseriesWindows(data, targets, len, stride, rate, start, end);
        int starts = end - start - (len - 1) * rate;   // 22 start positions, every 3rd taken
        int windows = (starts - 1) / stride + 1;
        Assert.Equal(new TensorShape(windows, len, 3), x.Shape);
        Assert.Equal(new TensorShape(windows, 1), y!.Shape);
        for (int k = 0; k < windows; k++)
        {
            int p = start + k * stride;
            Assert.Equal(p, y[k, 0]);
            for (int j = 0; j < len; j++)
                for (int c = 0; c < 3; c++)
                    Assert.Equal(data[p + j * rate, c], x[k, j, c]);
        }
        Assert.True(start + (windows - 1) * stride + (len - 1) * rate < end);
    }

    [Fact]
    public void Windows_ForecastTheNextValue_WhenTargetsAreTheShiftedSeries()
    {
        // Keras' forecasting recipe: targets = data[len:], so window k's target is the step after it.
        var series = Range(20);
        const int len = 5;
        var shifted = Tensor<float>.FromArray(series.ToArray()[len..], 20 - len);
        var (x, y) = Datasets.TimeseriesWindows(series, shifted, len);
        Assert.Equal(15, x.Shape[0]);   // limited by the targets
        for (int k = 0; k < 15; k++) Assert.Equal(x[k, len - 1, 0] + 1, y![k, 0]);

        // And a model trains on them.
        var model = new Sequential(new SimpleRnn<float>(4), new Dense<float>(1)) { Seed = 1 };
        model.Compile("mse", "adam");
        var scaled = x.ToArray().Select(v => v / 20).ToArray();
        var h = model.Fit(Tensor<float>.FromArray(scaled, x.Shape.ToArray()), Tensor<float>.FromArray(y!.ToArray().Select(v => v / 20).ToArray(), 15, 1), epochs: 30, batchSize: 5);
        Assert.True(h["loss"][^1] < h["loss"][0]);
    }

    [Fact]
    public void Windows_RejectBadArguments_NamingThem()
    {
        var d = Range(10);
        Assert.Throws<ArgumentOutOfRangeException>("sequenceLength", () => Datasets.TimeseriesWindows(d, null, 0));
        Assert.Throws<ArgumentOutOfRangeException>("sequenceStride", () => Datasets.TimeseriesWindows(d, null, 2, sequenceStride: 0));
        Assert.Throws<ArgumentOutOfRangeException>("samplingRate", () => Datasets.TimeseriesWindows(d, null, 2, samplingRate: 0));
        Assert.Throws<ArgumentOutOfRangeException>("startIndex", () => Datasets.TimeseriesWindows(d, null, 2, startIndex: 10));
        Assert.Throws<ArgumentOutOfRangeException>("endIndex", () => Datasets.TimeseriesWindows(d, null, 2, startIndex: 4, endIndex: 4));
        Assert.Throws<ArgumentOutOfRangeException>("endIndex", () => Datasets.TimeseriesWindows(d, null, 2, endIndex: 11));
        var ex = Assert.Throws<ArgumentException>("sequenceLength", () => Datasets.TimeseriesWindows(d, null, 6, samplingRate: 2));
        Assert.Contains("[10]", ex.Message);
        Assert.Throws<ArgumentException>("data", () => Datasets.TimeseriesWindows(new Tensor<float>(2, 3, 4), null, 1));
        // Exactly one window fits.
        Assert.Equal(1, Datasets.TimeseriesWindows(d, null, 4, samplingRate: 3).Inputs.Shape[0]);
    }

    [Fact]
    public void ToCategorical_OneHotsWholeLabels_AndRejectsOthers()
    {
        var y = Datasets.ToCategorical(Tensor<float>.FromArray([2f, 0f, 1f, 2f], 4, 1));
        Assert.Equal(new TensorShape(4, 3), y.Shape);
        Assert.Equal([0f, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1], y.ToArray());
        Assert.Equal(new TensorShape(2, 5), Datasets.ToCategorical(Tensor<double>.FromArray([4.0, 1.0], 2), 5).Shape);
        var ex = Assert.Throws<ArgumentException>("labels", () => Datasets.ToCategorical(Tensor<float>.FromArray([1f, 1.5f], 2)));
        Assert.Contains("labels[1] = 1.5", ex.Message);
        Assert.Throws<ArgumentException>("labels", () => Datasets.ToCategorical(Tensor<float>.FromArray([3f], 1), 3));
        Assert.Throws<ArgumentException>("labels", () => Datasets.ToCategorical(Tensor<float>.FromArray([-1f], 1)));
        Assert.Throws<ArgumentException>("labels", () => Datasets.ToCategorical(new Tensor<float>(2, 2)));
    }
}
