#!/usr/bin/python3
"""torchaudio's resampler as the peer of EdgeAvsr's Kaiser polyphase resampler (Debian python3-torchaudio).

    resample_reference.py IN.npy OUT.npy ORIG_HZ NEW_HZ ZERO_CROSSINGS ROLLOFF BETA [more groups of 7 ...]

torchaudio.functional.resample with the Kaiser-windowed sinc ("kaiser_window" in torchaudio 0.13,
"sinc_interp_kaiser" later) and the same zero crossings, rolloff and beta; computed in float64.
"""
import sys

import numpy as np
import torch
import torchaudio.functional as AF


def main(argv):
    if len(argv) == 0 or len(argv) % 7 != 0:
        print(__doc__)
        return 2
    for i in range(0, len(argv), 7):
        one(*argv[i:i + 7])
    return 0


def one(src, dst, orig, new, width, rolloff, beta):
    x = torch.from_numpy(np.load(src).astype(np.float64))[None, :]
    method = "kaiser_window"
    try:
        y = AF.resample(x, int(orig), int(new), lowpass_filter_width=int(width), rolloff=float(rolloff),
                        resampling_method=method, beta=float(beta))
    except ValueError:
        y = AF.resample(x, int(orig), int(new), lowpass_filter_width=int(width), rolloff=float(rolloff),
                        resampling_method="sinc_interp_kaiser", beta=float(beta))
    np.save(dst, y[0].numpy().astype(np.float32))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
