using System.Collections.Concurrent;
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
/// before (a redelivery computes nothing), otherwise batch it, store the reply under its request id, and return it.
/// Throws only for transient failures (model or storage), which the transport answers by redelivery.
/// </summary>
public sealed class PredictionProcessor(
    PredictionRequestParser parser, DynamicBatcher batcher, IArtifactStore store, TimeProvider? timeProvider = null)
{
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;
    private readonly ConcurrentDictionary<string, Lazy<Task<(PredictionReply Reply, bool FromCache)>>> _inFlight = new(StringComparer.Ordinal);

    public async Task<ProcessOutcome> ProcessAsync(BinaryData body, CancellationToken cancellationToken)
    {
        var parsed = parser.Parse(body);
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
        // Two deliveries of one request at the same time share one computation.
        var work = _inFlight.GetOrAdd(request.RequestId, _ => new Lazy<Task<(PredictionReply, bool)>>(() => AnswerAsync(request, cancellationToken)));
        try
        {
            var (reply, fromCache) = await work.Value.ConfigureAwait(false);
            return new ProcessOutcome(reply, request.ReplyTo, null, null, fromCache);
        }
        finally
        {
            _inFlight.TryRemove(new KeyValuePair<string, Lazy<Task<(PredictionReply, bool)>>>(request.RequestId, work));
        }
    }

    private async Task<(PredictionReply, bool)> AnswerAsync(PredictionRequest request, CancellationToken cancellationToken)
    {
        string resultPath = BlobLayout.PredictionResult(request.Task, request.RequestId);
        var stored = await store.ReadTextAsync(resultPath, cancellationToken).ConfigureAwait(false);
        if (stored != null) return (PredictionReply.Parse(stored), true);

        var computed = await batcher.PredictAsync(new EngineInput(request.Text, request.TextB), request.ReturnProbabilities, request.ReturnText).ConfigureAwait(false);
        var p = computed.Prediction;
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
        };
        try
        {
            await store.WriteIfMatchAsync(resultPath, BinaryData.FromString(reply.ToJson()), expectedETag: null, cancellationToken).ConfigureAwait(false);
            return (reply, false);
        }
        catch (ArtifactConflictException)
        {
            // Another worker answered the same request first: its reply is the one answer.
            var first = await store.ReadTextAsync(resultPath, cancellationToken).ConfigureAwait(false);
            return (first != null ? PredictionReply.Parse(first) : reply, first != null);
        }
    }
}
