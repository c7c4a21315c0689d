using System.CommandLine;
using System.Text.Json;
using PredGen.Training.Runtime;

namespace PredGen.Cli.Commands;

public sealed class InfoCommand : ICliCommand
{
    public string Parent => "";

    public Command Create()
    {
        var device = new Option<string>("--device") { Description = "cpu, cuda, cuda:N or auto", DefaultValueFactory = _ => "auto" };
        var json = new Option<bool>("--json") { Description = "print one JSON object" };
        var command = new Command("info", "Print TorchSharp and libtorch versions, the device, threads, and a measured fp32 matmul GFLOP/s.")
        {
            device, json,
        };
        command.SetAction(parse =>
        {
            var info = TorchRuntime.Describe(new TorchOptions { Device = parse.GetValue(device)! });
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(info, CliJson.Options));
            }
            else
            {
                Console.WriteLine($"TorchSharp      {info.TorchSharpVersion}");
                Console.WriteLine($"libtorch        {info.LibTorchVersion} ({info.Backend})");
                Console.WriteLine($"device          {info.Device} (CUDA available: {info.CudaAvailable}, devices: {info.CudaDevices})");
                Console.WriteLine($"threads         {info.Threads}");
                Console.WriteLine($"matmul fp32     {info.MatmulGflops:F1} GFLOP/s ({info.MatmulSize}x{info.MatmulSize})");
            }
            return 0;
        });
        return command;
    }
}
