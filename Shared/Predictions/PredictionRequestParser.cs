using System.Text;
using System.Text.Json;

namespace PredGen.Shared.Predictions;

/// <summary>A request that passed validation, or why it did not (with the request id and reply address when they could be read).</summary>
public sealed record ParsedRequest(PredictionRequest? Request, string? RejectionReason, string? RejectionDetail, string? RequestId, string? ReplyTo)
{
    public bool IsValid => Request != null;
}

/// <summary>
/// Validates raw message bodies. Pure and total: any byte sequence gives a request or a rejection with a reason, never
/// an exception, so a worker cannot be stopped by input. Accepts UTF-8 JSON, and base64 of it (the encoding Azure
/// Functions' queue output binding uses by default).
/// </summary>
public sealed class PredictionRequestParser(IReadOnlySet<string> servedTasks, int maxTextLength = PredictionSchema.DefaultMaxTextLength)
{
    public IReadOnlySet<string> ServedTasks { get; } = servedTasks ?? throw new ArgumentNullException(nameof(servedTasks));
    public int MaxTextLength { get; } = maxTextLength;

    public ParsedRequest Parse(BinaryData body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var bytes = body.ToMemory();
        if (!LooksLikeJson(bytes.Span) && TryBase64(bytes.Span, out var decoded)) bytes = decoded;

        PredictionRequest? request;
        string? id = null, replyTo = null;
        try
        {
            using (var doc = JsonDocument.Parse(bytes))
            {
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                    return Reject(RejectionReasons.MalformedJson, "the body is JSON but not an object", null, null);
                id = StringProperty(doc.RootElement, "request_id");
                replyTo = StringProperty(doc.RootElement, "reply_to");
                if (!doc.RootElement.TryGetProperty("schema_version", out var v) || v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int version))
                    return Reject(RejectionReasons.WrongSchemaVersion, "schema_version is missing or not an integer", id, replyTo);
                if (version != PredictionSchema.Version)
                    return Reject(RejectionReasons.WrongSchemaVersion, $"schema_version {version} is not the supported {PredictionSchema.Version}", id, replyTo);
                // The serializer would read a null into these non-nullable strings and a lone surrogate escape
                // ("\ud800") would throw InvalidOperationException from GetString: both are bad input, named here.
                foreach (string name in RequiredStrings)
                    if (doc.RootElement.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.Null)
                        return Reject(RejectionReasons.MalformedJson, $"field '{name}' is null; it must be a string", id, replyTo);
                foreach (string name in StringFields)
                    if (doc.RootElement.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String && !IsWellFormed(p))
                        return Reject(RejectionReasons.MalformedJson, $"field '{name}' holds a lone UTF-16 surrogate escape (such as \\ud800), which is not text", id, replyTo);
            }
            request = JsonSerializer.Deserialize<PredictionRequest>(bytes.Span, PredictionSchema.JsonOptions);
        }
        catch (JsonException e)
        {
            // 'required' members missing also land here; name them rather than the parser position.
            return Reject(RejectionReasons.MalformedJson, Trim(e.Message), id, replyTo);
        }
        catch (InvalidOperationException e)
        {
            // The reader's other refusals of malformed text (never a reason to stop the worker).
            return Reject(RejectionReasons.MalformedJson, Trim(e.Message), id, replyTo);
        }
        if (request == null) return Reject(RejectionReasons.MalformedJson, "the body is JSON null", id, replyTo);
        if (!IsValidRequestId(request.RequestId))
            return Reject(RejectionReasons.MissingRequestId, "request_id must be 1-128 characters of a-z, 0-9, '-', '_'", null, replyTo);
        if (!ServedTasks.Contains(request.Task))
            return Reject(RejectionReasons.UnknownTask, $"task '{Trim(request.Task)}' is not served here (serving: {string.Join(", ", ServedTasks)})", request.RequestId, replyTo);
        if (string.IsNullOrWhiteSpace(request.Text))
            return Reject(RejectionReasons.EmptyText, "text is empty", request.RequestId, replyTo);
        int length = request.Text.Length + (request.TextB?.Length ?? 0);
        if (length > MaxTextLength)
            return Reject(RejectionReasons.TextTooLong, $"text has {length} characters, the limit is {MaxTextLength}", request.RequestId, replyTo);
        return new ParsedRequest(request, null, null, request.RequestId, replyTo);
    }

    public static bool IsValidRequestId(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > 128) return false;
        foreach (char c in id)
            if (!(c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_')) return false;
        return true;
    }

    private static ParsedRequest Reject(string reason, string detail, string? id, string? replyTo) =>
        new(null, reason, detail, IsValidRequestId(id) ? id : null, replyTo);

    private static readonly string[] RequiredStrings = ["request_id", "task", "text"];
    private static readonly string[] StringFields = ["request_id", "task", "text", "text_b", "reply_to"];

    private static string? StringProperty(JsonElement root, string name) =>
        root.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String && IsWellFormed(p) ? p.GetString() : null;

    /// <summary>False for a JSON string that is not valid UTF-16 once unescaped (a lone surrogate escape).</summary>
    public static bool IsWellFormed(JsonElement s)
    {
        try
        {
            _ = s.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static bool LooksLikeJson(ReadOnlySpan<byte> span)
    {
        foreach (byte b in span)
        {
            if (b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or 0xEF or 0xBB or 0xBF) continue;
            return b is (byte)'{' or (byte)'[' or (byte)'"';
        }
        return false;
    }

    private static bool TryBase64(ReadOnlySpan<byte> span, out ReadOnlyMemory<byte> decoded)
    {
        decoded = default;
        byte[] buffer = new byte[span.Length];
        if (!Convert.TryFromBase64String(Encoding.ASCII.GetString(span), buffer, out int written)) return false;
        decoded = buffer.AsMemory(0, written);
        return LooksLikeJson(decoded.Span);
    }

    private static string Trim(string s) => s.Length <= 200 ? s : s[..200] + "…";
}
