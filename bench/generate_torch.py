"""Load time and greedy generation speed with a KV cache in plain PyTorch, for comparison with
`wb bench generate MODEL_DIR --max-new-tokens N --json`.

Usage: /usr/bin/python3 bench/generate_torch.py data/models/stories260K [--max-new-tokens 256 --repeat 3]
Prints one JSON object: {"load_seconds":..,"tokens_per_second":..,"new_tokens":..,"seconds":..,"threads":..}.
Same measurement as the C# command: load = config.json + safetensors into tensors (widened to float32, as the
reference forward computes); then from the BOS token exactly N greedy tokens (EOS ignored), one forward over
the prompt and one per further token; best of --repeat timed runs after one warm-up run. The forward is
tests/fixtures/torch_models.py (transformers' code in plain PyTorch, eager attention).
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
import torch_models as tm  # noqa: E402


def generate(cfg, W, prompt, new_tokens):
    cache = [None] * cfg["num_hidden_layers"]
    ids = torch.tensor([prompt])
    with torch.no_grad():
        for step in range(new_tokens):
            logits = tm.forward(cfg, W, ids, cache)
            nxt = int(logits[0, -1].argmax())
            if step == new_tokens - 1:
                break
            ids = torch.tensor([[nxt]])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("--max-new-tokens", type=int, default=256)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()

    start = time.perf_counter()
    with open(os.path.join(args.model, "config.json")) as f:
        cfg = json.load(f)
    W = tm.widen(tm.load_safetensors(os.path.join(args.model, "model.safetensors")))
    load = time.perf_counter() - start

    tokens = min(args.max_new_tokens, cfg.get("max_position_embeddings", 2048) - 1)
    prompt = [cfg.get("bos_token_id", 1)]
    generate(cfg, W, prompt, tokens)
    best = float("inf")
    for _ in range(args.repeat):
        start = time.perf_counter()
        generate(cfg, W, prompt, tokens)
        best = min(best, time.perf_counter() - start)
    print(json.dumps({"load_seconds": load, "tokens_per_second": tokens / best, "new_tokens": tokens,
                      "seconds": best, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
