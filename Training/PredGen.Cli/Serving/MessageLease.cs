using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;

namespace PredGen.Cli.Serving;

/// <summary>
/// One received storage-queue message while this worker holds it: renews its visibility every half of the timeout
/// (each renewal returns a new pop receipt, which delete and release then use), so a slow batch does not let the
/// message reappear to another worker. Renewal stops before the message is deleted or released.
/// </summary>
internal sealed class MessageLease(QueueClient queue, QueueMessage message, TimeSpan visibility, TimeProvider time) : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1); // a renewal and a delete never interleave (the receipt changes)
    private readonly CancellationTokenSource _stop = new();
    private string _popReceipt = message.PopReceipt;
    private Task? _renewing;
    private bool _settled;

    public QueueMessage Message { get; } = message;

    public void StartRenewing() => _renewing ??= RenewLoopAsync(_stop.Token);

    private async Task RenewLoopAsync(CancellationToken cancellationToken)
    {
        var every = visibility / 2;
        try
        {
            while (true)
            {
                await Task.Delay(every, time, cancellationToken).ConfigureAwait(false);
                await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    if (_settled) return;
                    var receipt = await queue.UpdateMessageAsync(Message.MessageId, _popReceipt, visibilityTimeout: visibility, cancellationToken: cancellationToken).ConfigureAwait(false);
                    _popReceipt = receipt.Value.PopReceipt;
                }
                catch (RequestFailedException)
                {
                    // Lost the message (it reappeared and another worker took it): nothing left to renew; the reply
                    // stored under its request id keeps the other worker from computing it again.
                    return;
                }
                finally
                {
                    _gate.Release();
                }
            }
        }
        catch (OperationCanceledException)
        {
            // settled or disposed
        }
    }

    /// <summary>Deletes the message (answered or poisoned).</summary>
    public async Task DeleteAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            _settled = true;
            await queue.DeleteMessageAsync(Message.MessageId, _popReceipt, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Makes the message visible again after <paramref name="delay"/> (a transient failure's backoff).</summary>
    public async Task TryReleaseAfterAsync(TimeSpan delay)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            _settled = true;
            await queue.UpdateMessageAsync(Message.MessageId, _popReceipt, visibilityTimeout: delay, cancellationToken: CancellationToken.None).ConfigureAwait(false);
        }
        catch (RequestFailedException)
        {
            // the visibility timeout brings it back anyway
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_renewing != null) await _renewing.ConfigureAwait(false);
        _stop.Dispose();
        _gate.Dispose();
    }
}
