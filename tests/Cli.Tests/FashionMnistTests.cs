using Nn.Simd.Cli.Data;
using Xunit.Abstractions;

namespace Nn.Simd.Cli.Tests;

public class FashionMnistTests : IDisposable
{
    private readonly TempDirectory _tmp = new();
    private readonly ITestOutputHelper _output;

    public FashionMnistTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _tmp.Dispose();

    private static readonly SeedProtocolSizes Small = new(TrainPerClass: 4, ValidationPerClass: 1, TestPerClass: 2);

    [Fact]
    public void Full_LoadsEverything_ScaledTo01()
    {
        var (trainLabels, testLabels) = IdxWriter.WriteFashionFixture(_tmp.Path, 100, 40);
        var data = FashionMnist.Load(_tmp.Path, FashionProtocol.Full, Small, limit: null, verifyContent: false);

        Assert.Equal(100, data.Train.Count);
        Assert.Equal(40, data.Test.Count);
        Assert.Equal(0, data.Validation.Count);
        Assert.Equal((4, 3, 12), (data.Train.Height, data.Train.Width, data.Train.Features));
        Assert.Equal(trainLabels, data.Train.Labels);
        Assert.Equal(testLabels, data.Test.Labels);
        for (int i = 0; i < 100; i++)
            for (int p = 0; p < 12; p++)
                Assert.Equal(IdxWriter.PixelValue(i, p, 0) / 255f, data.Train.Pixels[i * 12 + p], 1e-7f);
        Assert.Equal(IdxWriter.PixelValue(39, 11, 100) / 255f, data.Test.Pixels[^1], 1e-7f);
    }

    [Fact]
    public void Seed_TakesFirstPerClassInFileOrder_AndSplitsPerClass()
    {
        var (trainLabels, testLabels) = IdxWriter.WriteFashionFixture(_tmp.Path, 100, 40);
        var data = FashionMnist.Load(_tmp.Path, FashionProtocol.Seed, Small, limit: null, verifyContent: false);

        // Independent expectation: walk the file, first 4 of each class; the first 3 train, the 4th validates.
        var seen = new int[10];
        var expectTrain = new List<int>();
        var expectValid = new List<int>();
        for (int i = 0; i < trainLabels.Length; i++)
        {
            int c = trainLabels[i];
            if (seen[c] < 3) expectTrain.Add(i);
            else if (seen[c] == 3) expectValid.Add(i);
            seen[c]++;
        }
        var testSeen = new int[10];
        var expectTest = new List<int>();
        for (int i = 0; i < testLabels.Length; i++)
            if (testSeen[testLabels[i]]++ < 2) expectTest.Add(i);

        AssertSubset(data.Train, expectTrain, trainLabels, 0);
        AssertSubset(data.Validation, expectValid, trainLabels, 0);
        AssertSubset(data.Test, expectTest, testLabels, 100);
        Assert.All(data.Train.ClassCounts(), n => Assert.Equal(3, n));
        Assert.All(data.Validation.ClassCounts(), n => Assert.Equal(1, n));
        Assert.All(data.Test.ClassCounts(), n => Assert.Equal(2, n));
    }

    private static void AssertSubset(ImageSet set, List<int> indices, byte[] labels, int pixelOffset)
    {
        Assert.Equal(indices.Count, set.Count);
        for (int k = 0; k < indices.Count; k++)
        {
            Assert.Equal(labels[indices[k]], set.Labels[k]);
            Assert.Equal(IdxWriter.PixelValue(indices[k], 5, pixelOffset) / 255f, set.Pixels[k * 12 + 5], 1e-7f);
        }
    }

    [Fact]
    public void Limit_CutsEachSubset()
    {
        IdxWriter.WriteFashionFixture(_tmp.Path, 100, 40);
        var data = FashionMnist.Load(_tmp.Path, FashionProtocol.Seed, Small, limit: 7, verifyContent: false);
        Assert.Equal(7, data.Train.Count);
        Assert.Equal(7, data.Validation.Count);
        Assert.Equal(7, data.Test.Count);
        Assert.Equal(7 * 12, data.Train.Pixels.Length);
    }

    [Fact]
    public void Seed_TooFewPerClass_IsDataError()
    {
        IdxWriter.WriteFashionFixture(_tmp.Path, 100, 40);
        var ex = Assert.Throws<DataException>(() =>
            FashionMnist.Load(_tmp.Path, FashionProtocol.Seed, new SeedProtocolSizes(11, 1, 2), limit: null, verifyContent: false));
        Assert.Contains("has only 10 items", ex.Message);
    }

    [Fact]
    public void ImageAndLabelCountsMustAgree()
    {
        IdxWriter.WriteFashionFixture(_tmp.Path, 100, 40);
        IdxWriter.WriteGz(Path.Combine(_tmp.Path, FashionMnist.TestLabelsFile), IdxWriter.LabelsBytes(new byte[39]));
        var ex = Assert.Throws<DataException>(() => FashionMnist.Load(_tmp.Path, FashionProtocol.Full, Small, null, false));
        Assert.Contains("40 images", ex.Message);
        Assert.Contains("39 labels", ex.Message);
    }

    [Fact]
    public void LabelOutOfRange_IsDataError()
    {
        IdxWriter.WriteFashionFixture(_tmp.Path, 100, 40);
        var labels = new byte[100];
        labels[17] = 10;
        IdxWriter.WriteGz(Path.Combine(_tmp.Path, FashionMnist.TrainLabelsFile), IdxWriter.LabelsBytes(labels));
        var ex = Assert.Throws<DataException>(() => FashionMnist.Load(_tmp.Path, FashionProtocol.Full, Small, null, false));
        Assert.Contains("label 17 is 10", ex.Message);
    }

    [Fact]
    public void VerifyContent_RejectsFilesThatAreNotTheOfficialOnes()
    {
        IdxWriter.WriteFashionFixture(_tmp.Path, 100, 40);
        var ex = Assert.Throws<DataException>(() => FashionMnist.Load(_tmp.Path, FashionProtocol.Full));
        Assert.Contains("SHA-256", ex.Message);
    }

    [Fact]
    public void Tensors_HaveDocumentedShapes()
    {
        IdxWriter.WriteFashionFixture(_tmp.Path, 100, 40);
        var data = FashionMnist.Load(_tmp.Path, FashionProtocol.Full, Small, null, false);
        var flat = data.Test.FlatTensor();
        Assert.Equal([40, 12], flat.Shape.ToArray());
        var seq = data.Test.SequenceTensor();
        Assert.Equal([40, 4, 3], seq.Shape.ToArray());
        Assert.Equal(data.Test.Pixels, seq.ToArray());
    }

    /// <summary>Runs only where the real data set is found (data/, ../shared/data or the Debian package).</summary>
    [Fact]
    public void RealData_FirstLabelsMatchPublishedValues_WhenPresent()
    {
        string dir;
        try
        {
            dir = new DataLocator(null).FindFashionMnist();
        }
        catch (DataException)
        {
            _output.WriteLine("Fashion-MNIST not found; skipping the real-data check (run 'nnsimd fetch fashion-mnist').");
            return;
        }
        _output.WriteLine($"Checking the real data in {dir}.");

        byte[] train = IdxReader.ReadLabels(Path.Combine(dir, FashionMnist.TrainLabelsFile), FashionMnist.ContentSha256[FashionMnist.TrainLabelsFile]);
        byte[] test = IdxReader.ReadLabels(Path.Combine(dir, FashionMnist.TestLabelsFile), FashionMnist.ContentSha256[FashionMnist.TestLabelsFile]);
        Assert.Equal(60000, train.Length);
        Assert.Equal(10000, test.Length);
        Assert.Equal(new byte[] { 9, 0, 0, 3, 0, 2, 7, 2, 5, 5 }, train[..10]);
        Assert.Equal(new byte[] { 9, 2, 1, 1, 6, 1, 4, 6, 5, 7 }, test[..10]);

        var data = FashionMnist.Load(dir, FashionProtocol.Seed);
        Assert.Equal((4500, 500, 1000), (data.Train.Count, data.Validation.Count, data.Test.Count));
        Assert.All(data.Train.ClassCounts(), n => Assert.Equal(450, n));
        Assert.All(data.Validation.ClassCounts(), n => Assert.Equal(50, n));
        Assert.All(data.Test.ClassCounts(), n => Assert.Equal(100, n));
        Assert.Equal(new byte[] { 9, 2, 1, 1, 6, 1, 4, 6, 5, 7 }, data.Test.Labels[..10]); // the first ten test images are all picked, in file order
        Assert.Equal((28, 28), (data.Train.Height, data.Train.Width));
        Assert.InRange(data.Train.Pixels.Max(), 0.99f, 1f);
    }
}
