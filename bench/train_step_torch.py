"""Reference timing for `wb bench train-step`: the same Llama-shaped model, random frozen weights, rank-r LoRA
on q, k, v, o, gate, up, down, one training step = forward, backward, AdamW on the LoRA weights.
Run with Debian's PyTorch 1.13 (`/usr/bin/python3 bench/train_step_torch.py --json`); install
libopenblas0-pthread first or its matmul is very slow. Prints JSON like the C# bench."""
import argparse
import json
import math
import os
import resource
import time

import torch
import torch.nn.functional as F


class LoraLinear(torch.nn.Module):
    """y = x Wᵀ + (α/r)·x Aᵀ Bᵀ with W frozen, A Kaiming-uniform, B zero (PEFT's default init)."""

    def __init__(self, d_in, d_out, r, alpha):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(d_out, d_in) * 0.02, requires_grad=False)
        self.lora_a = torch.nn.Parameter(torch.empty(r, d_in))
        torch.nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))
        self.lora_b = torch.nn.Parameter(torch.zeros(d_out, r))
        self.scaling = alpha / r

    def forward(self, x):
        return F.linear(x, self.weight) + F.linear(F.linear(x, self.lora_a), self.lora_b) * self.scaling


def rms_norm(x, w, eps=1e-5):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Block(torch.nn.Module):
    def __init__(self, hidden, ffn, heads, kv_heads, r, alpha):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, hidden // heads
        kv = kv_heads * self.head_dim
        self.q, self.k, self.v = LoraLinear(hidden, hidden, r, alpha), LoraLinear(hidden, kv, r, alpha), LoraLinear(hidden, kv, r, alpha)
        self.o = LoraLinear(hidden, hidden, r, alpha)
        self.gate, self.up, self.down = LoraLinear(hidden, ffn, r, alpha), LoraLinear(hidden, ffn, r, alpha), LoraLinear(ffn, hidden, r, alpha)
        self.norm1 = torch.nn.Parameter(torch.ones(hidden), requires_grad=False)
        self.norm2 = torch.nn.Parameter(torch.ones(hidden), requires_grad=False)

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape
        h = rms_norm(x, self.norm1)
        q = self.q(h).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k(h).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v(h).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        rep = self.heads // self.kv_heads
        k, v = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.head_dim) + mask, dim=-1)
        x = x + self.o((att @ v).transpose(1, 2).reshape(b, t, -1))
        h = rms_norm(x, self.norm2)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


def main():
    p = argparse.ArgumentParser()
    for name, default in [("hidden", 512), ("ffn", 1376), ("heads", 8), ("kv-heads", 0), ("layers", 8), ("vocab", 32000),
                          ("batch", 4), ("seq", 256), ("lora-r", 8), ("lora-alpha", 16), ("steps", 3), ("threads", os.cpu_count())]:
        p.add_argument("--" + name, type=int, default=default)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)  # Debian's build defaults to 1 thread here; use every core, as we do
    torch.manual_seed(0)
    kv_heads = a.kv_heads or a.heads
    embed = torch.randn(a.vocab, a.hidden) * 0.02
    head = torch.randn(a.vocab, a.hidden) * 0.02
    blocks = torch.nn.ModuleList(Block(a.hidden, a.ffn, a.heads, kv_heads, a.lora_r, a.lora_alpha) for _ in range(a.layers))
    final_norm = torch.ones(a.hidden)
    params = [q for q in blocks.parameters() if q.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)

    hd = a.hidden // a.heads
    inv_freq = 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd))
    freqs = torch.outer(torch.arange(a.seq).float(), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    mask = torch.full((a.seq, a.seq), float("-inf")).triu(1)
    ids = torch.randint(0, a.vocab, (a.batch, a.seq + 1))

    def step():
        x = F.embedding(ids[:, :-1], embed)
        for blk in blocks:
            x = blk(x, cos, sin, mask)
        logits = F.linear(rms_norm(x, final_norm), head)
        loss = F.cross_entropy(logits.reshape(-1, a.vocab), ids[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    step()  # warm-up
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    sec = sorted(times)[len(times) // 2]
    result = {"backend": "torch " + torch.__version__, "threads": torch.get_num_threads(), "seconds_per_step": sec,
              "tokens_per_second": a.batch * a.seq / sec,
              "peak_working_set_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
              "trainable_parameters": sum(q.numel() for q in params)}
    print(json.dumps(result) if a.json else result)


if __name__ == "__main__":
    main()
