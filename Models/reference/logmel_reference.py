#!/usr/bin/python3
"""Independent reference for EdgeAvsr's Whisper log-mel front-end (torch + numpy, Debian's /usr/bin/python3).

    logmel_reference.py features [--dtype float64|float32] IN.npy OUT.npy [IN.npy OUT.npy ...]
        IN.npy: 1-D 16 kHz float32 samples, or IN.wav: 16 kHz 16-bit mono read with Python's wave module;
        OUT.npy: float32 [80, 3000].
    logmel_reference.py bench [--iterations N] [--threads N]
        times the float32 pipeline on 30 s of seeded noise-like audio; prints JSON.

The formula (issue 4, section 2): pad/trim to 480000 samples; torch.stft with n_fft 400, hop 160, a periodic
Hann window, center=True with reflect padding (3001 frames, the last dropped); |X|^2; 80 Slaney mel filters
with Slaney area normalisation built here from their definition (0-8 kHz); log10 floored at 1e-10; clamped
to max - 8; (x + 4) / 4.
"""
import json
import sys
import time
import wave

import numpy as np
import torch

SR, N_FFT, HOP, N_MELS, N_SAMPLES = 16000, 400, 160, 80, 480000


def slaney_hz_to_mel(f):
    f = np.asarray(f, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    logstep = np.log(6.4) / 27.0
    lin = f / f_sp
    log = min_log_hz / f_sp + np.log(np.maximum(f, 1e-300) / min_log_hz) / logstep
    return np.where(f >= min_log_hz, log, lin)


def slaney_mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


def mel_filters():
    """[80, 201] triangles between consecutive mel-spaced edges, each scaled to unit area-ish (2 / width)."""
    fft_hz = np.arange(N_FFT // 2 + 1) * SR / N_FFT
    edges = slaney_mel_to_hz(np.linspace(slaney_hz_to_mel(0.0), slaney_hz_to_mel(SR / 2), N_MELS + 2))
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (fft_hz[None, :] - lo) / (mid - lo)
    falling = (hi - fft_hz[None, :]) / (hi - mid)
    tri = np.clip(np.minimum(rising, falling), 0.0, None)
    return tri * (2.0 / (hi - lo))


_FILTERS = {}


def filters_tensor(dtype):
    """The filter matrix as a tensor, built once per dtype (Whisper caches its filters the same way)."""
    if dtype not in _FILTERS:
        _FILTERS[dtype] = torch.from_numpy(mel_filters()).to(dtype)
    return _FILTERS[dtype]


def log_mel(samples, dtype=torch.float64):
    x = torch.from_numpy(np.asarray(samples, dtype=np.float32)).to(dtype)
    x = x[:N_SAMPLES]
    if x.shape[0] < N_SAMPLES:
        x = torch.nn.functional.pad(x, (0, N_SAMPLES - x.shape[0]))
    window = torch.hann_window(N_FFT, periodic=True, dtype=dtype)
    spec = torch.stft(x, N_FFT, HOP, window=window, center=True, pad_mode="reflect", return_complex=True)
    power = spec[:, :-1].abs() ** 2
    mel = filters_tensor(dtype) @ power
    logm = torch.clamp(mel, min=1e-10).log10()
    logm = torch.maximum(logm, logm.max() - 8.0)
    return ((logm + 4.0) / 4.0).to(torch.float32).numpy()


def log_mel_window(samples, n_frames, dtype=torch.float32):
    """The same log-mel over a shorter window, batched: samples [B, n] (or [n]) padded/trimmed to n_frames * 160,
    -> [B, 80, n_frames] float32. Each column equals the 30 s log-mel's column whenever the window's loudest frame
    is inside it (the max - 8 clamp is taken over the window); the demo model's encoder sees n_frames columns."""
    x = torch.as_tensor(np.asarray(samples, dtype=np.float32)).to(dtype)
    if x.dim() == 1:
        x = x[None]
    n = n_frames * HOP
    x = x[:, :n]
    if x.shape[1] < n:
        x = torch.nn.functional.pad(x, (0, n - x.shape[1]))
    window = torch.hann_window(N_FFT, periodic=True, dtype=dtype)
    spec = torch.stft(x, N_FFT, HOP, window=window, center=True, pad_mode="reflect", return_complex=True)
    power = spec[..., :-1].abs() ** 2
    logm = torch.clamp(filters_tensor(dtype) @ power, min=1e-10).log10()
    logm = torch.maximum(logm, logm.amax(dim=(1, 2), keepdim=True) - 8.0)
    return ((logm + 4.0) / 4.0).to(torch.float32)


def load(path):
    if path.endswith(".wav"):
        with wave.open(path, "rb") as w:
            if w.getframerate() != SR or w.getsampwidth() != 2 or w.getnchannels() != 1:
                raise ValueError(f"{path}: expected 16 kHz 16-bit mono")
            return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
    return np.load(path)


def main(argv):
    if not argv:
        print(__doc__)
        return 2
    if argv[0] == "features":
        args = argv[1:]
        dtype = torch.float64
        if args[:1] == ["--dtype"]:
            dtype = {"float64": torch.float64, "float32": torch.float32}[args[1]]
            args = args[2:]
        for i in range(0, len(args), 2):
            np.save(args[i + 1], log_mel(load(args[i]), dtype))
        return 0
    if argv[0] == "bench":
        iterations, threads = 20, 0
        args = argv[1:]
        while args:
            if args[0] == "--iterations":
                iterations = int(args[1])
            elif args[0] == "--threads":
                threads = int(args[1])
            args = args[2:]
        if threads > 0:
            torch.set_num_threads(threads)
        rng = np.random.default_rng(7)
        audio = torch.from_numpy((0.1 * rng.standard_normal(N_SAMPLES)).astype(np.float32))
        window = torch.hann_window(N_FFT, periodic=True)
        filters = filters_tensor(torch.float32)

        def run():
            # Whisper's own float32 path: stft, |X|^2 without the last frame, mel matmul, log10, clamp, scale.
            spec = torch.stft(audio, N_FFT, HOP, window=window, center=True, pad_mode="reflect", return_complex=True)
            power = spec[:, :-1].abs() ** 2
            logm = torch.clamp(filters @ power, min=1e-10).log10()
            logm = torch.maximum(logm, logm.max() - 8.0)
            return (logm + 4.0) / 4.0

        run()
        run()
        times = []
        for _ in range(iterations):
            t0 = time.perf_counter()
            run()
            times.append(time.perf_counter() - t0)
        print(json.dumps({"median_ms": 1000 * float(np.median(times)), "min_ms": 1000 * float(np.min(times)),
                          "threads": torch.get_num_threads(), "torch": torch.__version__}))
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
