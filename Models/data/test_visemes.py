#!/usr/bin/python3
"""Checks of the synthetic lips (run: /usr/bin/python3 Models/data/test_visemes.py).

/p/, /b/ and /m/ look alike on real lips, so for the same speaker and pose they must render pixel-equal;
/f/ and /a/ (other visemes) must not. The frames depend on nothing but the phoneme timings.
"""
import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import visemes  # noqa: E402

N = 25


def frames_for(consonant, seed=3, jitter=True, noise=True):
    """'consonant a consonant a' for one speaker and one seeded pose/lighting/noise track."""
    timing = [(consonant, 0.10, 0.20), ("a", 0.20, 0.40), (consonant, 0.40, 0.50), ("a", 0.50, 0.70)]
    rng = np.random.default_rng(seed)
    look = visemes.speaker_appearance(np.random.default_rng(99))
    pose, light = visemes.session_conditions(rng, N, jitter=jitter)
    params = visemes.parameter_track(timing, N)
    return visemes.render(params, look, pose, light, rng if noise else None)


class VisemeTests(unittest.TestCase):
    def test_bilabials_render_pixel_equal(self):
        for jitter in (False, True):
            p = frames_for("p", jitter=jitter)
            for other in ("b", "m"):
                self.assertTrue(np.array_equal(p, frames_for(other, jitter=jitter)), f"/p/ and /{other}/ differ")

    def test_other_visemes_differ(self):
        p = frames_for("p")
        for other in ("f", "w", "s"):
            self.assertFalse(np.array_equal(p, frames_for(other)), f"/p/ and /{other}/ render the same")

    def test_table_groups(self):
        same = [("p", "b", "m"), ("f", "v"), ("t", "d", "n"), ("k", "g", "N"), ("s", "z"), ("S", "Z", "tS", "dZ")]
        for group in same:
            first = visemes.targets_of(group[0])
            for ph in group[1:]:
                self.assertTrue(all(np.array_equal(a, b) for a, b in zip(first, visemes.targets_of(ph))), ph)

    def test_shape_and_dtype(self):
        f = frames_for("p")
        self.assertEqual(f.shape, (N, 96, 96))
        self.assertEqual(f.dtype, np.uint8)

    def test_mouth_opens_for_vowels(self):
        params = visemes.parameter_track([("p", 0.1, 0.2), ("A:", 0.2, 0.5), ("m", 0.5, 0.6)], N)
        opening = params[:, 0]
        self.assertLess(opening[int(0.15 * 25)], 0.3)
        self.assertGreater(opening[int(0.35 * 25)], 0.7)


if __name__ == "__main__":
    unittest.main()
