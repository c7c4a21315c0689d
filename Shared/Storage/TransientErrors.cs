using System.Net.Sockets;
using Azure;

namespace PredGen.Shared.Storage;

/// <summary>
/// Which failures of storage (blobs, queues) are worth trying again: request timeouts (408), throttling (429), server
/// errors (5xx), no response at all (status 0: connection refused or reset), and client-side timeouts. The Azure SDK
/// already retries each request a few times within seconds; what reaches us outlasted that, so callers back off for
/// longer (<see cref="TransientRetry"/>). Anything else (400, 403, 404, 409, 412, a bug, a failure of the work itself)
/// is not transient: retrying it would only repeat it.
/// </summary>
public static class TransientErrors
{
    public static bool IsTransient(Exception error) => error switch
    {
        null => false,
        RequestFailedException r => r.Status is 0 or 408 or 429 or >= 500,
        TimeoutException or SocketException or HttpRequestException => true,
        // HttpClient's own timeout: a TaskCanceledException around a TimeoutException (never the caller's cancellation).
        TaskCanceledException { InnerException: TimeoutException } => true,
        // The SDK's "retry failed after N tries": transient when every try failed transiently.
        AggregateException a => a.InnerExceptions.Count > 0 && a.InnerExceptions.All(IsTransient),
        IOException { InnerException: SocketException } => true,
        _ => false,
    };
}

/// <summary>How long to keep trying a transient storage failure: <see cref="Attempts"/> tries in all, waiting
/// <see cref="FirstDelay"/>, then twice as long each time, up to <see cref="MaxDelay"/>.</summary>
public sealed record TransientRetry
{
    public int Attempts { get; init; } = 6;
    public TimeSpan FirstDelay { get; init; } = TimeSpan.FromSeconds(2);
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>About two minutes in all: long enough for a throttled or briefly unavailable account.</summary>
    public static TransientRetry Default { get; } = new();

    public TimeSpan DelayBefore(int attempt) =>
        TimeSpan.FromTicks(Math.Min(MaxDelay.Ticks, FirstDelay.Ticks * (1L << Math.Min(20, Math.Max(0, attempt - 2)))));

    /// <summary>Runs <paramref name="operation"/>, trying again after a transient failure until <see cref="Attempts"/>
    /// is reached; then, or on any other failure, the exception propagates. <paramref name="onRetry"/> sees each
    /// failure that is retried and the attempt that follows it.</summary>
    public async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> operation, Action<Exception, int>? onRetry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(operation);
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await operation(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (attempt < Attempts && !cancellationToken.IsCancellationRequested && TransientErrors.IsTransient(e))
            {
                onRetry?.Invoke(e, attempt + 1);
            }
            await Task.Delay(DelayBefore(attempt + 1), cancellationToken).ConfigureAwait(false);
        }
    }

    public Task RunAsync(Func<CancellationToken, Task> operation, Action<Exception, int>? onRetry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(operation);
        return RunAsync<bool>(async ct => { await operation(ct).ConfigureAwait(false); return true; }, onRetry, cancellationToken);
    }
}
