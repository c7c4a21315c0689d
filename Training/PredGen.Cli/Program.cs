using PredGen.Cli;

return await PredGenCommand.Build().Parse(args).InvokeAsync().ConfigureAwait(false);
