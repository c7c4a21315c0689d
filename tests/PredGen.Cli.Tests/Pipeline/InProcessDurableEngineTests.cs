using System.Diagnostics;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PredGen.Cli.Pipeline;

namespace PredGen.Cli.Tests.Pipeline;

/// <summary>
/// What `predgen pipeline run` relies on from the in-process engine (a preview test host, InProcessDurableEngine),
/// each on a tiny orchestration of its own so that a breaking upgrade shows here by name: fan-out with activities
/// running side by side, durable timers, external events (raised, and timing out into TaskCanceledException as
/// JobOrchestration's status-poll fallback expects), custom status read back by the client, and the instance-id rules
/// RetrainStarter builds on (an existing id is not started twice, an unknown id reads as null, purge removes).
/// </summary>
public sealed class InProcessDurableEngineTests
{
    private const string FanOut = nameof(FanOut), Work = nameof(Work), Timer = nameof(Timer), Events = nameof(Events), Status = nameof(Status);

    private sealed class Concurrency
    {
        private int _running;
        public int Max;
        public CountdownEvent Arrived { get; } = new(0);

        public async Task<int> RunAsync(int n)
        {
            int now = Interlocked.Increment(ref _running);
            lock (this) Max = Math.Max(Max, now);
            Arrived.Signal();
            Arrived.Wait(TimeSpan.FromSeconds(5)); // hold until every activity has started, or give up (and the test sees Max)
            await Task.Yield();
            Interlocked.Decrement(ref _running);
            return n * n;
        }
    }

    private static Task<InProcessDurableEngine> StartAsync(Concurrency? concurrency = null) =>
        InProcessDurableEngine.StartAsync(r =>
        {
            r.AddActivityFunc<int, int>(Work, (_, n) => (concurrency ?? new Concurrency()).RunAsync(n));
            r.AddOrchestratorFunc<int, int[]>(FanOut, async (context, count) =>
                await Task.WhenAll(Enumerable.Range(1, count).Select(i => context.CallActivityAsync<int>(Work, i))));
            r.AddOrchestratorFunc<int, double>(Timer, async (context, seconds) =>
            {
                var start = context.CurrentUtcDateTime;
                await context.CreateTimer(TimeSpan.FromSeconds(seconds), CancellationToken.None);
                return (context.CurrentUtcDateTime - start).TotalSeconds;
            });
            r.AddOrchestratorFunc<int, string>(Events, async (context, timeoutSeconds) =>
            {
                try
                {
                    return await context.WaitForExternalEvent<string>("go", TimeSpan.FromSeconds(timeoutSeconds));
                }
                catch (TaskCanceledException)
                {
                    return "timed out";
                }
            });
            r.AddOrchestratorFunc<string?, string>(Status, async (context, _) =>
            {
                context.SetCustomStatus(new StageStatus("preparing", 0));
                string next = await context.WaitForExternalEvent<string>("next");
                context.SetCustomStatus(new StageStatus(next, 1));
                await context.WaitForExternalEvent<string>("finish");
                return "done";
            });
        }, services: null, NullLoggerFactory.Instance);

    private sealed record StageStatus(string Stage, int Done);

    private static async Task<OrchestrationMetadata> CompleteAsync(DurableTaskClient client, string id, int seconds = 30)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        return await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token);
    }

    [Fact]
    public void The_engine_loaded_is_the_pinned_preview_these_tests_were_written_for()
    {
        // An upgrade changes this on purpose: run the tests below against it, then move the pin and this constant together.
        Assert.Equal(InProcessDurableEngine.PinnedVersion, InProcessDurableEngine.LoadedVersion);
    }

    [Fact]
    public async Task A_fan_out_runs_its_activities_side_by_side_and_returns_every_result_in_order()
    {
        const int Count = 6;
        var concurrency = new Concurrency();
        concurrency.Arrived.Reset(Count);
        await using var engine = await StartAsync(concurrency);
        string id = await engine.Client.ScheduleNewOrchestrationInstanceAsync(FanOut, Count);
        var done = await CompleteAsync(engine.Client, id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal([1, 4, 9, 16, 25, 36], done.ReadOutputAs<int[]>()!);
        // The engine runs at most ProcessorCount activities at once (tests/test.runsettings raises it to 32).
        Assert.Equal(Math.Min(Count, Environment.ProcessorCount), concurrency.Max);
    }

    [Fact]
    public async Task A_durable_timer_fires_after_its_delay_in_orchestration_time_and_wall_time()
    {
        await using var engine = await StartAsync();
        var clock = Stopwatch.StartNew();
        string id = await engine.Client.ScheduleNewOrchestrationInstanceAsync(Timer, 2);
        var done = await CompleteAsync(engine.Client, id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.InRange(done.ReadOutputAs<double>(), 2.0, 10.0);
        Assert.InRange(clock.Elapsed.TotalSeconds, 1.9, 20.0);
    }

    [Fact]
    public async Task An_external_event_reaches_a_waiting_orchestration_and_a_missing_one_times_out_as_a_cancellation()
    {
        await using var engine = await StartAsync();
        string raised = await engine.Client.ScheduleNewOrchestrationInstanceAsync(Events, 60);
        await engine.Client.WaitForInstanceStartAsync(raised);
        await engine.Client.RaiseEventAsync(raised, "go", "went");
        string silent = await engine.Client.ScheduleNewOrchestrationInstanceAsync(Events, 1);

        Assert.Equal("went", (await CompleteAsync(engine.Client, raised)).ReadOutputAs<string>());
        Assert.Equal("timed out", (await CompleteAsync(engine.Client, silent)).ReadOutputAs<string>());
    }

    [Fact]
    public async Task Custom_status_is_visible_to_the_client_while_the_orchestration_runs()
    {
        await using var engine = await StartAsync();
        string id = await engine.Client.ScheduleNewOrchestrationInstanceAsync(Status, input: null);

        Assert.Equal(new StageStatus("preparing", 0), await StatusWhen(engine.Client, id, s => s.Stage == "preparing"));
        await engine.Client.RaiseEventAsync(id, "next", "training");
        Assert.Equal(new StageStatus("training", 1), await StatusWhen(engine.Client, id, s => s.Stage == "training"));
        await engine.Client.RaiseEventAsync(id, "finish", "now");
        var done = await CompleteAsync(engine.Client, id);
        Assert.Equal("done", done.ReadOutputAs<string>());
        Assert.Equal(new StageStatus("training", 1), done.ReadCustomStatusAs<StageStatus>());
    }

    private static async Task<StageStatus> StatusWhen(DurableTaskClient client, string id, Func<StageStatus, bool> ready)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var status = (await client.GetInstanceAsync(id, getInputsAndOutputs: true))?.ReadCustomStatusAs<StageStatus>(); // as LocalPipeline.WaitAsync reads it
            if (status != null && ready(status)) return status;
            Assert.True(DateTime.UtcNow < deadline, $"custom status of {id} is still {status}");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task A_scheduled_instance_id_is_readable_at_once_unknown_ids_read_as_null_and_purge_removes_an_instance()
    {
        // RetrainStarter starts a run only when GetInstanceAsync finds no instance under its id. This engine does not
        // reject scheduling an id that exists (checked: no exception), so that read, visible right after scheduling,
        // is what keeps a duplicate upload from starting a second run here.
        await using var engine = await StartAsync();
        var client = engine.Client;
        Assert.Null(await client.GetInstanceAsync("never-started"));

        await client.ScheduleNewOrchestrationInstanceAsync(Events, 60, new StartOrchestrationOptions("run-1"));
        Assert.NotNull(await client.GetInstanceAsync("run-1"));
        await client.WaitForInstanceStartAsync("run-1");
        await client.RaiseEventAsync("run-1", "go", "first");
        Assert.Equal("first", (await CompleteAsync(client, "run-1")).ReadOutputAs<string>());

        var purged = await client.PurgeInstanceAsync("run-1");
        Assert.Equal(1, purged.PurgedInstanceCount);
        Assert.Null(await client.GetInstanceAsync("run-1"));
    }
}
