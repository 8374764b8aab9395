using Spectre.Console.Cli;

namespace Stedi.Cli;

/// <summary>Registers the commands that talk to AWS or an emulator (invoke, emulate).</summary>
internal static partial class CliExtensions
{
    static partial void ConfigureMore(IConfigurator c);

    public static void Configure(IConfigurator c) => ConfigureMore(c);
}
