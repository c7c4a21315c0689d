using System.Collections.Concurrent;
using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Logging.Abstractions;
using PredGen.Cli.Serving;
using PredGen.Shared.Models;
using PredGen.Shared.Predictions;
using PredGen.Shared.Storage;

namespace PredGen.Cli.Tests.Serving;

/// <summary>
/// How the storage-queue worker receives (issue 15): several receive calls in flight while messages come, one poller
/// while the queue is empty. The queue is a scripted QueueClient (the SDK's clients are mockable), so what is counted is
/// exactly the calls the worker makes, with no clock in the assertions.
/// </summary>
public sealed class StorageQueueReceiverTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(20); // only bounds a hang; never what is asserted
    private readonly string _root = Path.Combine(Path.GetTempPath(), "predgen-receivers-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public async Task Four_receivers_have_four_receives_in_flight_each_asking_for_up_to_32_messages()
    {
        var queue = new ScriptedQueue("requests");
        var held = queue.HoldEmptyReceives(4);
        await using var worker = await WorkerFixture.StartAsync(queue, _root, receivers: 4, maxInFlight: 256);

        await held.WaitAsync(Guard); // would hang with receives made one after another

        Assert.Equal(4, queue.MaxConcurrent);
        Assert.All(queue.Asked.Take(4), n => Assert.Equal(32, n));
        await queue.ReleaseHeldAsync();
    }

    [Fact]
    public async Task Receivers_share_the_in_flight_limit_so_each_has_a_receive_in_flight()
    {
        var queue = new ScriptedQueue("requests");
        var held = queue.HoldEmptyReceives(4);
        await using var worker = await WorkerFixture.StartAsync(queue, _root, receivers: 4, maxInFlight: 32);

        await held.WaitAsync(Guard); // would hang if the first receiver reserved all 32 slots

        Assert.All(queue.Asked.Take(4), n => Assert.Equal(8, n));
        await queue.ReleaseHeldAsync();
    }

    [Fact]
    public async Task While_the_queue_is_empty_only_the_lead_receiver_keeps_polling()
    {
        var queue = new ScriptedQueue("requests");
        var held = queue.HoldEmptyReceives(3);
        await using var worker = await WorkerFixture.StartAsync(queue, _root, receivers: 3, maxInFlight: 64);
        await held.WaitAsync(Guard);
        await queue.ReleaseHeldAsync(); // all three come back empty
        queue.ResetConcurrency();

        await queue.WaitForCallsAsync(queue.Calls + 10).WaitAsync(Guard);

        Assert.Equal(1, queue.MaxConcurrent); // ten polls of an empty queue, never two at once
    }

    [Fact]
    public async Task A_receive_that_comes_back_full_wakes_the_idle_receivers_again()
    {
        var queue = new ScriptedQueue("requests");
        var held = queue.HoldEmptyReceives(2);
        await using var worker = await WorkerFixture.StartAsync(queue, _root, receivers: 2, maxInFlight: 64);
        await held.WaitAsync(Guard);
        await queue.ReleaseHeldAsync();
        await queue.WaitForCallsAsync(queue.Calls + 3).WaitAsync(Guard); // the second receiver is parked by now
        queue.ResetConcurrency();

        held = queue.HoldEmptyReceives(2); // empty receives wait from here until two are in flight together
        // A backlog: the 32 the lead's next receive asks for (a share of 64 in flight between 2 receivers); bodies the
        // worker poisons at once, so no model is needed.
        // worker poisons at once, so no model is needed. Enqueued at once: one by one, a receive made in between came back
        // short under load and (rightly) woke no one.
        queue.EnqueueAll(Enumerable.Range(0, 32).Select(i => "not json " + i));
        await held.WaitAsync(Guard);

        Assert.Equal(2, queue.MaxConcurrent);
        await queue.ReleaseHeldAsync();
        await queue.WaitForDeletesAsync(32).WaitAsync(Guard);
        lock (queue.Poison.Sent) Assert.All(queue.Poison.Sent, p => Assert.Equal(RejectionReasons.MalformedJson, PoisonMessage.Parse(p).Reason));
    }

    [Fact]
    public async Task A_receive_that_comes_back_short_leaves_the_other_receivers_parked()
    {
        var queue = new ScriptedQueue("requests");
        var held = queue.HoldEmptyReceives(2);
        await using var worker = await WorkerFixture.StartAsync(queue, _root, receivers: 2, maxInFlight: 64);
        await held.WaitAsync(Guard);
        await queue.ReleaseHeldAsync();
        await queue.WaitForCallsAsync(queue.Calls + 3).WaitAsync(Guard); // the second receiver is parked by now
        queue.ResetConcurrency();

        queue.Enqueue("not json"); // one message: light load, no backlog
        await queue.WaitForDeletesAsync(1).WaitAsync(Guard);
        await queue.WaitForCallsAsync(queue.Calls + 10).WaitAsync(Guard);

        Assert.Equal(1, queue.MaxConcurrent);
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private sealed class WorkerFixture : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly StorageQueuePredictionWorker _worker;
        private readonly DynamicBatcher _batcher;
        private readonly ServingModelSlot _slot;

        private WorkerFixture(StorageQueuePredictionWorker worker, DynamicBatcher batcher, ServingModelSlot slot)
        {
            _worker = worker;
            _batcher = batcher;
            _slot = slot;
        }

        public static async Task<WorkerFixture> StartAsync(ScriptedQueue requests, string root, int receivers, int maxInFlight)
        {
            var options = new ServingOptions
            {
                Task = "t", RequestsQueue = requests.Name, Receivers = receivers, MaxInFlight = maxInFlight, MaxPollIntervalMs = 5, MaxBatchSize = 8,
            };
            var metrics = new ServingMetrics();
            var slot = new ServingModelSlot();
            slot.Publish(new LoadedModel(new ScriptedEngine("job-a"), new ChampionPointer("t", "r", "job-a", "PredGen", "runs/t/r/jobs/job-a/model", "accuracy", 1, DateTimeOffset.UnixEpoch)));
            var batcher = new DynamicBatcher(slot, options, metrics, NullLogger<DynamicBatcher>.Instance);
            var store = new FileSystemArtifactStore(root);
            var parser = new PredictionRequestParser(new HashSet<string>(StringComparer.Ordinal) { "t" }, 100);
            var processor = new PredictionProcessor(parser, batcher, store, metrics);
            var worker = new StorageQueuePredictionWorker(new ScriptedQueueService(requests), options, processor, slot, metrics, store, parser,
                NullLogger<StorageQueuePredictionWorker>.Instance);
            await worker.StartAsync(CancellationToken.None);
            return new WorkerFixture(worker, batcher, slot);
        }

        public async ValueTask DisposeAsync()
        {
            await _worker.StopAsync(CancellationToken.None);
            _worker.Dispose();
            _batcher.Dispose();
            _slot.Dispose();
            _stop.Dispose();
        }
    }

    private sealed class ScriptedQueueService(ScriptedQueue requests) : QueueServiceClient
    {
        private readonly ConcurrentDictionary<string, ScriptedQueue> _others = new(StringComparer.Ordinal);

        public override QueueClient GetQueueClient(string queueName) =>
            queueName == requests.Name ? requests : queueName.EndsWith("-poison", StringComparison.Ordinal) ? requests.Poison : _others.GetOrAdd(queueName, n => new ScriptedQueue(n));
    }

    /// <summary>A queue in memory that counts receive calls in flight; while a hold is set, a receive that finds no
    /// message waits until <see cref="ReleaseHeldAsync"/>.</summary>
    private sealed class ScriptedQueue(string name) : QueueClient
    {
        private readonly ConcurrentQueue<string> _messages = new();
        private readonly Lock _gate = new();
        private readonly List<(int Calls, TaskCompletionSource Done)> _callWaiters = [];
        private TaskCompletionSource? _release, _holdReached;
        private int _holdTarget, _held;
        private int _inFlight, _maxConcurrent, _calls, _deletes;
        private ScriptedQueue? _poison;

        public override string Name => name;
        public ScriptedQueue Poison => _poison ??= new ScriptedQueue(name + "-poison");
        public ConcurrentQueue<int> Asked { get; } = new();
        public List<string> Sent { get; } = [];
        public int MaxConcurrent { get { lock (_gate) return _maxConcurrent; } }
        public int Calls { get { lock (_gate) return _calls; } }

        public void Enqueue(string body) => _messages.Enqueue(body);

        /// <summary>All at once: a receive (which takes messages under the same lock) sees none of them or all.</summary>
        public void EnqueueAll(IEnumerable<string> bodies)
        {
            lock (_gate)
                foreach (var body in bodies) _messages.Enqueue(body);
        }

        /// <summary>Empty receives wait from now on; the task completes when <paramref name="concurrent"/> receives are in flight at once.</summary>
        public Task HoldEmptyReceives(int concurrent)
        {
            lock (_gate)
            {
                _release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _holdReached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _holdTarget = concurrent;
                return _holdReached.Task;
            }
        }

        /// <summary>Lets the held receives return (empty) and waits until they have.</summary>
        public async Task ReleaseHeldAsync()
        {
            TaskCompletionSource? release;
            lock (_gate)
            {
                release = _release;
                _release = null;
            }
            release?.TrySetResult();
            while (true)
            {
                lock (_gate) if (_held == 0) return;
                await Task.Delay(5);
            }
        }

        public void ResetConcurrency()
        {
            lock (_gate) _maxConcurrent = _inFlight;
        }

        public Task WaitForCallsAsync(int calls)
        {
            lock (_gate)
            {
                if (_calls >= calls) return Task.CompletedTask;
                var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _callWaiters.Add((calls, done));
                return done.Task;
            }
        }

        public async Task WaitForDeletesAsync(int deletes)
        {
            while (Volatile.Read(ref _deletes) < deletes) await Task.Delay(10);
        }

        public override async Task<Response<QueueMessage[]>> ReceiveMessagesAsync(int? maxMessages, TimeSpan? visibilityTimeout = null, CancellationToken cancellationToken = default)
        {
            Asked.Enqueue(maxMessages ?? 1);
            var taken = new List<QueueMessage>();
            Task? wait = null;
            int call;
            lock (_gate)
            {
                call = ++_calls;
                _inFlight++;
                _maxConcurrent = Math.Max(_maxConcurrent, _inFlight);
                while (taken.Count < (maxMessages ?? 1) && _messages.TryDequeue(out var body))
                    taken.Add(QueuesModelFactory.QueueMessage("m" + call + "-" + taken.Count, "receipt", BinaryData.FromString(body), 1));
                if (taken.Count == 0 && _release != null)
                {
                    wait = _release.Task;
                    _held++;
                    if (_inFlight >= _holdTarget) _holdReached?.TrySetResult();
                }
            }
            try
            {
                if (wait != null) await wait.WaitAsync(cancellationToken);
                else await Task.Yield();
                return Response.FromValue(taken.ToArray(), null!);
            }
            finally
            {
                lock (_gate)
                {
                    if (wait != null) _held--;
                    _inFlight--;
                    foreach (var w in _callWaiters.Where(w => _calls >= w.Calls).ToList())
                    {
                        w.Done.TrySetResult();
                        _callWaiters.Remove(w);
                    }
                }
            }
        }

        public override Task<Response> CreateIfNotExistsAsync(IDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default) =>
            Task.FromResult<Response>(null!);

        public override Task<Response<SendReceipt>> SendMessageAsync(string messageText, CancellationToken cancellationToken = default)
        {
            lock (Sent) Sent.Add(messageText);
            return Task.FromResult(Response.FromValue(QueuesModelFactory.SendReceipt("s", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, "r", DateTimeOffset.UnixEpoch), null!));
        }

        public override Task<Response> DeleteMessageAsync(string messageId, string popReceipt, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _deletes);
            return Task.FromResult<Response>(null!);
        }
    }
}
