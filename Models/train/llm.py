"""A small Llama (HF parameter names) with the authors' LoRA on Q and V, and the SMoP projectors.

Llama: embeddings, RMSNorm, rotate-half RoPE, grouped-query attention with a causal mask, SwiGLU MLP, final
norm, tied LM head; the math of Models/reference/avsr_reference.py's Llama. LoRA as Llama-AVSR's
LlamaSdpaAttention_lora: q += lora_up_Q(lora_down_Q(x)) * alpha / rank (rank = reduction factor, inner width
hidden / rank), v likewise; lora_down zero-initialised, lora_up Kaiming.
SMoP: Models/reference/smop_reference.py's TopKMoE (the authors' Top_K_MoE) in the layouts dedr (audio_proj,
video_proj) and jejr (audiovisual_proj, one mixture over the concatenated tokens).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

import common
import smop_reference  # noqa: E402


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class Attention(nn.Module):
    def __init__(self, cfg, lora_inner=None, lora_scale=0.0):
        super().__init__()
        h, self.heads, self.kv = cfg["hidden"], cfg["heads"], cfg["kv_heads"]
        self.hd = h // self.heads
        self.q_proj = nn.Linear(h, h, bias=False)
        self.k_proj = nn.Linear(h, self.kv * self.hd, bias=False)
        self.v_proj = nn.Linear(h, self.kv * self.hd, bias=False)
        self.o_proj = nn.Linear(h, h, bias=False)
        self.lora_scale = lora_scale
        if lora_inner:
            self.lora_down_Q = nn.Linear(h, lora_inner, bias=False)
            self.lora_up_Q = nn.Linear(lora_inner, h, bias=False)
            self.lora_down_V = nn.Linear(h, lora_inner, bias=False)
            self.lora_up_V = nn.Linear(lora_inner, self.kv * self.hd, bias=False)
            for d, u in ((self.lora_down_Q, self.lora_up_Q), (self.lora_down_V, self.lora_up_V)):
                nn.init.zeros_(d.weight)
                nn.init.kaiming_uniform_(u.weight, a=math.sqrt(5))

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape
        q, k, v = self.q_proj(x), self.k_proj(x), self.v_proj(x)
        if hasattr(self, "lora_down_Q"):
            q = q + self.lora_up_Q(self.lora_down_Q(x)) * self.lora_scale
            v = v + self.lora_up_V(self.lora_down_V(x)) * self.lora_scale
        q = q.view(b, t, self.heads, self.hd).transpose(1, 2)
        k = k.view(b, t, self.kv, self.hd).transpose(1, 2)
        v = v.view(b, t, self.kv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        g = self.heads // self.kv
        k = k.repeat_interleave(g, dim=1)
        v = v.repeat_interleave(g, dim=1)
        s = q @ k.transpose(-1, -2) / math.sqrt(self.hd) + mask
        o = torch.softmax(s, -1) @ v
        return self.o_proj(o.transpose(1, 2).reshape(b, t, -1))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class MLP(nn.Module):
    def __init__(self, h, f):
        super().__init__()
        self.gate_proj = nn.Linear(h, f, bias=False)
        self.up_proj = nn.Linear(h, f, bias=False)
        self.down_proj = nn.Linear(f, h, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, cfg, lora_inner, lora_scale):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg["hidden"])
        self.self_attn = Attention(cfg, lora_inner, lora_scale)
        self.post_attention_layernorm = RMSNorm(cfg["hidden"])
        self.mlp = MLP(cfg["hidden"], cfg["ffn"])

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class Inner(nn.Module):
    def __init__(self, cfg, vocab, lora_inner, lora_scale):
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab, cfg["hidden"])
        self.layers = nn.ModuleList([Layer(cfg, lora_inner, lora_scale) for _ in range(cfg["layers"])])
        self.norm = RMSNorm(cfg["hidden"])


class Llama(nn.Module):
    """model.* / lm_head (tied) as in HF LlamaForCausalLM."""

    def __init__(self, cfg, vocab, lora_inner=None, lora_scale=0.0, rope_theta=10000.0):
        super().__init__()
        self.cfg = cfg
        self.model = Inner(cfg, vocab, lora_inner, lora_scale)
        self.rope_theta = rope_theta

    def rope(self, t, device=None):
        d = self.cfg["hidden"] // self.cfg["heads"]
        inv = 1.0 / (self.rope_theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
        ang = torch.arange(t, dtype=torch.float64)[:, None] * inv[None, :]
        ang = torch.cat([ang, ang], -1)
        return ang.cos().float(), ang.sin().float()

    def forward(self, x, pad_mask=None):
        """x: [B, T, hidden] input embeddings (left-aligned; pad_mask [B, T] True where real) -> logits [B, T, V]."""
        b, t, _ = x.shape
        cos, sin = self.rope(t)
        mask = torch.full((t, t), float("-inf")).triu(1)[None, None]
        for layer in self.model.layers:
            x = layer(x, cos, sin, mask)
        x = self.model.norm(x)
        return x @ self.model.embed_tokens.weight.T


class SMoP(nn.Module):
    """layout dedr: audio_proj / video_proj (modality-specific routers and experts); jejr: audiovisual_proj."""

    def __init__(self, layout, d_audio, d_video, inter, out, experts=common.EXPERTS, top_k=common.TOP_K):
        super().__init__()
        self.layout = layout
        if layout == "dedr":
            self.audio_proj = smop_reference.TopKMoE(experts, top_k, d_audio, inter, out)
            self.video_proj = smop_reference.TopKMoE(experts, top_k, d_video, inter, out)
        else:
            # The authors' JEJR needs equal encoder widths (1024 and 1024); ours differ (audio 128, video 64), so for
            # this comparison the narrower modality's states are zero-padded to the wider width. Only DEDR is shipped.
            self.width = max(d_audio, d_video)
            self.audiovisual_proj = smop_reference.TopKMoE(experts, top_k, self.width, inter, out)

    @staticmethod
    def _moe(moe, h):
        """TopKMoE forward that also returns the router logits (for the auxiliary losses)."""
        b, t, d = h.shape
        x = h.reshape(-1, d)
        logits = moe.gate(x)
        w = F.softmax(logits, dim=1, dtype=torch.float)
        w, idx = torch.topk(w, moe.top_k, dim=-1)
        w = (w / w.sum(dim=-1, keepdim=True)).to(x.dtype)
        out = torch.zeros((b * t, moe.out_dim), dtype=x.dtype)
        mask = F.one_hot(idx, num_classes=moe.num_experts).permute(2, 1, 0)
        for e in range(moe.num_experts):
            slot, token = torch.where(mask[e])
            if token.numel():
                out = out.index_add(0, token, moe.experts[e](x[token]) * w[token, slot, None])
        return out.reshape(b, t, moe.out_dim), logits

    def forward(self, audio=None, video=None):
        """pooled features [B, Ta, Da] / [B, Tv, Dv] -> (tokens per modality, list of router logits)."""
        outs, logits = {}, []
        if self.layout == "dedr":
            if audio is not None:
                outs["audio"], l = self._moe(self.audio_proj, audio)
                logits.append(l)
            if video is not None:
                outs["video"], l = self._moe(self.video_proj, video)
                logits.append(l)
        else:
            parts = [(n, F.pad(x, (0, self.width - x.shape[-1]))) for n, x in (("audio", audio), ("video", video)) if x is not None]
            y, l = self._moe(self.audiovisual_proj, torch.cat([x for _, x in parts], dim=1))
            logits.append(l)
            s = 0
            for n, x in parts:
                outs[n] = y[:, s:s + x.shape[1]]
                s += x.shape[1]
        return outs, logits


def aux_losses(logits_list, experts=common.EXPERTS, top_k=common.TOP_K):
    """The authors' load-balancing (Switch/Mixtral) and router z-loss, over all router logits."""
    logits = torch.cat(logits_list, 0)
    probs = F.softmax(logits, -1)
    _, idx = torch.topk(probs, top_k, -1)
    chosen = F.one_hot(idx, experts).float().mean(0)  # [k, E]
    lb = experts * (chosen * probs.mean(0, keepdim=True)).sum()
    z = torch.logsumexp(logits, -1).pow(2).mean()
    return lb, z
