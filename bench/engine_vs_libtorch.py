#!/usr/bin/env python3
"""Issue 16's figures in one run: the managed engine and libtorch (`wb bench ... --backend torch`, the TorchSharp
backend) on the same shapes, in alternating turns (so a busy machine slows both alike), the best of each, their
ratios, and the managed engine's own checks, as one JSON object. Standard library only; builds the CLI through ./wb.

    python3 bench/engine_vs_libtorch.py [--rounds 2] [--quick] [--qlora-7b] [--device cpu]

What it prints (ratios above 1 favour the managed engine):
  sgemm_2048          GFLOP/s of 2048³ for each side, managed / torch (target ≥ 0.95)
  lora_step           seconds per LoRA step (Llama 512×8, vocab 32000, batch 4×256, r8 on all linears) for each side,
                      torch / managed (target ≥ 1.0, goal 1.3), and each side's busy cores: CPU-seconds / (wall × cores)
  bf16_frozen         the managed LoRA step with bf16-stored frozen matrices over the fp32 one (target ≤ 1.05)
  generate            greedy decoding tokens/s of the shipped stories260K and ko-tiny for each side, managed / torch
  qlora_7b            (--qlora-7b) the managed QLoRA step on the Llama-2-7B shape with gradient checkpointing: seconds,
                      peak GiB, peak / plan (targets ≤ 40 s, ≤ 6 GiB, ≤ 1.15), build seconds (target < 60)
  load                the 1-minute load average before and after (timings on a shared machine are only as good as it)
A side whose command fails (the torch backend not built into this checkout, say) is reported as null with the
error's last line; the other side's figures still print."""
import argparse
import json
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LORA_STEP = ["bench", "train-step", "--steps", "2"]
QUICK_STEP = ["bench", "train-step", "--hidden", "128", "--ffn", "344", "--heads", "4", "--layers", "2",
              "--vocab", "2000", "--batch", "2", "--seq", "64", "--steps", "1"]
QLORA_7B = ["bench", "train-step", "--config", "data/configs/Llama-2-7b-hf", "--load-in-4bit", "--double-quant",
            "--seq", "256", "--batch", "1", "--lora-r", "16", "--gradient-checkpointing", "--steps", "1", "--warmup", "0"]


GENERATE = {name: ["bench", "generate", f"data/models/{name}", "--max-new-tokens", "200"] for name in ("stories260K", "ko-tiny")}
DEVICE = "cpu"


def run(args, backend=None):
    """One wb run's JSON object, or {"error": ...} when it fails."""
    command = [os.path.join(ROOT, "wb"), *args, "--json"] + (["--backend", backend, "--device", DEVICE] if backend else [])
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        lines = (out.stderr.strip() or out.stdout.strip() or f"exit {out.returncode}").splitlines()
        return {"error": " ".join(command[1:3] + command[-2:]) + ": " + lines[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def best(runs, field, larger_better):
    values = [r[field] for r in runs if "error" not in r]
    return (max if larger_better else min)(values) if values else None


def busy(runs, cores):
    """CPU-seconds over wall-seconds × cores for the fastest run: 1.0 means every core busy throughout."""
    ok = [r for r in runs if "error" not in r and "cpu_seconds_per_step" in r]
    if not ok:
        return None
    fastest = min(ok, key=lambda r: r["seconds_per_step"])
    return round(fastest["cpu_seconds_per_step"] / (fastest["seconds_per_step"] * cores), 3)


def ratio(numerator, denominator):
    return round(numerator / denominator, 3) if numerator and denominator else None


def errors(runs):
    return sorted({r["error"] for r in runs if "error" in r}) or None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="small shapes (a smoke test of the script)")
    parser.add_argument("--qlora-7b", action="store_true", help="also the QLoRA Llama-2-7B step (minutes, ~6 GiB)")
    parser.add_argument("--device", default="cpu", help="the torch side's device (the managed engine runs on the CPU)")
    a = parser.parse_args()
    global DEVICE
    DEVICE = a.device
    cores = os.cpu_count()
    matmul = ["bench", "matmul"] + (["--m", "512", "--n", "512", "--k", "512"] if a.quick else []) + ["--repeat", "3"]
    step = QUICK_STEP if a.quick else LORA_STEP
    report = {"cores": cores, "device": a.device, "load": {"before": os.getloadavg()[0]}}
    generate = {name: args[:-1] + ["32" if a.quick else "200"] for name, args in GENERATE.items()}

    runs = {key: [] for key in ("matmul_managed", "matmul_torch", "step_managed", "step_torch", "step_bf16")}
    runs.update({f"{name}_{side}": [] for name in generate for side in ("managed", "torch")})
    for _ in range(a.rounds):
        runs["matmul_managed"].append(run(matmul))
        runs["matmul_torch"].append(run(matmul, "torch"))
        runs["step_managed"].append(run(step))
        runs["step_torch"].append(run(step, "torch"))
        runs["step_bf16"].append(run(step + ["--frozen-dtype", "bf16"]))
        for name, args in generate.items():
            runs[f"{name}_managed"].append(run(args))
            runs[f"{name}_torch"].append(run(args, "torch"))

    managed, torch = best(runs["matmul_managed"], "gflops", True), best(runs["matmul_torch"], "gflops", True)
    report["sgemm_2048"] = {"managed_gflops": managed, "torch_gflops": torch, "managed_over_torch": ratio(managed, torch),
                            "target": 0.95, "torch_errors": errors(runs["matmul_torch"])}
    managed, torch = best(runs["step_managed"], "seconds_per_step", False), best(runs["step_torch"], "seconds_per_step", False)
    report["lora_step"] = {"managed_seconds": managed, "torch_seconds": torch, "torch_over_managed": ratio(torch, managed),
                           "target": 1.0, "goal": 1.3, "managed_busy": busy(runs["step_managed"], cores),
                           "torch_busy": busy(runs["step_torch"], cores), "busy_target": 0.9,
                           "torch_errors": errors(runs["step_torch"])}
    bf16 = best(runs["step_bf16"], "seconds_per_step", False)
    report["bf16_frozen"] = {"f32_seconds": managed, "bf16_seconds": bf16, "bf16_over_f32": ratio(bf16, managed), "target": 1.05}
    report["generate"] = {}
    for name in generate:
        managed, torch = best(runs[f"{name}_managed"], "tokens_per_second", True), best(runs[f"{name}_torch"], "tokens_per_second", True)
        report["generate"][name] = {"managed_tokens_per_second": managed, "torch_tokens_per_second": torch,
                                    "managed_over_torch": ratio(managed, torch), "torch_errors": errors(runs[f"{name}_torch"])}

    if a.qlora_7b:
        q = run(QLORA_7B)
        if "error" in q:
            report["qlora_7b"] = q
        else:
            plan = q["plan"]["total_bytes"]
            report["qlora_7b"] = {"seconds_per_step": round(q["seconds_per_step"], 1), "target_seconds": 40,
                                  "peak_gib": round(q["peak_working_set_bytes"] / 2**30, 2), "target_gib": 6,
                                  "peak_over_plan": ratio(q["peak_working_set_bytes"], plan), "target_over_plan": 1.15,
                                  "build_seconds": round(q["build_seconds"], 1), "target_build_seconds": 60}
    report["load"]["after"] = os.getloadavg()[0]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
