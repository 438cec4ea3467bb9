using System.Diagnostics;
using EdgeAvsr.Fuzz;
using SharpFuzz;

// edgeavsr-fuzz run TARGET             under afl-fuzz (./build.sh fuzz): the harness, input on stdin, SharpFuzz's out-of-process loop
// edgeavsr-fuzz replay TARGET FILE...  each file through the harness; a finding (other exception, over 1 s) exits 1
// edgeavsr-fuzz seed DIR               the seed corpora, DIR/TARGET/*
// edgeavsr-fuzz list                   the targets
if (args.Length == 2 && args[0] == "run" && FuzzTargets.All.ContainsKey(args[1]))
{
    string target = args[1];
    Fuzzer.OutOfProcess.Run(stream =>
    {
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        FuzzTargets.Run(target, buffer.ToArray());
    });
    return 0;
}
if (args.Length >= 3 && args[0] == "replay" && FuzzTargets.All.ContainsKey(args[1]))
{
    int findings = 0;
    foreach (string file in args.Skip(2))
    {
        var clock = Stopwatch.StartNew();
        string outcome;
        try
        {
            outcome = FuzzTargets.Run(args[1], File.ReadAllBytes(file)) ? "accepted" : "refused";
        }
#pragma warning disable CA1031 // every exception the harness lets through is the finding being reported
        catch (Exception e)
#pragma warning restore CA1031
        {
            outcome = $"FINDING {e.GetType().Name}: {e.Message}";
            findings++;
        }
        if (clock.Elapsed > TimeSpan.FromSeconds(1) && !outcome.StartsWith("FINDING", StringComparison.Ordinal))
        {
            outcome = $"FINDING slow: {clock.Elapsed.TotalSeconds:0.00} s ({outcome})";
            findings++;
        }
        Console.WriteLine($"{file}: {outcome}");
    }
    return findings == 0 ? 0 : 1;
}
if (args.Length == 2 && args[0] == "seed")
{
    SeedCorpus.Write(args[1]);
    return 0;
}
if (args.Length == 1 && args[0] == "list")
{
    Console.WriteLine(string.Join('\n', FuzzTargets.All.Keys));
    return 0;
}
Console.Error.WriteLine($"usage: edgeavsr-fuzz run|replay|seed|list; targets: {string.Join(", ", FuzzTargets.All.Keys)}");
return 2;
