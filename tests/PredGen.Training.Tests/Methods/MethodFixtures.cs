using PredGen.Shared.Data;
using PredGen.Training.Methods;
using PredGen.Tooling.Benchmarks;

namespace PredGen.Training.Tests.Methods;

/// <summary>A tiny random base and the two tiny synthetic tasks, written once per test run.</summary>
internal static class MethodFixtures
{
    private static readonly Lazy<string> Root = new(() =>
    {
        // A fresh folder per test process, removed when it exits: a process id is reused, and a folder left by an
        // earlier process of the same id once held files a run read back.
        string root = Path.Combine(Path.GetTempPath(), $"predgen-methods-tests-{Environment.ProcessId}-{Guid.NewGuid():N}");
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
        SyntheticTasks.WriteRandomBase(Path.Combine(root, "base"));
        SyntheticTasks.WriteClassification(Path.Combine(root, "classification"));
        SyntheticTasks.WriteRegression(Path.Combine(root, "regression"));
        return root;
    });

    public static string BaseModel => Path.Combine(Root.Value, "base");

    public static string Data(TaskKind kind) => Path.Combine(Root.Value, kind == TaskKind.Classification ? "classification" : "regression");

    public static string NewOutput(string name)
    {
        string dir = Path.Combine(Root.Value, "runs", name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Settings under which every method learns the tiny tasks in a few seconds: full fine-tuning of the tiny
    /// model from scratch with a high learning rate, validation only at the end.</summary>
    public static TrainOptions Fast(MethodKind method, TaskKind kind, int steps = 120) => new()
    {
        Method = method,
        TaskKind = kind,
        Seed = 3,
        MaxSteps = steps,
        BatchSize = 8,
        LearningRate = 3e-3,
        WarmupRatio = 0.1,
        WeightDecay = 0,
        FineTuning = FineTuning.Full,
        EvalEvery = steps,
        EarlyStoppingPatience = 0,
        CheckpointEvery = 0,
        SamplingMin = 0,
        SamplingMax = 0.5,
        MaxPromptTokens = 64,
        // One intra-op thread: the tiny model's ops are too small to split, and the test machines' cores are shared.
        Torch = new() { Device = "cpu", Threads = 1 },
    };
}
