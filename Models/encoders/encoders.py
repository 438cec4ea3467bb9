"""PyTorch encoders with the real layer structure of Llama-SMoP's two encoders, for ONNX export and as references.

WhisperEncoder  -- the Hugging Face `WhisperEncoder` (transformers/models/whisper/modeling_whisper.py):
    conv1 Conv1d(80, D, 3, pad 1) -> GELU -> conv2 Conv1d(D, D, 3, stride 2, pad 1) -> GELU -> + embed_positions
    (1500 x D, sinusoids as Whisper initialises them) -> N pre-LN layers -> layer_norm.
    Layer: self_attn_layer_norm -> self_attn (q_proj with bias, scaled by head_dim^-0.5; k_proj WITHOUT bias;
    v_proj, out_proj with bias) -> residual; final_layer_norm -> fc1 -> GELU -> fc2 -> residual.
    Parameter names are HF's, so `audio_encoder.<name>` in the authors' checkpoint maps one to one.

AvHubertVideoEncoder -- AV-HuBERT (facebookresearch/av_hubert, avhubert/hubert.py + resnet.py) run video-only as
    `extract_finetune(source={'video': v, 'audio': None})` does:
    feature_extractor_video.resnet: frontend3D = Conv3d(1, 64, (5,7,7), stride (1,2,2), pad (2,3,3), no bias),
      BatchNorm3d, PReLU(64), MaxPool3d((1,3,3), (1,2,2), (0,1,1)); frames folded into the batch; trunk = ResNet-18
      of BasicBlocks (conv1/bn1/relu1=PReLU, conv2/bn2/relu2=PReLU, downsample = 1x1 conv + BN) in layer1..layer4
      (64/128/256/512 channels), AdaptiveAvgPool2d(1) -> 512 per frame;
    feature_extractor_video.proj: Linear(512, D);
    modality fusion "concat" with the absent audio as zeros: [zeros(D), video(D)] -> layer_norm (2D) ->
      post_extract_proj Linear(2D, D);
    encoder (wav2vec2 TransformerEncoder, layer_norm_first=True): pos_conv = weight-normed grouped Conv1d
      (kernel 128, 16 groups, pad 64; weight_g/weight_v, dim=2) -> SamePad (drop last frame) -> GELU, added;
      N pre-LN layers with the same sublayer names as above (all projections biased) -> encoder.layer_norm.
    Assumed (not verifiable here, no network): the names above as in the fairseq AV-HuBERT checkpoint
    (`large_vox_iter5.pt`, model state dict), prefixed `video_encoder.` in the Llama-SMoP checkpoint; PReLU as
    resnet_relu_type ('prelu' is AV-HuBERT's default); LayerNorm and BatchNorm eps 1e-5; exact GELU. Not covered:
    the optional LoRA adapters on AV-HuBERT's q/v projections (the SMoP recipe does not enable them); the rest of
    the AV-HuBERT checkpoint (feature_extractor_audio, mask_emb, final_proj, label_embs_concat) is ignored.

Both run in eval mode (no dropout, BatchNorm with running statistics).
"""
import json
import math
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SIZES = {
    "whisper": {
        "tiny": dict(dim=64, layers=2, heads=4, ffn=256),
        "medium": dict(dim=1024, layers=24, heads=16, ffn=4096),
    },
    "avhubert": {
        "tiny": dict(dim=64, layers=2, heads=4, ffn=128, resnet_width=8, conv_pos=16, conv_pos_groups=4),
        "large": dict(dim=1024, layers=24, heads=16, ffn=4096, resnet_width=64, conv_pos=128, conv_pos_groups=16),
    },
}
PREFIX = {"whisper": "audio_encoder.", "avhubert": "video_encoder."}


class Attention(nn.Module):
    def __init__(self, dim, heads, k_bias):
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.scaling = self.head_dim ** -0.5
        self.q_proj = nn.Linear(dim, dim)
        self.k_proj = nn.Linear(dim, dim, bias=k_bias)
        self.v_proj = nn.Linear(dim, dim)
        self.out_proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, t, d = x.shape
        q = (self.q_proj(x) * self.scaling).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        w = torch.softmax(torch.matmul(q, k.transpose(-1, -2)), dim=-1)
        o = torch.matmul(w, v).transpose(1, 2).reshape(b, t, d)
        return self.out_proj(o)


class PreLnLayer(nn.Module):
    def __init__(self, dim, heads, ffn, k_bias):
        super().__init__()
        self.self_attn = Attention(dim, heads, k_bias)
        self.self_attn_layer_norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, ffn)
        self.fc2 = nn.Linear(ffn, dim)
        self.final_layer_norm = nn.LayerNorm(dim)

    def forward(self, x):
        x = x + self.self_attn(self.self_attn_layer_norm(x))
        return x + self.fc2(F.gelu(self.fc1(self.final_layer_norm(x))))


def sinusoids(length, channels, max_timescale=10000):
    """Whisper's positional embedding (openai/whisper model.py `sinusoids`)."""
    log_inc = math.log(max_timescale) / (channels // 2 - 1)
    inv = torch.exp(-log_inc * torch.arange(channels // 2, dtype=torch.float64))
    t = torch.arange(length, dtype=torch.float64)[:, None] * inv[None, :]
    return torch.cat([torch.sin(t), torch.cos(t)], dim=1).float()


class WhisperEncoder(nn.Module):
    def __init__(self, dim, layers, heads, ffn, n_mels=80, n_ctx=1500):
        super().__init__()
        self.conv1 = nn.Conv1d(n_mels, dim, 3, padding=1)
        self.conv2 = nn.Conv1d(dim, dim, 3, stride=2, padding=1)
        self.embed_positions = nn.Embedding(n_ctx, dim)
        with torch.no_grad():
            self.embed_positions.weight.copy_(sinusoids(n_ctx, dim))
        self.layers = nn.ModuleList([PreLnLayer(dim, heads, ffn, k_bias=False) for _ in range(layers)])
        self.layer_norm = nn.LayerNorm(dim)

    def forward(self, input_features):  # [B, 80, 2 n_ctx] (3000) -> [B, n_ctx, D] (1500)
        x = F.gelu(self.conv1(input_features))
        x = F.gelu(self.conv2(x)).permute(0, 2, 1)
        x = x + self.embed_positions.weight
        for layer in self.layers:
            x = layer(x)
        return self.layer_norm(x)


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = nn.PReLU(num_parameters=planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu2 = nn.PReLU(num_parameters=planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        residual = x if self.downsample is None else self.downsample(x)
        return self.relu2(out + residual)


class ResNetTrunk(nn.Module):
    def __init__(self, width):
        super().__init__()
        widths = [width, width * 2, width * 4, width * 8]
        inplanes = width
        for i, (planes, stride) in enumerate(zip(widths, [1, 2, 2, 2])):
            blocks = nn.Sequential(BasicBlock(inplanes, planes, stride), BasicBlock(planes, planes, 1))
            setattr(self, f"layer{i + 1}", blocks)
            inplanes = planes
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.out_dim = widths[-1]

    def forward(self, x):
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.avgpool(x).flatten(1)


class ResEncoder(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.frontend3D = nn.Sequential(
            nn.Conv3d(1, width, (5, 7, 7), stride=(1, 2, 2), padding=(2, 3, 3), bias=False),
            nn.BatchNorm3d(width),
            nn.PReLU(num_parameters=width),
            nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)))
        self.trunk = ResNetTrunk(width)

    def forward(self, x):  # [B, 1, T, H, W] -> [B, C, T]
        b = x.shape[0]
        x = self.frontend3D(x)
        t = x.shape[2]
        x = x.transpose(1, 2).reshape(b * t, x.shape[1], x.shape[3], x.shape[4])
        x = self.trunk(x)
        return x.view(b, t, -1).transpose(1, 2)


class VideoSubModel(nn.Module):
    def __init__(self, width, dim):
        super().__init__()
        self.resnet = ResEncoder(width)
        self.proj = nn.Linear(self.resnet.trunk.out_dim, dim)

    def forward(self, x):  # -> [B, D, T]
        return self.proj(self.resnet(x).transpose(1, 2)).transpose(1, 2)


class WeightNormConv1d(nn.Module):
    """fairseq's pos_conv[0]: Conv1d under torch weight_norm(name='weight', dim=2) -> weight_g [1,1,K], weight_v."""

    def __init__(self, dim, kernel, groups):
        super().__init__()
        conv = nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=groups)
        std = math.sqrt(4 / (kernel * dim))
        nn.init.normal_(conv.weight, 0, std)
        self.weight_v = nn.Parameter(conv.weight.detach().clone())
        self.weight_g = nn.Parameter(self.weight_v.detach().pow(2).sum(dim=(0, 1), keepdim=True).sqrt())
        self.bias = nn.Parameter(torch.zeros(dim))
        self.padding = kernel // 2
        self.groups = groups

    def forward(self, x):
        w = self.weight_g * self.weight_v / self.weight_v.pow(2).sum(dim=(0, 1), keepdim=True).sqrt()
        return F.conv1d(x, w, self.bias, padding=self.padding, groups=self.groups)


class PosConv(nn.Module):
    """fairseq's nn.Sequential(weight-normed conv, SamePad, GELU): the conv is child "0", so its tensors are
    pos_conv.0.weight_g / weight_v / bias as in the checkpoint."""

    def __init__(self, dim, kernel, groups):
        super().__init__()
        self.add_module("0", WeightNormConv1d(dim, kernel, groups))
        self.remove = 1 if kernel % 2 == 0 else 0

    def forward(self, x):  # [B, D, T]
        x = getattr(self, "0")(x)
        if self.remove:
            x = x[:, :, :-self.remove]
        return F.gelu(x)


class TransformerEncoder(nn.Module):
    def __init__(self, dim, layers, heads, ffn, conv_pos, conv_pos_groups):
        super().__init__()
        self.pos_conv = PosConv(dim, conv_pos, conv_pos_groups)
        self.layers = nn.ModuleList([PreLnLayer(dim, heads, ffn, k_bias=True) for _ in range(layers)])
        self.layer_norm = nn.LayerNorm(dim)

    def forward(self, x):  # [B, T, D]
        x = x + self.pos_conv(x.transpose(1, 2)).transpose(1, 2)
        for layer in self.layers:
            x = layer(x)
        return self.layer_norm(x)


class AvHubertVideoEncoder(nn.Module):
    def __init__(self, dim, layers, heads, ffn, resnet_width, conv_pos, conv_pos_groups):
        super().__init__()
        self.dim = dim
        self.feature_extractor_video = VideoSubModel(resnet_width, dim)
        self.layer_norm = nn.LayerNorm(2 * dim)
        self.post_extract_proj = nn.Linear(2 * dim, dim)
        self.encoder = TransformerEncoder(dim, layers, heads, ffn, conv_pos, conv_pos_groups)

    def forward(self, video):  # [B, 1, T, 88, 88] -> [B, T, D]
        v = self.feature_extractor_video(video)
        features = torch.cat([torch.zeros_like(v), v], dim=1).transpose(1, 2)
        features = self.post_extract_proj(self.layer_norm(features))
        return self.encoder(features)


def build(arch, **cfg):
    return WhisperEncoder(**cfg) if arch == "whisper" else AvHubertVideoEncoder(**cfg)


def randomize(model, seed):
    """Seeded random weights in every tensor, BatchNorm statistics and norm affines included, at scales that keep
    activations O(1) through any depth (so a test compares real numbers, not saturated ones). Whisper's
    embed_positions keep their sinusoids."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            params = dict(module.named_parameters(recurse=False))
            buffers = dict(module.named_buffers(recurse=False))
            if isinstance(module, (nn.LayerNorm, nn.BatchNorm2d, nn.BatchNorm3d)):
                params["weight"].copy_(1.0 + 0.1 * torch.randn(params["weight"].shape, generator=g))
                params["bias"].copy_(0.1 * torch.randn(params["bias"].shape, generator=g))
                if "running_mean" in buffers:
                    buffers["running_mean"].copy_(0.1 * torch.randn(buffers["running_mean"].shape, generator=g))
                    buffers["running_var"].copy_(0.5 + torch.rand(buffers["running_var"].shape, generator=g))
            elif isinstance(module, nn.PReLU):
                params["weight"].copy_(0.25 + 0.05 * torch.randn(params["weight"].shape, generator=g))
            elif isinstance(module, nn.Embedding):
                continue
            elif isinstance(module, WeightNormConv1d):
                v = module.weight_v
                v.copy_(torch.randn(v.shape, generator=g))
                # |w| per kernel tap such that the grouped conv keeps unit variance
                module.weight_g.copy_(torch.full(module.weight_g.shape, math.sqrt(v.shape[0] / v.shape[2])))
                module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=g))
            else:
                for name, p in params.items():
                    if name == "bias":
                        p.copy_(0.1 * torch.randn(p.shape, generator=g))
                    else:
                        p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(max(1, p[0].numel())))
    return model.eval()


# ---- safetensors (no safetensors package on Debian): 8-byte header length, JSON header, raw data ----

def read_safetensors(path, metadata=None):
    """Tensors of a safetensors file (F32/F16/BF16/I64) as torch tensors; its __metadata__ strings go into `metadata`."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            if metadata is not None:
                metadata.update(info)
            continue
        begin, end = info["data_offsets"]
        raw = data[base + begin:base + end]
        dt = info["dtype"]
        if dt == "F32":
            arr = np.frombuffer(raw, dtype="<f4")
        elif dt == "F16":
            arr = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        elif dt == "BF16":
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view("<f4")
        elif dt == "I64":
            arr = np.frombuffer(raw, dtype="<i8")
        else:
            raise SystemExit(f"{path}: tensor {name} has dtype {dt}; expected F32, F16, BF16 or I64")
        out[name] = torch.from_numpy(arr.reshape(info["shape"]).copy())
    return out


def write_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        a = t.detach().cpu().numpy()
        if a.dtype == np.int64:
            raw, dt = a.astype("<i8").tobytes(), "I64"
        else:
            raw, dt = a.astype("<f4").tobytes(), "F32"
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def infer_config(arch, sd, heads=None):
    """Sizes from a checkpoint's tensor shapes. Heads cannot be seen in the shapes: given, or D / 64 (true for every
    released Whisper and AV-HuBERT size; the tiny test sizes record theirs in the file's metadata)."""
    layers = len({k.split(".")[1] for k in sd if k.startswith("layers.")}) if arch == "whisper" \
        else len({k.split(".")[2] for k in sd if k.startswith("encoder.layers.")})
    if arch == "whisper":
        dim = sd["conv1.weight"].shape[0]
        cfg = dict(dim=dim, layers=layers, heads=heads or dim // 64, ffn=sd["layers.0.fc1.weight"].shape[0])
        if sd["embed_positions.weight"].shape[0] != 1500:
            # an encoder trained on a shorter log-mel window (mel frames = 2 x positions), e.g. the demo model's 300
            cfg["n_ctx"] = sd["embed_positions.weight"].shape[0]
        return cfg
    dim = sd["post_extract_proj.weight"].shape[0]
    conv_v = sd["encoder.pos_conv.0.weight_v"]
    return dict(dim=dim, layers=layers, heads=heads or dim // 64, ffn=sd["encoder.layers.0.fc1.weight"].shape[0],
                resnet_width=sd["feature_extractor_video.resnet.frontend3D.0.weight"].shape[0],
                conv_pos=conv_v.shape[2], conv_pos_groups=dim // conv_v.shape[1])


def load_checkpoint(arch, path, heads=None, tensors=None, metadata=None):
    """The encoder under `audio_encoder.` / `video_encoder.` of a safetensors checkpoint. Every tensor the module has
    must be present with its shape; the checkpoint's other keys (AV-HuBERT's audio front-end, mask_emb, final_proj,
    the projector and LLM) are ignored. A caller that already read `path` (read_safetensors) passes its tensors and
    metadata so the file is not read again; `path` then only names it in messages."""
    prefix = PREFIX[arch]
    if tensors is None:
        metadata = {}
        everything = read_safetensors(path, metadata)
    else:
        everything, metadata = tensors, metadata or {}
    sd = {k[len(prefix):]: v for k, v in everything.items() if k.startswith(prefix)}
    if not sd:
        raise SystemExit(f"{path}: no tensors under '{prefix}'")
    # torch >= 2.1 saves weight_norm as a parametrization: original0 = g, original1 = v.
    for n, alias in (("weight_g", "parametrizations.weight.original0"), ("weight_v", "parametrizations.weight.original1")):
        if "encoder.pos_conv.0." + n not in sd and "encoder.pos_conv.0." + alias in sd:
            sd["encoder.pos_conv.0." + n] = sd.pop("encoder.pos_conv.0." + alias)
    if heads is None and prefix + "heads" in metadata:
        heads = int(metadata[prefix + "heads"])
    cfg = infer_config(arch, sd, heads)
    model = build(arch, **cfg)
    own = model.state_dict()
    missing = [k for k in own if k not in sd and not k.endswith("num_batches_tracked")]
    if missing:
        raise SystemExit(f"{path}: missing {prefix}{missing[0]} (and {len(missing) - 1} more)" if len(missing) > 1 else f"{path}: missing {prefix}{missing[0]}")
    for k, v in own.items():
        if k in sd and tuple(sd[k].shape) != tuple(v.shape):
            raise SystemExit(f"{path}: {prefix}{k} has shape {list(sd[k].shape)}, expected {list(v.shape)}")
    model.load_state_dict({k: sd[k].to(own[k].dtype) for k in own if k in sd}, strict=False)
    return model.eval(), cfg
