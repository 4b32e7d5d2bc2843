using System.Buffers.Binary;
using System.IO.Compression;

namespace Nn.Simd.Cli.Tests;

/// <summary>Writes IDX fixtures (gzip-compressed by default) for the reader tests.</summary>
public static class IdxWriter
{
    public static byte[] ImagesBytes(byte[] pixels, int count, int rows, int cols, int magic = 0x803)
    {
        var data = new byte[16 + pixels.Length];
        BinaryPrimitives.WriteInt32BigEndian(data, magic);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(12), cols);
        pixels.CopyTo(data, 16);
        return data;
    }

    public static byte[] LabelsBytes(byte[] labels, int? count = null, int magic = 0x801)
    {
        var data = new byte[8 + labels.Length];
        BinaryPrimitives.WriteInt32BigEndian(data, magic);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(4), count ?? labels.Length);
        labels.CopyTo(data, 8);
        return data;
    }

    public static byte[] Gzip(byte[] content)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(content);
        return ms.ToArray();
    }

    public static void WriteGz(string path, byte[] content) => File.WriteAllBytes(path, Gzip(content));

    /// <summary>
    /// A small Fashion-MNIST look-alike: <paramref name="trainCount"/> / <paramref name="testCount"/> images of 4×3
    /// pixels. Labels follow a fixed scrambled pattern; pixel p of image i is <c>(i·7 + p) mod 256</c> (test: +100).
    /// </summary>
    public static (byte[] TrainLabels, byte[] TestLabels) WriteFashionFixture(string dir, int trainCount, int testCount)
    {
        Directory.CreateDirectory(dir);
        byte[] trainLabels = Labels(trainCount, 3);
        byte[] testLabels = Labels(testCount, 7);
        WriteGz(Path.Combine(dir, "train-images-idx3-ubyte.gz"), ImagesBytes(Pixels(trainCount, 0), trainCount, 4, 3));
        WriteGz(Path.Combine(dir, "train-labels-idx1-ubyte.gz"), LabelsBytes(trainLabels));
        WriteGz(Path.Combine(dir, "t10k-images-idx3-ubyte.gz"), ImagesBytes(Pixels(testCount, 100), testCount, 4, 3));
        WriteGz(Path.Combine(dir, "t10k-labels-idx1-ubyte.gz"), LabelsBytes(testLabels));
        return (trainLabels, testLabels);
    }

    public static byte PixelValue(int image, int pixel, int offset) => (byte)((image * 7 + pixel + offset) % 256);

    private static byte[] Labels(int count, int stride)
    {
        var labels = new byte[count];
        for (int i = 0; i < count; i++) labels[i] = (byte)((i * stride + i / 10) % 10);
        return labels;
    }

    private static byte[] Pixels(int count, int offset)
    {
        var pixels = new byte[count * 12];
        for (int i = 0; i < count; i++)
            for (int p = 0; p < 12; p++) pixels[i * 12 + p] = PixelValue(i, p, offset);
        return pixels;
    }
}
