using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Nn.Simd.Cli.Data;
using Nn.Simd.Cli.Experiments.SideBySide;
using Nn.Simd.Layers;
using Nn.Simd.Reference;
using Nn.Simd.Tensors;
using Nn.Simd.Training;
using Nn.Simd.Training.Losses;
using Nn.Simd.Training.Optimizers;
using Spectre.Console;

namespace Nn.Simd.Cli.Experiments;

/// <summary>
/// Runs the experiments side by side: the Nn.Simd model and the same architecture in TorchSharp, from the same
/// initial weights, on the same batches in the same order, with the same optimizer (Keras' Adam) and learning rate.
/// Each run draws progress, then prints a results table (metrics, training time, throughput, memory), writes PNG
/// plots and <c>summary.json</c> to the output directory, and with <c>--json</c> prints the summary as the last
/// line of standard output.
/// </summary>
/// <param name="console">Where tables and progress go.</param>
/// <param name="output">Standard output, for plain progress lines and the JSON line.</param>
/// <param name="interactive">Whether to draw live progress bars (a terminal) rather than plain per-epoch lines.</param>
public sealed class ExperimentRunner(IAnsiConsole console, TextWriter output, bool interactive = false)
{
    /// <summary>The summary file written to the output directory.</summary>
    public const string SummaryFileName = "summary.json";

    /// <summary>Trains a 2-64-K ReLU/softmax network on the nnfs spiral and tests it on freshly generated points.</summary>
    /// <returns>The exit code.</returns>
    public int RunSpiral(SpiralSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var common = settings.Common;
        var rng = new NumPyRandomState(unchecked((uint)common.Seed));
        SpiralDataset train = SpiralData.Generate(settings.Samples, settings.Classes, rng);
        SpiralDataset test = SpiralData.Generate(settings.Samples, settings.Classes, rng);

        var model = new Sequential<float>(new Dense<float>(64, "relu"), new Dense<float>(settings.Classes, "softmax")) { Seed = common.Seed, Threads = common.Threads };
        model.Build(2);
        model.Compile(new SparseCategoricalCrossEntropy<float>(), new Adam(common.LearningRate));
        var data = new TrainingSet(train.Features, [2], [.. train.Labels.Select(l => (float)l)], TargetKind.SparseLabels);
        int batch = common.BatchSize ?? train.Count;

        string outDir = common.OutputDirectory;
        var files = new List<string>();
        var outcomes = RunEngines(common, model, data, batch, afterEpoch: null, (engine, run) =>
        {
            int[] trainPred = ArgMax(engine.Predict(train.Features, train.Count), settings.Classes);
            int[] testPred = ArgMax(engine.Predict(test.Features, test.Count), settings.Classes);
            var metrics = new Dictionary<string, double>
            {
                ["testAccuracy"] = Accuracy(testPred, test.Labels),
                ["trainAccuracy"] = Accuracy(trainPred, train.Labels),
            };
            var extent = Extent(train.Features, test.Features);
            const int Grid = 150;
            var grid = new float[Grid * Grid * 2];
            for (int r = 0; r < Grid; r++)
                for (int c = 0; c < Grid; c++)
                {
                    grid[(r * Grid + c) * 2] = (float)(extent.XMin + (c + 0.5) * (extent.XMax - extent.XMin) / Grid);
                    grid[(r * Grid + c) * 2 + 1] = (float)(extent.YMin + (r + 0.5) * (extent.YMax - extent.YMin) / Grid);
                }
            int[] gridPred = ArgMax(engine.Predict(grid, Grid * Grid), settings.Classes);
            var classes = new int[Grid, Grid];
            for (int r = 0; r < Grid; r++)
                for (int c = 0; c < Grid; c++) classes[r, c] = gridPred[r * Grid + c];
            string path = Path.Combine(outDir, $"spiral-regions-{engine.Key}.png");
            Plots.DecisionRegions(path, string.Create(CultureInfo.InvariantCulture,
                $"{engine.Name}: decision regions, test points (test accuracy {metrics["testAccuracy"]:P1})"),
                classes, extent, test.Features, test.Labels, settings.Classes);
            files.Add(path);
            return new EngineOutcome(run, metrics);
        });

        string lossPath = Path.Combine(outDir, "spiral-loss.png");
        Plots.Loss(lossPath, "spiral: training loss", [.. outcomes.Select(o => o.Run)]);
        files.Add(lossPath);

        WriteTable($"spiral (nnfs): {N(train.Count)} train / {N(test.Count)} fresh test points, Dense 2-64-{settings.Classes}, " +
            $"{common.Epochs} epochs, batch {Math.Min(batch, train.Count)}, Adam lr {common.LearningRate.ToString(CultureInfo.InvariantCulture)}",
            outcomes, [("test accuracy", "testAccuracy", Percent), ("train accuracy", "trainAccuracy", Percent)]);

        var json = Summary("spiral", common, outcomes, files);
        json["settings"]!["samples"] = settings.Samples;
        json["settings"]!["classes"] = settings.Classes;
        json["settings"]!["batchSize"] = Math.Min(batch, train.Count);
        json["train"] = SetJson(train.Count, [train.Count, 2], train.ClassCounts());
        json["test"] = SetJson(test.Count, [test.Count, 2], test.ClassCounts());
        return Finish(json, outDir, common.Json);
    }

    /// <summary>Forecasts GOOG's next-day close with a SimpleRNN, LSTM or GRU on 60-day windows; compares with the naive forecast.</summary>
    /// <returns>The exit code.</returns>
    public int RunStock(StockSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var common = settings.Common;
        string path = settings.CsvPath ?? new DataLocator(common.DataDirectory).FindStockCsv();
        StockSeries series = StockSeries.Load(path);
        DateOnly? from = settings.From ?? (settings.CsvPath is null ? StockSeries.DefaultFrom : null);
        DateOnly? to = settings.To ?? (settings.CsvPath is null ? StockSeries.DefaultTo : null);
        if (from is not null || to is not null)
            series = series.Between(from ?? DateOnly.MinValue, to ?? DateOnly.MaxValue);
        StockDataset ds = StockDataset.Create(series, settings.Window);
        ForecastErrors naive = ForecastErrors.Naive(ds.Test);

        const int Units = 50;
        RecurrentLayer<float> recurrent = common.Model switch
        {
            "rnn" => new SimpleRnn<float>(Units),
            "gru" => new Gru<float>(Units),
            _ => new Lstm<float>(Units),
        };
        var model = new Sequential<float>(recurrent, new Dense<float>(1)) { Seed = common.Seed, Threads = common.Threads };
        model.Build(settings.Window, ds.Train.Features);
        model.Compile(new MeanSquaredError<float>(), new Adam(common.LearningRate));
        var data = new TrainingSet(ds.Train.Inputs, [settings.Window, ds.Train.Features], ds.Train.Targets, TargetKind.Regression);
        int batch = common.BatchSize ?? 32;

        string outDir = common.OutputDirectory;
        var files = new List<string>();
        var forecasts = new List<(string Name, double[] Values)>();
        var outcomes = RunEngines(common, model, data, batch, afterEpoch: null, (engine, run) =>
        {
            float[] scaled = engine.Predict(ds.Test.Inputs, ds.Test.Count);
            double[] dollars = [.. scaled.Select(v => ds.InverseClose(v))];
            var errors = ForecastErrors.Of(ds.Test.TargetCloses, dollars);
            forecasts.Add((engine.Name, dollars));
            return new EngineOutcome(run, new Dictionary<string, double> { ["testRmse"] = errors.Rmse, ["testMae"] = errors.Mae });
        });
        forecasts.Add(("naive (previous close)", ds.Test.PreviousCloses));
        string plotPath = Path.Combine(outDir, $"stock-{common.Model}-forecast.png");
        Plots.Forecast(plotPath, $"{Path.GetFileNameWithoutExtension(path)}: test slice, {common.Model.ToUpperInvariant()}({Units}) vs naive",
            ds.Test.TargetDates, ds.Test.TargetCloses, forecasts);
        files.Add(plotPath);
        string lossPath = Path.Combine(outDir, $"stock-{common.Model}-loss.png");
        Plots.Loss(lossPath, $"stock {common.Model}: training loss (MSE, scaled)", [.. outcomes.Select(o => o.Run)]);
        files.Add(lossPath);

        var rows = series.Rows;
        WriteTable($"{Path.GetFileName(path)} {rows[0].Date:yyyy-MM-dd}..{rows[^1].Date:yyyy-MM-dd}: {N(ds.Train.Count)} train / {N(ds.Test.Count)} test windows of {settings.Window} days, " +
            $"{common.Model.ToUpperInvariant()}({Units}) -> Dense(1), {common.Epochs} epochs, batch {batch}, Adam lr {common.LearningRate.ToString(CultureInfo.InvariantCulture)}",
            outcomes, [("test RMSE ($)", "testRmse", Dollars), ("test MAE ($)", "testMae", Dollars)],
            extraRow: ["naive (previous close)", Dollars(naive.Rmse), Dollars(naive.Mae)]);

        var json = Summary("stock", common, outcomes, files);
        json["settings"]!["window"] = settings.Window;
        json["settings"]!["units"] = Units;
        json["settings"]!["layer"] = recurrent.TypeName;
        json["settings"]!["batchSize"] = batch;
        json["csv"] = path;
        json["rows"] = series.Count;
        json["from"] = rows[0].Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        json["to"] = rows[^1].Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        json["trainRows"] = ds.TrainRowCount;
        json["testRows"] = ds.TestRowCount;
        json["trainWindows"] = ds.Train.Count;
        json["testWindows"] = ds.Test.Count;
        json["naiveTestRmse"] = naive.Rmse;
        json["naiveTestMae"] = naive.Mae;
        return Finish(json, outDir, common.Json);
    }

    /// <summary>Classifies Fashion-MNIST with an MLP, the original study's sigmoid-output MLP, an LSTM over image rows, or a
    /// small CNN on channels-last <c>[28, 28, 1]</c> images.</summary>
    /// <returns>The exit code.</returns>
    public int RunFashion(FashionSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var common = settings.Common;
        string dir = new DataLocator(common.DataDirectory).FindFashionMnist();
        FashionMnistData fm = FashionMnist.Load(dir, settings.Protocol, settings.Limit);
        string protocol = settings.Protocol.ToString().ToLowerInvariant();
        var train = fm.Train;

        int[] sampleShape = common.Model switch
        {
            "lstm" => [train.Height, train.Width],
            "cnn" => [train.Height, train.Width, 1],
            _ => [train.Features],
        };
        var (layers, description) = common.Model switch
        {
            "lstm" => (new ILayer<float>[] { new Lstm<float>(128), new Dense<float>(10, "softmax") }, "LSTM(128) over 28 rows -> Dense(10, softmax)"),
            "cnn" => ([new Conv2D<float>(16, (3, 3), activation: "relu"), new MaxPooling2D<float>(), new Conv2D<float>(32, (3, 3), activation: "relu"),
                new MaxPooling2D<float>(), new Flatten<float>(), new Dense<float>(10, "softmax")],
                "Conv2D(16, 3x3, relu) -> MaxPooling2D(2) -> Conv2D(32, 3x3, relu) -> MaxPooling2D(2) -> Flatten -> Dense(10, softmax)"),
            "seed" => ([new Dense<float>(128, "relu"), new Dense<float>(64, "relu"), new Dense<float>(10, "sigmoid")], "Dense 784-128-64-10, relu/relu/sigmoid"),
            _ => ([new Dense<float>(128, "relu"), new Dense<float>(64, "relu"), new Dense<float>(10, "softmax")], "Dense 784-128-64-10, relu/relu/softmax"),
        };
        var model = new Sequential<float>(layers) { Seed = common.Seed, Threads = common.Threads };
        model.Build(sampleShape);
        model.Compile(new SparseCategoricalCrossEntropy<float>(), new Adam(common.LearningRate));
        var data = new TrainingSet(train.Pixels, sampleShape, [.. train.Labels.Select(l => (float)l)], TargetKind.SparseLabels);
        int batch = common.BatchSize ?? 128;

        var validation = fm.Validation;
        var validationAccuracy = new Dictionary<string, double>();
        Func<IEngine, int, string?>? afterEpoch = validation.Count == 0 ? null : (engine, epoch) =>
        {
            double acc = Accuracy(ArgMax(engine.Predict(validation.Pixels, validation.Count), 10), validation.Labels);
            validationAccuracy[engine.Key] = acc;
            return string.Create(CultureInfo.InvariantCulture, $"val acc {acc:P2}");
        };

        string outDir = common.OutputDirectory;
        string stem = $"fashion-{protocol}-{common.Model}";
        var files = new List<string>();
        var predictions = new List<(string Name, int[] Predicted)>();
        var test = fm.Test;
        var confusions = new List<(string Name, int[,] Matrix)>();
        var outcomes = RunEngines(common, model, data, batch, afterEpoch, (engine, run) =>
        {
            int[] predicted = ArgMax(engine.Predict(test.Pixels, test.Count), 10);
            predictions.Add((engine.Name, predicted));
            var confusion = new int[10, 10];
            for (int i = 0; i < predicted.Length; i++) confusion[test.Labels[i], predicted[i]]++;
            confusions.Add((engine.Name, confusion));
            string path = Path.Combine(outDir, $"{stem}-confusion-{engine.Key}.png");
            double acc = Accuracy(predicted, test.Labels);
            Plots.Confusion(path, string.Create(CultureInfo.InvariantCulture, $"{engine.Name}: test confusion matrix (accuracy {acc:P2})"), confusion, FashionMnist.ClassNames);
            files.Add(path);
            var metrics = new Dictionary<string, double> { ["testAccuracy"] = acc };
            if (validationAccuracy.TryGetValue(engine.Key, out double va)) metrics["validationAccuracy"] = va;
            return new EngineOutcome(run, metrics);
        });

        int shown = Math.Min(24, test.Count);
        int[] indices = [.. Enumerable.Range(0, shown).Select(i => (int)((long)i * test.Count / shown))];
        string gridPath = Path.Combine(outDir, $"{stem}-predictions.png");
        Plots.ImageGrid(gridPath, $"Fashion-MNIST test images ({common.Model}, {protocol} protocol)", test.Pixels, test.Height, test.Width, indices, test.Labels,
            predictions, FashionMnist.ClassNames, columns: 6);
        files.Add(gridPath);
        string lossPath = Path.Combine(outDir, $"{stem}-loss.png");
        Plots.Loss(lossPath, $"Fashion-MNIST {common.Model} ({protocol}): training loss", [.. outcomes.Select(o => o.Run)]);
        files.Add(lossPath);

        var metricColumns = new List<(string, string, Func<double, string>)> { ("test accuracy", "testAccuracy", Percent) };
        if (validation.Count > 0) metricColumns.Add(("validation accuracy", "validationAccuracy", Percent));
        WriteTable($"Fashion-MNIST ({protocol}): {N(train.Count)} train / {N(validation.Count)} validation / {N(test.Count)} test, {description}, " +
            $"{common.Epochs} epochs, batch {batch}, Adam lr {common.LearningRate.ToString(CultureInfo.InvariantCulture)}", outcomes, metricColumns);
        foreach (var (name, matrix) in confusions) WriteConfusion(name, matrix);

        var json = Summary("fashion", common, outcomes, files);
        json["settings"]!["protocol"] = protocol;
        json["settings"]!["limit"] = settings.Limit;
        json["settings"]!["batchSize"] = batch;
        json["settings"]!["architecture"] = description;
        json["directory"] = dir;
        json["train"] = SetJson(train.Count, [train.Count, train.Height, train.Width], train.ClassCounts());
        json["validation"] = SetJson(validation.Count, [validation.Count, validation.Height, validation.Width], validation.ClassCounts());
        json["test"] = SetJson(test.Count, [test.Count, test.Height, test.Width], test.ClassCounts());
        foreach (var (name, matrix) in confusions)
        {
            var key = outcomes.First(o => o.Run.Name == name).Run.Key;
            var rowsJson = new JsonArray();
            for (int r = 0; r < 10; r++) rowsJson.Add(new JsonArray([.. Enumerable.Range(0, 10).Select(c => (JsonNode?)matrix[r, c])]));
            json["engines"]![key]!["confusion"] = rowsJson;
        }
        return Finish(json, outDir, common.Json);
    }

    /// <summary>Downloads a data set.</summary>
    /// <returns>The exit code.</returns>
    public int RunFetch(FetchSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        string dataDir = settings.DataDirectory ?? Path.Combine(Environment.CurrentDirectory, "data");
        string target = Path.Combine(dataDir, DataLocator.FashionSubfolder);
        var outcomes = FashionMnistFetcher.FetchAsync(target, settings.BaseUrl, output).GetAwaiter().GetResult();
        output.WriteLine($"fashion-mnist: {outcomes.Count} files ready in {Path.GetFullPath(target)}.");
        return 0;
    }

    /// <summary>One engine's training record and its test metrics.</summary>
    private sealed record EngineOutcome(EngineRun Run, IReadOnlyDictionary<string, double> Metrics);

    /// <summary>
    /// Trains Nn.Simd and (unless <c>--no-reference</c>) TorchSharp from the model's current weights on the same
    /// schedule, then lets <paramref name="evaluate"/> compute each engine's metrics and plots.
    /// </summary>
    private List<EngineOutcome> RunEngines(CommonSettings common, Sequential<float> model, TrainingSet data, int batchSize,
        Func<IEngine, int, string?>? afterEpoch, Func<IEngine, EngineRun, EngineOutcome> evaluate)
    {
        int savedDegree = Parallelism.MaxDegree;
        if (common.Threads is int t) Parallelism.MaxDegree = t;
        var engines = new List<IEngine>();
        try
        {
            // The reference copies the initial weights now, before Nn.Simd trains them in place.
            engines.Add(new NnSimdEngine(model, data));
            if (!common.NoReference) engines.Add(CreateTorchEngine(common, model, data));
            var schedule = new EpochSchedule(data.Count, batchSize, common.Epochs, unchecked(common.Seed + 1));
            var runs = new List<EngineRun>();
            if (interactive)
            {
                console.Progress().AutoClear(false).HideCompleted(false)
                    .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                        new ElapsedTimeColumn(), new RemainingTimeColumn())
                    .Start(ctx =>
                    {
                        var reporter = new SpectreReporter(ctx);
                        foreach (var e in engines) runs.Add(TwinTrainer.Train(e, schedule, reporter, afterEpoch));
                    });
            }
            else
            {
                var reporter = new PlainReporter(output);
                foreach (var e in engines) runs.Add(TwinTrainer.Train(e, schedule, reporter, afterEpoch));
            }
            var outcomes = new List<EngineOutcome>();
            for (int i = 0; i < engines.Count; i++) outcomes.Add(evaluate(engines[i], runs[i]));
            return outcomes;
        }
        finally
        {
            foreach (var e in engines) e.Dispose();
            Parallelism.MaxDegree = savedDegree;
        }
    }

    /// <summary>Kept out of line so a <c>--no-reference</c> run never touches libtorch.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static IEngine CreateTorchEngine(CommonSettings common, Sequential<float> model, TrainingSet data)
    {
        TorchEngine.SetThreads(common.Threads ?? Environment.ProcessorCount);
        IReadOnlyList<LayerSpec> specs = ReferenceMirror.Specs(model);
        return new TorchEngine(specs, data, common.LearningRate);
    }

    private void WriteTable(string title, IReadOnlyList<EngineOutcome> outcomes, IReadOnlyList<(string Header, string Key, Func<double, string> Format)> metrics,
        string[]? extraRow = null)
    {
        var table = new Table().Title(Markup.Escape(title)).AddColumn("engine");
        foreach (var m in metrics) table.AddColumn(new TableColumn(Markup.Escape(m.Header)).RightAligned());
        foreach (string h in new[] { "final train loss", "train time (s)", "samples/s", "peak RSS rise (MiB)", "managed alloc (MiB)" })
            table.AddColumn(new TableColumn(Markup.Escape(h)).RightAligned());
        foreach (var o in outcomes)
        {
            var cells = new List<string> { o.Run.Name };
            foreach (var m in metrics) cells.Add(o.Metrics.TryGetValue(m.Key, out double v) ? m.Format(v) : "-");
            cells.Add(F(o.Run.FinalLoss, "F5"));
            cells.Add(F(o.Run.TrainSeconds, "F2"));
            cells.Add(F(o.Run.SamplesPerSecond, "N0"));
            cells.Add(F(o.Run.PeakRssRiseBytes / 1048576.0, "F1"));
            cells.Add(F(o.Run.ManagedAllocatedBytes / 1048576.0, "F1"));
            AddRow(table, [.. cells]);
        }
        if (extraRow is not null)
            AddRow(table, [.. extraRow, .. Enumerable.Repeat("", 1 + metrics.Count + 5 - extraRow.Length)]);
        table.Caption(Markup.Escape(
            "train time: optimizer steps only (per-epoch validation excluded). peak RSS rise: highest sampled resident set during that engine's " +
            "training minus the resident set when it began (both engines share one process). managed alloc: GC bytes allocated while training " +
            "(libtorch's native memory is not counted)."));
        console.Write(table);
    }

    private void WriteConfusion(string engine, int[,] matrix)
    {
        var table = new Table().Title(Markup.Escape($"{engine}: confusion matrix (rows true, columns predicted)")).AddColumn("true \\ predicted");
        for (int c = 0; c < 10; c++) table.AddColumn(new TableColumn(c.ToString(CultureInfo.InvariantCulture)).RightAligned());
        for (int r = 0; r < 10; r++)
            AddRow(table, [$"{r} {FashionMnist.ClassNames[r]}", .. Enumerable.Range(0, 10).Select(c => matrix[r, c].ToString(CultureInfo.InvariantCulture))]);
        console.Write(table);
    }

    private static JsonObject Summary(string experiment, CommonSettings common, IReadOnlyList<EngineOutcome> outcomes, List<string> files)
    {
        var engines = new JsonObject();
        foreach (var o in outcomes)
        {
            var e = new JsonObject
            {
                ["name"] = o.Run.Name,
                ["epochs"] = o.Run.Epochs,
                ["trainSeconds"] = o.Run.TrainSeconds,
                ["samplesPerSecond"] = o.Run.SamplesPerSecond,
                ["finalTrainLoss"] = o.Run.FinalLoss,
                ["peakRssRiseMiB"] = o.Run.PeakRssRiseBytes / 1048576.0,
                ["managedAllocatedMiB"] = o.Run.ManagedAllocatedBytes / 1048576.0,
            };
            foreach (var (k, v) in o.Metrics) e[k] = v;
            engines[o.Run.Key] = e;
        }
        return new JsonObject
        {
            ["experiment"] = experiment,
            ["model"] = common.Model,
            ["seed"] = common.Seed,
            ["settings"] = new JsonObject
            {
                ["model"] = common.Model,
                ["epochs"] = common.Epochs,
                ["learningRate"] = common.LearningRate,
                ["optimizer"] = "adam (keras epsilon-hat, both engines)",
                ["seed"] = common.Seed,
                ["threads"] = common.Threads ?? Environment.ProcessorCount,
                ["reference"] = !common.NoReference,
            },
            ["engines"] = engines,
            ["processPeakWorkingSetMiB"] = System.Diagnostics.Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0,
            ["files"] = new JsonArray([.. files.Select(f => (JsonNode?)Path.GetFullPath(f))]),
        };
    }

    private int Finish(JsonObject json, string outDir, bool printJson)
    {
        string summaryPath = Path.Combine(outDir, SummaryFileName);
        ((JsonArray)json["files"]!).Add(Path.GetFullPath(summaryPath));
        OutputFiles.WriteAtomically(summaryPath, JsonSerializer.SerializeToUtf8Bytes(json, new JsonSerializerOptions { WriteIndented = true }));
        console.WriteLine($"Plots and {SummaryFileName} written to {Path.GetFullPath(outDir)}");
        if (json["settings"]!["reference"]!.GetValue<bool>() is false)
            console.WriteLine("TorchSharp reference skipped (--no-reference).");
        if (printJson) output.WriteLine(json.ToJsonString());
        return 0;
    }

    private static int[] ArgMax(float[] outputs, int classes)
    {
        int n = outputs.Length / classes;
        var result = new int[n];
        for (int i = 0; i < n; i++)
        {
            var row = outputs.AsSpan(i * classes, classes);
            int best = 0;
            for (int k = 1; k < classes; k++) if (row[k] > row[best]) best = k;
            result[i] = best;
        }
        return result;
    }

    private static double Accuracy(int[] predicted, byte[] labels)
    {
        int hits = 0;
        for (int i = 0; i < predicted.Length; i++) if (predicted[i] == labels[i]) hits++;
        return predicted.Length == 0 ? double.NaN : (double)hits / predicted.Length;
    }

    private static (double XMin, double XMax, double YMin, double YMax) Extent(params float[][] sets)
    {
        double xMin = double.PositiveInfinity, xMax = double.NegativeInfinity, yMin = double.PositiveInfinity, yMax = double.NegativeInfinity;
        foreach (var xy in sets)
            for (int i = 0; i < xy.Length; i += 2)
            {
                xMin = Math.Min(xMin, xy[i]);
                xMax = Math.Max(xMax, xy[i]);
                yMin = Math.Min(yMin, xy[i + 1]);
                yMax = Math.Max(yMax, xy[i + 1]);
            }
        double mx = 0.1 * (xMax - xMin), my = 0.1 * (yMax - yMin);
        return (xMin - mx, xMax + mx, yMin - my, yMax + my);
    }

    /// <summary>Adds a row of plain-text cells (no Spectre markup, so brackets in shapes are literal).</summary>
    private static void AddRow(Table table, params string[] cells) =>
        table.AddRow(cells.Select(c => (Spectre.Console.Rendering.IRenderable)new Text(c)));

    private static JsonObject SetJson(int rows, int[] shape, int[] classCounts) => new()
    {
        ["rows"] = rows,
        ["shape"] = new JsonArray([.. shape.Select(s => (JsonNode?)s)]),
        ["classCounts"] = new JsonArray([.. classCounts.Select(c => (JsonNode?)c)]),
    };

    private static string Percent(double v) => v.ToString("P2", CultureInfo.InvariantCulture);

    private static string Dollars(double v) => v.ToString("F3", CultureInfo.InvariantCulture);

    private static string F(double v, string format) => double.IsFinite(v) ? v.ToString(format, CultureInfo.InvariantCulture) : "-";

    private static string N(int value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
