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
    [InlineData(8, 200.0, 300.0, 120)]   // Little's law: 2 x 200 rows/s x 0.3 s
    [InlineData(8, 200.0, 10.0, 24)]     // a fast round trip: three batches' worth is the floor
    [InlineData(1, 500.0, 1000.0, 16)]   // never more than 16 batches' worth
    [InlineData(32, 100.0, double.NaN, 96)]
    public void Saturation_offers_enough_outstanding_requests_to_keep_the_model_busy_through_the_round_trips(int limit, double modelRows, double p50Ms, int expected) =>
        Assert.Equal(expected, PredGen.Cli.Serving.Benchmark.ServingBenchmark.SaturationConcurrency(limit, modelRows, p50Ms));
}
