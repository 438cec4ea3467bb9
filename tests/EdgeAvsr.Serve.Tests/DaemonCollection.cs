namespace EdgeAvsr.Serve.Tests;

/// <summary>Tests that start daemon processes (and a browser) run one at a time: their latency bounds assume an idle machine share.</summary>
[CollectionDefinition("daemon", DisableParallelization = true)]
public sealed class DaemonCollection;
