#!/usr/bin/python3
"""A synthetic face-landmark model that meets docs/landmark-model.md, for testing the full-face path.

    landmark_test_model.py OUT.onnx [--scale 1.25]

Input 'image' float32 [1, 1, H, W] (dynamic H, W). It finds the centroid of the bright pixels (> 0.5) - the test
videos draw a bright disk where the mouth is - and places a fixed 68-point face template there: the mouth ring
(points 48-67) centred on the centroid, the stable points (33, 36, 39, 42, 45) where EdgeAvsr's canonical face has
them relative to the mouth, all scaled by --scale. Outputs 'landmarks' [1, 68, 2] (x, y) and 'score' [1]: 1 when
bright pixels exist, else 0 (no face). Not a real detector: a stand-in whose answer the test knows.
"""
import math
import sys

import torch

CANONICAL_MOUTH = (128.0, 165.0)
STABLE = {33: (128.0, 140.5), 36: (87.5, 100.0), 39: (113.6, 100.0), 42: (142.4, 100.0), 45: (168.5, 100.0)}


def template():
    pts = []
    for i in range(68):
        if i in STABLE:
            pts.append(STABLE[i])
        elif 48 <= i < 68:
            a = 2 * math.pi * (i - 48) / 20
            pts.append((CANONICAL_MOUTH[0] + 22 * math.cos(a), CANONICAL_MOUTH[1] + 9 * math.sin(a)))
        else:
            pts.append((60.0 + 2 * i, 60.0 + (i % 7) * 5))
    t = torch.tensor(pts, dtype=torch.float32)
    return t - torch.tensor(CANONICAL_MOUTH)


class BrightSpotFace(torch.nn.Module):
    def __init__(self, scale):
        super().__init__()
        self.register_buffer("offsets", template() * scale)

    def forward(self, image):
        w = torch.relu(image - 0.5)[0, 0]
        total = w.sum()
        h, wd = w.shape[0], w.shape[1]
        ys = torch.arange(h, dtype=torch.float32).unsqueeze(1)
        xs = torch.arange(wd, dtype=torch.float32).unsqueeze(0)
        denom = total + 1e-6
        cx = (w * xs).sum() / denom
        cy = (w * ys).sum() / denom
        centre = torch.stack([cx, cy]).reshape(1, 1, 2)
        landmarks = self.offsets.unsqueeze(0) + centre
        score = (total > 1.0).to(torch.float32).reshape(1)
        return landmarks, score


def main(argv):
    out = argv[0]
    scale = float(argv[2]) if len(argv) > 2 and argv[1] == "--scale" else 1.25
    model = BrightSpotFace(scale).eval()
    dummy = torch.zeros(1, 1, 60, 80)
    torch.onnx.export(model, (dummy,), out, input_names=["image"], output_names=["landmarks", "score"],
                      dynamic_axes={"image": {2: "height", 3: "width"}}, opset_version=17)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
