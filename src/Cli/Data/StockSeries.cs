using System.Globalization;

namespace Nn.Simd.Cli.Data;

/// <summary>One trading day in Yahoo Finance layout.</summary>
/// <param name="Date">The trading day.</param>
/// <param name="Open">Opening price.</param>
/// <param name="High">Highest price.</param>
/// <param name="Low">Lowest price.</param>
/// <param name="Close">Closing price.</param>
/// <param name="AdjClose">Close adjusted for dividends and splits.</param>
/// <param name="Volume">Shares traded.</param>
public readonly record struct StockRow(DateOnly Date, double Open, double High, double Low, double Close, double AdjClose, long Volume);

/// <summary>Daily prices read from a CSV with header <c>Date,Open,High,Low,Close,Adj Close,Volume</c>.</summary>
/// <param name="Source">Where the rows came from (a path), for messages.</param>
/// <param name="Rows">The rows, dates strictly ascending.</param>
public sealed record StockSeries(string Source, IReadOnlyList<StockRow> Rows)
{
    /// <summary>The default CSV's file name, looked up under <c>stocks/</c> of a data directory.</summary>
    public const string DefaultFileName = "GOOG_2018-01-02_to_2023-12-29.csv";

    /// <summary>First day of the default window (5 years, 1,257 rows of the default file).</summary>
    public static DateOnly DefaultFrom { get; } = new(2018, 8, 2);

    /// <summary>Last day of the default window.</summary>
    public static DateOnly DefaultTo { get; } = new(2023, 8, 1);

    /// <summary>The expected header columns, in order.</summary>
    public static IReadOnlyList<string> Columns { get; } = ["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"];

    /// <summary>Number of rows.</summary>
    public int Count => Rows.Count;

    /// <summary>Reads and validates a CSV file.</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="DataException">The file is missing or malformed; the message gives the line number.</exception>
    public static StockSeries Load(string path)
    {
        if (!File.Exists(path))
            throw new DataException($"{path}: file not found.");
        try
        {
            using var reader = new StreamReader(path);
            return Parse(reader, path);
        }
        catch (IOException ex)
        {
            throw new DataException($"{path}: cannot read the file ({ex.Message}).", ex);
        }
    }

    /// <summary>Parses CSV text (invariant culture). Blank lines are ignored.</summary>
    /// <param name="reader">The text.</param>
    /// <param name="source">A name for messages (the path).</param>
    /// <exception cref="DataException">The header, a row, a value or the date order is wrong; the message gives the line number.</exception>
    public static StockSeries Parse(TextReader reader, string source)
    {
        ArgumentNullException.ThrowIfNull(reader);
        string? header = reader.ReadLine();
        int lineNumber = 1;
        while (header is not null && header.Trim().Length == 0)
        {
            header = reader.ReadLine();
            lineNumber++;
        }
        if (header is null)
            throw new DataException($"{source}: the file is empty; expected the header '{string.Join(',', Columns)}'.");
        string[] names = header.TrimStart('\uFEFF').Split(',');
        if (names.Length != Columns.Count || !names.Select(n => n.Trim()).SequenceEqual(Columns))
            throw new DataException($"{source}:{lineNumber}: header is '{header}'; expected '{string.Join(',', Columns)}'.");

        var rows = new List<StockRow>();
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNumber++;
            if (line.Trim().Length == 0) continue;
            string[] cells = line.Split(',');
            if (cells.Length != Columns.Count)
                throw new DataException($"{source}:{lineNumber}: expected {Columns.Count} columns, found {cells.Length}: '{line}'.");

            if (!DateOnly.TryParseExact(cells[0].Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out DateOnly date))
                throw new DataException($"{source}:{lineNumber}: Date '{cells[0]}' is not a yyyy-MM-dd date.");
            double open = Price(cells, 1, source, lineNumber);
            double high = Price(cells, 2, source, lineNumber);
            double low = Price(cells, 3, source, lineNumber);
            double close = Price(cells, 4, source, lineNumber);
            double adj = Price(cells, 5, source, lineNumber);
            long volume = Volume(cells[6], source, lineNumber);

            if (rows.Count > 0 && date <= rows[^1].Date)
                throw new DataException($"{source}:{lineNumber}: date {date:yyyy-MM-dd} does not come after the previous row's {rows[^1].Date:yyyy-MM-dd}; rows must be in strictly ascending date order.");
            rows.Add(new StockRow(date, open, high, low, close, adj, volume));
        }
        if (rows.Count == 0)
            throw new DataException($"{source}: the file has a header but no data rows.");
        return new StockSeries(source, rows);
    }

    /// <summary>The rows dated from <paramref name="from"/> to <paramref name="to"/>, both included.</summary>
    /// <exception cref="DataException">No row falls in the range.</exception>
    public StockSeries Between(DateOnly from, DateOnly to)
    {
        var picked = Rows.Where(r => r.Date >= from && r.Date <= to).ToList();
        if (picked.Count == 0)
            throw new DataException(
                $"{Source}: no rows between {from:yyyy-MM-dd} and {to:yyyy-MM-dd}; the file covers {Rows[0].Date:yyyy-MM-dd} to {Rows[^1].Date:yyyy-MM-dd}.");
        return new StockSeries(Source, picked);
    }

    private static double Price(string[] cells, int column, string source, int lineNumber)
    {
        string text = cells[column].Trim();
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value))
            throw new DataException($"{source}:{lineNumber}: {Columns[column]} '{cells[column]}' is not a number.");
        if (value <= 0)
            throw new DataException($"{source}:{lineNumber}: {Columns[column]} is {text}; prices must be positive.");
        return value;
    }

    private static long Volume(string cell, string source, int lineNumber)
    {
        string text = cell.Trim();
        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long volume) && volume >= 0)
            return volume;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && d >= 0 && d <= long.MaxValue && d == Math.Floor(d))
            return (long)d;
        throw new DataException($"{source}:{lineNumber}: Volume '{cell}' is not a non-negative whole number.");
    }
}
