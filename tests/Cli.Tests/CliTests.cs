using System.Text.Json;
using Nn.Simd.Cli.Experiments;

namespace Nn.Simd.Cli.Tests;

public class CliParsingTests
{
    private sealed class Capture
    {
        public StringWriter Out { get; } = new();
        public StringWriter Err { get; } = new();
        public object? Settings { get; set; }
        public int Calls { get; set; }

        public CliApp.Handlers Handlers() => new(Out, Err)
        {
            Spiral = s => Record(s),
            Stock = s => Record(s),
            Fashion = s => Record(s),
            Fetch = s => Record(s),
        };

        private int Record(object s)
        {
            Settings = s;
            Calls++;
            return 0;
        }
    }

    private static (int Code, Capture Capture) Run(params string[] args)
    {
        var c = new Capture();
        return (CliApp.Run(args, c.Handlers()), c);
    }

    [Fact]
    public void Spiral_Defaults()
    {
        var (code, c) = Run("spiral");
        Assert.Equal(0, code);
        var s = Assert.IsType<SpiralSettings>(c.Settings);
        Assert.Equal(new SpiralSettings(new CommonSettings("mlp", CliApp.SpiralEpochs, null, 0, null, null, Path.Combine("runs", "spiral"), false, false, CliApp.SpiralLearningRate), 100, 3), s);
    }

    [Fact]
    public void Stock_AllOptions()
    {
        var (code, c) = Run("stock", "--model", "rnn", "--epochs", "3", "--batch-size", "16", "--lr", "0.005", "--seed", "42", "--threads", "2",
            "--data", "/d", "--out", "/o", "--no-reference", "--json", "--csv", "x.csv", "--window", "30", "--from", "2019-01-02", "--to", "2020-12-31");
        Assert.Equal(0, code);
        var s = Assert.IsType<StockSettings>(c.Settings);
        Assert.Equal(new CommonSettings("rnn", 3, 16, 42, 2, "/d", "/o", true, true, 0.005), s.Common);
        Assert.Equal("x.csv", s.CsvPath);
        Assert.Equal(30, s.Window);
        Assert.Equal(new DateOnly(2019, 1, 2), s.From);
        Assert.Equal(new DateOnly(2020, 12, 31), s.To);
    }

    [Fact]
    public void Stock_Defaults()
    {
        var s = Assert.IsType<StockSettings>(Run("stock").Capture.Settings);
        Assert.Equal(("lstm", 60, 32), (s.Common.Model, s.Window, s.Common.BatchSize));
        Assert.Null(s.CsvPath);
        Assert.Null(s.From);
    }

    [Fact]
    public void Fashion_ProtocolModelLimit()
    {
        var s = Assert.IsType<FashionSettings>(Run("fashion", "--protocol", "full", "--model", "lstm", "--limit", "10").Capture.Settings);
        Assert.Equal(Nn.Simd.Cli.Data.FashionProtocol.Full, s.Protocol);
        Assert.Equal("lstm", s.Common.Model);
        Assert.Equal(10, s.Limit);

        var d = Assert.IsType<FashionSettings>(Run("fashion").Capture.Settings);
        Assert.Equal((Nn.Simd.Cli.Data.FashionProtocol.Seed, "mlp", (int?)null), (d.Protocol, d.Common.Model, d.Limit));
    }

    [Fact]
    public void Fashion_LstmHasItsOwnDefaultLearningRate_UnlessGiven()
    {
        var lstm = Assert.IsType<FashionSettings>(Run("fashion", "--model", "lstm").Capture.Settings);
        Assert.Equal(CliApp.FashionLstmLearningRate, lstm.Common.LearningRate);
        var given = Assert.IsType<FashionSettings>(Run("fashion", "--model", "lstm", "--lr", "0.001").Capture.Settings);
        Assert.Equal(1e-3, given.Common.LearningRate);
        var mlp = Assert.IsType<FashionSettings>(Run("fashion").Capture.Settings);
        Assert.Equal(CliApp.FashionLearningRate, mlp.Common.LearningRate);
        var cnn = Assert.IsType<FashionSettings>(Run("fashion", "--model", "cnn").Capture.Settings);
        Assert.Equal((CliApp.FashionLearningRate, CliApp.FashionEpochs, (int?)128), (cnn.Common.LearningRate, cnn.Common.Epochs, cnn.Common.BatchSize));
    }

    [Fact]
    public void Fetch_ParsesUrlAndData()
    {
        var s = Assert.IsType<FetchSettings>(Run("fetch", "fashion-mnist", "--data", "dd", "--url", "http://127.0.0.1:9/x/").Capture.Settings);
        Assert.Equal(new FetchSettings("fashion-mnist", "dd", new Uri("http://127.0.0.1:9/x/")), s);
    }

    [Theory]
    [InlineData(new[] { "spiral", "--bogus" }, "--bogus")]
    [InlineData(new[] { "stock", "--model", "cnn" }, "cnn")]
    [InlineData(new[] { "fashion", "--model", "rnn" }, "rnn")]
    [InlineData(new[] { "fashion", "--protocol", "half" }, "half")]
    [InlineData(new[] { "spiral", "--epochs", "0" }, "--epochs must be at least 1")]
    [InlineData(new[] { "spiral", "--epochs", "many" }, "many")]
    [InlineData(new[] { "stock", "--window", "-5" }, "--window must be at least 1")]
    [InlineData(new[] { "fashion", "--limit", "0" }, "--limit must be at least 1")]
    [InlineData(new[] { "spiral", "--seed", "-1" }, "--seed must be non-negative")]
    [InlineData(new[] { "spiral", "--lr", "0" }, "--lr must be a positive number")]
    [InlineData(new[] { "fashion", "--lr", "fast" }, "fast")]
    [InlineData(new[] { "spiral", "--samples", "1" }, "--samples must be at least 2")]
    [InlineData(new[] { "stock", "--from", "2020-02-30" }, "--from must be a yyyy-MM-dd date")]
    [InlineData(new[] { "fetch", "mnist" }, "mnist")]
    [InlineData(new[] { "fetch", "fashion-mnist", "--url", "ftp://x/" }, "--url must be an absolute http(s) URL")]
    [InlineData(new[] { "train" }, "train")]
    [InlineData(new string[0], "Required command")]
    public void UsageErrors_Exit2_WithMessage_NoStackTrace(string[] args, string expected)
    {
        var (code, c) = Run(args);
        Assert.Equal(2, code);
        Assert.Equal(0, c.Calls);
        string err = c.Err.ToString();
        Assert.Contains(expected, err);
        Assert.Contains("--help", err);
        Assert.DoesNotContain("   at ", err);
    }

    [Fact]
    public void Help_Exit0_ListsCommands()
    {
        var (code, c) = Run("--help");
        Assert.Equal(0, code);
        string help = c.Out.ToString();
        foreach (string cmd in new[] { "spiral", "stock", "fashion", "fetch" }) Assert.Contains(cmd, help);
    }

    [Theory]
    [InlineData("stock", "Model: rnn, lstm, gru.")]
    [InlineData("fashion", "Model: mlp, seed, lstm, cnn.")]
    public void Help_ListsEveryModel(string command, string expected)
    {
        var (code, c) = Run(command, "--help");
        Assert.Equal(0, code);
        Assert.Contains(expected, c.Out.ToString());
    }
}

public class CliRunTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CliApp.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    private static JsonElement LastJsonLine(string stdout)
    {
        string last = stdout.TrimEnd().Split('\n')[^1];
        return JsonDocument.Parse(last).RootElement;
    }

    [Fact]
    public void Spiral_PrintsTableAndJsonLast()
    {
        using var tmp = new TempDirectory();
        var (code, stdout, stderr) = Run("spiral", "--json", "--samples", "20", "--classes", "4", "--epochs", "3", "--no-reference", "--out", tmp.Path);
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        var json = LastJsonLine(stdout);
        Assert.Equal([80, 2], json.GetProperty("train").GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal("spiral", json.GetProperty("experiment").GetString());
        Assert.Equal(80, json.GetProperty("train").GetProperty("rows").GetInt32());
        Assert.Equal([20, 20, 20, 20], json.GetProperty("test").GetProperty("classCounts").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public void Stock_WithCsv_ReportsNaiveForecast()
    {
        using var tmp = new TempDirectory();
        string path = tmp.Combine("p.csv");
        var lines = new List<string> { "Date,Open,High,Low,Close,Adj Close,Volume" };
        var day = new DateOnly(2022, 1, 3);
        for (int i = 0; i < 30; i++) lines.Add($"{day.AddDays(i):yyyy-MM-dd},{10 + i},{12 + i},{9 + i},{10 + 2 * i},{10 + 2 * i},{1000 + i}");
        File.WriteAllText(path, string.Join('\n', lines));

        var (code, stdout, stderr) = Run("stock", "--csv", path, "--window", "5", "--json", "--epochs", "1", "--no-reference", "--out", tmp.Combine("out"));
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        var json = LastJsonLine(stdout);
        Assert.Equal(30, json.GetProperty("rows").GetInt32());
        Assert.Equal(24, json.GetProperty("trainRows").GetInt32());
        Assert.Equal(6, json.GetProperty("testWindows").GetInt32());
        Assert.Equal(2.0, json.GetProperty("naiveTestRmse").GetDouble(), 1e-12); // close rises by exactly 2 a day
        Assert.Equal(2.0, json.GetProperty("naiveTestMae").GetDouble(), 1e-12);
    }

    [Fact]
    public void DataError_Exit1_ClearMessage_NoStackTrace()
    {
        using var tmp = new TempDirectory();
        string missing = tmp.Combine("missing.csv");
        var (code, _, stderr) = Run("stock", "--csv", missing);
        Assert.Equal(1, code);
        Assert.Contains(missing, stderr);
        Assert.Contains("not found", stderr);
        Assert.DoesNotContain("   at ", stderr);

        string bad = tmp.Combine("bad.csv");
        File.WriteAllText(bad, "Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,1,1,1,oops,1,1");
        (code, _, stderr) = Run("stock", "--csv", bad);
        Assert.Equal(1, code);
        Assert.Contains("bad.csv:2: Close 'oops'", stderr);
    }

    [Fact]
    public void Fetch_UnreachableUrl_Exit1()
    {
        using var tmp = new TempDirectory();
        var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        int port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        var (code, _, stderr) = Run("fetch", "fashion-mnist", "--data", tmp.Path, "--url", $"http://127.0.0.1:{port}/");
        Assert.Equal(1, code);
        Assert.Contains("download failed", stderr);
        Assert.DoesNotContain("   at ", stderr);
    }
}
