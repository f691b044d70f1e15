using Viewstamped.Cli.Commands;

return await Vsr.RunAsync(args).ConfigureAwait(false);
