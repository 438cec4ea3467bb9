using System.Runtime.CompilerServices;
using EdgeAvsr.Device.Config;
using EdgeAvsr.Runtime.Pipeline;

namespace EdgeAvsr.Device.Gpio;

/// <summary>
/// Whether captions may be made now, as the button says. <see cref="ButtonMode.PushToTalk"/>: while it is held down;
/// <see cref="ButtonMode.Toggle"/>: each press switches (starting off). Without a working button (<see cref="Mode"/> null)
/// captioning is always on, so a box whose button cannot be opened keeps captioning. <see cref="Gate"/> applies it to a
/// media stream, before the pipeline.
/// </summary>
public sealed class TalkSwitch
{
    private readonly Lock _lock = new();
    private bool _talking;
    private int _presses;

    /// <param name="mode">The button's mode; null: no button, always talking.</param>
    public TalkSwitch(ButtonMode? mode)
    {
        Mode = mode;
        _talking = mode is null;
    }

    public ButtonMode? Mode { get; }

    /// <summary>True while captions may be made.</summary>
    public bool Talking
    {
        get
        {
            lock (_lock)
            {
                return _talking;
            }
        }
    }

    /// <summary>Presses seen since the start.</summary>
    public int Presses
    {
        get
        {
            lock (_lock)
            {
                return _presses;
            }
        }
    }

    /// <summary>Raised with the new <see cref="Talking"/> when it changes (on the thread that applied the button's action).</summary>
    public event EventHandler<bool>? Changed;

    /// <summary>What the button did; <see cref="ButtonAction.Held"/> changes nothing (a hold is a long press).</summary>
    public void Apply(ButtonAction action)
    {
        bool before, after;
        lock (_lock)
        {
            before = _talking;
            if (action == ButtonAction.Pressed)
            {
                _presses++;
            }
            _talking = (Mode, action) switch
            {
                (null, _) => true,
                (ButtonMode.PushToTalk, ButtonAction.Pressed) => true,
                (ButtonMode.PushToTalk, ButtonAction.Released) => false,
                (ButtonMode.Toggle, ButtonAction.Pressed) => !_talking,
                _ => _talking,
            };
            after = _talking;
        }
        if (before != after)
        {
            Changed?.Invoke(this, after);
        }
    }

    /// <summary>
    /// <paramref name="source"/> as a captioner should see it: while not talking, a <see cref="StreamStateChunk"/> says no stream
    /// is live and the media is left out, so the captioner ends the utterance in flight as a final (as when a device goes)
    /// and decodes nothing more; when talking resumes, a second one restores the streams the source last said were live.
    /// The source's own state changes pass through while talking and are remembered while not. A change of the switch is
    /// seen at the next chunk (live sources deliver one every 20-40 ms).
    /// </summary>
    /// <param name="source">The live chunks.</param>
    /// <param name="declared">The streams the source declares (live at the start).</param>
    /// <param name="cancellation">Stops the reading of <paramref name="source"/>.</param>
    public async IAsyncEnumerable<MediaChunk> Gate(IAsyncEnumerable<MediaChunk> source, MediaStreams declared,
        [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        var deviceLive = declared;
        bool open = true;
        await foreach (var chunk in source.WithCancellation(cancellation).ConfigureAwait(false))
        {
            if (chunk is StreamStateChunk state)
            {
                deviceLive = state.Live;
                if (open)
                {
                    yield return state;
                }
                continue;
            }
            bool talking = Talking;
            if (talking != open)
            {
                open = talking;
                yield return new StreamStateChunk(chunk.Timestamp, open ? deviceLive : default);
            }
            if (open)
            {
                yield return chunk;
            }
        }
    }
}
