using ScottPlot;

namespace Nn.Simd.Cli.Experiments.SideBySide;

/// <summary>The experiments' PNG figures (ScottPlot), written atomically.</summary>
internal static class Plots
{
    private static readonly Color[] ClassColors =
        [.. Enumerable.Range(0, 10).Select(i => new ScottPlot.Palettes.Category10().GetColor(i))];

    /// <summary>Per-epoch training loss of each engine.</summary>
    public static void Loss(string path, string title, IReadOnlyList<EngineRun> runs)
    {
        var plot = new Plot();
        foreach (var run in runs)
        {
            double[] xs = [.. Enumerable.Range(1, run.EpochLosses.Length).Select(i => (double)i)];
            var line = plot.Add.ScatterLine(xs, run.EpochLosses);
            line.LegendText = run.Name;
            line.LineWidth = 2;
        }
        plot.Title(title);
        plot.XLabel("epoch");
        plot.YLabel("training loss");
        plot.ShowLegend();
        Save(plot, path, 800, 500);
    }

    /// <summary>
    /// Decision regions: the predicted class over a grid (<paramref name="gridClasses"/>, row 0 at the bottom)
    /// covering <paramref name="extent"/>, with the true points on top.
    /// </summary>
    public static void DecisionRegions(string path, string title, int[,] gridClasses, (double XMin, double XMax, double YMin, double YMax) extent,
        float[] points, byte[] labels, int classes)
    {
        var plot = new Plot();
        int rows = gridClasses.GetLength(0), cols = gridClasses.GetLength(1);
        // Paint each grid cell as a small square marker in its class's pale colour: simple, and exact per class.
        double dx = (extent.XMax - extent.XMin) / cols, dy = (extent.YMax - extent.YMin) / rows;
        for (int k = 0; k < classes; k++)
        {
            var xs = new List<double>();
            var ys = new List<double>();
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                    if (gridClasses[r, c] == k)
                    {
                        xs.Add(extent.XMin + (c + 0.5) * dx);
                        ys.Add(extent.YMin + (r + 0.5) * dy);
                    }
            if (xs.Count == 0) continue;
            var region = plot.Add.Markers(xs.ToArray(), ys.ToArray(), MarkerShape.FilledSquare, 4, ClassColors[k % 10].WithAlpha(0.25));
            region.LegendText = "";
        }
        for (int k = 0; k < classes; k++)
        {
            var xs = new List<double>();
            var ys = new List<double>();
            for (int i = 0; i < labels.Length; i++)
                if (labels[i] == k)
                {
                    xs.Add(points[2 * i]);
                    ys.Add(points[2 * i + 1]);
                }
            var m = plot.Add.Markers(xs.ToArray(), ys.ToArray(), MarkerShape.FilledCircle, 6, ClassColors[k % 10]);
            m.LegendText = $"class {k}";
        }
        plot.Axes.SetLimits(extent.XMin, extent.XMax, extent.YMin, extent.YMax);
        plot.Title(title);
        plot.ShowLegend();
        Save(plot, path, 700, 700);
    }

    /// <summary>Closing prices over the test slice: the truth, each engine's forecast and the naive forecast.</summary>
    public static void Forecast(string path, string title, DateOnly[] dates, double[] actual, IReadOnlyList<(string Name, double[] Values)> forecasts)
    {
        var plot = new Plot();
        double[] xs = [.. dates.Select(d => d.ToDateTime(TimeOnly.MinValue).ToOADate())];
        var truth = plot.Add.ScatterLine(xs, actual);
        truth.LegendText = "actual close";
        truth.LineWidth = 2;
        truth.Color = Colors.Black;
        int i = 0;
        foreach (var (name, values) in forecasts)
        {
            var line = plot.Add.ScatterLine(xs, values);
            line.LegendText = name;
            line.LineWidth = 1.5f;
            line.Color = ClassColors[i % 10];
            if (i++ == 1) line.LinePattern = LinePattern.Dashed; // the two engines' lines often coincide; keep both visible
        }
        plot.Axes.DateTimeTicksBottom();
        plot.Title(title);
        plot.YLabel("close ($)");
        plot.ShowLegend(Alignment.UpperLeft);
        Save(plot, path, 1100, 550);
    }

    /// <summary>A confusion matrix (rows: true class, columns: predicted) with counts in the cells.</summary>
    public static void Confusion(string path, string title, int[,] matrix, IReadOnlyList<string> classNames)
    {
        int k = matrix.GetLength(0);
        var plot = new Plot();
        // Heatmap row 0 is drawn at the top, so true class 0 is the top row as in the usual layout.
        var values = new double[k, k];
        double max = 1;
        for (int r = 0; r < k; r++)
            for (int c = 0; c < k; c++)
            {
                values[r, c] = matrix[r, c];
                max = Math.Max(max, matrix[r, c]);
            }
        var heat = plot.Add.Heatmap(values);
        heat.Colormap = new WhiteToBlue();
        heat.Extent = new CoordinateRect(0, k - 1, 0, k - 1); // ScottPlot places the corner cells' centres on the extent
        for (int r = 0; r < k; r++)
            for (int c = 0; c < k; c++)
            {
                var text = plot.Add.Text(matrix[r, c].ToString(System.Globalization.CultureInfo.InvariantCulture), c, k - 1 - r);
                text.LabelAlignment = Alignment.MiddleCenter;
                text.LabelFontSize = 11;
                text.LabelFontColor = matrix[r, c] > max / 2 ? Colors.White : Colors.Black;
            }
        double[] ticks = [.. Enumerable.Range(0, k).Select(i => (double)i)];
        plot.Axes.Bottom.SetTicks(ticks, [.. ticks.Select(t => t.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
        plot.Axes.Left.SetTicks([.. ticks.Select(t => k - 1 - t)], [.. classNames.Select((n, i) => $"{n} {i}")]);
        plot.Axes.SetLimits(-0.5, k - 0.5, -0.5, k - 0.5);
        plot.XLabel("predicted");
        plot.YLabel("true");
        plot.Title(title);
        Save(plot, path, 800, 800);
    }

    /// <summary>
    /// A grid of grey images with a caption under each: the true label and each engine's prediction
    /// (a prediction that misses is marked with "x").
    /// </summary>
    public static void ImageGrid(string path, string title, float[] pixels, int height, int width, int[] indices, byte[] labels,
        IReadOnlyList<(string Name, int[] Predicted)> predictions, IReadOnlyList<string> classNames, int columns)
    {
        var plot = new Plot();
        int rows = (indices.Length + columns - 1) / columns;
        double cellW = 1.0, cellH = 1.0 + 0.16 * (predictions.Count + 1);
        for (int n = 0; n < indices.Length; n++)
        {
            int i = indices[n], r = n / columns, c = n % columns;
            var img = new double[height, width];
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                    img[y, x] = pixels[(i * height + y) * width + x];
            var heat = plot.Add.Heatmap(img);
            heat.Colormap = new ScottPlot.Colormaps.Grayscale();
            double left = c * (cellW + 0.1), top = -r * (cellH + 0.1);
            // The extent holds the corner pixels' centres, so inset it by half a pixel to fill [left, left + 1].
            double hx = 0.5 / width, hy = 0.5 / height;
            heat.Extent = new CoordinateRect(left + hx, left + cellW - hx, top - 1.0 + hy, top - hy);
            double captionY = top - 1.0 - 0.08;
            var truth = plot.Add.Text($"true: {classNames[labels[i]]}", left + cellW / 2, captionY);
            truth.LabelAlignment = Alignment.UpperCenter;
            truth.LabelFontSize = 10;
            truth.LabelBold = true;
            for (int p = 0; p < predictions.Count; p++)
            {
                int predicted = predictions[p].Predicted[i];
                bool ok = predicted == labels[i];
                var t = plot.Add.Text($"{predictions[p].Name}: {classNames[predicted]}{(ok ? "" : " x")}", left + cellW / 2, captionY - 0.16 * (p + 1));
                t.LabelAlignment = Alignment.UpperCenter;
                t.LabelFontSize = 10;
                t.LabelFontColor = ok ? Colors.DarkGreen : Colors.Red;
            }
        }
        plot.Axes.SetLimits(-0.1, columns * (cellW + 0.1), -rows * (cellH + 0.1), 0.1);
        plot.HideGrid();
        plot.Axes.Frameless();
        plot.Title(title);
        Save(plot, path, 180 * columns, 230 * rows + 60);
    }

    private static void Save(Plot plot, string path, int width, int height) =>
        OutputFiles.WriteAtomically(path, plot.GetImageBytes(width, height, ImageFormat.Png));
}

/// <summary>White at zero to dark blue at the maximum, so the largest counts stand out.</summary>
internal sealed class WhiteToBlue : IColormap
{
    /// <inheritdoc/>
    public string Name => "white-to-blue";

    /// <inheritdoc/>
    public Color GetColor(double normalizedIntensity)
    {
        double v = Math.Clamp(double.IsFinite(normalizedIntensity) ? normalizedIntensity : 0, 0, 1);
        return new Color((byte)(255 - v * (255 - 8)), (byte)(255 - v * (255 - 48)), (byte)(255 - v * (255 - 107)));
    }
}

/// <summary>Writes result files atomically: a temporary file in the same folder, then a rename over the target.</summary>
internal static class OutputFiles
{
    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> so readers never see a partial file.</summary>
    public static void WriteAtomically(string path, byte[] bytes)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        string tmp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            File.WriteAllBytes(tmp, bytes);
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }
}
