using PredGen.Cli.Serving;
using PredGen.Cli.Serving.Benchmark;

namespace PredGen.Cli.Tests.Serving;

public sealed class CpuClockTests
{
    [Fact]
    public void A_stat_line_gives_user_plus_system_ticks_and_with_children_their_waited_for_time_too()
    {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime ...
        const string Stat = "4242 (node my server) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 30 20 20 0 11 0 123 456 789";

        Assert.Equal(3.0, CpuClock.ParseStat(Stat, withChildren: false)); // (250 + 50) / 100, the name's spaces skipped
        Assert.Equal(3.5, CpuClock.ParseStat(Stat, withChildren: true));
        Assert.Null(CpuClock.ParseStat("garbage", withChildren: false));
    }

    [Fact]
    public void Stage_totals_count_each_occurrence_and_subtract_to_give_one_phase()
    {
        using var metrics = new ServingMetrics();
        metrics.RecordStage(ServingStage.ResultWrite, 4);
        var before = metrics.StageTotals();
        metrics.RecordStage(ServingStage.ResultWrite, 10);
        metrics.RecordStage(ServingStage.ResultWrite, 20);
        metrics.RecordReceive(messages: 30, ms: 8);
        metrics.RecordReceive(messages: 2, ms: 4);

        var phase = metrics.StageTotals()[ServingStage.ResultWrite] - before[ServingStage.ResultWrite];

        Assert.Equal((2L, 30.0, 15.0), (phase.Count, phase.TotalMs, phase.MeanMs));
        Assert.Equal((32L, 2L), metrics.Receives);
        Assert.Equal((2L, 6.0), (metrics.StageTotals()[ServingStage.Receive].Count, metrics.StageTotals()[ServingStage.Receive].MeanMs));
        Assert.Equal("result_write", ServingMetrics.StageName(ServingStage.ResultWrite));
    }
}

public sealed class ServeBenchLoadTests
{
    [Theory]
    [InlineData(8, 200.0, 150.0, 60)]    // Little's law: 2 x 200 rows/s x 0.15 s
    [InlineData(8, 200.0, 10.0, 24)]     // a fast round trip: three batches' worth is the floor
    [InlineData(1, 500.0, 1000.0, 64)]   // never more than the worker holds in flight (8 batches, at least 64)
    [InlineData(32, 300.0, 3000.0, 256)]
    [InlineData(32, 100.0, double.NaN, 96)]
    public void Saturation_offers_enough_outstanding_requests_to_keep_the_model_busy_through_the_round_trips(int limit, double modelRows, double p50Ms, int expected) =>
        Assert.Equal(expected, PredGen.Cli.Serving.Benchmark.ServingBenchmark.SaturationConcurrency(limit, modelRows, p50Ms));
}

public sealed class ServeBenchCeilingTests
{
    [Fact]
    public void The_efficiency_ceiling_is_what_the_cores_leave_after_the_io_cpu_each_request_costs()
    {
        // 2 cores; Azurite 8 ms and clients + worker I/O 4 ms of CPU per request; the model alone 250 rows/s (4 ms per row):
        // at most 2000 / 16 = 125 requests/s, half of the model's rate.
        var cpu = new PredGen.Cli.Serving.Benchmark.PhaseCpu(10, 2, 10, 6, 2, 4, AzuriteCpuMsPerRequest: 8, WorkerIoAndClientsCpuMsPerRequest: 4, ModelCpuMsPerRequest: 4);

        Assert.Equal(0.5, PredGen.Cli.Serving.Benchmark.ServingBenchmark.CpuBoundCeiling(cpu, 250));
        Assert.Equal(1.0, PredGen.Cli.Serving.Benchmark.ServingBenchmark.CpuBoundCeiling(cpu with { Cores = 16 }, 250));
        Assert.Null(PredGen.Cli.Serving.Benchmark.ServingBenchmark.CpuBoundCeiling(cpu with { AzuriteCpuMsPerRequest = null }, 250));
    }
}
