using PredGen.Training.Runtime;

namespace PredGen.Cli.Worker;

/// <summary>The MINE analysis the worker runs for Mine jobs (null until the estimator is wired in).</summary>
public static class MineAnalysisFactory
{
    public static IMineAnalysis? Create(TorchOptions torch)
    {
        _ = torch;
        return null;
    }
}
