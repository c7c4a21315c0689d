namespace PredGen.Shared.Predictions;

/// <summary>
/// Sends prediction requests to the queue a prediction worker listens on and waits for each reply. One client serves
/// many concurrent callers: replies are matched to requests by request id (storage queues) or correlation id
/// (Service Bus), on a reply queue (or session) that belongs to this client.
/// </summary>
public interface IPredictionClient : IAsyncDisposable
{
    /// <summary>Replies that matched no waiting request (late after a timeout, or a duplicate): should stay 0.</summary>
    long UnmatchedReplies { get; }

    /// <summary>Sends <paramref name="request"/> and returns its reply; throws TimeoutException after <paramref name="timeout"/>.</summary>
    Task<PredictionReply> PredictAsync(PredictionRequest request, TimeSpan timeout, CancellationToken cancellationToken = default);
}

public static class PredictionClientExtensions
{
    /// <summary>Builds a request with a fresh id for <paramref name="task"/> and waits for its reply.</summary>
    public static Task<PredictionReply> PredictAsync(this IPredictionClient client, string task, string text, string? textB = null,
        bool returnProbabilities = true, bool returnText = false, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var request = new PredictionRequest
        {
            RequestId = PredictionSchema.NewRequestId(),
            Task = task,
            Text = text,
            TextB = textB,
            ReturnProbabilities = returnProbabilities,
            ReturnText = returnText,
            SentAt = DateTimeOffset.UtcNow,
        };
        return client.PredictAsync(request, timeout ?? TimeSpan.FromSeconds(60), cancellationToken);
    }
}
