using System.Security.Cryptography;
using Nn.Simd.Cli.Data;

namespace Nn.Simd.Cli.Tests;

public class IdxReaderTests : IDisposable
{
    private readonly TempDirectory _tmp = new();

    public void Dispose() => _tmp.Dispose();

    private static byte[] Pixels(int n)
    {
        var p = new byte[n];
        for (int i = 0; i < n; i++) p[i] = (byte)(i * 31 % 256);
        return p;
    }

    [Fact]
    public void ReadImages_Gzip_RoundTrips()
    {
        string path = _tmp.Combine("img.gz");
        byte[] pixels = Pixels(2 * 3 * 5);
        IdxWriter.WriteGz(path, IdxWriter.ImagesBytes(pixels, 2, 3, 5));
        IdxImages images = IdxReader.ReadImages(path);
        Assert.Equal((2, 3, 5), (images.Count, images.Rows, images.Columns));
        Assert.Equal(pixels, images.Pixels);
    }

    [Fact]
    public void ReadLabels_PlainFile_RoundTrips()
    {
        string path = _tmp.Combine("labels-idx1-ubyte");
        File.WriteAllBytes(path, IdxWriter.LabelsBytes([3, 1, 4, 1, 5]));
        Assert.Equal(new byte[] { 3, 1, 4, 1, 5 }, IdxReader.ReadLabels(path));
    }

    [Fact]
    public void ReadImages_TruncatedPayload_NamesFileAndSizes()
    {
        string path = _tmp.Combine("short.gz");
        byte[] full = IdxWriter.ImagesBytes(Pixels(4 * 28 * 28), 4, 28, 28);
        IdxWriter.WriteGz(path, full[..(full.Length - 100)]);
        var ex = Assert.Throws<DataException>(() => IdxReader.ReadImages(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("truncated", ex.Message);
        Assert.Contains("4 images of 28x28", ex.Message);
        Assert.Contains("3,052", ex.Message); // bytes actually present
    }

    [Fact]
    public void ReadImages_TruncatedGzipStream_IsDataError()
    {
        string path = _tmp.Combine("cut.gz");
        byte[] gz = IdxWriter.Gzip(IdxWriter.ImagesBytes(Pixels(50 * 10 * 10), 50, 10, 10));
        File.WriteAllBytes(path, gz[..(gz.Length / 2)]);
        var ex = Assert.Throws<DataException>(() => IdxReader.ReadImages(path));
        Assert.Contains(path, ex.Message);
    }

    [Fact]
    public void ReadImages_HeaderOnlyPartlyPresent_IsTruncated()
    {
        string path = _tmp.Combine("tiny.gz");
        IdxWriter.WriteGz(path, [0, 0, 8, 3, 0, 0]);
        var ex = Assert.Throws<DataException>(() => IdxReader.ReadImages(path));
        Assert.Contains("less than the 16-byte header", ex.Message);
    }

    [Fact]
    public void ReadImages_HugeDeclaredCount_FailsOnLengthWithoutAllocating()
    {
        string path = _tmp.Combine("liar.gz");
        IdxWriter.WriteGz(path, IdxWriter.ImagesBytes(Pixels(10), int.MaxValue, 4096, 4096));
        var ex = Assert.Throws<DataException>(() => IdxReader.ReadImages(path));
        Assert.Contains("truncated", ex.Message);
    }

    [Fact]
    public void ReadLabels_ExtraTrailingBytes_IsError()
    {
        string path = _tmp.Combine("long.gz");
        IdxWriter.WriteGz(path, IdxWriter.LabelsBytes([1, 2, 3, 4], count: 3));
        var ex = Assert.Throws<DataException>(() => IdxReader.ReadLabels(path));
        Assert.Contains("1 extra", ex.Message);
    }

    [Fact]
    public void ReadImages_BadMagic_SaysWhichMagic()
    {
        string path = _tmp.Combine("labels-as-images.gz");
        IdxWriter.WriteGz(path, IdxWriter.LabelsBytes([1, 2, 3]));
        var ex = Assert.Throws<DataException>(() => IdxReader.ReadImages(path));
        Assert.Contains("bad magic number 0x00000801", ex.Message);
        Assert.Contains("labels file", ex.Message);
        Assert.Contains("0x00000803", ex.Message);
    }

    [Fact]
    public void ReadLabels_GarbageFile_IsBadMagic()
    {
        string path = _tmp.Combine("garbage.gz");
        File.WriteAllText(path, "<html>404 Not Found</html>");
        var ex = Assert.Throws<DataException>(() => IdxReader.ReadLabels(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("bad magic", ex.Message);
    }

    [Fact]
    public void ReadLabels_CorruptGzipBody_IsDataError()
    {
        string path = _tmp.Combine("corrupt.gz");
        byte[] gz = IdxWriter.Gzip(IdxWriter.LabelsBytes(Pixels(5000)));
        for (int i = 12; i < gz.Length - 8; i += 3) gz[i] ^= 0x5a;
        File.WriteAllBytes(path, gz);
        var ex = Assert.Throws<DataException>(() => IdxReader.ReadLabels(path));
        Assert.Contains(path, ex.Message);
    }

    [Fact]
    public void ReadImages_NonPositiveDimension_IsError()
    {
        string path = _tmp.Combine("zero.gz");
        IdxWriter.WriteGz(path, IdxWriter.ImagesBytes([], 3, 0, 28));
        var ex = Assert.Throws<DataException>(() => IdxReader.ReadImages(path));
        Assert.Contains("row count 0", ex.Message);
    }

    [Fact]
    public void ReadLabels_MissingFile_IsDataError()
    {
        var ex = Assert.Throws<DataException>(() => IdxReader.ReadLabels(_tmp.Combine("nope.gz")));
        Assert.Contains("not found", ex.Message);
    }

    [Fact]
    public void ContentChecksum_IsOfDecompressedBytes()
    {
        string path = _tmp.Combine("l.gz");
        byte[] content = IdxWriter.LabelsBytes([9, 8, 7]);
        IdxWriter.WriteGz(path, content);
        string good = Convert.ToHexStringLower(SHA256.HashData(content));
        Assert.Equal(new byte[] { 9, 8, 7 }, IdxReader.ReadLabels(path, good.ToUpperInvariant()));

        string gzHash = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
        var ex = Assert.Throws<DataException>(() => IdxReader.ReadLabels(path, gzHash));
        Assert.Contains("SHA-256 of the decompressed content", ex.Message);
    }
}
