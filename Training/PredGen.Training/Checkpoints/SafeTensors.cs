using System.Buffers.Binary;
using System.Text.Json;
using static TorchSharp.torch;

namespace PredGen.Training.Checkpoints;

/// <summary>Where one tensor sits in a safetensors file.</summary>
public sealed record SafeTensorEntry(string Name, ScalarType DType, long[] Shape, long Begin, long End)
{
    public long ByteLength => End - Begin;
}

/// <summary>
/// The safetensors format (8-byte little-endian header length, JSON header of name -> dtype/shape/data_offsets,
/// then raw little-endian data), read and written directly: it is small and exact, and needs no Python pickles.
/// Tensor data never passes through a managed array of its own size: it is streamed between the file and the
/// tensor's native memory in 1 MB pieces (Tensor.ReadBytesFromStream / WriteBytesToStream), so a tensor may exceed
/// 2 GB (an fp32 Llama-3-8B embed_tokens is 2.1 GB) and loading holds each tensor once, not twice.
/// </summary>
public static class SafeTensors
{
    private const int Alignment = 8;

    /// <summary>The spec caps the header at 100 MB; anything larger is not a safetensors file.</summary>
    private const long MaxHeaderBytes = 100_000_000;

    internal const int CopyBufferBytes = 1 << 20;

    public static string DTypeName(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => "F32",
        ScalarType.Float16 => "F16",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Float64 => "F64",
        ScalarType.Int64 => "I64",
        ScalarType.Int32 => "I32",
        ScalarType.Int16 => "I16",
        ScalarType.Int8 => "I8",
        ScalarType.Byte => "U8",
        ScalarType.Bool => "BOOL",
        _ => throw new NotSupportedException($"safetensors cannot store {dtype}."),
    };

    public static ScalarType ParseDType(string name) => name switch
    {
        "F32" => ScalarType.Float32,
        "F16" => ScalarType.Float16,
        "BF16" => ScalarType.BFloat16,
        "F64" => ScalarType.Float64,
        "I64" => ScalarType.Int64,
        "I32" => ScalarType.Int32,
        "I16" => ScalarType.Int16,
        "I8" => ScalarType.Int8,
        "U8" => ScalarType.Byte,
        "BOOL" => ScalarType.Bool,
        _ => throw new NotSupportedException($"safetensors dtype '{name}' is not supported."),
    };

    internal static int ElementSize(ScalarType dtype) => dtype switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };

    /// <summary>The header: every tensor's dtype, shape and byte range (relative to the data section), plus __metadata__.</summary>
    public static (IReadOnlyList<SafeTensorEntry> Entries, IReadOnlyDictionary<string, string> Metadata, long DataStart) ReadHeader(string path)
    {
        using var stream = File.OpenRead(path);
        return ReadHeader(stream, path);
    }

    internal static (IReadOnlyList<SafeTensorEntry> Entries, IReadOnlyDictionary<string, string> Metadata, long DataStart) ReadHeader(Stream stream, string source)
    {
        Span<byte> lengthBytes = stackalloc byte[8];
        if (stream.Length < 8) throw new InvalidDataException($"{source} is not a safetensors file ({stream.Length} bytes).");
        stream.ReadExactly(lengthBytes);
        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(lengthBytes);
        if (headerLength <= 0 || headerLength > MaxHeaderBytes || headerLength > stream.Length - 8)
            throw new InvalidDataException($"{source} is not a safetensors file (header length {headerLength}).");
        var headerBytes = new byte[headerLength];
        stream.ReadExactly(headerBytes);
        if (headerBytes[0] != (byte)'{')
            throw new InvalidDataException($"{source} is not a safetensors file (the header does not start with '{{').");
        using var document = JsonDocument.Parse(headerBytes); // trailing spaces (the alignment padding) are JSON whitespace
        var entries = new List<SafeTensorEntry>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        long dataLength = stream.Length - 8 - headerLength;
        foreach (var property in document.RootElement.EnumerateObject())
        {
            if (property.Name == "__metadata__")
            {
                foreach (var m in property.Value.EnumerateObject())
                {
                    if (m.Value.ValueKind != JsonValueKind.String)
                        throw new InvalidDataException($"{source}: __metadata__ value '{m.Name}' is not a string (the format allows string to string only).");
                    metadata[m.Name] = m.Value.GetString()!;
                }
                continue;
            }
            var dtype = ParseDType(property.Value.GetProperty("dtype").GetString()!);
            long[] shape = property.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            long[] offsets = property.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            long expected = shape.Any(s => s < 0) ? -1 : shape.Aggregate(1L, (a, b) => checked(a * b)) * ElementSize(dtype);
            if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] - offsets[0] != expected || offsets[1] > dataLength)
                throw new InvalidDataException($"{source}: tensor '{property.Name}' has data_offsets [{string.Join(", ", offsets)}] that do not fit shape [{string.Join(", ", shape)}] {dtype}.");
            entries.Add(new SafeTensorEntry(property.Name, dtype, shape, offsets[0], offsets[1]));
        }
        return (entries, metadata, 8 + headerLength);
    }

    /// <summary>All tensors of one file, on the CPU, in the stored dtype. The caller owns them.</summary>
    public static Dictionary<string, Tensor> Read(string path)
    {
        using var reader = SafeTensorReader.Open(path);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var entry in reader.Entries) result[entry.Name] = reader.Read(entry);
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return result;
    }

    /// <summary>
    /// Writes tensors (any device/dtype; floating-point ones converted to <paramref name="dtype"/> when given) in name order.
    /// One tensor at a time is converted and copied to the CPU, so writing needs no second copy of the whole set.
    /// </summary>
    public static void Write(string path, IReadOnlyDictionary<string, Tensor> tensors, ScalarType? dtype = null,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        RequireLittleEndian();
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        var names = tensors.Keys.OrderBy(n => n, StringComparer.Ordinal).ToList();
        ScalarType StoredType(Tensor t) => dtype is { } d && t.is_floating_point() ? d : t.dtype;

        using var header = new MemoryStream();
        using (var writer = new Utf8JsonWriter(header))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("__metadata__");
            writer.WriteString("format", "pt");
            foreach (var (k, v) in metadata ?? new Dictionary<string, string>())
                if (k != "format") writer.WriteString(k, v);
            writer.WriteEndObject();
            long offset = 0;
            foreach (string name in names)
            {
                var t = tensors[name];
                var stored = StoredType(t);
                long length = t.NumberOfElements * ElementSize(stored);
                writer.WriteStartObject(name);
                writer.WriteString("dtype", DTypeName(stored));
                writer.WriteStartArray("shape");
                foreach (long s in t.shape) writer.WriteNumberValue(s);
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                writer.WriteNumberValue(offset + length);
                writer.WriteEndArray();
                writer.WriteEndObject();
                offset += length;
            }
            writer.WriteEndObject();
        }
        // The data section starts 8-byte aligned (the reference implementation pads the header with spaces).
        long padded = (header.Length + Alignment - 1) / Alignment * Alignment;
        while (header.Length < padded) header.WriteByte((byte)' ');

        string temporary = path + ".tmp";
        try
        {
            using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
            {
                Span<byte> lengthBytes = stackalloc byte[8];
                BinaryPrimitives.WriteInt64LittleEndian(lengthBytes, header.Length);
                file.Write(lengthBytes);
                header.Position = 0;
                header.CopyTo(file);
                foreach (string name in names)
                {
                    var source = tensors[name];
                    if (source.NumberOfElements == 0) continue;
                    using var scope = NewDisposeScope();
                    var t = source.detach();
                    if (t.dtype != StoredType(source)) t = t.to(StoredType(source));
                    t = t.cpu().contiguous();
                    t.WriteBytesToStream(file, CopyBufferBytes);
                }
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    internal static void RequireLittleEndian()
    {
        // safetensors data is little-endian and is copied byte for byte into tensor memory.
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors I/O needs a little-endian machine.");
    }

    internal static string Describe(long[] shape) => "[" + string.Join(", ", shape) + "]";
}

/// <summary>
/// One open safetensors file: the parsed, validated header, and tensor data streamed from the file straight into
/// tensor memory, either into a new tensor or into an existing one (a model's parameter) with no intermediate copy
/// when the destination is a contiguous CPU tensor of the stored dtype.
/// </summary>
public sealed class SafeTensorReader : IDisposable
{
    private readonly FileStream stream;

    private SafeTensorReader(string path, FileStream stream, IReadOnlyList<SafeTensorEntry> entries, IReadOnlyDictionary<string, string> metadata, long dataStart)
    {
        Path = path;
        this.stream = stream;
        Entries = entries;
        Metadata = metadata;
        DataStart = dataStart;
    }

    public string Path { get; }
    public IReadOnlyList<SafeTensorEntry> Entries { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }
    public long DataStart { get; }

    public static SafeTensorReader Open(string path)
    {
        SafeTensors.RequireLittleEndian();
        // No FileStream buffer: reads are 1 MB pieces already, and a buffer would only add a copy.
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
        try
        {
            var (entries, metadata, dataStart) = SafeTensors.ReadHeader(stream, path);
            return new SafeTensorReader(path, stream, entries, metadata, dataStart);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>A new CPU tensor in the stored dtype. The caller owns it.</summary>
    public Tensor Read(SafeTensorEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var t = empty(entry.Shape, entry.DType);
        try
        {
            Fill(entry, t);
            return t;
        }
        catch
        {
            t.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Copies one tensor into <paramref name="destination"/> (same shape; any dtype and device). A contiguous CPU
    /// destination of the stored dtype receives the bytes directly; otherwise one temporary tensor of this entry's
    /// size is read and converted.
    /// </summary>
    public void ReadInto(SafeTensorEntry entry, Tensor destination)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(destination);
        if (!destination.shape.SequenceEqual(entry.Shape))
            throw new InvalidDataException(
                $"{Path}: tensor '{entry.Name}' has shape {SafeTensors.Describe(entry.Shape)}, the destination {SafeTensors.Describe(destination.shape)}.");
        using var _ = no_grad();
        if (destination.dtype == entry.DType && destination.device_type == TorchSharp.DeviceType.CPU && destination.is_contiguous())
        {
            Fill(entry, destination);
            return;
        }
        using var staged = Read(entry);
        destination.copy_(staged);
    }

    private void Fill(SafeTensorEntry entry, Tensor destination)
    {
        if (entry.ByteLength == 0) return;
        stream.Seek(DataStart + entry.Begin, SeekOrigin.Begin);
        destination.ReadBytesFromStream(stream, SafeTensors.CopyBufferBytes);
    }

    public void Dispose() => stream.Dispose();
}
