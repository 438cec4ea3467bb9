using System.Text;
using System.Text.Json;
using EdgeAvsr.Runtime;

namespace EdgeAvsr.Serve.Tests;

public sealed class CaptionJournalTests
{
    private static readonly JournalRetention s_keepAll = new(null, 100_000);

    private static CaptionRecord Final(string text, DateTimeOffset? time = null, int utterance = 1) => new()
    {
        Run = "r1",
        Utterance = utterance,
        Final = true,
        Task = "avsr",
        Start = 0.5,
        End = 1.5,
        Text = text,
        Time = time ?? DateTimeOffset.UtcNow,
    };

    // The file read back with JsonDocument, independently of the journal's own reader.
    private static List<(long Id, string Text)> ReadBack(string path) =>
        [.. File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.TryGetProperty("id", out _))
            .Select(e => (e.GetProperty("id").GetInt64(), e.GetProperty("text").GetString()!))];

    [Fact]
    public void Ids_are_sequence_numbers_that_keep_growing_across_reopens()
    {
        using var dir = new TempDir();
        string path = dir.File("j.jsonl");
        using (var journal = CaptionJournal.Open(path, s_keepAll))
        {
            Assert.Equal(0, journal.LastId);
            Assert.Equal(1, journal.Append(Final("one")).Id);
            Assert.Equal(2, journal.Append(Final("two")).Id);
        }
        using (var journal = CaptionJournal.Open(path, s_keepAll))
        {
            Assert.Equal(2, journal.LastId);
            Assert.Equal(3, journal.Append(Final("three")).Id);
            Assert.Equal(["two", "three"], journal.After(1, 10).Select(e => e.Text));
        }
        Assert.Equal([(1L, "one"), (2L, "two"), (3L, "three")], ReadBack(path));
    }

    [Fact]
    public void A_torn_last_line_is_truncated_with_a_log_line_and_the_next_id_follows_the_last_whole_one()
    {
        using var dir = new TempDir();
        string path = dir.File("j.jsonl");
        using (var journal = CaptionJournal.Open(path, s_keepAll))
        {
            journal.Append(Final("one"));
            journal.Append(Final("two"));
        }
        long whole = new FileInfo(path).Length;
        File.AppendAllText(path, "{\"id\":3,\"run\":\"r1\",\"utter");
        var log = new List<string>();
        using (var journal = CaptionJournal.Open(path, s_keepAll, log.Add))
        {
            Assert.Equal(whole, new FileInfo(path).Length);
            Assert.Contains(log, l => l.Contains("torn last line", StringComparison.Ordinal));
            Assert.Equal(2, journal.Count);
            Assert.Equal(3, journal.Append(Final("three")).Id);
        }
        Assert.Equal([(1L, "one"), (2L, "two"), (3L, "three")], ReadBack(path));
    }

    [Fact]
    public void A_bad_line_before_the_last_is_one_clear_error_naming_the_file_and_line()
    {
        using var dir = new TempDir();
        string path = dir.File("j.jsonl");
        using (var journal = CaptionJournal.Open(path, s_keepAll))
        {
            journal.Append(Final("one"));
            journal.Append(Final("two"));
        }
        string[] lines = File.ReadAllLines(path);
        File.WriteAllText(path, "not json\n" + lines[1] + "\n");
        var e = Assert.Throws<EdgeAvsrException>(() => CaptionJournal.Open(path, s_keepAll));
        Assert.Contains("j.jsonl line 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Retention_keeps_the_newest_lines_and_ids_stay_monotonic_when_every_final_expired()
    {
        using var dir = new TempDir();
        string path = dir.File("j.jsonl");
        var old = DateTimeOffset.UtcNow - TimeSpan.FromDays(3);
        using (var journal = CaptionJournal.Open(path, s_keepAll))
        {
            for (int i = 1; i <= 10; i++)
            {
                journal.Append(Final($"f{i}", i <= 4 ? old : null));
            }
        }
        using (var journal = CaptionJournal.Open(path, new JournalRetention(TimeSpan.FromDays(1), 5)))
        {
            Assert.Equal(5, journal.Count);
            Assert.Equal(10, journal.LastId);
        }
        Assert.Equal([6L, 7L, 8L, 9L, 10L], ReadBack(path).Select(e => e.Id));
        // Everything expired: the file keeps only the highest id given, and the next final continues after it.
        using (var journal = CaptionJournal.Open(path, new JournalRetention(TimeSpan.FromTicks(1), 5)))
        {
            Assert.Equal(0, journal.Count);
            Assert.Equal(11, journal.Append(Final("after")).Id);
        }
        Assert.Equal([(11L, "after")], ReadBack(path));
    }

    [Fact]
    public void Each_append_is_on_disk_as_a_whole_line_before_it_returns()
    {
        using var dir = new TempDir();
        string path = dir.File("j.jsonl");
        using var journal = CaptionJournal.Open(path, s_keepAll);
        for (int i = 1; i <= 3; i++)
        {
            journal.Append(Final($"line {i} with \"quotes\" and\nnewline"));
            // Read through another handle while the journal is open: the line is complete.
            byte[] bytes = File.ReadAllBytes(path);
            Assert.Equal((byte)'\n', bytes[^1]);
            Assert.Equal(i, Encoding.UTF8.GetString(bytes).Count(c => c == '\n'));
        }
        Assert.Equal("line 3 with \"quotes\" and\nnewline", ReadBack(path)[2].Text);
    }
}
