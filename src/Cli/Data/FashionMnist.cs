using Nn.Simd.Tensors;

namespace Nn.Simd.Cli.Data;

/// <summary>How the Fashion-MNIST experiment draws its subsets.</summary>
public enum FashionProtocol
{
    /// <summary>
    /// A small, balanced subset: the first 500 training images of each class in file order, split per class into
    /// 450 for training and 50 for validation (4,500 / 500), plus the first 100 test images of each class (1,000).
    /// </summary>
    Seed,

    /// <summary>All 60,000 training and 10,000 test images; no validation set.</summary>
    Full,
}

/// <summary>
/// Images with their labels: <see cref="Pixels"/> is <c>[Count, Height·Width]</c> row-major, scaled to [0, 1]
/// (byte ÷ 255).
/// </summary>
/// <param name="Pixels">The pixels, <c>Count·Height·Width</c> floats in [0, 1].</param>
/// <param name="Labels">The class of each image, 0 to 9.</param>
/// <param name="Height">Image height (28).</param>
/// <param name="Width">Image width (28).</param>
public sealed record ImageSet(float[] Pixels, byte[] Labels, int Height, int Width)
{
    /// <summary>The number of images.</summary>
    public int Count => Labels.Length;

    /// <summary>Pixels per image, <c>Height·Width</c>.</summary>
    public int Features => Height * Width;

    /// <summary>The images flattened, as a <c>[Count, Height·Width]</c> tensor (a copy).</summary>
    public Tensor<float> FlatTensor() => Tensor<float>.FromArray(Pixels, Count, Features);

    /// <summary>The images as a <c>[Count, Height, Width]</c> tensor (a copy), i.e. rows as timesteps for an RNN.</summary>
    public Tensor<float> SequenceTensor() => Tensor<float>.FromArray(Pixels, Count, Height, Width);

    /// <summary>How many images each of the 10 classes has.</summary>
    public int[] ClassCounts() => LabelStats.Counts(Labels, FashionMnist.ClassCount);

    /// <summary>The first <paramref name="limit"/> images (or this set when it is no larger).</summary>
    public ImageSet Take(int limit)
    {
        if (limit < 0) throw new ArgumentOutOfRangeException(nameof(limit), $"limit must be non-negative; got {limit}.");
        if (limit >= Count) return this;
        return new ImageSet(Pixels.AsSpan(0, limit * Features).ToArray(), Labels.AsSpan(0, limit).ToArray(), Height, Width);
    }
}

/// <summary>The Fashion-MNIST subsets an experiment uses.</summary>
/// <param name="Protocol">Which protocol drew them.</param>
/// <param name="Train">Training images.</param>
/// <param name="Validation">Validation images (empty under <see cref="FashionProtocol.Full"/>).</param>
/// <param name="Test">Test images.</param>
/// <param name="SourceDirectory">The directory the four files were read from.</param>
public sealed record FashionMnistData(FashionProtocol Protocol, ImageSet Train, ImageSet Validation, ImageSet Test, string SourceDirectory);

/// <summary>Per-class sizes of the <see cref="FashionProtocol.Seed"/> protocol (tests shrink them).</summary>
/// <param name="TrainPerClass">Training images per class taken from the training file.</param>
/// <param name="ValidationPerClass">How many of those, per class (the last ones in file order), go to validation.</param>
/// <param name="TestPerClass">Test images per class taken from the test file.</param>
internal sealed record SeedProtocolSizes(int TrainPerClass, int ValidationPerClass, int TestPerClass)
{
    /// <summary>500 per class (450 train + 50 validation) and 100 test per class.</summary>
    public static SeedProtocolSizes Default { get; } = new(500, 50, 100);
}

/// <summary>Loads Fashion-MNIST (Zalando Research, MIT) from its four official IDX files.</summary>
public static class FashionMnist
{
    /// <summary>Number of classes.</summary>
    public const int ClassCount = 10;

    /// <summary>Training images file name.</summary>
    public const string TrainImagesFile = "train-images-idx3-ubyte.gz";

    /// <summary>Training labels file name.</summary>
    public const string TrainLabelsFile = "train-labels-idx1-ubyte.gz";

    /// <summary>Test images file name.</summary>
    public const string TestImagesFile = "t10k-images-idx3-ubyte.gz";

    /// <summary>Test labels file name.</summary>
    public const string TestLabelsFile = "t10k-labels-idx1-ubyte.gz";

    /// <summary>The four file names, in download order.</summary>
    public static IReadOnlyList<string> FileNames { get; } = [TrainImagesFile, TrainLabelsFile, TestImagesFile, TestLabelsFile];

    /// <summary>The class names, by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>SHA-256 of each official <c>.gz</c> file as published (what <c>fetch</c> verifies).</summary>
    public static IReadOnlyDictionary<string, string> GzipSha256 { get; } = new Dictionary<string, string>
    {
        [TrainImagesFile] = "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        [TrainLabelsFile] = "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        [TestImagesFile] = "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        [TestLabelsFile] = "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    };

    /// <summary>
    /// SHA-256 of each file's decompressed IDX content. Loading checks these, because Debian's
    /// <c>dataset-fashion-mnist</c> ships the same content re-gzipped (so the gz checksums differ).
    /// </summary>
    public static IReadOnlyDictionary<string, string> ContentSha256 { get; } = new Dictionary<string, string>
    {
        [TrainImagesFile] = "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        [TrainLabelsFile] = "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        [TestImagesFile] = "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        [TestLabelsFile] = "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    };

    /// <summary>Loads the subsets of <paramref name="protocol"/> from <paramref name="directory"/>.</summary>
    /// <param name="directory">A directory holding the four files.</param>
    /// <param name="protocol">Which subsets to draw.</param>
    /// <param name="limit">When given, each subset is cut to its first <paramref name="limit"/> images (tiny runs).</param>
    /// <param name="verifyContent">Check each file's decompressed SHA-256 against <see cref="ContentSha256"/>.</param>
    /// <exception cref="DataException">A file is missing, corrupt, inconsistent or fails verification.</exception>
    public static FashionMnistData Load(string directory, FashionProtocol protocol, int? limit = null, bool verifyContent = true) =>
        Load(directory, protocol, SeedProtocolSizes.Default, limit, verifyContent);

    /// <summary><see cref="Load(string, FashionProtocol, int?, bool)"/> with explicit seed-protocol sizes.</summary>
    internal static FashionMnistData Load(string directory, FashionProtocol protocol, SeedProtocolSizes sizes, int? limit, bool verifyContent)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (limit is < 1)
            throw new ArgumentOutOfRangeException(nameof(limit), $"limit must be at least 1; got {limit}.");

        ImageSet train = ReadSet(directory, TrainImagesFile, TrainLabelsFile, verifyContent);
        ImageSet test = ReadSet(directory, TestImagesFile, TestLabelsFile, verifyContent);
        ImageSet validation = new([], [], train.Height, train.Width);

        if (protocol == FashionProtocol.Seed)
        {
            int trainPerClass = sizes.TrainPerClass - sizes.ValidationPerClass;
            int[] trainFirst = FirstPerClass(train.Labels, sizes.TrainPerClass, Path.Combine(directory, TrainLabelsFile));
            int[] testIdx = FirstPerClass(test.Labels, sizes.TestPerClass, Path.Combine(directory, TestLabelsFile));

            // Within each class, the first (TrainPerClass − ValidationPerClass) picks train and the rest validate.
            var seen = new int[ClassCount];
            var trainIdx = new List<int>(trainPerClass * ClassCount);
            var validIdx = new List<int>(sizes.ValidationPerClass * ClassCount);
            foreach (int i in trainFirst)
            {
                int c = train.Labels[i];
                (seen[c]++ < trainPerClass ? trainIdx : validIdx).Add(i);
            }
            ImageSet full = train;
            train = Gather(full, trainIdx);
            validation = Gather(full, validIdx);
            test = Gather(test, testIdx);
        }

        if (limit is int cap)
        {
            train = train.Take(cap);
            validation = validation.Take(cap);
            test = test.Take(cap);
        }
        return new FashionMnistData(protocol, train, validation, test, directory);
    }

    private static ImageSet ReadSet(string directory, string imagesFile, string labelsFile, bool verify)
    {
        string imagesPath = Path.Combine(directory, imagesFile);
        string labelsPath = Path.Combine(directory, labelsFile);
        byte[] labels = IdxReader.ReadLabels(labelsPath, verify ? ContentSha256[labelsFile] : null);
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] >= ClassCount)
                throw new DataException($"{labelsPath}: label {i} is {labels[i]}; Fashion-MNIST labels are 0 to {ClassCount - 1}.");
        }
        IdxImages images = IdxReader.ReadImages(imagesPath, verify ? ContentSha256[imagesFile] : null);
        if (images.Count != labels.Length)
            throw new DataException($"{imagesPath} has {images.Count} images but {labelsPath} has {labels.Length} labels.");

        var pixels = new float[images.Pixels.Length];
        const float scale = 1f / 255f;
        byte[] src = images.Pixels;
        for (int i = 0; i < src.Length; i++) pixels[i] = src[i] * scale;
        return new ImageSet(pixels, labels, images.Rows, images.Columns);
    }

    /// <summary>The indices of the first <paramref name="perClass"/> items of each class, in file order.</summary>
    private static int[] FirstPerClass(byte[] labels, int perClass, string labelsPath)
    {
        var counts = new int[ClassCount];
        var picked = new List<int>(perClass * ClassCount);
        for (int i = 0; i < labels.Length && picked.Count < perClass * ClassCount; i++)
        {
            if (counts[labels[i]] < perClass)
            {
                counts[labels[i]]++;
                picked.Add(i);
            }
        }
        for (int c = 0; c < ClassCount; c++)
        {
            if (counts[c] < perClass)
                throw new DataException($"{labelsPath}: class {c} has only {counts[c]} items; the seed protocol needs {perClass} per class.");
        }
        return [.. picked];
    }

    private static ImageSet Gather(ImageSet source, List<int> indices)
    {
        int f = source.Features;
        var pixels = new float[indices.Count * f];
        var labels = new byte[indices.Count];
        for (int k = 0; k < indices.Count; k++)
        {
            int i = indices[k];
            source.Pixels.AsSpan(i * f, f).CopyTo(pixels.AsSpan(k * f, f));
            labels[k] = source.Labels[i];
        }
        return new ImageSet(pixels, labels, source.Height, source.Width);
    }

    private static ImageSet Gather(ImageSet source, int[] indices) => Gather(source, new List<int>(indices));
}
