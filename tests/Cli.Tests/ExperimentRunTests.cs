using System.Text.Json;
using Nn.Simd.Cli.Data;

namespace Nn.Simd.Cli.Tests;

/// <summary>A fact that is skipped when the Fashion-MNIST files cannot be found (the locator's usual places).</summary>
public sealed class FashionDataFactAttribute : FactAttribute
{
    public FashionDataFactAttribute()
    {
        try
        {
            new DataLocator(null).FindFashionMnist();
        }
        catch (DataException)
        {
            Skip = "Fashion-MNIST not found (see 'nnsimd fetch fashion-mnist'); searched: " + string.Join(", ", new DataLocator(null).FashionCandidates);
        }
    }
}

/// <summary>A fact that is skipped when the default GOOG CSV cannot be found.</summary>
public sealed class StockDataFactAttribute : FactAttribute
{
    public StockDataFactAttribute()
    {
        try
        {
            new DataLocator(null).FindStockCsv();
        }
        catch (DataException)
        {
            Skip = "The GOOG CSV was not found under any data directory: " + string.Join(", ", new DataLocator(null).DataDirectories);
        }
    }
}

/// <summary>
/// End to end: every experiment command trains on a tiny budget, with and without the TorchSharp reference, and
/// leaves a JSON summary (last stdout line and summary.json) and valid PNG plots.
/// </summary>
public class ExperimentRunTests : IDisposable
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
    private readonly TempDirectory _tmp = new();

    public void Dispose() => _tmp.Dispose();

    private (JsonElement Json, string Stdout) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CliApp.Run([.. args, "--json", "--out", _tmp.Path], o, e);
        string stdout = o.ToString();
        Assert.True(code == 0, $"exit {code}\nstderr: {e}\nstdout: {stdout}");
        Assert.Equal("", e.ToString());
        string last = stdout.TrimEnd().Split('\n')[^1];
        var json = JsonDocument.Parse(last).RootElement;

        // The file holds the same summary.
        var file = JsonDocument.Parse(File.ReadAllText(Path.Combine(_tmp.Path, "summary.json"))).RootElement;
        Assert.Equal(JsonSerializer.Serialize(json.GetProperty("engines")), JsonSerializer.Serialize(file.GetProperty("engines")));

        // Every listed file exists; every PNG is a real PNG with a header chunk and an end chunk.
        var files = json.GetProperty("files").EnumerateArray().Select(f => f.GetString()!).ToList();
        Assert.Contains(files, f => f.EndsWith(".png", StringComparison.Ordinal));
        foreach (string f in files)
        {
            Assert.True(File.Exists(f), f);
            if (!f.EndsWith(".png", StringComparison.Ordinal)) continue;
            byte[] bytes = File.ReadAllBytes(f);
            Assert.True(bytes.Length > 1000, $"{f} is only {bytes.Length} bytes");
            Assert.Equal(PngSignature, bytes[..8]);
            Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(bytes, 12, 4));
            Assert.Equal("IEND", System.Text.Encoding.ASCII.GetString(bytes, bytes.Length - 8, 4));
        }
        Assert.Empty(Directory.GetFiles(_tmp.Path, "*.tmp"));
        return (json, stdout);
    }

    private static JsonElement[] Engines(JsonElement json, bool reference)
    {
        var engines = json.GetProperty("engines");
        var keys = engines.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(reference ? ["nnsimd", "torchsharp"] : ["nnsimd"], keys);
        var result = keys.Select(k => engines.GetProperty(k)).ToArray();
        foreach (var e in result)
        {
            Assert.True(e.GetProperty("trainSeconds").GetDouble() > 0);
            Assert.True(e.GetProperty("samplesPerSecond").GetDouble() > 0);
            Assert.Equal(json.GetProperty("settings").GetProperty("epochs").GetInt32(), e.GetProperty("epochs").GetInt32());
            Assert.True(double.IsFinite(e.GetProperty("finalTrainLoss").GetDouble()));
            Assert.True(e.GetProperty("peakRssRiseMiB").GetDouble() >= 0);
            Assert.True(e.GetProperty("managedAllocatedMiB").GetDouble() > 0);
        }
        Assert.Equal(reference, json.GetProperty("settings").GetProperty("reference").GetBoolean());
        return result;
    }

    private static void InUnitRange(JsonElement engine, string metric)
    {
        double v = engine.GetProperty(metric).GetDouble();
        Assert.InRange(v, 0.0, 1.0);
    }

    [Fact]
    public void Spiral_BothEngines_LearnTheSameModel()
    {
        var (json, stdout) = Run("spiral", "--epochs", "60", "--lr", "0.02");
        var engines = Engines(json, reference: true);
        foreach (var e in engines)
        {
            InUnitRange(e, "testAccuracy");
            InUnitRange(e, "trainAccuracy");
            Assert.True(e.GetProperty("trainAccuracy").GetDouble() > 0.45, "60 full-batch Adam steps beat chance (1/3) clearly");
        }
        // Same start, same batches, same optimizer: the losses agree closely after 60 steps.
        Assert.Equal(engines[1].GetProperty("finalTrainLoss").GetDouble(), engines[0].GetProperty("finalTrainLoss").GetDouble(), 1e-3);
        Assert.Contains("Nn.Simd: epoch 60/60", stdout);
        Assert.Contains("TorchSharp: epoch 60/60", stdout);
        Assert.True(File.Exists(Path.Combine(_tmp.Path, "spiral-regions-nnsimd.png")));
        Assert.True(File.Exists(Path.Combine(_tmp.Path, "spiral-regions-torchsharp.png")));
    }

    [Fact]
    public void Spiral_NoReference_OnlyNnSimd()
    {
        var (json, stdout) = Run("spiral", "--epochs", "5", "--samples", "30", "--classes", "4", "--batch-size", "32", "--threads", "1", "--no-reference");
        var e = Assert.Single(Engines(json, reference: false));
        InUnitRange(e, "testAccuracy");
        Assert.Equal(1, json.GetProperty("settings").GetProperty("threads").GetInt32());
        Assert.Equal(32, json.GetProperty("settings").GetProperty("batchSize").GetInt32());
        Assert.DoesNotContain("TorchSharp:", stdout);
    }

    [StockDataFact]
    public void Stock_Lstm_BothEngines_AndNaive()
    {
        var (json, _) = Run("stock", "--model", "lstm", "--epochs", "1", "--window", "10", "--from", "2023-01-03");
        foreach (var e in Engines(json, reference: true))
        {
            double rmse = e.GetProperty("testRmse").GetDouble(), mae = e.GetProperty("testMae").GetDouble();
            Assert.InRange(mae, 0.0, 200.0);
            Assert.InRange(rmse, mae, 200.0); // RMSE ≥ MAE always
        }
        Assert.InRange(json.GetProperty("naiveTestRmse").GetDouble(), 0.1, 20.0);
        Assert.Equal("lstm", json.GetProperty("settings").GetProperty("layer").GetString());
        Assert.True(File.Exists(Path.Combine(_tmp.Path, "stock-lstm-forecast.png")));
    }

    [StockDataFact]
    public void Stock_Gru_BothEngines_TrackEachOther()
    {
        var (json, stdout) = Run("stock", "--model", "gru", "--epochs", "2", "--window", "10", "--from", "2023-01-03");
        var engines = Engines(json, reference: true);
        foreach (var e in engines)
        {
            double rmse = e.GetProperty("testRmse").GetDouble(), mae = e.GetProperty("testMae").GetDouble();
            Assert.InRange(mae, 0.0, 200.0);
            Assert.InRange(rmse, mae, 200.0);
        }
        // Same start, same batches, same Adam: after two short epochs the forecasts still agree to the cent.
        Assert.Equal(engines[1].GetProperty("testRmse").GetDouble(), engines[0].GetProperty("testRmse").GetDouble(), 0.01);
        Assert.Contains("GRU(50) -> Dense(1)", stdout);
        Assert.Equal("gru", json.GetProperty("settings").GetProperty("model").GetString());
        Assert.Equal("gru", json.GetProperty("settings").GetProperty("layer").GetString());
        Assert.True(File.Exists(Path.Combine(_tmp.Path, "stock-gru-forecast.png")));
    }

    [StockDataFact]
    public void Stock_Rnn_NoReference()
    {
        var (json, _) = Run("stock", "--model", "rnn", "--epochs", "1", "--window", "10", "--from", "2023-01-03", "--no-reference");
        var e = Assert.Single(Engines(json, reference: false));
        Assert.True(e.GetProperty("testRmse").GetDouble() > 0);
        Assert.Equal("rnn", json.GetProperty("settings").GetProperty("model").GetString());
    }

    [FashionDataFact]
    public void Fashion_SeedProtocol_Mlp_BothEngines()
    {
        var (json, stdout) = Run("fashion", "--model", "mlp", "--epochs", "2", "--limit", "200");
        foreach (var e in Engines(json, reference: true))
        {
            InUnitRange(e, "testAccuracy");
            InUnitRange(e, "validationAccuracy");
            Assert.True(e.GetProperty("testAccuracy").GetDouble() > 0.3, "two epochs on 200 images beat chance (0.1)");
            var confusion = e.GetProperty("confusion").EnumerateArray().Select(r => r.EnumerateArray().Select(c => c.GetInt32()).ToArray()).ToArray();
            Assert.Equal(10, confusion.Length);
            Assert.Equal(json.GetProperty("test").GetProperty("rows").GetInt32(), confusion.Sum(r => r.Sum()));
            double diagonal = Enumerable.Range(0, 10).Sum(i => confusion[i][i]);
            Assert.Equal(e.GetProperty("testAccuracy").GetDouble(), diagonal / confusion.Sum(r => r.Sum()), 1e-12);
        }
        Assert.Contains("val acc", stdout);
        Assert.True(File.Exists(Path.Combine(_tmp.Path, "fashion-seed-mlp-predictions.png")));
        Assert.True(File.Exists(Path.Combine(_tmp.Path, "fashion-seed-mlp-confusion-torchsharp.png")));
    }

    [FashionDataFact]
    public void Fashion_Lstm_BothEngines()
    {
        var (json, _) = Run("fashion", "--model", "lstm", "--epochs", "1", "--limit", "64", "--batch-size", "32");
        foreach (var e in Engines(json, reference: true)) InUnitRange(e, "testAccuracy");
        Assert.Contains("LSTM(128)", json.GetProperty("settings").GetProperty("architecture").GetString());
    }

    [FashionDataFact]
    public void Fashion_Cnn_SeedProtocol_BothEngines()
    {
        var (json, _) = Run("fashion", "--model", "cnn", "--epochs", "2", "--limit", "200", "--batch-size", "50");
        var engines = Engines(json, reference: true);
        foreach (var e in engines)
        {
            InUnitRange(e, "testAccuracy");
            InUnitRange(e, "validationAccuracy");
            var confusion = e.GetProperty("confusion").EnumerateArray().Select(r => r.EnumerateArray().Select(c => c.GetInt32()).ToArray()).ToArray();
            Assert.Equal(json.GetProperty("test").GetProperty("rows").GetInt32(), confusion.Sum(r => r.Sum()));
        }
        // Eight identical Adam steps from identical weights: the training losses agree closely.
        Assert.Equal(engines[1].GetProperty("finalTrainLoss").GetDouble(), engines[0].GetProperty("finalTrainLoss").GetDouble(), 1e-3);
        Assert.Contains("Conv2D(16, 3x3, relu)", json.GetProperty("settings").GetProperty("architecture").GetString());
        Assert.True(File.Exists(Path.Combine(_tmp.Path, "fashion-seed-cnn-confusion-nnsimd.png")));
        Assert.True(File.Exists(Path.Combine(_tmp.Path, "fashion-seed-cnn-predictions.png")));
    }

    [FashionDataFact]
    public void Fashion_Cnn_FullProtocol_BothEngines()
    {
        var (json, _) = Run("fashion", "--protocol", "full", "--model", "cnn", "--epochs", "1", "--limit", "64", "--batch-size", "32");
        foreach (var e in Engines(json, reference: true))
        {
            InUnitRange(e, "testAccuracy");
            Assert.False(e.TryGetProperty("validationAccuracy", out _));
        }
        Assert.Equal("full", json.GetProperty("settings").GetProperty("protocol").GetString());
        Assert.True(File.Exists(Path.Combine(_tmp.Path, "fashion-full-cnn-confusion-torchsharp.png")));
    }

    [FashionDataFact]
    public void Fashion_FullProtocol_SeedModel_NoReference()
    {
        var (json, _) = Run("fashion", "--protocol", "full", "--model", "seed", "--epochs", "1", "--limit", "100", "--no-reference");
        var e = Assert.Single(Engines(json, reference: false));
        InUnitRange(e, "testAccuracy");
        Assert.False(e.TryGetProperty("validationAccuracy", out _)); // the full protocol has no validation split
        Assert.Contains("sigmoid", json.GetProperty("settings").GetProperty("architecture").GetString());
    }
}
