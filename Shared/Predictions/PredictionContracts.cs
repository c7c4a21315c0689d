using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace PredGen.Shared.Predictions;

/// <summary>The wire format of prediction requests and replies: versioned, snake_case JSON, nulls left out.</summary>
public static class PredictionSchema
{
    /// <summary>Bumped on any breaking change; a worker rejects other versions (reason <c>wrong_schema_version</c>).</summary>
    public const int Version = 1;

    /// <summary>Characters of <c>text</c> + <c>text_b</c> a worker accepts unless configured otherwise.</summary>
    public const int DefaultMaxTextLength = 2048;

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = false,
        // Queue messages are limited to 64 KB of UTF-8: the default encoder writes every non-ASCII character as \uXXXX
        // (up to 6 bytes for one 2-byte character). These messages never go into HTML, so keep text as text.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>A fresh request id: lower-case hex, usable as a blob path segment (BlobLayout.PredictionResult).</summary>
    public static string NewRequestId() => Guid.NewGuid().ToString("N");
}

/// <summary>
/// One prediction asked of the worker serving <see cref="Task"/>. <see cref="ReplyTo"/> names the reply queue for
/// storage queues (Service Bus carries ReplyTo / ReplyToSessionId in message properties instead).
/// </summary>
public sealed record PredictionRequest
{
    public int SchemaVersion { get; init; } = PredictionSchema.Version;
    public required string RequestId { get; init; }
    public required string Task { get; init; }
    public required string Text { get; init; }
    public string? TextB { get; init; }
    public bool ReturnProbabilities { get; init; } = true;
    public bool ReturnText { get; init; }
    public string? ReplyTo { get; init; }
    public DateTimeOffset? SentAt { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, PredictionSchema.JsonOptions);

    /// <summary>
    /// SHA-256 (lower-case hex) of what decides the answer: task, text, text_b and the two return flags. A stored reply
    /// answers a request only when its <see cref="PredictionReply.RequestHash"/> is this value, so a client that reuses
    /// request ids (1, 2, 3 in every session) is never answered with another text's prediction.
    /// </summary>
    public string ContentHash()
    {
        // Length-prefixed fields: no choice of texts can make two different requests serialise alike.
        var canonical = new StringBuilder();
        foreach (string? field in (string?[])[Task, Text, TextB])
            canonical.Append(field == null ? "-1" : field.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append(':').Append(field).Append('\n');
        canonical.Append(ReturnProbabilities ? 'p' : '-').Append(ReturnText ? 't' : '-');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical.ToString())));
    }
}

/// <summary>Which model answered: the champion pointer's identity at the time of the batch.</summary>
public sealed record ServedModel(string RunId, string JobId, string Method);

/// <summary>
/// The answer to one request. Exactly one reply per request id: a redelivered request gets the stored reply again.
/// A rejected request (bad input) gets <see cref="Error"/> set and no prediction, when its reply address is known.
/// </summary>
public sealed record PredictionReply
{
    public int SchemaVersion { get; init; } = PredictionSchema.Version;
    public required string RequestId { get; init; }
    public string? Task { get; init; }
    public string? Label { get; init; }
    public double? Value { get; init; }
    public IReadOnlyDictionary<string, double>? Probabilities { get; init; }
    public string? GeneratedText { get; init; }
    public ServedModel? Model { get; init; }
    public DateTimeOffset? ComputedAt { get; init; }
    /// <summary>The answered request's <see cref="PredictionRequest.ContentHash"/>: what a stored reply is matched on.</summary>
    public string? RequestHash { get; init; }
    /// <summary>Set on rejection: a <see cref="RejectionReasons"/> value.</summary>
    public string? Error { get; init; }
    public string? ErrorDetail { get; init; }

    [JsonIgnore]
    public bool IsSuccess => Error == null;

    public string ToJson() => JsonSerializer.Serialize(this, PredictionSchema.JsonOptions);

    public static PredictionReply Parse(string json) =>
        JsonSerializer.Deserialize<PredictionReply>(json, PredictionSchema.JsonOptions) ?? throw new FormatException("empty reply");
}

/// <summary>Why a request was dead-lettered / sent to the poison queue (the dead-letter reason, and a metric tag).</summary>
public static class RejectionReasons
{
    public const string MalformedJson = "malformed_json";
    public const string WrongSchemaVersion = "wrong_schema_version";
    public const string MissingRequestId = "missing_request_id";
    public const string UnknownTask = "unknown_task";
    public const string EmptyText = "empty_text";
    public const string TextTooLong = "text_too_long";
    /// <summary>The model returned NaN or infinity (value or a probability): JSON has no such number, and the reply
    /// names the field instead. Not retried (the same model gives the same output).</summary>
    public const string NonFiniteOutput = "non_finite_output";
    /// <summary>reply_to names a queue outside the worker's reply-queue prefix (Serving:ReplyQueuePrefix).</summary>
    public const string ReplyToNotAllowed = "reply_to_not_allowed";
    /// <summary>Delivered more often than allowed without being answered (the worker failed on it each time).</summary>
    public const string MaxDeliveriesExceeded = "max_deliveries_exceeded";
}

/// <summary>What a storage-queue worker puts on the poison queue: the original message and why it was not answered.
/// When the original does not fit a queue message beside the rest, <see cref="Original"/> holds its beginning and
/// <see cref="OriginalPath"/> names the blob (BlobLayout.PoisonedBody) that holds it whole.</summary>
public sealed record PoisonMessage(string Reason, string Detail, string? RequestId, long DequeueCount, string Original, DateTimeOffset RejectedAt,
    string? OriginalPath = null)
{
    public string ToJson() => JsonSerializer.Serialize(this, PredictionSchema.JsonOptions);

    public static PoisonMessage Parse(string json) =>
        JsonSerializer.Deserialize<PoisonMessage>(json, PredictionSchema.JsonOptions) ?? throw new FormatException("empty poison message");
}
