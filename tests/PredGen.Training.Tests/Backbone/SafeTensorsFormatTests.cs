using System.Buffers.Binary;
using System.Text;
using PredGen.Training.Checkpoints;
using static TorchSharp.torch;
using PredGen.Tooling.Benchmarks;

namespace PredGen.Training.Tests.Backbone;

/// <summary>
/// The safetensors format as its specification (huggingface/safetensors, README "Format") describes it, checked against
/// files assembled here byte by byte, never by the project's own writer: 8 bytes little-endian u64 N, N bytes of
/// UTF-8 JSON that start with '{' and may end in spaces (0x20) so the data starts aligned, then the data buffer with
/// each tensor's little-endian bytes at [begin, end) relative to the buffer; an optional "__metadata__" string map.
/// </summary>
public sealed class SafeTensorsFormatTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("predgen-st-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>Header JSON padded with spaces to a multiple of 8, as the reference writer does, then the data bytes.</summary>
    private string Assemble(string name, string headerJson, byte[] data, int align = 8)
    {
        var header = new List<byte>(Encoding.UTF8.GetBytes(headerJson));
        while ((8 + header.Count) % align != 0) header.Add((byte)' ');
        var file = new byte[8 + header.Count + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)header.Count);
        header.CopyTo(file, 8);
        data.CopyTo(file, 8 + header.Count);
        string path = Path.Combine(root, name);
        File.WriteAllBytes(path, file);
        return path;
    }

    private static byte[] Bytes(params object[] values)
    {
        var data = new List<byte>();
        foreach (object v in values)
        {
            switch (v)
            {
                case long l: { var b = new byte[8]; BinaryPrimitives.WriteInt64LittleEndian(b, l); data.AddRange(b); break; }
                case float f: { var b = new byte[4]; BinaryPrimitives.WriteSingleLittleEndian(b, f); data.AddRange(b); break; }
                case ushort u: { var b = new byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(b, u); data.AddRange(b); break; }
                default: throw new ArgumentException(v.GetType().Name);
            }
        }
        return data.ToArray();
    }

    [Fact]
    public void A_file_assembled_from_the_specification_reads_with_its_metadata_padding_and_half_precision_tensors()
    {
        // Data buffer, in the order the reference writer uses (larger alignment first): I64 [1], F32 [2], BF16 [2,2], F16 [3].
        // bf16 is the top half of an fp32: 1.0 = 0x3F80, -2.0 = 0xC000, 0.5 = 0x3F00, 3.140625 = 0x4049.
        // IEEE half: 1.0 = 0x3C00, -0.5 = 0xB800, 65504 (largest finite) = 0x7BFF.
        byte[] data = Bytes(42L, 1.5f, -2.0f, (ushort)0x3F80, (ushort)0xC000, (ushort)0x3F00, (ushort)0x4049,
            (ushort)0x3C00, (ushort)0xB800, (ushort)0x7BFF);
        Assert.Equal(30, data.Length);
        // JSON keys deliberately not in data order: readers must use data_offsets, not key order.
        string header = """
            {"model.norm.f16":{"dtype":"F16","shape":[3],"data_offsets":[24,30]},"__metadata__":{"format":"pt","source":"hand-assembled"},"lm_head.bf16":{"dtype":"BF16","shape":[2,2],"data_offsets":[16,24]},"step":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"bias.f32":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"scalar.empty":{"dtype":"F32","shape":[0],"data_offsets":[30,30]}}
            """.Trim();
        string path = Assemble("spec.safetensors", header, data);
        Assert.NotEqual(0, Encoding.UTF8.GetByteCount(header) % 8); // so the padding is really exercised

        var (entries, metadata, dataStart) = SafeTensors.ReadHeader(path);
        Assert.Equal(0, dataStart % 8);
        Assert.Equal("hand-assembled", metadata["source"]);
        Assert.Equal("pt", metadata["format"]);
        Assert.Equal(5, entries.Count);

        using var scope = NewDisposeScope();
        var tensors = SafeTensors.Read(path);
        Assert.Equal(ScalarType.Int64, tensors["step"].dtype);
        Assert.Equal(42L, tensors["step"][0].item<long>());
        Assert.Equal([1.5f, -2.0f], tensors["bias.f32"].data<float>().ToArray());
        var bf16 = tensors["lm_head.bf16"];
        Assert.Equal(ScalarType.BFloat16, bf16.dtype);
        Assert.Equal([2L, 2L], bf16.shape);
        Assert.Equal([1.0f, -2.0f, 0.5f, 3.140625f], bf16.to(ScalarType.Float32).data<float>().ToArray());
        var f16 = tensors["model.norm.f16"];
        Assert.Equal(ScalarType.Float16, f16.dtype);
        Assert.Equal([1.0f, -0.5f, 65504f], f16.to(ScalarType.Float32).data<float>().ToArray());
        Assert.Equal([0L], tensors["scalar.empty"].shape);
    }

    private static readonly float[] OneAndMinusTwo = [1.0f, -2.0f];
    private static readonly float[] Quarter = [0.25f];

    [Fact]
    public void The_writer_lays_bytes_out_as_the_specification_says()
    {
        using var scope = NewDisposeScope();
        string path = Path.Combine(root, "ours.safetensors");
        SafeTensors.Write(path, new Dictionary<string, Tensor>
        {
            ["b"] = tensor(OneAndMinusTwo).to(ScalarType.BFloat16),
            ["a"] = tensor(Quarter),
        }, metadata: new Dictionary<string, string> { ["format"] = "pt", ["note"] = "x" });
        byte[] file = File.ReadAllBytes(path);
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(file);
        Assert.Equal(0, (8 + n) % 8);
        string header = Encoding.UTF8.GetString(file, 8, (int)n);
        Assert.StartsWith("{", header, StringComparison.Ordinal);
        Assert.Equal(header.TrimEnd(' ').Length, header.TrimEnd().Length); // only spaces pad
        Assert.Equal(1, CountOf(header, "\"format\"")); // no duplicate keys when the caller passes "format" too
        Assert.Contains("\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", header, StringComparison.Ordinal);
        Assert.Contains("\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[4,8]}", header, StringComparison.Ordinal);
        var data = file.AsSpan((int)(8 + n));
        Assert.Equal(8, data.Length);
        Assert.Equal(0.25f, BinaryPrimitives.ReadSingleLittleEndian(data));
        Assert.Equal((ushort)0x3F80, BinaryPrimitives.ReadUInt16LittleEndian(data[4..]));
        Assert.Equal((ushort)0xC000, BinaryPrimitives.ReadUInt16LittleEndian(data[6..]));
    }

    private static int CountOf(string text, string part) => (text.Length - text.Replace(part, "", StringComparison.Ordinal).Length) / part.Length;

    [Theory]
    [InlineData("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}""", "tensor 'w' has data_offsets [0, 4] that do not fit shape [2]")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}}""", "tensor 'w' has data_offsets [0, 16]")]
    [InlineData("""{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}""", "tensor 'w'")]
    [InlineData("""{"__metadata__":{"n":3},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", "__metadata__ value 'n' is not a string")]
    [InlineData(""" {"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", "does not start with '{'")]
    public void A_header_that_breaks_the_specification_is_rejected_with_a_reason(string header, string reason)
    {
        string path = Assemble("bad.safetensors", header, Bytes(1f, 2f));
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.ReadHeader(path));
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_header_length_beyond_the_file_is_not_a_safetensors_file()
    {
        string path = Path.Combine(root, "short.safetensors");
        var bytes = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1000);
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(path));
        Assert.Contains("header length 1000", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadInto_converts_when_the_destination_differs_in_dtype_and_streams_when_it_matches()
    {
        using var scope = NewDisposeScope();
        string path = Path.Combine(root, "into.safetensors");
        var source = randn(4, 3).to(ScalarType.BFloat16);
        SafeTensors.Write(path, new Dictionary<string, Tensor> { ["w"] = source });
        using var reader = SafeTensorReader.Open(path);
        var fp32 = zeros(4, 3);
        reader.ReadInto(reader.Entries[0], fp32);
        Assert.True(fp32.allclose(source.to(ScalarType.Float32), 0, 0));
        var bf16 = zeros(4, 3, ScalarType.BFloat16);
        reader.ReadInto(reader.Entries[0], bf16);
        Assert.True(bf16.to(ScalarType.Float32).allclose(source.to(ScalarType.Float32), 0, 0));
        var e = Assert.Throws<InvalidDataException>(() => reader.ReadInto(reader.Entries[0], zeros(3, 4)));
        Assert.Contains("tensor 'w' has shape [4, 3]", e.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// One fp32 tensor of 524,800 x 1,024 = 2,149,580,800 bytes, over 2^31, the size class of Llama-3-8B's fp32
    /// embed_tokens. The old reader went through a managed byte[] and threw for it. Writing must add no copy of the
    /// tensor, and reading must hold the tensor once: each step is measured as growth of the peak resident set.
    /// </summary>
    [Fact]
    public void A_tensor_over_two_gigabytes_round_trips_without_a_second_copy_in_memory()
    {
        const long Rows = 524_800, Columns = 1024;
        const long Size = Rows * Columns * 4;
        Assert.True(Size > (1L << 31));
        Assert.True(ProcessMemory.IsSupported, "This test measures memory through /proc/self/status and /proc/self/clear_refs, which this OS lacks.");
        long needed = 2 * Size + (512L << 20); // the source, the copy read back, and slack
        long available = ProcessMemory.AvailableBytes;
        Assert.True(available >= needed,
            $"Not enough memory to round-trip a {Size / 1e9:F2} GB tensor: it needs {needed / 1e9:F1} GB (the tensor, its copy read back, " +
            $"and slack) but MemAvailable is {available / 1e9:F1} GB. Run it on a machine with more free memory; this is not a pass.");

        string path = Path.Combine(root, "big.safetensors");
        using var source = empty([Rows, Columns], ScalarType.Float32);
        using (var _ = NewDisposeScope())
        {
            // Every row differs (row index + column / 1024, exact in fp32), so a misplaced or repeated 1 MB piece shows.
            source.copy_(arange(Columns, ScalarType.Float32).div_(Columns).expand(Rows, Columns));
            source.add_(arange(Rows, ScalarType.Float32).unsqueeze(1));
        }

        ProcessMemory.ResetPeak();
        long beforeWrite = ProcessMemory.ResidentBytes;
        SafeTensors.Write(path, new Dictionary<string, Tensor> { ["model.embed_tokens.weight"] = source });
        long writeGrowth = ProcessMemory.PeakResidentBytes - beforeWrite;
        Assert.Equal(Size, SafeTensors.ReadHeader(path).Entries.Single().ByteLength);

        ProcessMemory.ResetPeak();
        long beforeRead = ProcessMemory.ResidentBytes;
        var back = SafeTensors.Read(path)["model.embed_tokens.weight"];
        using (back)
        {
            long readGrowth = ProcessMemory.PeakResidentBytes - beforeRead;
            Assert.True(writeGrowth < 64L << 20, $"writing grew the peak resident set by {writeGrowth / 1e6:F0} MB; it should stream");
            Assert.True(readGrowth < Size + (64L << 20), $"reading a {Size / 1e6:F0} MB tensor grew the peak resident set by {readGrowth / 1e6:F0} MB (more than one copy)");
            Assert.Equal([Rows, Columns], back.shape);
            for (long row = 0; row < Rows; row += 8_192)
            {
                long count = Math.Min(8_192, Rows - row);
                using var a = source.narrow(0, row, count);
                using var b = back.narrow(0, row, count);
                Assert.True(a.allclose(b, 0, 0), $"rows {row}..{row + count} differ");
            }
            Assert.Equal(Rows - 1 + 1023f / 1024, back[Rows - 1, Columns - 1].item<float>());
        }
        File.Delete(path);
    }
}
