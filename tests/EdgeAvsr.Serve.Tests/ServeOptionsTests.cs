using EdgeAvsr.Runtime;

namespace EdgeAvsr.Serve.Tests;

public sealed class ServeOptionsTests
{
    [Fact]
    public void A_config_file_is_read_with_snake_case_keys()
    {
        using var dir = new TempDir();
        string path = dir.File("serve.json");
        File.WriteAllText(path, """{"host":"0.0.0.0","port":9000,"token":"0123456789abcdef","max_clients":3,"replay":"/tmp/x"}""");
        var options = ServeOptions.Read(path).Validate();
        Assert.Equal("0.0.0.0", options.Host);
        Assert.Equal(9000, options.Port);
        Assert.Equal(3, options.MaxClients);
        Assert.False(options.LoopbackOnly);
    }

    [Fact]
    public void An_unknown_key_is_one_line_naming_the_file_and_key()
    {
        using var dir = new TempDir();
        string path = dir.File("serve.json");
        File.WriteAllText(path, """{"port":9000,"max_client":3}""");
        var e = Assert.Throws<EdgeAvsrException>(() => ServeOptions.Read(path));
        Assert.Contains("serve.json", e.Message, StringComparison.Ordinal);
        Assert.Contains("max_client", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Listening_beyond_loopback_without_a_token_is_refused()
    {
        var e = Assert.Throws<EdgeAvsrException>(() => new ServeOptions { Host = "0.0.0.0", Replay = "/tmp/x" }.Validate());
        Assert.Equal(["host"], e.Parameters);
        Assert.Contains("token", e.Message, StringComparison.Ordinal);
        new ServeOptions { Host = "127.0.0.1", Replay = "/tmp/x" }.Validate();
        new ServeOptions { Host = "::1", Replay = "/tmp/x" }.Validate();
    }
}
