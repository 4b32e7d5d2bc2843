using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Nn.Simd.Tensors;

namespace Nn.Simd.Training.Serialization;

/// <summary>One tensor listed in a safetensors header.</summary>
/// <param name="Name">The tensor's key.</param>
/// <param name="DType"><c>F32</c> or <c>F64</c>.</param>
/// <param name="Shape">The dimensions.</param>
/// <param name="Begin">The first byte, relative to the data section.</param>
/// <param name="End">One past the last byte, relative to the data section.</param>
public sealed record SafeTensorEntry(string Name, string DType, int[] Shape, long Begin, long End)
{
    /// <summary>The element count.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, d) => a * d);
}

/// <summary>A validated safetensors header.</summary>
/// <param name="Tensors">The tensors in header order.</param>
/// <param name="Metadata">The <c>__metadata__</c> string map (empty when absent).</param>
/// <param name="DataStart">The file offset of the data section (8 + header length).</param>
public sealed record SafeTensorsHeader(IReadOnlyList<SafeTensorEntry> Tensors, IReadOnlyDictionary<string, string> Metadata, long DataStart)
{
    /// <summary>The entry named <paramref name="name"/>, or null.</summary>
    public SafeTensorEntry? Find(string name) => Tensors.FirstOrDefault(t => t.Name == name);
}

/// <summary>
/// Reads and writes the safetensors format (https://github.com/huggingface/safetensors): an 8-byte
/// little-endian header length <c>N</c>, a UTF-8 JSON header of <c>N</c> bytes mapping each tensor name to
/// <c>{"dtype", "shape", "data_offsets": [begin, end)}</c> (offsets relative to the data section) plus an
/// optional <c>"__metadata__"</c> map of strings, then the raw little-endian buffers. Only F32 and F64 are supported.
/// </summary>
/// <remarks>Writes are atomic: the file is written to a temporary file in the same directory, flushed to disk,
/// then renamed over the target, so a failure leaves any previous file intact. Reads validate everything
/// (sizes, JSON, dtypes, offsets, overlaps) before allocating for or copying any tensor.</remarks>
public static class SafeTensors
{
    /// <summary>The largest header accepted (as the reference implementation: 100 MB).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>The dtype name for an element type.</summary>
    /// <exception cref="NotSupportedException">T is neither float nor double.</exception>
    public static string DTypeOf<T>() =>
        typeof(T) == typeof(float) ? "F32" : typeof(T) == typeof(double) ? "F64"
        : throw new NotSupportedException($"safetensors writing supports float and double, not {typeof(T).Name}.");

    /// <summary>Writes tensors and metadata to <paramref name="path"/> atomically.</summary>
    /// <param name="path">The file to (over)write.</param>
    /// <param name="tensors">Names and tensors, written in this order; names must be unique and not <c>__metadata__</c>.</param>
    /// <param name="metadata">String metadata, or null.</param>
    /// <exception cref="ArgumentException">A name is empty, repeated or reserved.</exception>
    /// <exception cref="IOException">Writing failed; the old file (if any) is unchanged.</exception>
    public static void Write<T>(string path, IReadOnlyList<KeyValuePair<string, Tensor<T>>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
        where T : unmanaged, IFloatingPointIeee754<T> => Write(path, tensors, metadata, null);

    internal static void Write<T>(string path, IReadOnlyList<KeyValuePair<string, Tensor<T>>> tensors,
        IReadOnlyDictionary<string, string>? metadata, Action? beforeCommit) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(tensors);
        byte[] header = BuildHeader(tensors, metadata);
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        string tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                Span<byte> len = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
                fs.Write(len);
                fs.Write(header);
                foreach (var (_, t) in tensors) WriteLittleEndian(fs, t.ReadOnlySpan);
                beforeCommit?.Invoke();
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    private static byte[] BuildHeader<T>(IReadOnlyList<KeyValuePair<string, Tensor<T>>> tensors, IReadOnlyDictionary<string, string>? metadata)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        string dtype = DTypeOf<T>();
        int size = Marshal.SizeOf<T>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata) w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, t) in tensors)
            {
                if (string.IsNullOrEmpty(name) || name == "__metadata__" || !names.Add(name))
                    throw new ArgumentException($"Tensor name '{name}' is empty, reserved or repeated.", nameof(tensors));
                ArgumentNullException.ThrowIfNull(t);
                long bytes = (long)t.Length * size;
                w.WriteStartObject(name);
                w.WriteString("dtype", dtype);
                w.WriteStartArray("shape");
                for (int i = 0; i < t.Rank; i++) w.WriteNumberValue(t.Shape[i]);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + bytes);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += bytes;
            }
            w.WriteEndObject();
        }
        // Pad with spaces to a multiple of 8 so the data section is aligned, as the reference writer does.
        int pad = (int)((8 - ms.Length % 8) % 8);
        for (int i = 0; i < pad; i++) ms.WriteByte((byte)' ');
        return ms.ToArray();
    }

    private static void WriteLittleEndian<T>(Stream s, ReadOnlySpan<T> data) where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(data);
        if (BitConverter.IsLittleEndian) { s.Write(bytes); return; }
        int size = Marshal.SizeOf<T>();
        var buf = bytes.ToArray();
        for (int i = 0; i < buf.Length; i += size) buf.AsSpan(i, size).Reverse();
        s.Write(buf);
    }

    /// <summary>Reads and validates the header of the file at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not a valid safetensors file; the message says what is wrong.</exception>
    public static SafeTensorsHeader ReadHeader(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return ReadHeader(fs, path);
    }

    /// <summary>Reads and validates the header from a seekable stream positioned anywhere.</summary>
    /// <param name="stream">The file's stream.</param>
    /// <param name="source">A name for messages (e.g. the path).</param>
    /// <exception cref="InvalidDataException">The data is not a valid safetensors file.</exception>
    public static SafeTensorsHeader ReadHeader(Stream stream, string source)
    {
        ArgumentNullException.ThrowIfNull(stream);
        long fileLength = stream.Length;
        if (fileLength < 8)
            throw new InvalidDataException($"'{source}' is truncated: {fileLength} bytes, but a safetensors file starts with an 8-byte header length.");
        stream.Position = 0;
        Span<byte> len = stackalloc byte[8];
        stream.ReadExactly(len);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(len);
        // Check BEFORE allocating: a corrupt length must not become a huge allocation.
        if (n > (ulong)(fileLength - 8))
            throw new InvalidDataException($"'{source}': the header length {n} exceeds the {fileLength - 8} bytes that follow it (truncated or not a safetensors file).");
        if (n > MaxHeaderBytes)
            throw new InvalidDataException($"'{source}': the header length {n} exceeds the {MaxHeaderBytes}-byte limit.");
        if (n < 2)
            throw new InvalidDataException($"'{source}': the header length {n} is too small to hold a JSON object.");
        var bytes = new byte[n];
        stream.ReadExactly(bytes);
        long dataStart = 8 + (long)n, dataLength = fileLength - dataStart;

        JsonDocument doc;
        try { doc = JsonDocument.Parse(bytes); }
        catch (JsonException e) { throw new InvalidDataException($"'{source}': the header is not valid JSON: {e.Message}", e); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"'{source}': the header must be a JSON object, not {doc.RootElement.ValueKind}.");
            var tensors = new List<SafeTensorEntry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(prop.Name))
                    throw new InvalidDataException($"'{source}': the header lists '{prop.Name}' twice.");
                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object)
                        throw new InvalidDataException($"'{source}': __metadata__ must be an object of strings.");
                    foreach (var m in prop.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String)
                            throw new InvalidDataException($"'{source}': __metadata__ value '{m.Name}' is a {m.Value.ValueKind}, not a string.");
                        metadata[m.Name] = m.Value.GetString()!;
                    }
                    continue;
                }
                tensors.Add(ParseEntry(prop, source, dataLength));
            }
            // No two tensors may share bytes.
            var byBegin = tensors.Where(t => t.End > t.Begin).OrderBy(t => t.Begin).ToList();
            for (int i = 1; i < byBegin.Count; i++)
                if (byBegin[i].Begin < byBegin[i - 1].End)
                    throw new InvalidDataException($"'{source}': tensors '{byBegin[i - 1].Name}' [{byBegin[i - 1].Begin}, {byBegin[i - 1].End}) and '{byBegin[i].Name}' [{byBegin[i].Begin}, {byBegin[i].End}) overlap.");
            return new SafeTensorsHeader(tensors, metadata, dataStart);
        }
    }

    private static SafeTensorEntry ParseEntry(JsonProperty prop, string source, long dataLength)
    {
        string name = prop.Name;
        var e = prop.Value;
        if (e.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"'{source}': tensor '{name}' must be an object with dtype, shape and data_offsets.");
        if (!e.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String)
            throw new InvalidDataException($"'{source}': tensor '{name}' has no dtype string.");
        string dtype = dt.GetString()!;
        int size = dtype switch
        {
            "F32" => 4,
            "F64" => 8,
            _ => throw new InvalidDataException($"'{source}': tensor '{name}' has dtype '{dtype}'; only F32 and F64 are supported."),
        };
        if (!e.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"'{source}': tensor '{name}' has no shape array.");
        var shape = new int[sh.GetArrayLength()];
        int k = 0;
        long count = 1;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int v) || v < 0)
                throw new InvalidDataException($"'{source}': tensor '{name}' has a shape entry {d} that is not a non-negative integer.");
            shape[k++] = v;
            count = checked(count * v);
        }
        if (!e.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw new InvalidDataException($"'{source}': tensor '{name}' has no data_offsets pair.");
        if (!off[0].TryGetInt64(out long begin) || !off[1].TryGetInt64(out long end) || begin < 0 || end < begin)
            throw new InvalidDataException($"'{source}': tensor '{name}' has invalid data_offsets {off}.");
        if (end > dataLength)
            throw new InvalidDataException($"'{source}': tensor '{name}' data_offsets [{begin}, {end}) run past the end of the {dataLength}-byte data section.");
        if (end - begin != count * size)
            throw new InvalidDataException($"'{source}': tensor '{name}' is {dtype} with shape [{string.Join(", ", shape)}], which needs {count * size} bytes, but its data_offsets [{begin}, {end}) span {end - begin}.");
        return new SafeTensorEntry(name, dtype, shape, begin, end);
    }

    /// <summary>Reads one tensor's data into <paramref name="destination"/>, converting between F32 and F64 if needed.</summary>
    /// <param name="stream">The file's seekable stream.</param>
    /// <param name="header">Its validated header.</param>
    /// <param name="entry">The tensor to read.</param>
    /// <param name="destination">Exactly <see cref="SafeTensorEntry.ElementCount"/> elements.</param>
    /// <exception cref="ArgumentException">The destination length differs from the element count.</exception>
    public static void ReadInto<T>(Stream stream, SafeTensorsHeader header, SafeTensorEntry entry, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(entry);
        if (destination.Length != entry.ElementCount)
            throw new ArgumentException($"Tensor '{entry.Name}' has {entry.ElementCount} elements but the destination holds {destination.Length}.", nameof(destination));
        stream.Position = header.DataStart + entry.Begin;
        if (entry.DType == DTypeOf<T>())
        {
            var bytes = MemoryMarshal.AsBytes(destination);
            stream.ReadExactly(bytes);
            if (!BitConverter.IsLittleEndian)
                for (int i = 0; i < bytes.Length; i += Marshal.SizeOf<T>()) bytes.Slice(i, Marshal.SizeOf<T>()).Reverse();
            return;
        }
        if (entry.DType == "F32") Convert<float, T>(stream, destination);
        else Convert<double, T>(stream, destination);
    }

    private static void Convert<TFile, T>(Stream stream, Span<T> destination)
        where TFile : unmanaged, IFloatingPointIeee754<TFile> where T : unmanaged, IFloatingPointIeee754<T>
    {
        var tmp = new TFile[destination.Length];
        var bytes = MemoryMarshal.AsBytes(tmp.AsSpan());
        stream.ReadExactly(bytes);
        if (!BitConverter.IsLittleEndian)
            for (int i = 0; i < bytes.Length; i += Marshal.SizeOf<TFile>()) bytes.Slice(i, Marshal.SizeOf<TFile>()).Reverse();
        for (int i = 0; i < tmp.Length; i++) destination[i] = T.CreateChecked(tmp[i]);
    }
}
