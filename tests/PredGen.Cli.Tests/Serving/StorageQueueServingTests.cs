using Microsoft.Extensions.DependencyInjection;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using PredGen.Cli.Serving;
using PredGen.Shared.Predictions;
using PredGen.Training.Methods;
using PredGen.Shared.Storage;
using PredGen.TestSupport;

namespace PredGen.Cli.Tests.Serving;

[Collection(AzuriteTests.Name)]
[Trait(TestCategories.Key, TestCategories.Integration)]
public sealed class StorageQueueServingTests(AzuriteFixture azurite)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_request_on_the_queue_is_answered_on_the_client_reply_queue_and_stored_under_its_request_id()
    {
        await using var bed = await ServingTestBed.StartAsync(azurite);
        await using var client = bed.NewClient();
        var request = bed.Request("a good film");

        var reply = await client.PredictAsync(request, Timeout);

        Assert.True(reply.IsSuccess);
        Assert.Equal((request.RequestId, "positive", 0.9, "job-a:positive"), (reply.RequestId, reply.Label, reply.Probabilities!["positive"], reply.GeneratedText));
        Assert.Equal(new ServedModel("run-1", "job-a", "PredGen"), reply.Model);
        string? stored = await bed.Store.ReadTextAsync(BlobLayout.PredictionResult(bed.Task, request.RequestId));
        Assert.Equal(reply.ToJson(), stored);
    }

    [Fact]
    public async Task Predict_with_a_queue_prints_one_line_per_input_including_the_error_of_a_rejected_one()
    {
        await using var bed = await ServingTestBed.StartAsync(azurite);
        var target = new QueuePredictTarget(ServingOptions.StorageQueueTransport, bed.Task, bed.RequestsQueue, azurite.ConnectionString, null, null,
            TimeSpan.FromSeconds(30), ReturnProbabilities: true, ReturnText: true);
        var output = new StringWriter();

        int code = await QueuePredict.RunAsync(target, [("a", new TextInput("good stuff")), ("b", new TextInput("dull", "really")), ("c", new TextInput(" "))], output, CancellationToken.None);

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(1, code); // one input was rejected
        Assert.Equal(["a", "b", "c"], lines.Select(l => l.GetProperty("id").GetString()));
        Assert.Equal(("positive", 0.9), (lines[0].GetProperty("label").GetString(), lines[0].GetProperty("probability").GetDouble()));
        Assert.Equal("negative", lines[1].GetProperty("prediction").GetString());
        Assert.Equal("job-a", lines[1].GetProperty("model").GetProperty("job_id").GetString());
        Assert.Equal(RejectionReasons.EmptyText, lines[2].GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_redelivered_request_gets_the_same_reply_and_the_model_computes_it_once()
    {
        await using var bed = await ServingTestBed.StartAsync(azurite);
        await using var client = bed.NewClient();
        var request = bed.Request("not my kind of film", id: "redelivered-1");

        var first = await client.PredictAsync(request, Timeout);
        var second = await client.PredictAsync(request, Timeout); // the same message body again, as a redelivery would be
        var third = await client.PredictAsync(request, Timeout);

        Assert.Equal(first.ToJson(), second.ToJson());
        Assert.Equal(first.ToJson(), third.ToJson());
        Assert.Equal(1, bed.Loader!.TotalRows);
        Assert.Equal((3L, 2L), (bed.Metrics.Replied, bed.Metrics.Cached));
    }

    [Fact]
    public async Task A_reused_request_id_with_another_text_gets_its_own_answer_not_the_stored_one()
    {
        await using var bed = await ServingTestBed.StartAsync(azurite);
        await using var client = bed.NewClient();

        // A client that numbers its requests 1, 2, 3 in every session.
        var monday = await client.PredictAsync(bed.Request("a good film", id: "1"), Timeout);
        var tuesday = await client.PredictAsync(bed.Request("a dull film", id: "1"), Timeout);
        var tuesdayAgain = await client.PredictAsync(bed.Request("a dull film", id: "1"), Timeout); // a redelivery

        Assert.Equal(("positive", "negative", "negative"), (monday.Label, tuesday.Label, tuesdayAgain.Label));
        Assert.NotEqual(monday.RequestHash, tuesday.RequestHash);
        Assert.Equal(tuesday.ToJson(), tuesdayAgain.ToJson());
        Assert.Equal(2, bed.Loader!.TotalRows); // the redelivery of the second text was answered from its stored reply
        var stored = PredictionReply.Parse((await bed.Store.ReadTextAsync(BlobLayout.PredictionResult(bed.Task, "1")))!);
        Assert.Equal(("negative", bed.Request("a dull film", id: "1").ContentHash()), (stored.Label, stored.RequestHash));
    }

    [Fact]
    public async Task A_batch_slower_than_the_visibility_timeout_keeps_its_message_hidden_and_is_answered_once()
    {
        await using var bed = await ServingTestBed.StartAsync(azurite, visibilityTimeoutSeconds: 1);
        await using var client = bed.NewClient();

        var reply = await client.PredictAsync(bed.Request("slow but good", id: "slow-1"), Timeout); // 3 s of compute
        await Task.Delay(TimeSpan.FromSeconds(1.5)); // time for a duplicate reply, had the message reappeared

        Assert.Equal("positive", reply.Label);
        Assert.Equal((1L, 0L, 0L), (bed.Metrics.Replied, client.UnmatchedReplies, bed.Metrics.Failures));
        Assert.Equal(1, bed.Loader!.TotalRows);
        Assert.Empty((await azurite.CreateQueueServiceClient().GetQueueClient(bed.RequestsQueue).PeekMessagesAsync(32)).Value);
    }

    [Fact]
    public async Task A_batch_that_times_out_is_redelivered_then_poisoned_and_the_worker_keeps_answering()
    {
        await using var bed = await ServingTestBed.StartAsync(azurite, maxDequeueCount: 1, batchTimeoutSeconds: 1);
        var queues = azurite.CreateQueueServiceClient();
        await queues.GetQueueClient(bed.RequestsQueue).SendMessageAsync(bed.Request("slow for ever", id: "hung-1").ToJson());

        var poisoned = await ReceiveAllAsync(queues.GetQueueClient(bed.PoisonQueue), 1);
        // The one inference thread is still inside the slow batch (a model call cannot be cut short): once it is out,
        // the worker answers again within the timeout.
        var waited = Stopwatch.StartNew();
        while (bed.Loader!.Loaded[0].Batches == 0 && waited.Elapsed < Timeout) await Task.Delay(50);
        await using var client = bed.NewClient();
        var afterwards = await client.PredictAsync(bed.Request("good after all that"), Timeout);

        var p = Assert.Single(poisoned);
        Assert.Equal((RejectionReasons.MaxDeliveriesExceeded, "hung-1"), (p.Reason, p.RequestId));
        Assert.Contains("Serving:BatchTimeoutSeconds", p.Detail, StringComparison.Ordinal); // the last failure, named
        Assert.Equal("positive", afterwards.Label);
    }

    [Fact]
    public async Task A_reply_to_outside_the_reply_queue_prefix_is_poisoned_naming_the_field_and_nothing_is_written_there()
    {
        await using var bed = await ServingTestBed.StartAsync(azurite);
        var queues = azurite.CreateQueueServiceClient();
        var victim = queues.GetQueueClient("trainer-jobs-" + Guid.NewGuid().ToString("N")[..8]); // any other queue of the account
        await victim.CreateAsync();
        await queues.GetQueueClient(bed.RequestsQueue).SendMessageAsync((bed.Request("good", id: "hijack-1") with { ReplyTo = victim.Name }).ToJson());

        var poisoned = Assert.Single(await ReceiveAllAsync(queues.GetQueueClient(bed.PoisonQueue), 1));

        Assert.Equal((RejectionReasons.ReplyToNotAllowed, "hijack-1"), (poisoned.Reason, poisoned.RequestId));
        Assert.Contains("reply_to", poisoned.Detail, StringComparison.Ordinal);
        Assert.Contains("prediction-replies-", poisoned.Detail, StringComparison.Ordinal);
        Assert.Empty((await victim.PeekMessagesAsync(32)).Value);
        Assert.Equal(0, bed.Loader!.TotalRows); // refused before any computation
    }

    [Fact]
    public async Task Replies_to_many_distinct_reply_queues_keep_the_worker_reply_queue_cache_bounded()
    {
        await using var bed = await ServingTestBed.StartAsync(azurite);
        var worker = bed.Host.Services.GetRequiredService<StorageQueuePredictionWorker>();

        for (int i = 0; i < StorageQueuePredictionWorker.MaxCachedReplyQueues + 40; i++)
            await worker.TrySendReplyAsync($"prediction-replies-gone{i}", new PredictionReply { RequestId = "r" + i }); // queues that do not exist: 404, logged

        Assert.InRange(worker.CachedReplyQueues, 1, StorageQueuePredictionWorker.MaxCachedReplyQueues);
    }

    [Fact]
    public async Task A_NaN_model_output_is_answered_with_an_error_naming_the_field_and_poisoned_once_not_retried()
    {
        await using var bed = await ServingTestBed.StartAsync(azurite, maxDequeueCount: 3);
        await using var client = bed.NewClient();

        var reply = await client.PredictAsync(bed.Request("good but nan-output", id: "nan-1"), Timeout);
        var poisoned = Assert.Single(await ReceiveAllAsync(azurite.CreateQueueServiceClient().GetQueueClient(bed.PoisonQueue), 1));
        var afterwards = await client.PredictAsync(bed.Request("good"), Timeout);

        Assert.Equal((RejectionReasons.NonFiniteOutput, "nan-1"), (reply.Error, reply.RequestId));
        Assert.Contains("probabilities['negative'] (NaN)", reply.ErrorDetail, StringComparison.Ordinal);
        Assert.Null(reply.Probabilities);
        Assert.Equal((RejectionReasons.NonFiniteOutput, 1L), (poisoned.Reason, poisoned.DequeueCount)); // settled at once, not redelivered
        Assert.Null(await bed.Store.ReadTextAsync(BlobLayout.PredictionResult(bed.Task, "nan-1"))); // no stored answer: a later model may answer
        Assert.Equal("positive", afterwards.Label);
    }

    [Fact]
    public async Task Poison_messages_go_to_the_poison_queue_with_their_reasons_and_the_worker_keeps_answering()
    {
        await using var bed = await ServingTestBed.StartAsync(azurite, maxDequeueCount: 2);
        var queues = azurite.CreateQueueServiceClient();
        var requests = queues.GetQueueClient(bed.RequestsQueue);
        string Body(string fields) => "{\"schema_version\":1," + fields + "}";
        var bad = new (string Body, string Reason)[]
        {
            ("this is not json", RejectionReasons.MalformedJson),
            ("{\"schema_version\":7,\"request_id\":\"v7\",\"task\":\"" + bed.Task + "\",\"text\":\"x\"}", RejectionReasons.WrongSchemaVersion),
            (Body("\"request_id\":\"u1\",\"task\":\"no-such-task\",\"text\":\"x\""), RejectionReasons.UnknownTask),
            (Body("\"request_id\":\"e1\",\"task\":\"" + bed.Task + "\",\"text\":\"\""), RejectionReasons.EmptyText),
            (Body("\"request_id\":\"l1\",\"task\":\"" + bed.Task + "\",\"text\":\"" + new string('a', 201) + "\""), RejectionReasons.TextTooLong),
            (Body("\"request_id\":\"BAD ID\",\"task\":\"" + bed.Task + "\",\"text\":\"x\""), RejectionReasons.MissingRequestId),
            (Body("\"request_id\":\"boom1\",\"task\":\"" + bed.Task + "\",\"text\":\"explode\""), RejectionReasons.MaxDeliveriesExceeded),
        };
        foreach (var (body, _) in bad) await requests.SendMessageAsync(body);

        await using var client = bed.NewClient();
        var afterwards = await client.PredictAsync(bed.Request("good after all that"), Timeout);

        var poisoned = await ReceiveAllAsync(queues.GetQueueClient(bed.PoisonQueue), bad.Length);
        Assert.Equal(bad.Select(b => b.Reason).Order(), poisoned.Select(p => p.Reason).Order());
        Assert.All(poisoned, p => Assert.False(string.IsNullOrEmpty(p.Detail)));
        Assert.Equal(3, poisoned.Single(p => p.Reason == RejectionReasons.MaxDeliveriesExceeded).DequeueCount);
        Assert.Equal("this is not json", poisoned.Single(p => p.Reason == RejectionReasons.MalformedJson).Original);
        Assert.Equal("positive", afterwards.Label);
        Assert.Equal(bad.Length, bed.Metrics.Rejected);
        Assert.Equal(2, bed.Metrics.Failures); // the exploding request failed on deliveries 1 and 2, then was poisoned
    }

    [Fact]
    public async Task A_new_champion_is_served_without_downtime_and_the_old_model_is_released()
    {
        await using var bed = await ServingTestBed.StartAsync(azurite);
        await using var client = bed.NewClient();
        var before = await client.PredictAsync(bed.Request("good"), Timeout);

        await ServingTestBed.PromoteAsync(bed.Store, bed.Task, "job-b");
        var stopwatch = Stopwatch.StartNew();
        var answeredDuringSwitch = new List<PredictionReply>();
        while (bed.Slot.PublishedPointer?.JobId != "job-b" && stopwatch.Elapsed < Timeout)
            answeredDuringSwitch.Add(await client.PredictAsync(bed.Request("good"), Timeout));
        var after = await client.PredictAsync(bed.Request("good"), Timeout);

        Assert.Equal("job-a", before.Model!.JobId);
        Assert.Equal("job-b", after.Model!.JobId);
        Assert.All(answeredDuringSwitch, r => Assert.True(r.IsSuccess));
        Assert.True(bed.Loader!.Loaded[0].Disposed);
        Assert.Equal(2, bed.Metrics.Reloads);
    }

    [Fact]
    public async Task Under_load_every_request_of_many_concurrent_clients_gets_exactly_one_reply()
    {
        const int Clients = 6, LoopsPerClient = 3;
        var duration = TimeSpan.FromSeconds(4);
        await using var bed = await ServingTestBed.StartAsync(azurite, maxBatchSize: 8, maxBatchWaitMs: 5, computeMs: 2);
        var clients = Enumerable.Range(0, Clients).Select(_ => bed.NewClient()).ToList();
        var expected = new ConcurrentDictionary<string, string>(); // request id -> the label its text calls for
        var stopwatch = Stopwatch.StartNew();

        await Task.WhenAll(clients.SelectMany(client => Enumerable.Range(0, LoopsPerClient).Select(async loop =>
        {
            while (stopwatch.Elapsed < duration)
            {
                string text = (loop % 2 == 0 ? "good " : "bad ") + Guid.NewGuid().ToString("N")[..6];
                var request = bed.Request(text);
                Assert.True(expected.TryAdd(request.RequestId, loop % 2 == 0 ? "positive" : "negative"));
                await client.PredictAsync(request, Timeout);
            }
        })));
        var elapsed = stopwatch.Elapsed;
        await Task.Delay(500); // time for a duplicate reply to arrive, had one been sent
        long unmatched = clients.Sum(c => c.UnmatchedReplies); // replies that reached a client for no waiting request
        foreach (var c in clients) await c.DisposeAsync();

        // What the worker and the store say, not what the clients counted: each request has a stored reply with the
        // right label, the worker sent exactly one reply per request, no client got a reply it did not wait for, and
        // no message is left on any queue.
        var stored = new Dictionary<string, PredictionReply?>();
        foreach (var id in expected.Keys)
            stored[id] = await bed.Store.ReadTextAsync(BlobLayout.PredictionResult(bed.Task, id)) is { } json ? PredictionReply.Parse(json) : null;
        var queues = azurite.CreateQueueServiceClient();
        var summary = new
        {
            clients = Clients * LoopsPerClient, seconds = elapsed.TotalSeconds, requests = expected.Count, worker_replies = bed.Metrics.Replied,
            without_stored_reply = stored.Count(kv => kv.Value == null), wrong_label = stored.Count(kv => kv.Value != null && kv.Value.Label != expected[kv.Key]),
            unmatched, inferences = bed.Loader!.TotalRows, batches = bed.Metrics.Batches, requests_per_second = expected.Count / elapsed.TotalSeconds,
        };
        File.WriteAllText(Path.Combine(TestPaths.ArtifactDirectory("serving"), "load-test.json"), JsonSerializer.Serialize(summary));
        Assert.True(expected.Count >= Clients * LoopsPerClient, $"only {expected.Count} requests were sent");
        Assert.Equal((0, 0), (summary.without_stored_reply, summary.wrong_label));
        Assert.Equal((expected.Count, 0L, 0L), (bed.Metrics.Replied, bed.Metrics.Cached, bed.Metrics.Failures)); // one reply sent per request
        Assert.Equal(0L, unmatched); // no reply arrived twice or for nobody
        Assert.Empty((await queues.GetQueueClient(bed.RequestsQueue).PeekMessagesAsync(32)).Value); // nothing left unanswered
        var poison = queues.GetQueueClient(bed.PoisonQueue);
        Assert.True(!(await poison.ExistsAsync()).Value || (await poison.PeekMessagesAsync(32)).Value.Length == 0, "requests were poisoned under load");
        Assert.Equal(expected.Count, bed.Loader!.TotalRows); // nothing computed twice
        Assert.True(bed.Metrics.Batches < expected.Count, $"{bed.Metrics.Batches} batches for {expected.Count} requests: no batching happened");
    }

    [Fact]
    public async Task Large_non_ascii_bad_messages_reach_the_poison_queue_whole_even_past_the_64_kb_queue_limit()
    {
        await using var bed = await ServingTestBed.StartAsync(azurite);
        var queues = azurite.CreateQueueServiceClient();
        // 40,000 UTF-8 bytes: fits a queue message, but escaped as \u00e9 it would be 120,000 characters.
        string medium = new('\u00e9', 20_000);
        // 64,000 UTF-8 bytes: fits on its own, but not inside a poison envelope at any escaping.
        string large = new string('\u00fc', 31_990) + "!";
        await queues.GetQueueClient(bed.RequestsQueue).SendMessageAsync(medium);
        await queues.GetQueueClient(bed.RequestsQueue).SendMessageAsync(large);

        var poisoned = await ReceiveAllAsync(queues.GetQueueClient(bed.PoisonQueue), 2);

        Assert.Equal(2, poisoned.Count);
        Assert.All(poisoned, p => Assert.Equal(RejectionReasons.MalformedJson, p.Reason));
        var whole = poisoned.Single(p => p.OriginalPath == null);
        AssertSameTextReadFromAzurite(medium, whole.Original);
        var kept = poisoned.Single(p => p.OriginalPath != null);
        Assert.Equal(large, await bed.Store.ReadTextAsync(kept.OriginalPath!)); // the full body is kept in a blob, named in the message
        Assert.InRange(kept.Original.Length, 1000, 4096);
        AssertSameTextReadFromAzurite(large[..kept.Original.Length], kept.Original);
    }

    /// <summary>
    /// Azurite 3.37 reads a stored queue message chunk by chunk and decodes each chunk alone (readStreamToString:
    /// <c>res += chunk.toString()</c>), so a multi-byte character that straddles a chunk boundary comes back as
    /// U+FFFD replacement characters; Azure Storage does not do this. Equal text, allowing only that substitution.
    /// </summary>
    private static void AssertSameTextReadFromAzurite(string expected, string actual)
    {
        int e = 0, a = 0, substituted = 0;
        while (e < expected.Length && a < actual.Length)
        {
            if (actual[a] == '\uFFFD' && expected[e] != '\uFFFD' && expected[e] > 0x7F)
            {
                while (a < actual.Length && actual[a] == '\uFFFD') a++;
                e++;
                substituted++;
                continue;
            }
            Assert.True(expected[e] == actual[a], $"the texts differ at character {e}: '{expected[e]}' vs '{actual[a]}'");
            e++;
            a++;
        }
        Assert.Equal((expected.Length, actual.Length), (e, a));
        Assert.True(substituted <= 1 + expected.Length / 4096, $"{substituted} characters were replaced: more than Azurite's chunking explains");
    }

    private static async Task<List<PoisonMessage>> ReceiveAllAsync(Azure.Storage.Queues.QueueClient queue, int expected)
    {
        var found = new List<PoisonMessage>();
        var stopwatch = Stopwatch.StartNew();
        while (found.Count < expected && stopwatch.Elapsed < Timeout)
        {
            foreach (var m in (await queue.ReceiveMessagesAsync(32)).Value)
            {
                found.Add(PoisonMessage.Parse(m.Body.ToString()));
                await queue.DeleteMessageAsync(m.MessageId, m.PopReceipt);
            }
            if (found.Count < expected) await Task.Delay(100);
        }
        return found;
    }
}
