using Microsoft.Extensions.Logging.Abstractions;
using PredGen.Cli.Serving;
using PredGen.Shared.Models;
using PredGen.Shared.Predictions;
using PredGen.Shared.Storage;

namespace PredGen.Cli.Tests.Serving;

/// <summary>
/// The stored-reply check by delivery (docs/SERVING.md steps 3 and 4, issue 15): a first delivery reads no result blob
/// (no worker can have answered it), and what the read would have found is still honoured after computing; a
/// redelivery reads first and computes nothing when the reply is stored. Each worker is a fresh processor on one store,
/// so "another worker answered" is a reply already in the store.
/// </summary>
public sealed class PredictionProcessorTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "predgen-processor-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly ServingOptions _options = new() { Task = "t", MaxBatchSize = 4, MaxBatchWaitMs = 1 };
    private readonly ServingMetrics _metrics = new();
    private readonly ServingModelSlot _slot = new();
    private readonly ScriptedEngine _engine = new("job-a");
    private readonly DynamicBatcher _batcher;
    private readonly CountingStore _store;

    public PredictionProcessorTests()
    {
        _store = new CountingStore(new FileSystemArtifactStore(_root));
        _slot.Publish(new LoadedModel(_engine, new ChampionPointer("t", "run-1", "job-a", "PredGen", "runs/t/run-1/jobs/job-a/model", "accuracy", 0.9, DateTimeOffset.UnixEpoch)));
        _batcher = new DynamicBatcher(_slot, _options, _metrics, NullLogger<DynamicBatcher>.Instance);
    }

    private PredictionProcessor NewWorker() =>
        new(new PredictionRequestParser(new HashSet<string>(StringComparer.Ordinal) { "t" }, 100), _batcher, _store, _metrics);

    private static PredictionRequest Request(string id, string text) => new() { RequestId = id, Task = "t", Text = text };

    private static BinaryData Body(PredictionRequest request) => BinaryData.FromString(request.ToJson());

    private static string ResultPath(string id) => BlobLayout.PredictionResult("t", id);

    /// <summary>The reply another worker stored for this request earlier (another model, so it is told apart).</summary>
    private async Task<PredictionReply> StoredByAnotherWorkerAsync(PredictionRequest request, string label)
    {
        var reply = new PredictionReply
        {
            RequestId = request.RequestId, Task = "t", Label = label, Model = new ServedModel("run-0", "job-old", "PredGen"),
            ComputedAt = DateTimeOffset.UnixEpoch, RequestHash = request.ContentHash(),
        };
        await _store.WriteTextAsync(ResultPath(request.RequestId), reply.ToJson());
        return reply;
    }

    [Fact]
    public async Task A_first_delivery_reads_no_result_blob_and_stores_its_reply()
    {
        var outcome = await NewWorker().ProcessAsync(Body(Request("r-1", "good")), CancellationToken.None, firstDelivery: true);

        Assert.Equal(("positive", false), (outcome.Reply!.Label, outcome.FromCache));
        Assert.Equal(0, _store.Reads);
        Assert.Equal(outcome.Reply.ToJson(), await _store.ReadTextAsync(ResultPath("r-1")));
    }

    [Fact]
    public async Task A_redelivery_to_another_worker_is_answered_from_the_stored_reply_without_computing()
    {
        var request = Request("r-2", "good");
        var stored = await StoredByAnotherWorkerAsync(request, "positive");

        var outcome = await NewWorker().ProcessAsync(Body(request), CancellationToken.None, firstDelivery: false);

        Assert.Equal((stored.ToJson(), true), (outcome.Reply!.ToJson(), outcome.FromCache));
        Assert.Equal(0, _engine.Rows);
    }

    [Fact]
    public async Task A_resent_request_on_a_first_delivery_is_computed_but_answered_with_the_one_stored_reply()
    {
        var request = Request("r-3", "good");
        var stored = await StoredByAnotherWorkerAsync(request, "positive");

        var outcome = await NewWorker().ProcessAsync(Body(request), CancellationToken.None, firstDelivery: true);

        Assert.Equal((stored.ToJson(), true), (outcome.Reply!.ToJson(), outcome.FromCache)); // the first answer, not a second one
        Assert.Equal(1, _engine.Rows); // the price of skipping the read: computed, then found answered
        Assert.Equal(stored.ToJson(), await _store.ReadTextAsync(ResultPath("r-3"))); // kept
    }

    [Fact]
    public async Task A_reused_id_with_another_text_on_a_first_delivery_is_computed_and_replaces_the_stored_reply()
    {
        await StoredByAnotherWorkerAsync(Request("1", "a good film"), "positive"); // Monday's request 1
        var tuesday = Request("1", "a dull film");

        var outcome = await NewWorker().ProcessAsync(Body(tuesday), CancellationToken.None, firstDelivery: true);

        Assert.Equal(("negative", false, tuesday.ContentHash()), (outcome.Reply!.Label, outcome.FromCache, outcome.Reply.RequestHash));
        var nowStored = PredictionReply.Parse((await _store.ReadTextAsync(ResultPath("1")))!);
        Assert.Equal(outcome.Reply.ToJson(), nowStored.ToJson());
    }

    [Fact]
    public async Task A_resend_to_the_same_worker_is_answered_from_memory_with_no_storage_round_trip()
    {
        var worker = NewWorker();
        var request = Request("r-5", "good");
        var first = await worker.ProcessAsync(Body(request), CancellationToken.None, firstDelivery: true);
        int reads = _store.Reads, writes = _store.Writes;

        var again = await worker.ProcessAsync(Body(request), CancellationToken.None, firstDelivery: true);
        var redelivered = await worker.ProcessAsync(Body(request), CancellationToken.None, firstDelivery: false);

        Assert.Equal((first.Reply!.ToJson(), true), (again.Reply!.ToJson(), again.FromCache));
        Assert.Equal(first.Reply.ToJson(), redelivered.Reply!.ToJson());
        Assert.Equal((reads, writes, 1), (_store.Reads, _store.Writes, _engine.Rows));
        // The same id with another text is not answered from memory.
        var other = await worker.ProcessAsync(Body(Request("r-5", "dull")), CancellationToken.None, firstDelivery: true);
        Assert.Equal(("negative", 2), (other.Reply!.Label, _engine.Rows));
    }

    public void Dispose()
    {
        _batcher.Dispose();
        _slot.Dispose();
        _metrics.Dispose();
        try { Directory.Delete(_root, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>Counts the reads and writes the processor makes.</summary>
    private sealed class CountingStore(IArtifactStore inner) : IArtifactStore
    {
        private int _reads, _writes;
        public int Reads => Volatile.Read(ref _reads);
        public int Writes => Volatile.Read(ref _writes);
        public string Location => inner.Location;

        public Task WriteAsync(string path, BinaryData content, CancellationToken cancellationToken = default) => inner.WriteAsync(path, content, cancellationToken);

        public Task<string> WriteIfMatchAsync(string path, BinaryData content, string? expectedETag, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _writes);
            return inner.WriteIfMatchAsync(path, content, expectedETag, cancellationToken);
        }

        public Task<StoredArtifact?> ReadAsync(string path, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _reads);
            return inner.ReadAsync(path, cancellationToken);
        }

        public Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default) => inner.ExistsAsync(path, cancellationToken);
        public Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(prefix, cancellationToken);
        public Task DeleteAsync(string path, CancellationToken cancellationToken = default) => inner.DeleteAsync(path, cancellationToken);
    }
}
