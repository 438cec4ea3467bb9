#!/usr/bin/python3
"""Makes a real audio-visual test clip without any download.

Speech comes from espeak-ng (one utterance per --text, separated by --gap seconds of silence); the "mouth"
is a 96x96 grayscale video at 25 fps of a dark ellipse on a lit face-coloured patch whose opening follows
the speech envelope of each 40 ms frame, with a little seeded noise. ffmpeg muxes both into an MP4
(H.264 + AAC), the kind of file a phone or camera writes. --wav / --video-only also write the streams
alone (16 kHz mono PCM WAV; MP4 without audio).

    /usr/bin/python3 Models/media/make_clip.py --text "hello edge device" --out clip.mp4
    /usr/bin/python3 Models/media/make_clip.py --text "one" --text "two" --gap 2 --out long.mp4 --wav long.wav

Prints a JSON line: duration, the speech spans (start, end in seconds) and the files written.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

RATE = 16000
FPS = 25
SIZE = 96


def speak(text, voice, speed, workdir, index):
    """espeak-ng -> 16 kHz mono float32 (ffmpeg resamples espeak's 22.05 kHz)."""
    raw = os.path.join(workdir, f"say{index}.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", raw, text], check=True)
    pcm = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", raw, "-ac", "1", "-ar", str(RATE),
                          "-f", "f32le", "pipe:1"], check=True, capture_output=True).stdout
    samples = np.frombuffer(pcm, dtype="<f4").astype(np.float32)
    # espeak pads with silence; trim it so the spans below are the speech itself.
    loud = np.nonzero(np.abs(samples) > 1e-3)[0]
    return samples[loud[0]:loud[-1] + 1] if loud.size else samples


def mouth_frames(samples, rng):
    """One 96x96 uint8 frame per 40 ms: ellipse height from the frame's RMS."""
    hop = RATE // FPS
    count = int(np.ceil(len(samples) / hop))
    padded = np.zeros(count * hop, dtype=np.float32)
    padded[:len(samples)] = samples
    rms = np.sqrt(np.mean(padded.reshape(count, hop) ** 2, axis=1))
    opening = np.clip(rms / (rms.max() + 1e-9), 0, 1)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    frames = np.empty((count, SIZE, SIZE), dtype=np.uint8)
    for t in range(count):
        face = 150 + 20 * np.cos((yy - SIZE / 2) / SIZE * np.pi)
        a, b = 26.0, 3.0 + 18.0 * opening[t]
        inside = ((xx - SIZE / 2) / a) ** 2 + ((yy - SIZE / 2 - 8) / b) ** 2 <= 1
        img = np.where(inside, 40.0, face) + rng.normal(0, 4, (SIZE, SIZE))
        frames[t] = np.clip(img, 0, 255).astype(np.uint8)
    return frames


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--text", action="append", required=True, help="an utterance; repeat for more")
    p.add_argument("--gap", type=float, default=1.0, help="seconds of silence between utterances")
    p.add_argument("--lead", type=float, default=0.3, help="seconds of silence before the first and after the last")
    p.add_argument("--voice", default="en-us")
    p.add_argument("--speed", type=int, default=150)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="MP4 with video and audio")
    p.add_argument("--wav", help="16 kHz mono PCM WAV")
    p.add_argument("--video-only", help="MP4 with the video stream only")
    args = p.parse_args()
    if not (args.out or args.wav or args.video_only):
        sys.exit("make_clip.py: give --out, --wav or --video-only")
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as work:
        pieces, spans, t = [np.zeros(int(args.lead * RATE), np.float32)], [], args.lead
        for i, text in enumerate(args.text):
            s = speak(text, args.voice, args.speed, work, i)
            pieces.append(s)
            spans.append([round(t, 4), round(t + len(s) / RATE, 4)])
            t += len(s) / RATE
            gap = args.gap if i + 1 < len(args.text) else args.lead
            pieces.append(np.zeros(int(gap * RATE), np.float32))
            t += int(gap * RATE) / RATE
        audio = np.concatenate(pieces)
        audio = (0.5 * audio / (np.abs(audio).max() + 1e-9)).astype(np.float32)
        pcm16 = (np.clip(audio, -1, 1) * 32767).astype("<i2")
        wav = os.path.join(work, "audio.wav")
        subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "s16le", "-ar", str(RATE), "-ac", "1",
                        "-i", "pipe:0", wav], input=pcm16.tobytes(), check=True)
        frames = mouth_frames(audio, rng)
        video = os.path.join(work, "video.mp4")
        subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "rawvideo", "-pix_fmt", "gray",
                        "-s", f"{SIZE}x{SIZE}", "-r", str(FPS), "-i", "pipe:0", "-c:v", "libx264", "-crf", "12",
                        "-pix_fmt", "yuv420p", video], input=frames.tobytes(), check=True)
        written = {}

        def place(src, dst, extra=()):
            tmp = dst + ".tmp"
            if extra:
                subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *extra, "-f", "mp4", tmp], check=True)
            else:
                with open(src, "rb") as fi, open(tmp, "wb") as fo:
                    fo.write(fi.read())
            os.replace(tmp, dst)
            written[os.path.basename(dst)] = os.path.abspath(dst)

        if args.wav:
            place(wav, args.wav)
        if args.video_only:
            place(video, args.video_only)
        if args.out:
            place(None, args.out, ["-i", video, "-i", wav, "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy",
                                   "-c:a", "aac", "-b:a", "128k", "-shortest"])
    print(json.dumps({"duration": round(len(audio) / RATE, 4), "frames": int(frames.shape[0]),
                      "speech": spans, "files": written}))


if __name__ == "__main__":
    main()
