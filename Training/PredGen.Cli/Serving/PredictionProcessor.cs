using System.Collections.Concurrent;
using System.Diagnostics;
using PredGen.Shared.Predictions;
using PredGen.Shared.Storage;

namespace PredGen.Cli.Serving;

/// <summary>What to do with one message: send <see cref="Reply"/> (to <see cref="ReplyTo"/> when known) and settle it as
/// answered, or dead-letter it with <see cref="RejectionReason"/> (a reply carrying the error is still sent when possible).</summary>
public sealed record ProcessOutcome(PredictionReply? Reply, string? ReplyTo, string? RejectionReason, string? RejectionDetail, bool FromCache)
{
    public bool IsRejected => RejectionReason != null;
}

/// <summary>
/// Transport-independent handling of one request: validate, return the stored reply if this request id was answered
/// before for the same content (a redelivery computes nothing), otherwise batch it, store the reply under its request
/// id with the request's content hash, and return it. A stored reply for another text under the same id (a client
/// that reuses ids) is never returned: the request is computed and its reply replaces the stored one.
/// Throws only for transient failures (model or storage), which the transport answers by redelivery.
/// </summary>
public sealed class PredictionProcessor(
    PredictionRequestParser parser, DynamicBatcher batcher, IArtifactStore store, ServingMetrics metrics, TimeProvider? timeProvider = null)
{
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;
    private readonly ConcurrentDictionary<string, Lazy<Task<(PredictionReply Reply, bool FromCache)>>> _inFlight = new(StringComparer.Ordinal);

    /// <summary>Replies answered here lately, by request id: a resend of the same request to this worker is answered
    /// from memory, with no storage round trip (bounded: cleared when full).</summary>
    private readonly ConcurrentDictionary<string, PredictionReply> _recent = new(StringComparer.Ordinal);

    /// <summary>Replies kept in memory at most.</summary>
    internal const int MaxRecentReplies = 4096;

    /// <summary>
    /// Handles one message. <paramref name="firstDelivery"/>: the transport's first delivery of this message
    /// (DequeueCount / DeliveryCount 1), which no worker can have answered, so the stored-reply read is skipped (one
    /// storage round trip of about seven per request); the result write is then create-only, and finding a reply
    /// already stored under the id (a client that resent its request, or reused its id) is settled after computing,
    /// exactly as the read would have settled it before.
    /// </summary>
    public async Task<ProcessOutcome> ProcessAsync(BinaryData body, CancellationToken cancellationToken, bool firstDelivery = false)
    {
        long parsing = Stopwatch.GetTimestamp();
        var parsed = parser.Parse(body);
        string? hash = parsed.Request?.ContentHash();
        metrics.RecordStageSince(ServingStage.Parse, parsing);
        if (!parsed.IsValid)
        {
            var errorReply = parsed.RequestId == null ? null : new PredictionReply
            {
                RequestId = parsed.RequestId,
                Error = parsed.RejectionReason,
                ErrorDetail = parsed.RejectionDetail,
                ComputedAt = _time.GetUtcNow(),
            };
            return new ProcessOutcome(errorReply, parsed.ReplyTo, parsed.RejectionReason, parsed.RejectionDetail, FromCache: false);
        }
        var request = parsed.Request!;
        // Two deliveries of one request at the same time share one computation (the same id with another text does not).
        string key = request.RequestId + "/" + hash;
        var work = _inFlight.GetOrAdd(key, _ => new Lazy<Task<(PredictionReply, bool)>>(() => AnswerAsync(request, hash!, firstDelivery, cancellationToken)));
        try
        {
            var (reply, fromCache) = await work.Value.ConfigureAwait(false);
            if (!reply.IsSuccess) return new ProcessOutcome(reply, request.ReplyTo, reply.Error, reply.ErrorDetail, FromCache: false);
            return new ProcessOutcome(reply, request.ReplyTo, null, null, fromCache);
        }
        finally
        {
            _inFlight.TryRemove(new KeyValuePair<string, Lazy<Task<(PredictionReply, bool)>>>(key, work));
        }
    }

    private async Task<(PredictionReply, bool)> AnswerAsync(PredictionRequest request, string hash, bool firstDelivery, CancellationToken cancellationToken)
    {
        if (_recent.TryGetValue(request.RequestId, out var recent) && recent.RequestHash == hash) return (recent, true);
        string resultPath = BlobLayout.PredictionResult(request.Task, request.RequestId);
        StoredArtifact? stored = null;
        if (!firstDelivery)
        {
            // A redelivery: this or another worker may have answered it already.
            long reading = Stopwatch.GetTimestamp();
            stored = await store.ReadAsync(resultPath, cancellationToken).ConfigureAwait(false);
            var storedReply = ReplyIn(stored);
            metrics.RecordStageSince(ServingStage.ResultRead, reading);
            if (storedReply?.RequestHash == hash) return (Remember(storedReply), true);
        }

        var computed = await batcher.PredictAsync(new EngineInput(request.Text, request.TextB), request.ReturnProbabilities, request.ReturnText).ConfigureAwait(false);
        var p = computed.Prediction;
        if (NonFiniteField(p, request) is { } field)
        {
            // JSON has no NaN: ToJson would throw on every delivery. Say so in the reply, store nothing.
            return (new PredictionReply
            {
                RequestId = request.RequestId,
                Task = request.Task,
                Model = computed.Model,
                ComputedAt = _time.GetUtcNow(),
                RequestHash = hash,
                Error = RejectionReasons.NonFiniteOutput,
                ErrorDetail = $"the model returned a non-finite number for {field}",
            }, false);
        }
        var reply = new PredictionReply
        {
            RequestId = request.RequestId,
            Task = request.Task,
            Label = p.Label,
            Value = p.Value,
            Probabilities = request.ReturnProbabilities ? p.Probabilities : null,
            GeneratedText = request.ReturnText ? p.GeneratedText : null,
            Model = computed.Model,
            ComputedAt = _time.GetUtcNow(),
            RequestHash = hash,
        };
        var json = BinaryData.FromString(reply.ToJson());
        long writing = Stopwatch.GetTimestamp();
        try
        {
            // Create, or replace the reply of another text under this id: only if nobody wrote in between.
            await store.WriteIfMatchAsync(resultPath, json, stored?.ETag, cancellationToken).ConfigureAwait(false);
            metrics.RecordStageSince(ServingStage.ResultWrite, writing);
            return (Remember(reply), false);
        }
        catch (ArtifactConflictException)
        {
            // A reply is stored already: another worker answered first, or (on a first delivery, which read nothing)
            // the client resent this request or reused its id. For the same content the stored reply is the one answer.
            var first = await store.ReadAsync(resultPath, cancellationToken).ConfigureAwait(false);
            var firstReply = ReplyIn(first);
            if (firstReply?.RequestHash == hash) return (Remember(firstReply), true);
            if (firstDelivery && first != null)
            {
                // Another text's reply under this id, found only now because the read was skipped: it is replaced, as
                // the read-first path replaces it (If-Match on the ETag just read).
                try
                {
                    await store.WriteIfMatchAsync(resultPath, json, first.ETag, cancellationToken).ConfigureAwait(false);
                    metrics.RecordStageSince(ServingStage.ResultWrite, writing);
                    return (Remember(reply), false);
                }
                catch (ArtifactConflictException)
                {
                    // written again in between: as below
                }
            }
            // For another text under the same id, ours still answers this request (the stored one belongs to the other).
            return (reply, false);
        }
    }

    private PredictionReply Remember(PredictionReply reply)
    {
        if (_recent.Count >= MaxRecentReplies) _recent.Clear(); // a bounded memory; the result blobs are the record
        _recent[reply.RequestId] = reply;
        return reply;
    }

    private static string? NonFiniteField(EnginePrediction p, PredictionRequest request)
    {
        if (p.Value is { } v && !double.IsFinite(v)) return $"value ({v})";
        if (request.ReturnProbabilities && p.Probabilities != null)
            foreach (var (label, probability) in p.Probabilities.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                if (!double.IsFinite(probability)) return $"probabilities['{label}'] ({probability})";
        return null;
    }

    /// <summary>The reply in a result blob read (null: no blob, or one that cannot be read).</summary>
    private static PredictionReply? ReplyIn(StoredArtifact? stored) => stored == null ? null : ParseOrNull(stored.Content.ToString());

    /// <summary>A stored reply that cannot be read (truncated, another schema) is no answer: the request is computed again.</summary>
    private static PredictionReply? ParseOrNull(string json)
    {
        try
        {
            return PredictionReply.Parse(json);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or FormatException)
        {
            return null;
        }
    }
}
