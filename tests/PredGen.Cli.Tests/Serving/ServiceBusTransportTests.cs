using Azure.Messaging.ServiceBus;
using Microsoft.Extensions.Logging.Abstractions;
using PredGen.Cli.Serving;
using PredGen.Shared.Models;
using PredGen.Shared.Predictions;
using PredGen.Shared.Storage;

namespace PredGen.Cli.Tests.Serving;

/// <summary>The Service Bus transport without a namespace (no emulator here): messages built with ServiceBusModelFactory,
/// settlement observed through ProcessMessageEventArgs' virtual settlement methods.</summary>
public sealed class ServiceBusTransportTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "predgen-sb-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly ServingOptions _options = new() { Task = "sst2", MaxBatchSize = 4, MaxBatchWaitMs = 1, MaxDequeueCount = 3, RepliesQueue = "prediction-replies" };
    private readonly ServingMetrics _metrics = new();
    private readonly ServingModelSlot _slot = new();
    private readonly DynamicBatcher _batcher;
    private readonly ScriptedEngine _engine = new("job-a");
    private readonly RecordingReplySender _replies = new();
    private readonly ServiceBusRequestHandler _handler;

    public ServiceBusTransportTests()
    {
        var store = new FileSystemArtifactStore(_root);
        _slot.Publish(new LoadedModel(_engine, new ChampionPointer("sst2", "run-1", "job-a", "PredGen", "runs/sst2/run-1/jobs/job-a/model", "accuracy", 0.9, DateTimeOffset.UnixEpoch)));
        _batcher = new DynamicBatcher(_slot, _options, _metrics, NullLogger<DynamicBatcher>.Instance);
        var processor = new PredictionProcessor(new PredictionRequestParser(new HashSet<string> { "sst2" }, 100), _batcher, store, _metrics);
        _handler = new ServiceBusRequestHandler(processor, _replies, _options, _metrics, NullLogger<ServiceBusRequestHandler>.Instance);
    }

    private static ServiceBusReceivedMessage Received(string body, string messageId, int deliveryCount = 1, string? replyTo = "replies-x", string? session = "client-7") =>
        ServiceBusModelFactory.ServiceBusReceivedMessage(body: BinaryData.FromString(body), messageId: messageId, replyTo: replyTo,
            replyToSessionId: session, deliveryCount: deliveryCount, contentType: "application/json");

    [Fact]
    public void A_client_request_message_carries_the_request_id_reply_queue_and_session_the_worker_reads_back()
    {
        var request = new PredictionRequest { RequestId = "r-1", Task = "sst2", Text = "good" };
        var sent = ServiceBusPredictionClient.ToMessage(request, "prediction-replies", "client-7");
        var received = ServiceBusModelFactory.ServiceBusReceivedMessage(body: sent.Body, messageId: sent.MessageId, replyTo: sent.ReplyTo, replyToSessionId: sent.ReplyToSessionId);

        Assert.Equal(("r-1", "prediction-replies", "client-7", "sst2"), (sent.MessageId, sent.ReplyTo, sent.ReplyToSessionId, sent.Subject));
        Assert.Equal(("prediction-replies", "client-7"), ServiceBusMessageMapping.ReplyAddress(received, "default-q"));
        Assert.Equal(("default-q", (string?)null), ServiceBusMessageMapping.ReplyAddress(Received("{}", "m", replyTo: null, session: null), "default-q"));
    }

    [Fact]
    public void A_reply_message_is_routed_to_the_request_session_and_correlated_by_request_id()
    {
        var reply = new PredictionReply { RequestId = "r-1", Label = "positive" };
        var message = ServiceBusMessageMapping.ToReplyMessage(reply, Received("{}", "r-1"));

        Assert.Equal(("r-1", "client-7", "prediction"), (message.CorrelationId, message.SessionId, message.Subject));
        Assert.Equal("positive", PredictionReply.Parse(message.Body.ToString()).Label);
    }

    [Theory]
    [InlineData(1, 3, SettlementAction.Abandon)]
    [InlineData(2, 3, SettlementAction.Abandon)]
    [InlineData(3, 3, SettlementAction.DeadLetter)]
    public void A_transient_failure_is_abandoned_until_the_last_delivery_then_dead_lettered(int delivery, int max, SettlementAction expected)
    {
        var settlement = ServiceBusMessageMapping.DecideAfterFailure(new IOException("disk"), delivery, max);

        Assert.Equal(expected, settlement.Action);
        if (expected == SettlementAction.DeadLetter) Assert.Equal(RejectionReasons.MaxDeliveriesExceeded, settlement.Reason);
    }

    [Fact]
    public async Task A_good_request_is_answered_into_its_session_and_completed()
    {
        var args = new RecordingArgs(Received(new PredictionRequest { RequestId = "r-good", Task = "sst2", Text = "a good film" }.ToJson(), "r-good"));

        var settlement = await _handler.HandleAsync(args);

        Assert.Equal(SettlementAction.Complete, settlement.Action);
        Assert.Equal(["complete"], args.Calls);
        var (queue, message) = Assert.Single(_replies.Sent);
        Assert.Equal(("replies-x", "client-7", "r-good"), (queue, message.SessionId, message.CorrelationId));
        Assert.Equal("positive", PredictionReply.Parse(message.Body.ToString()).Label);
    }

    [Fact]
    public async Task An_answered_request_is_profiled_once_in_every_stage_between_the_queue_and_its_settlement()
    {
        var args = new RecordingArgs(Received(new PredictionRequest { RequestId = "r-profiled", Task = "sst2", Text = "a good film" }.ToJson(), "r-profiled"));

        await _handler.HandleAsync(args);

        var totals = _metrics.StageTotals();
        foreach (var stage in new[] { ServingStage.Parse, ServingStage.BatchWait, ServingStage.Compute, ServingStage.ResultWrite,
                     ServingStage.ReplySend, ServingStage.Settle, ServingStage.Handle })
            Assert.True(totals[stage].Count == 1, $"{stage}: {totals[stage].Count}");
        Assert.Equal(0, totals[ServingStage.ResultRead].Count); // a first delivery cannot have been answered: nothing read
        Assert.Equal(0, totals[ServingStage.Receive].Count); // the Service Bus processor receives; it is not timed here
        Assert.True(totals[ServingStage.Handle].TotalMs >= totals[ServingStage.Compute].TotalMs, "the whole handling includes the model's batch");
    }

    [Fact]
    public async Task Bad_input_is_dead_lettered_with_its_reason_and_the_client_still_hears_why()
    {
        var args = new RecordingArgs(Received("{\"schema_version\":1,\"request_id\":\"r-empty\",\"task\":\"sst2\",\"text\":\"\"}", "r-empty"));

        var settlement = await _handler.HandleAsync(args);

        Assert.Equal(SettlementAction.DeadLetter, settlement.Action);
        Assert.Equal(["deadletter:empty_text"], args.Calls);
        Assert.Equal(RejectionReasons.EmptyText, PredictionReply.Parse(Assert.Single(_replies.Sent).Message.Body.ToString()).Error);
        Assert.Equal(1, _metrics.Rejected);
    }

    [Fact]
    public async Task A_model_failure_is_abandoned_and_dead_lettered_on_the_last_delivery()
    {
        string body = new PredictionRequest { RequestId = "r-boom", Task = "sst2", Text = "explode" }.ToJson();
        var first = new RecordingArgs(Received(body, "r-boom", deliveryCount: 1));
        var last = new RecordingArgs(Received(body, "r-boom", deliveryCount: 3));

        await _handler.HandleAsync(first);
        await _handler.HandleAsync(last);

        Assert.Equal(["abandon"], first.Calls);
        Assert.Equal(["deadletter:max_deliveries_exceeded"], last.Calls);
        Assert.Empty(_replies.Sent);
    }

    [Fact]
    public async Task A_redelivered_request_gets_the_same_reply_without_a_second_inference()
    {
        string body = new PredictionRequest { RequestId = "r-twice", Task = "sst2", Text = "good" }.ToJson();

        await _handler.HandleAsync(new RecordingArgs(Received(body, "r-twice", 1)));
        await _handler.HandleAsync(new RecordingArgs(Received(body, "r-twice", 2)));

        Assert.Equal(1, _engine.Rows);
        Assert.Equal(2, _replies.Sent.Count);
        Assert.Equal(_replies.Sent[0].Message.Body.ToString(), _replies.Sent[1].Message.Body.ToString());
        Assert.Equal(1, _metrics.Cached);
    }

    public void Dispose()
    {
        _batcher.Dispose();
        _slot.Dispose();
        _metrics.Dispose();
        try { Directory.Delete(_root, true); } catch (IOException) { }
    }

    private sealed class RecordingReplySender : IReplySender
    {
        public List<(string Queue, ServiceBusMessage Message)> Sent { get; } = [];

        public Task SendAsync(string queue, ServiceBusMessage message, CancellationToken cancellationToken)
        {
            lock (Sent) Sent.Add((queue, message));
            return Task.CompletedTask;
        }
    }

    private sealed class RecordingArgs(ServiceBusReceivedMessage message) : ProcessMessageEventArgs(message, receiver: null!, CancellationToken.None)
    {
        public List<string> Calls { get; } = [];

        public override Task CompleteMessageAsync(ServiceBusReceivedMessage message, CancellationToken cancellationToken = default)
        {
            Calls.Add("complete");
            return Task.CompletedTask;
        }

        public override Task AbandonMessageAsync(ServiceBusReceivedMessage message, IDictionary<string, object>? propertiesToModify = null, CancellationToken cancellationToken = default)
        {
            Calls.Add("abandon");
            return Task.CompletedTask;
        }

        public override Task DeadLetterMessageAsync(ServiceBusReceivedMessage message, string deadLetterReason, string? deadLetterErrorDescription = null, CancellationToken cancellationToken = default)
        {
            Calls.Add("deadletter:" + deadLetterReason);
            return Task.CompletedTask;
        }
    }
}
