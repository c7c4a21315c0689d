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

    public async Task<ProcessOutcome> ProcessAsync(BinaryData body, CancellationToken cancellationToken)
    {
        long parsing = Stopwatch.GetTimestamp();
        var parsed = parser.Parse(body);
        string? hash = parsed.Request?.ContentHash();
        metrics.RecordStage(ServingStage.Parse, Stopwatch.GetElapsedTime(parsing).TotalMilliseconds);
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
        var work = _inFlight.GetOrAdd(key, _ => new Lazy<Task<(PredictionReply, bool)>>(() => AnswerAsync(request, hash!, cancellationToken)));
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

    private async Task<(PredictionReply, bool)> AnswerAsync(PredictionRequest request, string hash, CancellationToken cancellationToken)
    {
        string resultPath = BlobLayout.PredictionResult(request.Task, request.RequestId);
        long reading = Stopwatch.GetTimestamp();
        var stored = await store.ReadAsync(resultPath, cancellationToken).ConfigureAwait(false);
        var storedReply = stored == null ? null : ParseOrNull(stored.Content.ToString());
        metrics.RecordStage(ServingStage.ResultRead, Stopwatch.GetElapsedTime(reading).TotalMilliseconds);
        if (storedReply?.RequestHash == hash) return (storedReply, true);

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
        try
        {
            // Create, or replace the reply of another text under this id: only if nobody wrote in between.
            long writing = Stopwatch.GetTimestamp();
            await store.WriteIfMatchAsync(resultPath, BinaryData.FromString(reply.ToJson()), stored?.ETag, cancellationToken).ConfigureAwait(false);
            metrics.RecordStage(ServingStage.ResultWrite, Stopwatch.GetElapsedTime(writing).TotalMilliseconds);
            return (reply, false);
        }
        catch (ArtifactConflictException)
        {
            // Another worker answered first: for the same content its reply is the one answer; for another text under
            // the same id, ours still answers this request (the stored one belongs to the other).
            var first = await store.ReadTextAsync(resultPath, cancellationToken).ConfigureAwait(false);
            var firstReply = first == null ? null : ParseOrNull(first);
            return firstReply?.RequestHash == hash ? (firstReply, true) : (reply, false);
        }
    }

    private static string? NonFiniteField(EnginePrediction p, PredictionRequest request)
    {
        if (p.Value is { } v && !double.IsFinite(v)) return $"value ({v})";
        if (request.ReturnProbabilities && p.Probabilities != null)
            foreach (var (label, probability) in p.Probabilities.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                if (!double.IsFinite(probability)) return $"probabilities['{label}'] ({probability})";
        return null;
    }

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
