using System.Reflection;

namespace Stedi.Cli.Tests;

/// <summary>Exit codes (0 ok, 1 data problem, 2 usage error) and --version, the same for every command.</summary>
public sealed class CommandLineTests
{
    [Fact]
    public void Version_is_the_assembly_informational_version()
    {
        var r = Stedi.Run("--version");
        Assert.Equal(0, r.ExitCode);
        var expected = Assembly.LoadFrom(Stedi.Dll).GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        Assert.StartsWith("1.0.0", expected);
        Assert.Equal(expected + "\n", r.Stdout);
    }

    [Theory]
    [InlineData("error: unknown option --formt (did you mean --format?): stedi query --help lists its options\n", "query", "--formt", "csv", "SELECT 1")]
    [InlineData("error: unknown option --profle (did you mean --profile?): stedi run --help lists its options\n", "run", "--profle", "rubric")]
    [InlineData("error: unknown option --columns: stedi report --help lists its options\n", "report", "--columns", "x")]
    public void A_mistyped_option_is_one_line_naming_the_nearest_one(string expected, params string[] args)
    {
        // The parser drew five lines with a caret and a capital "Error:", unlike every other message.
        var r = Stedi.Run(args);
        Assert.Equal((2, "", expected), (r.ExitCode, r.Stdout, r.Stderr));
    }

    [Fact]
    public void No_command_lists_the_commands_and_says_why_it_failed()
    {
        var r = Stedi.Run();
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("COMMANDS:", r.Stdout);
        Assert.Equal("error: no command given: choose one of the commands above (stedi <command> --help explains each)\n", r.Stderr);
    }

    [Theory]
    [InlineData("help")]
    [InlineData("help", "run")]
    public void Help_as_a_command_is_the_help_option(params string[] args)
    {
        var r = Stedi.Run(args);
        var expected = Stedi.Run(args.Length == 1 ? ["--help"] : [args[1], "--help"]);
        Assert.Equal((0, expected.Stdout, ""), (r.ExitCode, r.Stdout, r.Stderr));
        Assert.Contains("USAGE:", r.Stdout);
    }

    [Theory]
    [InlineData("query", "--bogus", "SELECT 1")]
    [InlineData("run", "--profle", "rubric")]
    [InlineData("report", "--format", "xml")]
    [InlineData("query", "--format", "xml", "SELECT 1")]
    [InlineData("query", "--max-rows", "-1", "SELECT 1")]
    [InlineData("run", "--profile", "lenient")]
    [InlineData("run", "--landing", "/nonexistent-landing")]
    [InlineData("run", "--cache-mb", "-1")]
    [InlineData("run", "--summary-json", "/nonexistent-folder/summary.json")]
    [InlineData("run", "--summary-json", "/tmp")]
    [InlineData("run", "--summary-json", "")]
    [InlineData("emulate", "--summary-json", "/nonexistent-folder/summary.json")]
    [InlineData("report", "--html", "/tmp")]
    [InlineData("watch", "--interval", "0")]
    [InlineData("invoke", "--event", "/nonexistent-event.json")]
    [InlineData("invoke")]
    [InlineData("frobnicate")]
    public void Usage_errors_exit_2_with_the_message_on_stderr(params string[] args)
    {
        var r = Stedi.Run(args);
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Equal("", r.Stdout);
        Assert.NotEqual("", r.Stderr);
    }

    [Theory]
    [InlineData("--html", "report", "--html")]
    [InlineData("--html", "report", "--html", "--format", "csv")]
    [InlineData("--summary-json", "run", "--summary-json")]
    [InlineData("--lake", "watch", "--once", "--lake")]
    [InlineData("--profile", "run", "--profile")]
    [InlineData("--file", "query", "-f")]
    [InlineData("--event", "invoke", "--event")]
    public void An_option_given_without_its_value_is_a_usage_error_and_writes_nothing(string option, params string[] args)
    {
        // The parser fills such an option with its placeholder "__default_command": report --html wrote a file of that name.
        using var tmp = new TempFolder();
        var r = Stedi.RunIn(tmp.Path, null, args);
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith($"error: {option} needs a value (", r.Stderr);
        Assert.Empty(Directory.EnumerateFileSystemEntries(tmp.Path));
    }

    [Theory]
    [InlineData("--shuffle", "abc", "run")]
    [InlineData("--cache-mb", "1.5", "run")]
    [InlineData("--parallelism", "abc", "run")]
    [InlineData("--max-rows", "abc", "query")]
    [InlineData("--interval", "1s", "watch")]
    public void A_number_option_with_text_names_the_option_not_a_dotnet_type(string option, string value, string command)
    {
        var r = Stedi.Run(command, option, value);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"error: {option}: '{value}' is not a whole number\n", r.Stderr);
    }

    [Theory]
    [InlineData("error: --shuffle needs a value (a whole number) right after it\n", "run", "--shuffle")]
    [InlineData("error: --parallelism needs a value (a whole number) right after it\n", "run", "--parallelism", "--keep")]
    [InlineData("error: --shuffle: 'abc' is not a whole number\n", "run", "--lake", "abc", "--shuffle", "abc")]
    [InlineData("error: --shuffle: 'abc' is not a whole number\n", "run", "--shuffle=abc")]
    [InlineData("error: --shuffle: '99999999999999999999' is too large\n", "run", "--shuffle", "99999999999999999999")]
    public void A_number_option_without_a_value_or_with_one_that_does_not_fit_is_named(string expected, params string[] args)
    {
        var r = Stedi.Run(args);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal(expected, r.Stderr);
    }

    [Fact]
    public void A_redirected_run_writes_no_progress_lines_to_stderr()
    {
        // Spectre prints a progress display on a redirected stream as lines stopped wherever its last refresh fell
        // ("refine partitions: 0%" after everything was refined). The summary on stdout says what was done.
        using var tmp = new TempFolder();
        var r = Stedi.Run("run", "--lake", tmp.File("lake"));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("", r.Stderr);
        Assert.Contains("recomputes 38 in this run, 38 partitions with output in the lake", r.Stdout);
    }

    [Fact]
    public void A_symbolic_link_to_a_folder_in_the_landing_folder_is_not_followed()
    {
        // accelerometer/loop -> .. sent the walk round the loop until the path was too long (exit 2, a message of KBs).
        using var tmp = new TempFolder();
        var landing = tmp.File("landing");
        Directory.CreateDirectory(Path.Combine(landing, "customer"));
        Directory.CreateDirectory(Path.Combine(landing, "accelerometer"));
        File.Copy(Path.Combine(Repo.Landing, "customer", "customer-1691348231425.json"), Path.Combine(landing, "customer", "c.json"));
        File.Copy(Path.Combine(Repo.Landing, "accelerometer", "accelerometer-1691348231445.json"), Path.Combine(landing, "accelerometer", "a.json"));
        Directory.CreateSymbolicLink(Path.Combine(landing, "accelerometer", "loop"), "..");
        var r = Stedi.Run("run", "--landing", landing, "--lake", tmp.File("lake"));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("objects 2, events 2 (already processed 0, failed 0); rows read accelerometer 10,000, customer 956;", r.Stdout);

        // A source folder that is itself a link to a folder is read (it was an empty run, exit 0) ...
        var linked = tmp.File("linked");
        Directory.CreateDirectory(linked);
        Directory.CreateSymbolicLink(Path.Combine(linked, "customer"), Path.Combine(landing, "customer"));
        var viaLink = Stedi.Run("run", "--landing", linked, "--lake", tmp.File("lake2"));
        Assert.True(viaLink.ExitCode == 0, viaLink.ToString());
        Assert.Contains("objects 1, events 1 (already processed 0, failed 0); rows read customer 956;", viaLink.Stdout);
        // ... but not one that leads into the lake it would replace, nor a landing file that does.
        Directory.Delete(Path.Combine(linked, "customer"));
        Directory.CreateSymbolicLink(Path.Combine(linked, "customer"), Path.Combine(tmp.File("lake2"), "stedi-lake", "customer", "landing"));
        var intoLake = Stedi.Run("run", "--landing", linked, "--lake", tmp.File("lake2"));
        Assert.Equal(2, intoLake.ExitCode);
        Assert.StartsWith($"error: the landing folder {linked} is inside the lake {tmp.File("lake2")}:", intoLake.Stderr);
        Directory.Delete(Path.Combine(linked, "customer"));
        Directory.CreateDirectory(Path.Combine(linked, "customer"));
        File.CreateSymbolicLink(Path.Combine(linked, "customer", "c.json"), Path.Combine(tmp.File("lake2"), "stedi-lake", "customer", "landing", "c.json"));
        Assert.Equal(2, Stedi.Run("run", "--landing", linked, "--lake", tmp.File("lake2")).ExitCode);
        Assert.True(File.Exists(Path.Combine(tmp.File("lake2"), "stedi-lake", "customer", "landing", "c.json")));
    }

    [Fact]
    public void No_command_prints_the_help_and_exits_2()
    {
        var r = Stedi.Run();
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("COMMANDS:", r.Stdout);
    }

    [Fact]
    public void An_event_file_that_is_json_but_not_an_object_is_a_usage_error()
    {
        using var tmp = new TempFolder();
        var ev = Path.Combine(tmp.Path, "event.json");
        File.WriteAllText(ev, "[]");
        var r = Stedi.Run("invoke", "--event", ev);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"error: {ev} is not an event: expected a JSON object (an S3 event notification, or an SQS batch of them or of refresh messages; see events/), found array\n", r.Stderr);
        File.WriteAllText(ev, "{\"Records\":[1]}");
        var records = Stedi.Run("invoke", "--event", ev);
        Assert.Equal(2, records.ExitCode);
        Assert.StartsWith($"error: {ev} is not an event: ", records.Stderr);
    }

    [Fact]
    public void Invoke_on_a_missing_lake_is_a_usage_error_that_says_what_to_do()
    {
        using var tmp = new TempFolder();
        var lake = Path.Combine(tmp.Path, "none");
        var r = Stedi.Run("invoke", "--lake", lake, "--event", "events/s3-put-customer.json");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"error: no lake in {lake}: run `stedi run` first, or pass --lake DIR (or --endpoint URL for moto or AWS)\n", r.Stderr);
        Assert.False(Directory.Exists(lake));
    }

    [Fact]
    public void Invoke_on_an_empty_folder_is_a_usage_error_and_creates_no_lake()
    {
        using var tmp = new TempFolder();
        var r = Stedi.Run("invoke", "--lake", tmp.Path, "--event", "events/s3-put-customer.json");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"error: no lake in {tmp.Path}: run `stedi run` first, or pass --lake DIR (or --endpoint URL for moto or AWS)\n", r.Stderr);
        Assert.Empty(Directory.EnumerateFileSystemEntries(tmp.Path));
    }

    [Fact]
    public void A_lake_in_use_by_another_command_is_refused_and_left_alone()
    {
        // Two writers once left a lake without its catalog: the second now stops before it touches anything.
        using var tmp = new TempFolder();
        var lake = Path.Combine(tmp.Path, "lake");
        Directory.CreateDirectory(lake);
        File.WriteAllText(Path.Combine(lake, "pipeline.log"), "kept\n");
        using (var held = new FileStream(Path.Combine(lake, ".stedi.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            var r = Stedi.Run("run", "--lake", lake);
            Assert.Equal(2, r.ExitCode);
            Assert.Equal($"error: the lake {lake} is in use by another stedi command: wait for it to finish, or pass --lake DIR for another lake\n", r.Stderr);
            var w = Stedi.Run("watch", "--once", "--lake", lake);
            Assert.Equal(2, w.ExitCode);
            Assert.Contains("is in use by another stedi command", w.Stderr);
        }
        Assert.Equal("kept\n", File.ReadAllText(Path.Combine(lake, "pipeline.log")));
        var after = Stedi.Run("run", "--lake", lake);
        Assert.True(after.ExitCode == 0, after.ToString());
    }

    [Fact]
    public void A_lake_path_that_is_a_file_is_a_usage_error()
    {
        using var tmp = new TempFolder();
        var file = Path.Combine(tmp.Path, "lake");
        File.WriteAllText(file, "x");
        var r = Stedi.Run("run", "--lake", file);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"error: --lake {file} is a file, not a folder: pass a folder (it is created if missing)\n", r.Stderr);
    }

    [Fact]
    public void Run_refuses_to_clear_a_folder_that_is_not_a_lake()
    {
        using var tmp = new TempFolder();
        File.WriteAllText(tmp.File("thesis.docx"), "precious");
        var r = Stedi.Run("run", "--lake", tmp.Path);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"error: {tmp.Path} holds files that are not a stedi lake (thesis.docx); refusing to clear it: pass --lake with a new or empty folder, or one that holds a lake\n", r.Stderr);
        Assert.True(File.Exists(tmp.File("thesis.docx")));
        Assert.False(File.Exists(tmp.File(".stedi.lock")));
    }

    [Fact]
    public void Run_refuses_to_replace_a_lake_whose_landing_folders_hold_files_watch_processed_and_a_landing_folder_inside_the_lake()
    {
        using var tmp = new TempFolder();
        var lake = tmp.File("lake");
        Assert.Equal(0, Stedi.Run("watch", "--once", "--lake", lake).ExitCode);
        var dropped = Path.Combine(lake, "stedi-lake", "customer", "landing", "mine.json");
        File.Copy(Path.Combine(Repo.Root, "data", "stedi", "landing", "customer", "customer-1691348231425.json"), dropped);
        Assert.Equal(0, Stedi.Run("watch", "--once", "--lake", lake).ExitCode);

        var r = Stedi.RunIn(Repo.Root, null, ["run", "--lake", lake]);
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith($"error: lake {lake} holds landing files that `stedi watch` or `stedi invoke` processed (1 landing file(s) in all under ", r.Stderr);
        Assert.True(File.Exists(dropped));

        var inside = Stedi.Run("run", "--keep", "--lake", lake, "--landing", Path.Combine(lake, "stedi-lake"));
        Assert.Equal(2, inside.ExitCode);
        Assert.StartsWith($"error: the landing folder {Path.Combine(lake, "stedi-lake")} is inside the lake {lake}:", inside.Stderr);
        Assert.True(File.Exists(dropped));

        // Through a symbolic link to the lake's bucket folder too.
        var link = tmp.File("link");
        Directory.CreateSymbolicLink(link, Path.Combine(lake, "stedi-lake"));
        var linked = Stedi.Run("run", "--lake", lake, "--landing", link);
        Assert.Equal(2, linked.ExitCode);
        Assert.StartsWith($"error: the landing folder {link} is inside the lake {lake}:", linked.Stderr);

        // Adding to it is fine; a lake only `run` wrote (no watch, no invoke) is replaced as before.
        Assert.Equal(0, Stedi.RunIn(Repo.Root, null, ["run", "--keep", "--lake", lake]).ExitCode);
        Assert.True(File.Exists(dropped));
        var fresh = tmp.File("fresh");
        Assert.Equal(0, Stedi.RunIn(Repo.Root, null, ["run", "--lake", fresh]).ExitCode);
        Assert.Equal(0, Stedi.RunIn(Repo.Root, null, ["run", "--lake", fresh]).ExitCode);

        // A file dropped into a run's lake and not ingested yet, or one of its copies changed in place, is the user's: the
        // landing folder cannot restore it, so the run refuses and keeps it (whatever the ledger says of the key).
        var drop = Path.Combine(fresh, "stedi-lake", "customer", "landing", "dropped.json");
        File.Copy(Path.Combine(Repo.Landing, "customer", "customer-1691348231425.json"), drop);
        var changed = Path.Combine(fresh, "stedi-lake", "accelerometer", "landing", "accelerometer-1691348231445.json");
        File.AppendAllText(changed, "{\"user\":\"a@b.c\",\"timestamp\":1655564000000,\"x\":1,\"y\":1,\"z\":1}\n");
        var kept = Stedi.Run("run", "--lake", fresh);
        Assert.Equal(2, kept.ExitCode);
        Assert.StartsWith($"error: lake {fresh} holds 2 landing file(s) that data/stedi/landing does not hold as they are " +
                          "(accelerometer/landing/accelerometer-1691348231445.json, customer/landing/dropped.json):", kept.Stderr);
        Assert.True(File.Exists(drop));
        // Put back as the landing folder holds them, the lake is replaced again.
        File.Delete(drop);
        File.Copy(Path.Combine(Repo.Landing, "accelerometer", "accelerometer-1691348231445.json"), changed, overwrite: true);
        Assert.Equal(0, Stedi.Run("run", "--lake", fresh).ExitCode);
    }

    [Fact]
    public void A_failed_event_is_exit_1()
    {
        using var tmp = new TempFolder();
        // A lake whose only landing object is a folder where a file should be: ingest fails to read it.
        var lake = Path.Combine(tmp.Path, "lake");
        Directory.CreateDirectory(Path.Combine(lake, "stedi-lake", "customer", "landing", "customer-1691348231425.json"));
        Directory.CreateDirectory(Path.Combine(lake, "catalog"));
        var r = Stedi.Run("invoke", "--lake", lake, "--event", "events/s3-put-customer.json");
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains("error: ingest failed:", r.Stderr);
    }
}
