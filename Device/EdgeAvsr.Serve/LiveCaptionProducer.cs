using System.Globalization;
using System.Runtime.CompilerServices;
using EdgeAvsr.Device.Config;
using EdgeAvsr.Device.Gpio;
using EdgeAvsr.Device.Sources;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Pipeline;

namespace EdgeAvsr.Serve;

/// <summary>
/// Captions from the devices: the camera and microphone of a device settings file, through <see cref="LiveCaptioner"/>,
/// which follows the streams that are live (AVSR, else ASR without the camera, else VSR without the microphone). A
/// <see cref="TalkSwitch"/> (the push-to-talk button) gates the media before the captioner: while it is off no stream is
/// live to the captioner, which ends the utterance in flight as a final and decodes nothing until it is on again.
/// </summary>
public sealed class LiveCaptionProducer : ICaptionProducer, IDisposable
{
    private readonly AvsrModels _models;
    private readonly LiveMediaSource _source;
    private readonly LiveCaptioner _captioner;
    private readonly string _modelName;
    private readonly TalkSwitch _talk;
    private volatile bool _running;

    private LiveCaptionProducer(AvsrModels models, LiveMediaSource source, LiveCaptioner captioner, TalkSwitch talk)
    {
        _models = models;
        _source = source;
        _captioner = captioner;
        _talk = talk;
        _modelName = models.Manifest.Name;
    }

    /// <summary>Reads the device settings, loads the pack and picks the preferred task (null: the best the devices allow).</summary>
    public static LiveCaptionProducer Open(string packPath, string devicesPath, AvsrTask? preferred) =>
        Open(packPath, DeviceConfigJson.Read(devicesPath), preferred);

    /// <summary>The camera and microphone of <paramref name="devices"/>, the pack, the preferred task (null: the best the devices
    /// allow), and the button's switch (null: always captioning).</summary>
    public static LiveCaptionProducer Open(string packPath, DeviceConfig devices, AvsrTask? preferred, TalkSwitch? talk = null)
    {
        ArgumentNullException.ThrowIfNull(devices);
        var source = new LiveMediaSource(devices);
        var models = AvsrModels.Load(packPath, new AvsrModelOptions { Log = _ => { } });
        try
        {
            var (task, _) = TaskSelection.Choose(preferred, source.Streams, models.Manifest.Tasks);
            return new LiveCaptionProducer(models, source, new LiveCaptioner(models, task, source.Streams), talk ?? new TalkSwitch(null));
        }
        catch
        {
            models.Dispose();
            throw;
        }
    }

    /// <summary>A drain stops reading the devices; the captioner then finishes the utterance in flight as a final.</summary>
    public async IAsyncEnumerable<Caption> RunAsync([EnumeratorCancellation] CancellationToken drain)
    {
        _running = true;
        try
        {
            await foreach (var caption in _captioner.RunAsync(_talk.Gate(_source.ReadAsync(drain), _source.Streams), drain).ConfigureAwait(false))
            {
                yield return caption;
            }
        }
        finally
        {
            _running = false;
        }
    }

    public ProducerHealth Health
    {
        get
        {
            var status = _captioner.Status;
            var pipeline = status.Pipeline;
            var live = new List<string>();
            if (status.Live.HasAudio)
            {
                live.Add("audio");
            }
            if (status.Live.HasVideo)
            {
                live.Add("video");
            }
            // Read before the status: a press between the two reads shows as still paused, never as listening without a task.
            bool talking = _talk.Talking;
            return new ProducerHealth
            {
                Producer = "live",
                State = status.Stopped ? "faulted" : !_running ? "starting" : !talking ? "paused" : status.Task is null ? "waiting" : "listening",
                Listening = _running && talking && !status.Stopped && status.Task is not null,
                Model = _modelName,
                Task = status.Task?.ToText(),
                TaskReason = status.Reason,
                LiveModalities = live,
                Devices = [.. _source.Status.Select(Device)],
                Utterances = status.Utterances,
                PartialsDropped = (int)Math.Min(int.MaxValue, status.PartialsDropped),
                Stages =
                [
                    new("segment", pipeline.Segment.LastMs, pipeline.Segment.MeanMs),
                    new("front-end", pipeline.FrontEnd.LastMs, pipeline.FrontEnd.MeanMs),
                    new("encode+project", pipeline.EncodeProject.LastMs, pipeline.EncodeProject.MeanMs),
                    new("decode", pipeline.Decode.LastMs, pipeline.Decode.MeanMs),
                ],
                Queues =
                [
                    new("cut", pipeline.Queues.Cut),
                    new("featured", pipeline.Queues.Featured),
                    new("projected", pipeline.Queues.Projected),
                    new("captions", pipeline.Queues.Captions),
                ],
                Restarts = status.Restarts,
                LastFault = status.LastFault,
            };
        }
    }

    private static DeviceHealth Device(DeviceStatus d)
    {
        string drift = d.DriftPpm is { } ppm ? string.Create(CultureInfo.InvariantCulture, $", drift {ppm:+0;-0} ppm") : "";
        string detail = string.Create(CultureInfo.InvariantCulture,
            $"{d.State.ToString().ToLowerInvariant()}, {d.Delivered} delivered, {d.Dropped} dropped, {d.Repeated} repeated{drift}, {d.Restarts} restarts")
            + (d.LastError is { } e ? $"; last error: {e}" : "");
        return new DeviceHealth(d.Kind.ToString().ToLowerInvariant(), d.Input, d.State == DeviceState.Live, detail);
    }

    public void Dispose() => _models.Dispose();
}
