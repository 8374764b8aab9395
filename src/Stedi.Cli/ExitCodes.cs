using System.Reflection;
using Spectre.Console;
using Spectre.Console.Cli;
using Stedi.Lakehouse.Local;
using Stedi.Lakehouse.Schema;

namespace Stedi.Cli;

/// <summary>
/// The exit codes of every <c>stedi</c> command: 0 ok; 1 a data problem (a report that does not balance, an event
/// that failed, a refresh recompute that failed — quarantined records are not a failure); 2 a usage error (a bad
/// option or argument, bad SQL, a missing or mismatched lake).
/// </summary>
internal static class ExitCodes
{
    /// <summary>Everything worked.</summary>
    public const int Ok = 0;
    /// <summary>The command ran, and found or caused a data problem.</summary>
    public const int DataProblem = 1;
    /// <summary>The command could not run as asked.</summary>
    public const int Usage = 2;
    /// <summary>Stopped by Ctrl+C before it finished (as shells report SIGINT).</summary>
    public const int Interrupted = 130;
}

/// <summary>The command cannot run as asked; the message says what to do instead (exit code 2).</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>Paths as messages show them.</summary>
internal static class ShownPath
{
    /// <summary>A relative path that does not start with a dot gets "./" ("no lake in ./lake", not "no lake in lake").</summary>
    public static string Of(string path) =>
        Path.IsPathRooted(path) || path.StartsWith('.') ? path : "." + Path.DirectorySeparatorChar + path;
}

/// <summary>Standard error, for messages that must not mix with a command's output.</summary>
internal static class Stderr
{
    /// <summary>A console over standard error (colours only when it is a terminal).</summary>
    public static IAnsiConsole Console { get; } = Create();

    private static IAnsiConsole Create()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(System.Console.Error) });
        // Redirected, a message is one line however long (Spectre would wrap it at 80 columns).
        if (System.Console.IsErrorRedirected) console.Profile.Width = NoWrapWidth;
        return console;
    }

    /// <summary>
    /// Where progress bars are drawn: standard error when it is a terminal; nowhere when it is a file or a pipe. Spectre
    /// prints a redirected progress display as stray lines stopped wherever the last refresh fell ("refine partitions:
    /// 0%" in a CI log after every partition was refined); the summary on standard output says what was done.
    /// </summary>
    public static IAnsiConsole ProgressConsole { get; } = System.Console.IsErrorRedirected
        ? AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(TextWriter.Null), Interactive = InteractionSupport.No })
        : Console;

    /// <summary>The width Spectre.Console is given for output that is not a terminal, so nothing is wrapped or cut at 80 columns.</summary>
    public const int NoWrapWidth = 4096;

    /// <summary>Writes <c>error: message</c> as one line: the terminal wraps it, so a copied message stays one line
    /// (Spectre would break it at the terminal's width with real line breaks).</summary>
    public static void Error(string message) => Prefixed("[red]error:[/] ", message);

    /// <summary>Writes <c>warning: message</c> as one line.</summary>
    public static void Warning(string message) => Prefixed("[yellow]warning:[/] ", message);

    private static void Prefixed(string markup, string message)
    {
        Console.Markup(markup);
        System.Console.Error.WriteLine(message);
    }

    /// <summary>Writes a plain line.</summary>
    public static void Line(string message) => System.Console.Error.WriteLine(message);
}

/// <summary>The program's version, from its assembly's informational version.</summary>
internal static class StediVersion
{
    /// <summary>For example <c>1.0.0+19899d7…</c>.</summary>
    public static string Value { get; } =
        typeof(StediVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(StediVersion).Assembly.GetName().Version?.ToString() ?? "unknown";
}

/// <summary>Which profile a command that writes to a local lake uses (the lake's own, see <see cref="LakeMetadata"/>).</summary>
internal static class LakeProfiles
{
    /// <summary>Whether a folder holds a lake (its index).</summary>
    public static bool Exists(string lake) => File.Exists(Path.Combine(lake, Stedi.Lakehouse.Local.LocalLake.IndexFileName));

    /// <summary>
    /// The profile to write <paramref name="lake"/> with: the requested one when the lake records none or the same; the
    /// recorded one when none is requested; strict for a new lake. Records it in the lake (a new lake's first write).
    /// </summary>
    /// <param name="lake">Lake folder.</param>
    /// <param name="requested">The profile asked for, or null.</param>
    /// <param name="requestedBy">How it was asked for, for messages (e.g. <c>--profile rubric</c>).</param>
    /// <param name="otherLakeHint">What to do instead when they differ (names the command's own way to another lake).</param>
    /// <exception cref="UsageException">The lake records another profile, or an old lake records none and none was asked for.</exception>
    public static ConsentProfile ForWriting(string lake, string? requested, string requestedBy, string otherLakeHint)
    {
        LakeMetadata? recorded;
        try { recorded = LakeMetadata.Read(lake); }
        catch (InvalidDataException e) { throw new UsageException(e.Message + $" (fix or delete {LakeMetadata.PathIn(lake)})"); }
        ConsentProfile profile;
        if (requested is null)
        {
            if (recorded is not null) profile = recorded.ConsentProfile;
            else if (Exists(lake))
                throw new UsageException($"lake {lake} was made before lakes recorded their profile: pass --profile strict or --profile rubric " +
                                         "(the one it was built with) once to record it, or rebuild it with `stedi run`");
            else profile = ConsentProfile.Strict;
        }
        else
        {
            if (!Enum.TryParse(requested, true, out profile) || !Enum.IsDefined(profile) || !char.IsLetter(requested[0]))
                throw new UsageException($"{requestedBy}: the profile must be strict or rubric");
            if (recorded is not null && recorded.ConsentProfile != profile)
                throw new UsageException(
                    $"lake {ShownPath.Of(lake)} was built with profile {recorded.Profile} (see {LakeMetadata.PathIn(lake)}); {requestedBy} would mix the two profiles' " +
                    $"rules in its tables. {LeaveOut(requestedBy)} to use {recorded.Profile}, or {otherLakeHint}");
        }
        try { LakeMetadata.Ensure(lake, profile, $"stedi {StediVersion.Value}"); }
        catch (LakeProfileMismatchException e) { throw new UsageException(e.Message + $". {LeaveOut(requestedBy)} to use the lake's profile, or {otherLakeHint}"); }
        catch (InvalidDataException e) { throw new UsageException(e.Message); }
        return profile;
    }

    private static string LeaveOut(string requestedBy) =>
        requestedBy.StartsWith("STEDI_PROFILE", StringComparison.Ordinal) ? "Unset STEDI_PROFILE" : "Leave out --profile";
}

/// <summary>
/// Redirected, a command's tables and summary lines keep their lines (Spectre.Console would wrap them at 80 columns).
/// Runs before a command only, so <c>--help</c> piped to a pager still wraps at 80.
/// </summary>
internal sealed class RedirectedOutputInterceptor : ICommandInterceptor
{
    /// <inheritdoc />
    public void Intercept(CommandContext context, CommandSettings settings)
    {
        MissingValues.Check(settings);
        if (System.Console.IsOutputRedirected) AnsiConsole.Profile.Width = Stderr.NoWrapWidth;
    }
}

/// <summary>
/// Options given without their value. Spectre.Console.Cli binds an option that ends the command line, or that another
/// option follows (<c>report --html</c>, <c>run --summary-json --keep</c>), to the name of its default command,
/// <c>__default_command</c>: <c>report --html</c> then wrote a file of that name and exited 0. Checked before the
/// command runs (and before its own checks, which would name the placeholder as if the user had typed it).
/// </summary>
internal static class MissingValues
{
    /// <summary>What the parser puts in a value-taking option given without a value.</summary>
    internal const string Placeholder = "__default_command";

    /// <summary>
    /// The names (<c>--shuffle</c>, <c>-n</c>) of every command's whole-number options, read from the settings types, so
    /// that a parse error of one can name it (the parser's message names only the value and a .NET type).
    /// </summary>
    internal static IReadOnlySet<string> NumberOptions { get; } = typeof(MissingValues).Assembly.GetTypes()
        .Where(t => typeof(CommandSettings).IsAssignableFrom(t))
        .SelectMany(t => t.GetProperties())
        .Where(p => (Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType) is var u && (u == typeof(int) || u == typeof(long)))
        .Select(p => p.GetCustomAttributes(typeof(CommandOptionAttribute), true).FirstOrDefault()).OfType<CommandOptionAttribute>()
        .SelectMany(o => o.LongNames.Select(n => "--" + n).Concat(o.ShortNames.Select(n => "-" + n)))
        .ToHashSet(StringComparer.Ordinal);

    /// <summary>The settings type of a command (<c>query</c> → <c>QuerySettings</c>), or null when it is not a command.</summary>
    private static Type? SettingsOf(string? command) => string.IsNullOrEmpty(command) ? null
        : typeof(MissingValues).Assembly.GetTypes().FirstOrDefault(t => typeof(CommandSettings).IsAssignableFrom(t)
            && string.Equals(t.Name, char.ToUpperInvariant(command[0]) + command[1..] + "Settings", StringComparison.Ordinal));

    /// <summary>Where a usage error sends the user: the command's own help, or the list of commands.</summary>
    internal static string HelpHint(string? command) =>
        SettingsOf(command) is null ? "stedi --help lists the commands" : $"stedi {command} --help lists its options";

    /// <summary>The option names (<c>--format</c>, <c>-f</c>) of a command (<c>query</c>), from its settings type; empty for an unknown command.</summary>
    internal static IReadOnlyList<string> OptionsOf(string? command)
    {
        if (SettingsOf(command) is not { } type) return [];
        return type.GetProperties()
            .Select(p => p.GetCustomAttributes(typeof(CommandOptionAttribute), true).FirstOrDefault()).OfType<CommandOptionAttribute>()
            .SelectMany(o => o.LongNames.Select(n => "--" + n).Concat(o.ShortNames.Select(n => "-" + n)))
            .ToList();
    }

    /// <summary>
    /// One line for the parser's "Unknown option 'formt'." (which it draws over five lines with a caret): the option as
    /// typed, the nearest one the command has (at most two edits away), and where the options are listed.
    /// </summary>
    internal static string? UnknownOption(string message, string[] args)
    {
        var m = System.Text.RegularExpressions.Regex.Match(message, @"^Unknown option '(.+)'\.$");
        if (!m.Success) return null;
        var typed = m.Groups[1].Value;
        var command = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : null;
        var shown = args.FirstOrDefault(a => a.TrimStart('-').Split('=')[0] == typed && a.StartsWith('-'))?.Split('=')[0] ?? (typed.Length == 1 ? "-" : "--") + typed;
        var nearest = OptionsOf(command).Where(o => o.Length > 2)
            .Select(o => (Option: o, Distance: EditDistance(o[2..], typed.ToLowerInvariant())))
            .Where(x => x.Distance <= 2).OrderBy(x => x.Distance).Select(x => x.Option).FirstOrDefault();
        return $"unknown option {shown}{(nearest is null ? "" : $" (did you mean {nearest}?)")}: {HelpHint(command)}";
    }

    private static int EditDistance(string a, string b)
    {
        var d = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) d[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            var previous = d[0];
            d[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var current = d[j];
                d[j] = Math.Min(Math.Min(d[j] + 1, d[j - 1] + 1), previous + (a[i - 1] == b[j - 1] ? 0 : 1));
                previous = current;
            }
        }
        return d[b.Length];
    }

    /// <summary>Throws <see cref="UsageException"/> with <see cref="Problem"/>'s message, if any.</summary>
    public static void Check(CommandSettings settings)
    {
        if (Problem(settings) is { } message) throw new UsageException(message);
    }

    /// <summary>Null, or the message naming the first option of <paramref name="settings"/> given without its value.</summary>
    public static string? Problem(CommandSettings settings)
    {
        foreach (var p in settings.GetType().GetProperties())
        {
            if (p.GetCustomAttributes(typeof(CommandOptionAttribute), true).FirstOrDefault() is not CommandOptionAttribute option) continue;
            if (p.GetValue(settings) is not string value || value != Placeholder) continue;
            var name = option.LongNames.Select(n => "--" + n).Concat(option.ShortNames.Select(n => "-" + n)).FirstOrDefault() ?? p.Name;
            return $"{name} needs a value ({(option.ValueName is { Length: > 0 } v ? v : "a value")}) right after it";
        }
        return null;
    }
}
