using System.Globalization;
using System.Text.Json.Nodes;
using Nn.Simd.Cli.Data;
using Spectre.Console;

namespace Nn.Simd.Cli.Experiments;

/// <summary>
/// Runs the experiments. For now each one loads its data and prints a summary of it (a table, and with
/// <c>--json</c> a one-line JSON object as the last line of standard output); training comes with the
/// Training library.
/// </summary>
/// <param name="console">Where tables go.</param>
/// <param name="output">Standard output, for the JSON line.</param>
public sealed class ExperimentRunner(IAnsiConsole console, TextWriter output)
{
    /// <summary>Generates the spiral training set and a fresh test set (the generator's stream continues) and summarises them.</summary>
    /// <returns>The exit code.</returns>
    public int RunSpiral(SpiralSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var rng = new NumPyRandomState(unchecked((uint)settings.Common.Seed));
        SpiralDataset train = SpiralData.Generate(settings.Samples, settings.Classes, rng);
        SpiralDataset test = SpiralData.Generate(settings.Samples, settings.Classes, rng);

        var table = new Table().Title(Markup.Escape($"spiral (nnfs), seed {settings.Common.Seed}"))
            .AddColumns("set", "points", "shape", "class counts", "x range", "y range");
        foreach (var (name, set) in new[] { ("train", train), ("test", test) })
        {
            var (xMin, xMax, yMin, yMax) = Ranges(set.Features);
            AddRow(table, name, N(set.Count), $"[{set.Count}, 2]", string.Join(" / ", set.ClassCounts()),
                $"{xMin:F3} .. {xMax:F3}", $"{yMin:F3} .. {yMax:F3}");
        }
        console.Write(table);

        if (settings.Common.Json)
        {
            var json = new JsonObject
            {
                ["experiment"] = "spiral",
                ["model"] = settings.Common.Model,
                ["seed"] = settings.Common.Seed,
                ["train"] = SetJson(train.Count, [train.Count, 2], train.ClassCounts()),
                ["test"] = SetJson(test.Count, [test.Count, 2], test.ClassCounts()),
            };
            output.WriteLine(json.ToJsonString());
        }
        return 0;
    }

    /// <summary>Loads the stock CSV, builds the windows and reports the naive forecast's error on the test slice.</summary>
    /// <returns>The exit code.</returns>
    public int RunStock(StockSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        string path = settings.CsvPath ?? new DataLocator(settings.Common.DataDirectory).FindStockCsv();
        StockSeries series = StockSeries.Load(path);
        DateOnly? from = settings.From ?? (settings.CsvPath is null ? StockSeries.DefaultFrom : null);
        DateOnly? to = settings.To ?? (settings.CsvPath is null ? StockSeries.DefaultTo : null);
        if (from is not null || to is not null)
            series = series.Between(from ?? DateOnly.MinValue, to ?? DateOnly.MaxValue);
        StockDataset data = StockDataset.Create(series, settings.Window);
        ForecastErrors naive = ForecastErrors.Naive(data.Test);

        var rows = series.Rows;
        int trainRows = data.TrainRowCount;
        var table = new Table().Title(Markup.Escape($"{Path.GetFileName(path)}: {N(series.Count)} rows, window {settings.Window}"))
            .AddColumns("slice", "rows", "dates", "windows", "inputs shape");
        AddRow(table, "train (slices 1-4)", N(trainRows), $"{rows[0].Date:yyyy-MM-dd} .. {rows[trainRows - 1].Date:yyyy-MM-dd}",
            N(data.Train.Count), $"[{data.Train.Count}, {settings.Window}, {data.Train.Features}]");
        AddRow(table, "test (slice 5)", N(data.TestRowCount), $"{rows[trainRows].Date:yyyy-MM-dd} .. {rows[^1].Date:yyyy-MM-dd}",
            N(data.Test.Count), $"[{data.Test.Count}, {settings.Window}, {data.Test.Features}]");
        console.Write(table);
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Naive forecast (tomorrow = today's close) on the test slice: RMSE {naive.Rmse:F4} $, MAE {naive.Mae:F4} $"));

        if (settings.Common.Json)
        {
            var json = new JsonObject
            {
                ["experiment"] = "stock",
                ["model"] = settings.Common.Model,
                ["csv"] = path,
                ["rows"] = series.Count,
                ["from"] = rows[0].Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                ["to"] = rows[^1].Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                ["window"] = settings.Window,
                ["trainRows"] = trainRows,
                ["testRows"] = data.TestRowCount,
                ["trainWindows"] = data.Train.Count,
                ["testWindows"] = data.Test.Count,
                ["naiveTestRmse"] = naive.Rmse,
                ["naiveTestMae"] = naive.Mae,
            };
            output.WriteLine(json.ToJsonString());
        }
        return 0;
    }

    /// <summary>Finds and loads Fashion-MNIST under the chosen protocol and summarises the subsets.</summary>
    /// <returns>The exit code.</returns>
    public int RunFashion(FashionSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        string dir = new DataLocator(settings.Common.DataDirectory).FindFashionMnist();
        FashionMnistData data = FashionMnist.Load(dir, settings.Protocol, settings.Limit);

        string protocol = settings.Protocol.ToString().ToLowerInvariant();
        var table = new Table().Title(Markup.Escape($"Fashion-MNIST ({protocol} protocol) from {dir}"))
            .AddColumns("set", "images", "shape", "class counts (0-9)");
        foreach (var (name, set) in new[] { ("train", data.Train), ("validation", data.Validation), ("test", data.Test) })
        {
            AddRow(table, name, N(set.Count), $"[{set.Count}, {set.Height}, {set.Width}]", string.Join(" ", set.ClassCounts()));
        }
        console.Write(table);

        if (settings.Common.Json)
        {
            var json = new JsonObject
            {
                ["experiment"] = "fashion",
                ["model"] = settings.Common.Model,
                ["protocol"] = protocol,
                ["directory"] = dir,
                ["train"] = SetJson(data.Train.Count, [data.Train.Count, data.Train.Height, data.Train.Width], data.Train.ClassCounts()),
                ["validation"] = SetJson(data.Validation.Count, [data.Validation.Count, data.Validation.Height, data.Validation.Width], data.Validation.ClassCounts()),
                ["test"] = SetJson(data.Test.Count, [data.Test.Count, data.Test.Height, data.Test.Width], data.Test.ClassCounts()),
            };
            output.WriteLine(json.ToJsonString());
        }
        return 0;
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

    /// <summary>Adds a row of plain-text cells (no Spectre markup, so brackets in shapes are literal).</summary>
    private static void AddRow(Table table, params string[] cells) =>
        table.AddRow(cells.Select(c => (Spectre.Console.Rendering.IRenderable)new Text(c)));

    private static JsonObject SetJson(int rows, int[] shape, int[] classCounts) => new()
    {
        ["rows"] = rows,
        ["shape"] = new JsonArray([.. shape.Select(s => (JsonNode?)s)]),
        ["classCounts"] = new JsonArray([.. classCounts.Select(c => (JsonNode?)c)]),
    };

    private static (float XMin, float XMax, float YMin, float YMax) Ranges(float[] xy)
    {
        float xMin = float.PositiveInfinity, xMax = float.NegativeInfinity, yMin = float.PositiveInfinity, yMax = float.NegativeInfinity;
        for (int i = 0; i < xy.Length; i += 2)
        {
            xMin = Math.Min(xMin, xy[i]);
            xMax = Math.Max(xMax, xy[i]);
            yMin = Math.Min(yMin, xy[i + 1]);
            yMax = Math.Max(yMax, xy[i + 1]);
        }
        return (xMin, xMax, yMin, yMax);
    }

    private static string N(int value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
