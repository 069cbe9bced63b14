#!/usr/bin/env python3
"""Both compute backends side by side: `wb bench matmul`, `train-step` and `generate` with --backend managed and
--backend torch, in alternating turns within one run (so a busy machine slows both alike), the best of each, and the
torch/managed ratios, as one JSON object. Standard library only; builds the CLI through ./wb.

    python3 bench/backends.py [--rounds 2] [--quick] [--device cpu]

--quick shrinks every benchmark (for a smoke test). Ratios above 1 mean torch is faster."""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name → (wb arguments, the JSON field compared, True when larger is better)
FULL = {
    "matmul_2048": (["bench", "matmul", "--repeat", "3"], "gflops", True),
    "train_step_llama_512x8": (["bench", "train-step", "--steps", "2"], "seconds_per_step", False),
    "generate_stories260K": (["bench", "generate", "data/models/stories260K", "--max-new-tokens", "200"], "tokens_per_second", True),
    "generate_ko_tiny": (["bench", "generate", "data/models/ko-tiny", "--max-new-tokens", "200"], "tokens_per_second", True),
}
QUICK = {
    "matmul_512": (["bench", "matmul", "--m", "512", "--n", "512", "--k", "512", "--repeat", "2"], "gflops", True),
    "train_step_llama_128x2": (["bench", "train-step", "--hidden", "128", "--ffn", "344", "--heads", "4", "--layers", "2",
                                "--vocab", "2000", "--batch", "2", "--seq", "64", "--steps", "1"], "seconds_per_step", False),
    "generate_stories260K": (["bench", "generate", "data/models/stories260K", "--max-new-tokens", "32", "--repeat", "1"], "tokens_per_second", True),
}


def run(args, backend, device):
    command = [os.path.join(ROOT, "wb"), *args, "--json", "--backend", backend, "--device", device]
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(command)}: exit {out.returncode}\n{out.stderr.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--device", default="cpu", help="the torch backend's device (managed runs on the CPU)")
    a = parser.parse_args()
    benchmarks = QUICK if a.quick else FULL
    results = {name: {"managed": [], "torch": []} for name in benchmarks}
    for _ in range(a.rounds):
        for name, (args, _, _) in benchmarks.items():
            for backend in ("managed", "torch"):
                results[name][backend].append(run(args, backend, a.device if backend == "torch" else "cpu"))
    report = {"rounds": a.rounds, "device": a.device, "cpus": os.cpu_count()}
    for name, (_, field, larger_better) in benchmarks.items():
        pick = max if larger_better else min
        best = {b: pick(r[field] for r in runs) for b, runs in results[name].items()}
        entry = {"field": field, "managed": best["managed"], "torch": best["torch"],
                 "torch_speedup": round(best["torch"] / best["managed"] if larger_better else best["managed"] / best["torch"], 3)}
        if "peak_working_set_bytes" in results[name]["managed"][0]:
            entry["peak_gib"] = {b: round(max(r["peak_working_set_bytes"] for r in runs) / 2**30, 2) for b, runs in results[name].items()}
        report[name] = entry
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
