using PredGen.Training.Mine;
using PredGen.Training.Runtime;

namespace PredGen.Cli.Worker;

/// <summary>The MINE analysis the worker runs for Mine jobs.</summary>
public static class MineAnalysisFactory
{
    public static IMineAnalysis? Create(TorchOptions torch)
    {
        ArgumentNullException.ThrowIfNull(torch);
        return new TorchMineAnalysis(new MineOptions());
    }
}
