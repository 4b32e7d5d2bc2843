using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;

namespace Nn.Simd.Cli.Data;

/// <summary>
/// Images read from an IDX3 file: <see cref="Pixels"/> is <c>[Count, Rows, Columns]</c> row-major, uint8.
/// </summary>
/// <param name="Pixels">The raw pixel bytes, <c>Count·Rows·Columns</c> of them.</param>
/// <param name="Count">Number of images.</param>
/// <param name="Rows">Image height.</param>
/// <param name="Columns">Image width.</param>
public sealed record IdxImages(byte[] Pixels, int Count, int Rows, int Columns);

/// <summary>
/// Reads the IDX files of MNIST and Fashion-MNIST, gzip-compressed (detected by the gzip magic) or plain.
/// </summary>
/// <remarks>
/// The whole decompressed file is read first (its memory grows with the data actually present, so a garbage
/// header cannot trigger a huge allocation), then the magic and dimensions are checked against the real length:
/// the file must be exactly header plus payload. Every failure is a <see cref="DataException"/> naming the file.
/// </remarks>
public static class IdxReader
{
    /// <summary>Magic number of an IDX file of unsigned bytes with 3 dimensions (images).</summary>
    public const int ImagesMagic = 0x00000803;

    /// <summary>Magic number of an IDX file of unsigned bytes with 1 dimension (labels).</summary>
    public const int LabelsMagic = 0x00000801;

    /// <summary>Largest decompressed file accepted (1 GiB); Fashion-MNIST's largest is 47 MB.</summary>
    internal const long MaxDecompressedBytes = 1L << 30;

    private const int ImagesHeaderBytes = 16;
    private const int LabelsHeaderBytes = 8;

    /// <summary>Reads an images file (magic 0x803, dimensions count × rows × columns).</summary>
    /// <param name="path">The file, <c>.gz</c> or plain.</param>
    /// <param name="expectedContentSha256">When given, the SHA-256 (hex) the decompressed content must have.</param>
    /// <exception cref="DataException">The file is missing, unreadable, corrupt or has the wrong layout or checksum.</exception>
    public static IdxImages ReadImages(string path, string? expectedContentSha256 = null)
    {
        byte[] data = ReadDecompressed(path, expectedContentSha256);
        ReadOnlySpan<byte> span = data;
        if (data.Length >= 4) CheckMagic(path, BinaryPrimitives.ReadInt32BigEndian(span), ImagesMagic, "images");
        if (data.Length < ImagesHeaderBytes)
            throw new DataException($"{path}: truncated IDX images file: {data.Length} bytes, less than the {ImagesHeaderBytes}-byte header.");
        int count = ReadDim(path, span, 4, "image count");
        int rows = ReadDim(path, span, 8, "row count");
        int cols = ReadDim(path, span, 12, "column count");
        long payload = (long)count * rows * cols;
        CheckLength(path, data.Length, ImagesHeaderBytes, payload, $"{count} images of {rows}x{cols}");
        return new IdxImages(data.AsSpan(ImagesHeaderBytes).ToArray(), count, rows, cols);
    }

    /// <summary>Reads a labels file (magic 0x801, one dimension).</summary>
    /// <param name="path">The file, <c>.gz</c> or plain.</param>
    /// <param name="expectedContentSha256">When given, the SHA-256 (hex) the decompressed content must have.</param>
    /// <exception cref="DataException">The file is missing, unreadable, corrupt or has the wrong layout or checksum.</exception>
    public static byte[] ReadLabels(string path, string? expectedContentSha256 = null)
    {
        byte[] data = ReadDecompressed(path, expectedContentSha256);
        ReadOnlySpan<byte> span = data;
        if (data.Length >= 4) CheckMagic(path, BinaryPrimitives.ReadInt32BigEndian(span), LabelsMagic, "labels");
        if (data.Length < LabelsHeaderBytes)
            throw new DataException($"{path}: truncated IDX labels file: {data.Length} bytes, less than the {LabelsHeaderBytes}-byte header.");
        int count = ReadDim(path, span, 4, "label count");
        CheckLength(path, data.Length, LabelsHeaderBytes, count, $"{count} labels");
        return data.AsSpan(LabelsHeaderBytes).ToArray();
    }

    /// <summary>The decompressed bytes of <paramref name="path"/> (gzip detected by its magic 1f 8b).</summary>
    internal static byte[] ReadDecompressed(string path, string? expectedContentSha256)
    {
        if (!File.Exists(path))
            throw new DataException($"{path}: file not found.");
        byte[] data;
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            int b0 = file.ReadByte();
            int b1 = file.ReadByte();
            file.Position = 0;
            bool gzip = b0 == 0x1f && b1 == 0x8b;
            using Stream source = gzip ? new GZipStream(file, CompressionMode.Decompress) : file;
            data = ReadAllBounded(source, path);
        }
        catch (InvalidDataException ex)
        {
            throw new DataException($"{path}: corrupt gzip data ({ex.Message}).", ex);
        }
        catch (IOException ex)
        {
            throw new DataException($"{path}: cannot read the file ({ex.Message}).", ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new DataException($"{path}: cannot read the file ({ex.Message}).", ex);
        }

        if (expectedContentSha256 is not null)
        {
            string actual = Convert.ToHexStringLower(SHA256.HashData(data));
            if (!string.Equals(actual, expectedContentSha256, StringComparison.OrdinalIgnoreCase))
                throw new DataException(
                    $"{path}: SHA-256 of the decompressed content is {actual}, expected {expectedContentSha256.ToLowerInvariant()}; " +
                    "the file is not the official one or is damaged. Delete it and run 'nnsimd fetch fashion-mnist'.");
        }
        return data;
    }

    private static byte[] ReadAllBounded(Stream source, string path)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[1 << 16];
        int read;
        while ((read = source.Read(chunk, 0, chunk.Length)) > 0)
        {
            if (buffer.Length + read > MaxDecompressedBytes)
                throw new DataException($"{path}: decompresses to more than {MaxDecompressedBytes:N0} bytes; not an IDX data file of a supported size.");
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    private static void CheckMagic(string path, int magic, int expected, string kind)
    {
        if (magic == expected) return;
        string what = magic switch
        {
            ImagesMagic => " (that is an IDX images file)",
            LabelsMagic => " (that is an IDX labels file)",
            _ => "",
        };
        throw new DataException($"{path}: bad magic number 0x{magic:X8}{what}; an IDX {kind} file starts with 0x{expected:X8}.");
    }

    private static int ReadDim(string path, ReadOnlySpan<byte> header, int offset, string name)
    {
        int value = BinaryPrimitives.ReadInt32BigEndian(header[offset..]);
        if (value <= 0)
            throw new DataException($"{path}: header declares {name} {value}; it must be positive.");
        return value;
    }

    private static void CheckLength(string path, long actual, int header, long payload, string what)
    {
        long expected = header + payload;
        if (actual < expected)
            throw new DataException(
                $"{path}: truncated: the header declares {what} ({expected:N0} bytes with the header) but the decompressed file has only {actual:N0} bytes.");
        if (actual > expected)
            throw new DataException(
                $"{path}: the header declares {what} ({expected:N0} bytes with the header) but the decompressed file has {actual:N0} bytes ({actual - expected:N0} extra).");
    }
}
