namespace Nn.Simd.Cli.Data;

/// <summary>
/// Finds the data sets. Data directories are searched in this order: <c>--data DIR</c>; <c>data/</c> under the
/// current directory; <c>data/</c> under the repository root; <c>../shared/data</c> relative to the current
/// directory; <c>../shared/data</c> relative to the repository root. The repository root is the nearest folder
/// holding <c>Nn.Simd.sln</c> above the application's base directory (the CLI runs from <c>bin/</c>) or above
/// the current directory. Fashion-MNIST lives in a <c>fashion-mnist/</c> subfolder of a data directory,
/// GOOG CSVs in <c>stocks/</c>; Fashion-MNIST is finally also looked for in <c>/usr/share/datasets/fashion-mnist</c>
/// (Debian package <c>dataset-fashion-mnist</c>, whose files hold the same content re-gzipped).
/// </summary>
public sealed class DataLocator
{
    /// <summary>Where Debian's <c>dataset-fashion-mnist</c> installs its files.</summary>
    public const string SystemFashionDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>The subfolder of a data directory holding Fashion-MNIST.</summary>
    public const string FashionSubfolder = "fashion-mnist";

    /// <summary>The subfolder of a data directory holding the stock CSVs.</summary>
    public const string StocksSubfolder = "stocks";

    private const string SolutionFile = "Nn.Simd.sln";

    private readonly string? _systemFashionDirectory;

    /// <summary>A locator for this process (current directory, application base directory, Debian path).</summary>
    /// <param name="dataDirectory">The <c>--data</c> directory, searched first; null when not given.</param>
    public DataLocator(string? dataDirectory)
        : this(dataDirectory, Environment.CurrentDirectory, AppContext.BaseDirectory, SystemFashionDirectory)
    {
    }

    /// <summary>A locator with explicit starting points (tests).</summary>
    internal DataLocator(string? dataDirectory, string currentDirectory, string appBaseDirectory, string? systemFashionDirectory)
    {
        _systemFashionDirectory = systemFashionDirectory;
        string? repoRoot = FindRepositoryRoot(appBaseDirectory) ?? FindRepositoryRoot(currentDirectory);
        RepositoryRoot = repoRoot;

        var dirs = new List<string>();
        void Add(string? path)
        {
            if (path is null) return;
            string full = Path.GetFullPath(path);
            if (!dirs.Contains(full, StringComparer.Ordinal)) dirs.Add(full);
        }
        if (dataDirectory is not null) Add(Path.GetFullPath(dataDirectory, currentDirectory));
        Add(Path.Combine(currentDirectory, "data"));
        if (repoRoot is not null) Add(Path.Combine(repoRoot, "data"));
        Add(Path.Combine(currentDirectory, "..", "shared", "data"));
        if (repoRoot is not null) Add(Path.Combine(repoRoot, "..", "shared", "data"));
        DataDirectories = dirs;
    }

    /// <summary>The repository root found (folder holding <c>Nn.Simd.sln</c>), or null.</summary>
    public string? RepositoryRoot { get; }

    /// <summary>The data directories, in search order, full paths without duplicates.</summary>
    public IReadOnlyList<string> DataDirectories { get; }

    /// <summary>The directories that may hold the four Fashion-MNIST files, in search order.</summary>
    public IReadOnlyList<string> FashionCandidates
    {
        get
        {
            var list = DataDirectories.Select(d => Path.Combine(d, FashionSubfolder)).ToList();
            if (_systemFashionDirectory is not null) list.Add(_systemFashionDirectory);
            return list;
        }
    }

    /// <summary>The first directory holding all four Fashion-MNIST files.</summary>
    /// <exception cref="DataException">None does; the message lists every place searched and how to get the data.</exception>
    public string FindFashionMnist()
    {
        var searched = new List<string>();
        foreach (string dir in FashionCandidates)
        {
            var missing = FashionMnist.FileNames.Where(f => !File.Exists(Path.Combine(dir, f))).ToList();
            if (missing.Count == 0) return dir;
            searched.Add(missing.Count == FashionMnist.FileNames.Count || !Directory.Exists(dir)
                ? $"  {dir}"
                : $"  {dir} (incomplete: missing {string.Join(", ", missing)})");
        }
        throw new DataException(
            "Fashion-MNIST was not found. Looked for " + string.Join(", ", FashionMnist.FileNames) + " in:" + Environment.NewLine +
            string.Join(Environment.NewLine, searched) + Environment.NewLine +
            "To get it, run 'nnsimd fetch fashion-mnist' (downloads into data/fashion-mnist, or --data DIR), " +
            "or install the Debian package: 'apt-get install dataset-fashion-mnist'.");
    }

    /// <summary>The path of a stock CSV in the <c>stocks/</c> folder of the first data directory holding it.</summary>
    /// <param name="fileName">The file name (default: the GOOG 2018–2023 file).</param>
    /// <exception cref="DataException">No data directory holds it; the message lists every place searched.</exception>
    public string FindStockCsv(string fileName = StockSeries.DefaultFileName)
    {
        var candidates = DataDirectories.Select(d => Path.Combine(d, StocksSubfolder, fileName)).ToList();
        foreach (string path in candidates)
        {
            if (File.Exists(path)) return path;
        }
        throw new DataException(
            $"The stock price file {fileName} was not found. Looked in:" + Environment.NewLine +
            string.Join(Environment.NewLine, candidates.Select(c => "  " + c)) + Environment.NewLine +
            $"Copy it into data/{StocksSubfolder}/ (see data/README.md for its source and SHA-256), pass --data DIR, " +
            "or pass any CSV in the same layout with --csv FILE.");
    }

    /// <summary>The nearest folder at or above <paramref name="start"/> holding <c>Nn.Simd.sln</c>, or null.</summary>
    internal static string? FindRepositoryRoot(string start)
    {
        if (string.IsNullOrEmpty(start)) return null;
        var dir = new DirectoryInfo(Path.GetFullPath(start));
        while (dir is not null)
        {
            if (File.Exists(Path.Combine(dir.FullName, SolutionFile))) return dir.FullName;
            dir = dir.Parent;
        }
        return null;
    }
}
