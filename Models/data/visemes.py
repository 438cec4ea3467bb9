"""Synthetic mouth crops (96x96 grayscale, 25 fps) driven only by phoneme timings.

viseme_table.tsv maps each espeak-ng phoneme to five articulation parameters (opening, width, rounding,
teeth, tongue). A phoneme's target sits at its centre (a diphthong's two targets at 1/4 and 3/4); the
frame parameters are the targets linearly interpolated at each frame's centre time, then smoothed with a
short Gaussian (coarticulation). Nothing else drives the mouth: no audio, no word identity.

The renderer draws skin with a lighting gradient, an outer lip contour and an inner aperture (dark cavity,
upper teeth band, tongue blob) with soft (anti-aliased) edges, under per-speaker appearance (skin and lip
tone, lip thickness, mouth size, position) and per-utterance head jitter (slow random walk of offset,
rotation, scale), lighting, blur and sensor noise, all from a seeded generator.
"""
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

FPS = 25
SIZE = 96
TABLE_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "viseme_table.tsv")
PARAMS = ("opening", "width", "rounding", "teeth", "tongue")


def load_table(path=TABLE_PATH):
    rows, diph = {}, {}
    with open(path) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.rstrip("\n").split("\t")
            if len(cols) == 6:
                rows[cols[0]] = np.array([float(c) for c in cols[1:]], dtype=np.float64)
            elif len(cols) == 2 and "/" in cols[1]:
                diph[cols[0]] = tuple(cols[1].split("/"))
            else:
                raise ValueError(f"{path}: bad row {line!r}")
    return rows, diph


TABLE, DIPHTHONGS = load_table()


def targets_of(phoneme):
    """-> list of parameter vectors (1, or 2 for a diphthong)."""
    name = phoneme.strip()
    for candidate in (name, name.strip("#:;',"), name.rstrip("#:;',")):
        if candidate in DIPHTHONGS:
            return [TABLE[p] for p in DIPHTHONGS[candidate]]
        if candidate in TABLE:
            return [TABLE[candidate]]
    stripped = name.lstrip(";',").rstrip("#:;',")
    if not stripped or stripped[0] in "_;":
        return [TABLE["_"]]
    return [TABLE.get(stripped[:2], TABLE.get(stripped[0], TABLE["@"]))]


def parameter_track(phonemes, n_frames, offset_s=0.0, smooth_ms=20.0):
    """phonemes: [(name, start_s, end_s)] -> [n_frames, 5] articulation parameters at 25 fps.
    Outside the speech the mouth rests ('_')."""
    times, values = [0.0], [TABLE["_"]]
    for name, start, end in phonemes:
        start, end = start + offset_s, end + offset_s
        tg = targets_of(name)
        if len(tg) == 1:
            times.append((start + end) / 2)
            values.append(tg[0])
        else:
            times += [start + (end - start) * 0.25, start + (end - start) * 0.75]
            values += tg
    end_t = n_frames / FPS
    times.append(max(end_t, times[-1] + 1e-3))
    values.append(TABLE["_"])
    times = np.array(times)
    order = np.argsort(times, kind="stable")
    times, values = times[order], np.stack(values)[order]
    # sample at 1 ms, smooth, then take each frame's centre
    fine_t = np.arange(0, end_t, 0.001)
    fine = np.stack([np.interp(fine_t, times, values[:, k]) for k in range(len(PARAMS))], axis=1)
    if smooth_ms > 0:
        r = int(3 * smooth_ms)
        ker = np.exp(-0.5 * (np.arange(-r, r + 1) / smooth_ms) ** 2)
        ker /= ker.sum()
        padded = np.pad(fine, ((r, r), (0, 0)), mode="edge")
        fine = np.stack([np.convolve(padded[:, k], ker, mode="valid") for k in range(len(PARAMS))], axis=1)
    idx = np.clip(((np.arange(n_frames) + 0.5) / FPS * 1000).astype(int), 0, len(fine_t) - 1)
    return fine[idx]


def speaker_appearance(rng):
    """Per-speaker look (a dict of floats)."""
    return dict(skin=rng.uniform(95, 200), lip=rng.uniform(0.5, 0.78), lip_thick=rng.uniform(4.0, 7.5),
                half_width=rng.uniform(22, 30), max_open=rng.uniform(18, 28), cx=rng.uniform(-3, 3),
                cy=rng.uniform(-2, 5), cavity=rng.uniform(15, 45), teeth=rng.uniform(170, 235),
                tongue=rng.uniform(0.45, 0.7), bow=rng.uniform(0.5, 2.0), shadow=rng.uniform(0.1, 0.3))


def session_conditions(rng, n_frames, jitter=True):
    """Per-utterance pose track, lighting, blur and noise (independent of the phonemes)."""
    def walk(scale, smooth=6):
        steps = rng.normal(0, 1, n_frames + 2 * smooth)
        k = np.ones(smooth) / smooth
        x = np.convolve(np.cumsum(steps) * 0.25, k, mode="same")[smooth:smooth + n_frames]
        return (x - x.mean()) * scale
    if jitter:
        pose = dict(dx=walk(1.0) + rng.uniform(-2, 2), dy=walk(0.8) + rng.uniform(-2, 2),
                    rot=walk(0.02) + rng.uniform(-0.08, 0.08), scale=1 + walk(0.01) + rng.uniform(-0.08, 0.08))
    else:
        z = np.zeros(n_frames)
        pose = dict(dx=z, dy=z, rot=z, scale=z + 1)
    light = dict(gain=rng.uniform(0.7, 1.25), grad=rng.uniform(-0.35, 0.35), angle=rng.uniform(0, 2 * math.pi),
                 blur=rng.uniform(0.0, 1.3), noise=rng.uniform(1.0, 6.0))
    return pose, light


def _soft(d):
    """Signed distance-ish -> coverage in [0, 1] (positive inside)."""
    return torch.sigmoid(d)


def render(params, look, pose, light, rng=None):
    """params [T, 5] -> uint8 frames [T, 96, 96]. rng: sensor noise (None: no noise). Float32 torch ops."""
    T = params.shape[0]
    f32 = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float32))
    P = f32(params)[:, :, None, None]
    op, wd, rd, th, tg = (P[:, k] for k in range(5))
    yy, xx = torch.meshgrid(torch.arange(SIZE, dtype=torch.float32), torch.arange(SIZE, dtype=torch.float32), indexing="ij")
    col = lambda a: f32(a)[:, None, None]
    cx = SIZE / 2 + look["cx"] + col(pose["dx"])
    cy = SIZE / 2 + 8 + look["cy"] + col(pose["dy"])
    rot, sc = col(pose["rot"]), col(pose["scale"])
    x0, y0 = xx[None] - cx, yy[None] - cy
    cr, sr = torch.cos(rot), torch.sin(rot)
    u = (cr * x0 + sr * y0) / sc
    v = (-sr * x0 + cr * y0) / sc
    au = u.abs()
    W = look["half_width"] * (0.72 + 0.45 * wd - 0.28 * rd)
    H = look["max_open"] * op * 0.6 + 0.01
    thick = look["lip_thick"] * (1 + 0.4 * rd)
    Wo, Hu, Hl = W + thick * 0.7, H + thick, H + thick * 1.2
    prof = torch.sqrt(torch.clamp(1 - (au / W) ** 2, min=0))
    inner_half = H * prof
    inner = _soft((inner_half - v.abs()) * 2.0) * _soft((W - au) * 1.5)
    po = torch.sqrt(torch.clamp(1 - (au / Wo) ** 2, min=0))
    bow = look["bow"] * torch.exp(-(u / (0.18 * Wo)) ** 2)
    upper_edge = -(Hu * po) + bow * po
    lower_edge = Hl * po
    outer = _soft((v - upper_edge) * 1.5) * _soft((lower_edge - v) * 1.5) * _soft((Wo - au) * 1.5)
    skin = look["skin"]
    gx, gy = math.cos(light["angle"]), math.sin(light["angle"])
    shade = 1 + light["grad"] * ((xx - SIZE / 2) * gx + (yy - SIZE / 2) * gy)[None] / SIZE
    img = torch.full((T, SIZE, SIZE), skin, dtype=torch.float32)
    img = img * (1 - look["shadow"] * torch.exp(-((v - lower_edge - 4) / 3.0) ** 2) * _soft((Wo * 0.8 - au) * 0.5))
    img = img * (1 - 0.15 * _soft((-v - Hu - 30) * 0.3))
    lip_img = skin * look["lip"] * (0.85 + 0.15 * torch.clamp(v.abs() / (H + thick), max=1))
    img = img * (1 - outer) + lip_img * outer
    seam = torch.exp(-(v / 0.8) ** 2) * _soft((W - au) * 1.5) * torch.clamp(1 - H / 1.5, min=0)
    img = img * (1 - 0.5 * seam)
    teeth_h = th * torch.clamp(H * 2, max=6.0) * 0.55
    teeth_mask = _soft((-inner_half + teeth_h - v) * 2.0) * _soft((0.8 * W - au) * 1.0) * th
    cav = look["cavity"] * (1 - teeth_mask) + look["teeth"] * teeth_mask
    tongue_mask = _soft((v - (inner_half - tg * H * 0.9)) * 2.0) * _soft((0.55 * W - au) * 1.0) * tg
    cav = cav * (1 - tongue_mask) + skin * look["tongue"] * tongue_mask
    img = img * (1 - inner) + cav * inner
    img = img * shade * light["gain"]
    if light["blur"] > 0.05:
        s = light["blur"]
        r = max(1, int(math.ceil(2.5 * s)))
        k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=torch.float32) / s) ** 2)
        k = k / k.sum()
        t = img.unsqueeze(1)
        t = F.conv2d(F.pad(t, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
        t = F.conv2d(F.pad(t, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1))
        img = t.squeeze(1)
    img = img.numpy()
    if rng is not None and light["noise"] > 0:
        img = img + rng.normal(0, light["noise"], img.shape).astype(np.float32)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)
