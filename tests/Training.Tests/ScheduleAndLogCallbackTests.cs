using Nn.Simd.Training.Callbacks;
using Nn.Simd.Training.Optimizers;

namespace Nn.Simd.Training.Tests;

public sealed class ScheduleAndLogCallbackTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nn-cb").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void LearningRateScheduler_SetsTheRateBeforeEachEpoch()
    {
        var (x, labels, _) = TestData.Blobs(40, 1);
        var model = TestData.SmallMlp(1);
        var sgd = new Sgd(0.1);
        model.Compile("sparse_categorical_crossentropy", sgd);
        var seen = new List<(int, double)>();
        var log = new LambdaCallback { EpochBegin = e => seen.Add((e, sgd.LearningRate)) };
        model.Fit(x, labels, epochs: 4, batchSize: 20,
            callbacks: [new LearningRateScheduler((epoch, lr) => epoch < 2 ? lr : lr * 0.5), log]);
        Assert.Equal([(0, 0.1), (1, 0.1), (2, 0.05), (3, 0.025)], seen);

        var bad = new LearningRateScheduler((epoch, _) => epoch == 1 ? -1 : 0.1);
        var e = Assert.Throws<InvalidOperationException>(() => model.Fit(x, labels, epochs: 3, callbacks: [bad]));
        Assert.Contains("epoch 1", e.Message);
        Assert.Contains("-1", e.Message);
    }

    [Fact]
    public void CsvLogger_WritesAHeaderAndOneRowPerEpoch_AndAppends()
    {
        var (x, labels, _) = TestData.Blobs(40, 2);
        var model = TestData.SmallMlp(2);
        model.Compile("sparse_categorical_crossentropy", "adam", "accuracy");
        string path = Path.Combine(_dir, "log.csv");
        var history = model.Fit(x, labels, epochs: 3, batchSize: 10, validationSplit: 0.25, callbacks: [new CsvLogger(path)]);
        var lines = File.ReadAllLines(path);
        Assert.Equal("epoch,accuracy,loss,val_accuracy,val_loss", lines[0]);
        Assert.Equal(4, lines.Length);
        var row = lines[3].Split(',');
        Assert.Equal("2", row[0]);
        Assert.Equal(history["loss"][2], double.Parse(row[2], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(history["val_loss"][2], double.Parse(row[4], System.Globalization.CultureInfo.InvariantCulture));

        model.Fit(x, labels, epochs: 2, batchSize: 10, validationSplit: 0.25, callbacks: [new CsvLogger(path, append: true)]);
        lines = File.ReadAllLines(path);
        Assert.Equal(6, lines.Length);
        Assert.Single(lines, l => l.StartsWith("epoch", StringComparison.Ordinal));
        model.Fit(x, labels, epochs: 1, batchSize: 10, callbacks: [new CsvLogger(path, separator: ';')]);
        var semi = File.ReadAllLines(path);   // a new run without append starts the file over
        Assert.Equal(2, semi.Length);
        Assert.Equal("epoch;accuracy;loss", semi[0]);
        Assert.StartsWith("0;", semi[1]);
    }
}
