using System.Buffers.Binary;
using System.Text.Json;
using static TorchSharp.torch;

namespace PredGen.Training.Checkpoints;

/// <summary>Where one tensor sits in a safetensors file.</summary>
public sealed record SafeTensorEntry(string Name, ScalarType DType, long[] Shape, long Begin, long End);

/// <summary>
/// The safetensors format (8-byte little-endian header length, JSON header of name -> dtype/shape/data_offsets,
/// then raw little-endian data), read and written directly: it is small and exact, and needs no Python pickles.
/// </summary>
public static class SafeTensors
{
    private const int Alignment = 8;

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

    private static int ElementSize(ScalarType dtype) => dtype switch
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
        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(lengthBytes);
        if (headerLength <= 0 || headerLength > 100_000_000 || headerLength > stream.Length - 8)
            throw new InvalidDataException($"{path} is not a safetensors file (header length {headerLength}).");
        var headerBytes = new byte[headerLength];
        stream.ReadExactly(headerBytes);
        using var document = JsonDocument.Parse(headerBytes);
        var entries = new List<SafeTensorEntry>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        long dataLength = stream.Length - 8 - headerLength;
        foreach (var property in document.RootElement.EnumerateObject())
        {
            if (property.Name == "__metadata__")
            {
                foreach (var m in property.Value.EnumerateObject()) metadata[m.Name] = m.Value.GetString() ?? "";
                continue;
            }
            var dtype = ParseDType(property.Value.GetProperty("dtype").GetString()!);
            long[] shape = property.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            long[] offsets = property.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            long expected = shape.Aggregate(1L, (a, b) => a * b) * ElementSize(dtype);
            if (offsets.Length != 2 || offsets[1] - offsets[0] != expected || offsets[1] > dataLength)
                throw new InvalidDataException($"{path}: tensor '{property.Name}' has data_offsets [{string.Join(", ", offsets)}] that do not fit shape [{string.Join(", ", shape)}] {dtype}.");
            entries.Add(new SafeTensorEntry(property.Name, dtype, shape, offsets[0], offsets[1]));
        }
        return (entries, metadata, 8 + headerLength);
    }

    /// <summary>All tensors of one file, on the CPU, in the stored dtype. The caller owns them.</summary>
    public static Dictionary<string, Tensor> Read(string path)
    {
        var (entries, _, dataStart) = ReadHeader(path);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using var stream = File.OpenRead(path);
        foreach (var entry in entries)
        {
            long length = entry.End - entry.Begin;
            if (length > int.MaxValue) throw new NotSupportedException($"{path}: tensor '{entry.Name}' is larger than 2 GB.");
            var buffer = new byte[length];
            stream.Seek(dataStart + entry.Begin, SeekOrigin.Begin);
            stream.ReadExactly(buffer);
            var t = empty(entry.Shape, entry.DType);
            if (length > 0) t.bytes = buffer;
            result[entry.Name] = t;
        }
        return result;
    }

    /// <summary>Writes tensors (any device/dtype; converted to <paramref name="dtype"/> when given) in name order.</summary>
    public static void Write(string path, IReadOnlyDictionary<string, Tensor> tensors, ScalarType? dtype = null,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        var names = tensors.Keys.OrderBy(n => n, StringComparer.Ordinal).ToList();
        using var scope = NewDisposeScope();
        var prepared = names.Select(n =>
        {
            var t = tensors[n].detach();
            if (dtype is { } d && t.is_floating_point()) t = t.to(d);
            return t.cpu().contiguous();
        }).ToList();

        using var header = new MemoryStream();
        using (var writer = new Utf8JsonWriter(header))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("__metadata__");
            writer.WriteString("format", "pt");
            foreach (var (k, v) in metadata ?? new Dictionary<string, string>()) writer.WriteString(k, v);
            writer.WriteEndObject();
            long offset = 0;
            for (int i = 0; i < names.Count; i++)
            {
                var t = prepared[i];
                long length = t.NumberOfElements * ElementSize(t.dtype);
                writer.WriteStartObject(names[i]);
                writer.WriteString("dtype", DTypeName(t.dtype));
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
        using (var file = File.Create(temporary))
        {
            Span<byte> lengthBytes = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(lengthBytes, header.Length);
            file.Write(lengthBytes);
            header.Position = 0;
            header.CopyTo(file);
            foreach (var t in prepared)
                if (t.NumberOfElements > 0) file.Write(t.bytes);
        }
        File.Move(temporary, path, overwrite: true);
    }

    internal static string Describe(long[] shape) => "[" + string.Join(", ", shape) + "]";
}
