using Nn.Simd.Cli.Data;

namespace Nn.Simd.Cli.Experiments;

/// <summary>Options every experiment takes.</summary>
/// <param name="Model">The model name (each experiment lists its choices).</param>
/// <param name="Epochs">Training epochs.</param>
/// <param name="BatchSize">Mini-batch size; null means the experiment's own default (full batch for spiral).</param>
/// <param name="Seed">Seed for data generation, initialisation and shuffling.</param>
/// <param name="Threads">Threads for both engines (<c>Parallelism.MaxDegree</c> and <c>torch.set_num_threads</c>); null means all cores.</param>
/// <param name="DataDirectory">The <c>--data</c> directory searched first; null when not given.</param>
/// <param name="OutputDirectory">Where results and plots go.</param>
/// <param name="NoReference">Skip the TorchSharp reference run.</param>
/// <param name="Json">Print a one-line JSON summary as the last line of standard output.</param>
/// <param name="LearningRate">Adam's learning rate, the same for both engines.</param>
public sealed record CommonSettings(
    string Model, int Epochs, int? BatchSize, int Seed, int? Threads, string? DataDirectory, string OutputDirectory, bool NoReference, bool Json,
    double LearningRate);

/// <summary>The nnfs spiral classification experiment.</summary>
/// <param name="Common">Shared options.</param>
/// <param name="Samples">Points per class (nnfs: 100).</param>
/// <param name="Classes">Number of classes (nnfs: 3).</param>
public sealed record SpiralSettings(CommonSettings Common, int Samples, int Classes);

/// <summary>The GOOG next-day close forecast experiment.</summary>
/// <param name="Common">Shared options; <c>Model</c> is <c>rnn</c>, <c>lstm</c> or <c>gru</c>.</param>
/// <param name="CsvPath">An explicit CSV (<c>--csv</c>); null means the default file found by <see cref="DataLocator"/>.</param>
/// <param name="Window">Days of context per window.</param>
/// <param name="From">First day used; null means <see cref="StockSeries.DefaultFrom"/> for the default file, the file's start otherwise.</param>
/// <param name="To">Last day used; null means <see cref="StockSeries.DefaultTo"/> for the default file, the file's end otherwise.</param>
public sealed record StockSettings(CommonSettings Common, string? CsvPath, int Window, DateOnly? From, DateOnly? To);

/// <summary>The Fashion-MNIST classification experiment.</summary>
/// <param name="Common">Shared options; <c>Model</c> is <c>mlp</c>, <c>seed</c>, <c>lstm</c> or <c>cnn</c>.</param>
/// <param name="Protocol">Which subsets to use.</param>
/// <param name="Limit">When given, each subset is cut to this many images (tiny runs).</param>
public sealed record FashionSettings(CommonSettings Common, FashionProtocol Protocol, int? Limit);

/// <summary>The <c>fetch</c> command.</summary>
/// <param name="Dataset">The data set to download (<c>fashion-mnist</c>).</param>
/// <param name="DataDirectory">The data directory; files go to its <c>fashion-mnist/</c> subfolder. Null means <c>data/</c> under the current directory.</param>
/// <param name="BaseUrl">Where the files are; null means <see cref="FashionMnistFetcher.DefaultBaseUrl"/>.</param>
public sealed record FetchSettings(string Dataset, string? DataDirectory, Uri? BaseUrl);
