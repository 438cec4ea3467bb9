using System.Globalization;
using EdgeAvsr.Device.Config;
using EdgeAvsr.Device.Gpio;
using EdgeAvsr.Runtime.Pipeline;

namespace EdgeAvsr.Device.Tests.Gpio;

/// <summary>The talk switch's rules, and its gate on a media stream (what the captioner then sees).</summary>
public sealed class TalkSwitchTests
{
    private static readonly MediaStreams Both = new(HasAudio: true, HasVideo: true);

    private static AudioChunk Audio(double seconds) => new(TimeSpan.FromSeconds(seconds), new float[640]);

    [Fact]
    public void Push_to_talk_toggle_and_no_button()
    {
        var ptt = new TalkSwitch(ButtonMode.PushToTalk);
        Assert.False(ptt.Talking);
        ptt.Apply(ButtonAction.Pressed);
        ptt.Apply(ButtonAction.Held);
        Assert.True(ptt.Talking);
        ptt.Apply(ButtonAction.Released);
        Assert.False(ptt.Talking);

        var toggle = new TalkSwitch(ButtonMode.Toggle);
        toggle.Apply(ButtonAction.Pressed);
        toggle.Apply(ButtonAction.Released);
        Assert.True(toggle.Talking);
        toggle.Apply(ButtonAction.Pressed);
        toggle.Apply(ButtonAction.Held);
        toggle.Apply(ButtonAction.Released);
        Assert.False(toggle.Talking);
        Assert.Equal(2, toggle.Presses);

        var none = new TalkSwitch(null);
        Assert.True(none.Talking);
        none.Apply(ButtonAction.Released);
        Assert.True(none.Talking);
    }

    [Fact]
    public async Task The_gate_says_no_stream_is_live_while_not_talking_and_restores_the_devices_own_state()
    {
        var talk = new TalkSwitch(ButtonMode.PushToTalk);
        var cameraGone = new StreamStateChunk(TimeSpan.FromSeconds(0.06), new MediaStreams(HasAudio: true, HasVideo: false));
        var cameraBack = new StreamStateChunk(TimeSpan.FromSeconds(0.2), Both);
        // The source presses and lets go between its chunks: the gate reads the switch as each chunk arrives.
        async IAsyncEnumerable<MediaChunk> Script()
        {
            await Task.Yield();
            yield return Audio(0);
            yield return Audio(0.04);
            yield return cameraGone;
            yield return Audio(0.08);
            talk.Apply(ButtonAction.Pressed);
            yield return Audio(0.12);
            yield return Audio(0.16);
            yield return cameraBack;
            talk.Apply(ButtonAction.Released);
            yield return Audio(0.24);
            yield return Audio(0.28);
        }
        var seen = new List<MediaChunk>();
        await foreach (var chunk in talk.Gate(Script(), Both))
        {
            seen.Add(chunk);
        }

        Assert.Equal(
        [
            // Not talking at the start: the first chunk turns the streams off, and media is left out; the camera going while
            // the button is up is remembered, not passed on.
            "state none @0",
            // Pressed: the streams the devices last reported come back, then the media flows, and the devices' own changes pass.
            "state audio only @0.12", "audio @0.12", "audio @0.16", "state audio and video @0.2",
            // Released: no stream is live from the next chunk on (the captioner then flushes the utterance in flight).
            "state none @0.24",
        ], seen.Select(Describe));
    }

    private static string Describe(MediaChunk chunk) => chunk switch
    {
        StreamStateChunk s =>
            string.Create(CultureInfo.InvariantCulture, $"state {(s.Live == default ? "none" : s.Live.ToString())} @{s.Timestamp.TotalSeconds}"),
        AudioChunk a => string.Create(CultureInfo.InvariantCulture, $"audio @{a.Timestamp.TotalSeconds}"),
        _ => chunk.ToString(),
    };

    [Fact]
    public async Task Without_a_button_the_gate_passes_everything()
    {
        MediaChunk[] chunks = [Audio(0), new StreamStateChunk(TimeSpan.FromSeconds(0.04), default), Audio(0.04)];
        var seen = new List<MediaChunk>();
        await foreach (var c in new TalkSwitch(null).Gate(chunks.ToAsyncEnumerable(), Both))
        {
            seen.Add(c);
        }
        Assert.Equal(chunks, seen);
    }
}
