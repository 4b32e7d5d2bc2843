using Nn.Simd.Cli.Data;

namespace Nn.Simd.Cli.Tests;

public class DataLocatorTests : IDisposable
{
    private readonly TempDirectory _tmp = new();

    public void Dispose() => _tmp.Dispose();

    /// <summary>A fake layout: tmp/work/repo (with Nn.Simd.sln and bin/Debug as the app base), tmp/work/shared/data, tmp/cwd.</summary>
    private (string Repo, string AppBase, string Cwd, string System) Layout()
    {
        string repo = _tmp.CreateDirectory("work", "repo");
        File.WriteAllText(Path.Combine(repo, "Nn.Simd.sln"), "");
        string appBase = _tmp.CreateDirectory("work", "repo", "src", "Cli", "bin", "Debug", "net10.0");
        string cwd = _tmp.CreateDirectory("elsewhere", "cwd");
        return (repo, appBase, cwd, _tmp.Combine("usr", "share", "datasets", "fashion-mnist"));
    }

    private static void PutFashion(string dir)
    {
        Directory.CreateDirectory(dir);
        foreach (string f in FashionMnist.FileNames) File.WriteAllText(Path.Combine(dir, f), "x");
    }

    [Fact]
    public void SearchOrder_IsDataThenCwdThenRepoThenShared()
    {
        var (repo, appBase, cwd, system) = Layout();
        var locator = new DataLocator("mydata", cwd, appBase, system);
        Assert.Equal(repo, locator.RepositoryRoot);
        Assert.Equal(
            [
                Path.Combine(cwd, "mydata"),
                Path.Combine(cwd, "data"),
                Path.Combine(repo, "data"),
                Path.GetFullPath(Path.Combine(cwd, "..", "shared", "data")),
                _tmp.Combine("work", "shared", "data"),
            ],
            locator.DataDirectories);
        Assert.Equal(system, locator.FashionCandidates[^1]);
    }

    [Fact]
    public void FindFashion_PrefersEarlierDirectories()
    {
        var (repo, appBase, cwd, system) = Layout();
        PutFashion(_tmp.Combine("work", "shared", "data", "fashion-mnist"));
        PutFashion(system);
        var locator = new DataLocator(null, cwd, appBase, system);
        Assert.Equal(_tmp.Combine("work", "shared", "data", "fashion-mnist"), locator.FindFashionMnist());

        PutFashion(Path.Combine(repo, "data", "fashion-mnist"));
        Assert.Equal(Path.Combine(repo, "data", "fashion-mnist"), locator.FindFashionMnist());

        string explicitDir = _tmp.CreateDirectory("explicit");
        PutFashion(Path.Combine(explicitDir, "fashion-mnist"));
        Assert.Equal(Path.Combine(explicitDir, "fashion-mnist"), new DataLocator(explicitDir, cwd, appBase, system).FindFashionMnist());
    }

    [Fact]
    public void FindFashion_FallsBackToDebianDirectory()
    {
        var (_, appBase, cwd, system) = Layout();
        PutFashion(system);
        Assert.Equal(system, new DataLocator(null, cwd, appBase, system).FindFashionMnist());
    }

    [Fact]
    public void FindFashion_Missing_ListsEveryPlaceAndHowToGetIt()
    {
        var (_, appBase, cwd, system) = Layout();
        string partial = Path.Combine(cwd, "data", "fashion-mnist");
        Directory.CreateDirectory(partial);
        File.WriteAllText(Path.Combine(partial, FashionMnist.TrainImagesFile), "x");

        var locator = new DataLocator("given", cwd, appBase, system);
        var ex = Assert.Throws<DataException>(() => locator.FindFashionMnist());
        foreach (string dir in locator.FashionCandidates) Assert.Contains(dir, ex.Message);
        Assert.Contains("incomplete: missing train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz", ex.Message);
        Assert.Contains("nnsimd fetch fashion-mnist", ex.Message);
        Assert.Contains("apt-get install dataset-fashion-mnist", ex.Message);
    }

    [Fact]
    public void FindStock_LooksInStocksSubfolders()
    {
        var (repo, appBase, cwd, system) = Layout();
        var locator = new DataLocator(null, cwd, appBase, system);
        var ex = Assert.Throws<DataException>(() => locator.FindStockCsv());
        foreach (string dir in locator.DataDirectories) Assert.Contains(Path.Combine(dir, "stocks", StockSeries.DefaultFileName), ex.Message);
        Assert.Contains("--csv", ex.Message);

        string stocks = _tmp.CreateDirectory("work", "shared", "data", "stocks");
        File.WriteAllText(Path.Combine(stocks, StockSeries.DefaultFileName), "");
        Assert.Equal(Path.Combine(stocks, StockSeries.DefaultFileName), locator.FindStockCsv());
    }

    [Fact]
    public void RepositoryRoot_FoundFromCurrentDirectoryWhenAppBaseIsOutside()
    {
        var (repo, _, _, system) = Layout();
        string inside = _tmp.CreateDirectory("work", "repo", "tests");
        var locator = new DataLocator(null, inside, _tmp.CreateDirectory("appbase"), system);
        Assert.Equal(repo, locator.RepositoryRoot);
        Assert.Null(DataLocator.FindRepositoryRoot(_tmp.CreateDirectory("appbase")));
    }
}
