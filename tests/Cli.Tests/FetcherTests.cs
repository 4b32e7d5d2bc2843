using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Nn.Simd.Cli.Data;

namespace Nn.Simd.Cli.Tests;

/// <summary>A tiny HTTP file server on 127.0.0.1 that honours (or ignores) Range requests.</summary>
public sealed class LocalFileServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;

    public LocalFileServer(IReadOnlyDictionary<string, byte[]> files, bool honourRange = true)
    {
        Files = new Dictionary<string, byte[]>(files);
        HonourRange = honourRange;
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        BaseUrl = new Uri($"http://127.0.0.1:{port}/files/");
        _listener.Prefixes.Add(BaseUrl.AbsoluteUri);
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    public Uri BaseUrl { get; }

    public Dictionary<string, byte[]> Files { get; }

    public bool HonourRange { get; set; }

    /// <summary>Each request as "name range" (range empty when absent).</summary>
    public List<string> Requests { get; } = [];

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try
            {
                ctx = await _listener.GetContextAsync();
            }
            catch (Exception) when (!_listener.IsListening)
            {
                return;
            }
            catch (HttpListenerException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }

            string name = ctx.Request.Url!.Segments[^1];
            string? range = ctx.Request.Headers["Range"];
            lock (Requests) Requests.Add($"{name} {range}".Trim());
            var response = ctx.Response;
            try
            {
                if (!Files.TryGetValue(name, out byte[]? body))
                {
                    response.StatusCode = 404;
                    response.Close();
                    continue;
                }
                long start = 0;
                if (HonourRange && range is not null && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
                {
                    start = long.Parse(range["bytes=".Length..^1]);
                    if (start >= body.Length)
                    {
                        response.StatusCode = 416;
                        response.AddHeader("Content-Range", $"bytes */{body.Length}");
                        response.Close();
                        continue;
                    }
                    response.StatusCode = 206;
                    response.AddHeader("Content-Range", $"bytes {start}-{body.Length - 1}/{body.Length}");
                }
                response.ContentLength64 = body.Length - start;
                await response.OutputStream.WriteAsync(body.AsMemory((int)start));
                response.Close();
            }
            catch (HttpListenerException)
            {
                // Client went away.
            }
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
    }
}

public class FetcherTests : IDisposable
{
    private readonly TempDirectory _tmp = new();

    public void Dispose() => _tmp.Dispose();

    private static byte[] Bytes(int n, int seed)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }

    private static string Sha(byte[] b) => Convert.ToHexStringLower(SHA256.HashData(b));

    private static readonly byte[] FileA = Bytes(200_000, 1);
    private static readonly byte[] FileB = Bytes(1_234, 2);
    private static readonly RemoteFile[] Remote = [new("a.gz", Sha(FileA)), new("b.gz", Sha(FileB))];

    private static Dictionary<string, byte[]> Served() => new() { ["a.gz"] = FileA, ["b.gz"] = FileB };

    private Task<IReadOnlyList<FetchOutcome>> Fetch(LocalFileServer server, string dir, StringWriter? log = null) =>
        FashionMnistFetcher.FetchAsync(dir, server.BaseUrl, Remote, handler: null, log ?? new StringWriter(), CancellationToken.None);

    [Fact]
    public async Task Downloads_Verifies_AndRenames()
    {
        using var server = new LocalFileServer(Served());
        string dir = _tmp.Combine("data", "fashion-mnist");
        var outcomes = await Fetch(server, dir);

        Assert.Equal([FetchOutcome.Downloaded, FetchOutcome.Downloaded], outcomes);
        Assert.Equal(FileA, File.ReadAllBytes(Path.Combine(dir, "a.gz")));
        Assert.Equal(FileB, File.ReadAllBytes(Path.Combine(dir, "b.gz")));
        Assert.Empty(Directory.GetFiles(dir, "*.part"));
        Assert.Equal(["a.gz", "b.gz"], server.Requests);
    }

    [Fact]
    public async Task SkipsFilesAlreadyPresentAndValid()
    {
        using var server = new LocalFileServer(Served());
        string dir = _tmp.CreateDirectory("d");
        File.WriteAllBytes(Path.Combine(dir, "a.gz"), FileA);
        var outcomes = await Fetch(server, dir);
        Assert.Equal([FetchOutcome.AlreadyPresent, FetchOutcome.Downloaded], outcomes);
        Assert.Equal(["b.gz"], server.Requests);

        var again = await Fetch(server, dir);
        Assert.Equal([FetchOutcome.AlreadyPresent, FetchOutcome.AlreadyPresent], again);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task ResumesPartialDownloadWithRange()
    {
        using var server = new LocalFileServer(Served());
        string dir = _tmp.CreateDirectory("d");
        File.WriteAllBytes(Path.Combine(dir, "a.gz.part"), FileA[..70_000]);
        var log = new StringWriter();
        var outcomes = await Fetch(server, dir, log);

        Assert.Equal(FetchOutcome.Resumed, outcomes[0]);
        Assert.Contains("a.gz bytes=70000-", server.Requests);
        Assert.Equal(FileA, File.ReadAllBytes(Path.Combine(dir, "a.gz")));
        Assert.False(File.Exists(Path.Combine(dir, "a.gz.part")));
        Assert.Contains("resuming at byte 70,000", log.ToString());
    }

    [Fact]
    public async Task ServerIgnoringRange_RestartsFromZero()
    {
        using var server = new LocalFileServer(Served(), honourRange: false);
        string dir = _tmp.CreateDirectory("d");
        File.WriteAllBytes(Path.Combine(dir, "a.gz.part"), Bytes(5_000, 9)); // not even a prefix of the file
        var outcomes = await Fetch(server, dir);
        Assert.Equal(FetchOutcome.Downloaded, outcomes[0]);
        Assert.Equal(FileA, File.ReadAllBytes(Path.Combine(dir, "a.gz")));
    }

    [Fact]
    public async Task CompletePartFile_Answered416_IsVerifiedAndKept()
    {
        using var server = new LocalFileServer(Served());
        string dir = _tmp.CreateDirectory("d");
        File.WriteAllBytes(Path.Combine(dir, "b.gz.part"), FileB);
        var outcomes = await Fetch(server, dir);
        Assert.Equal(FetchOutcome.Resumed, outcomes[1]);
        Assert.Equal(FileB, File.ReadAllBytes(Path.Combine(dir, "b.gz")));
    }

    [Fact]
    public async Task CorruptedDownload_DeletesPartAndFails()
    {
        byte[] corrupted = (byte[])FileA.Clone();
        corrupted[123_456] ^= 0xff;
        using var server = new LocalFileServer(new Dictionary<string, byte[]> { ["a.gz"] = corrupted, ["b.gz"] = FileB });
        string dir = _tmp.CreateDirectory("d");

        var ex = await Assert.ThrowsAsync<DataException>(() => Fetch(server, dir));
        Assert.Contains("checksum mismatch", ex.Message);
        Assert.Contains(Sha(corrupted), ex.Message);
        Assert.Contains(Sha(FileA), ex.Message);
        Assert.False(File.Exists(Path.Combine(dir, "a.gz.part")));
        Assert.False(File.Exists(Path.Combine(dir, "a.gz")));
    }

    [Fact]
    public async Task CorruptedResume_DeletesPart()
    {
        using var server = new LocalFileServer(Served());
        string dir = _tmp.CreateDirectory("d");
        byte[] badPrefix = FileA[..50_000];
        badPrefix[10] ^= 1;
        File.WriteAllBytes(Path.Combine(dir, "a.gz.part"), badPrefix);

        await Assert.ThrowsAsync<DataException>(() => Fetch(server, dir));
        Assert.False(File.Exists(Path.Combine(dir, "a.gz.part")));

        // The next run starts clean and succeeds.
        var outcomes = await Fetch(server, dir);
        Assert.Equal(FetchOutcome.Downloaded, outcomes[0]);
        Assert.Equal(FileA, File.ReadAllBytes(Path.Combine(dir, "a.gz")));
    }

    [Fact]
    public async Task ExistingFileWithWrongChecksum_IsNotOverwritten()
    {
        using var server = new LocalFileServer(Served());
        string dir = _tmp.CreateDirectory("d");
        File.WriteAllBytes(Path.Combine(dir, "a.gz"), FileB);
        var ex = await Assert.ThrowsAsync<DataException>(() => Fetch(server, dir));
        Assert.Contains("already exists", ex.Message);
        Assert.Equal(FileB, File.ReadAllBytes(Path.Combine(dir, "a.gz")));
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task MissingRemoteFile_ReportsHttpStatus()
    {
        using var server = new LocalFileServer(new Dictionary<string, byte[]> { ["b.gz"] = FileB });
        var ex = await Assert.ThrowsAsync<DataException>(() => Fetch(server, _tmp.CreateDirectory("d")));
        Assert.Contains("HTTP 404", ex.Message);
        Assert.Contains("a.gz", ex.Message);
    }

    [Fact]
    public async Task UnreachableServer_IsDataError()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        var ex = await Assert.ThrowsAsync<DataException>(() => FashionMnistFetcher.FetchAsync(
            _tmp.CreateDirectory("d"), new Uri($"http://127.0.0.1:{port}/"), Remote, null, new StringWriter(), CancellationToken.None));
        Assert.Contains("download failed", ex.Message);
    }

    [Fact]
    public void OfficialFiles_CarryPublishedChecksums()
    {
        Assert.Equal(FashionMnist.FileNames, FashionMnistFetcher.OfficialFiles.Select(f => f.Name));
        Assert.Equal("3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", FashionMnistFetcher.OfficialFiles[0].Sha256);
        Assert.Equal("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", FashionMnistFetcher.DefaultBaseUrl.AbsoluteUri);
    }

    [Fact]
    public void OfficialChecksums_MatchTheSharedCopy_WhenPresent()
    {
        string dir;
        try
        {
            dir = new DataLocator(null).FindFashionMnist();
        }
        catch (DataException)
        {
            return;
        }
        // The small label files only (hashing the images would slow the suite); the Debian copy is re-gzipped, so skip it.
        if (dir.StartsWith("/usr/share/datasets", StringComparison.Ordinal)) return;
        foreach (string name in new[] { FashionMnist.TrainLabelsFile, FashionMnist.TestLabelsFile })
            Assert.Equal(FashionMnist.GzipSha256[name], Sha(File.ReadAllBytes(Path.Combine(dir, name))));
    }
}
