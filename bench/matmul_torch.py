"""torch.matmul GFLOP/s at the size `wb bench matmul` uses, for comparison.

Usage: /usr/bin/python3 bench/matmul_torch.py [--m 2048 --n 2048 --k 2048 --repeat 5 --threads 0]
Prints one JSON object: {"m":..,"n":..,"k":..,"gflops":..,"backend":"torch","threads":..}
(best of --repeat timed calls after one warm-up, like the C# benchmark).
"""
import argparse
import json
import os
import time

import torch


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--m", type=int, default=2048)
    p.add_argument("--n", type=int, default=2048)
    p.add_argument("--k", type=int, default=2048)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--threads", type=int, default=0, help="0: all cores, as wb bench matmul")
    args = p.parse_args()
    torch.set_num_threads(args.threads or os.cpu_count())
    a = torch.rand(args.m, args.k) * 2 - 1
    b = torch.rand(args.k, args.n) * 2 - 1
    c = torch.empty(args.m, args.n)
    torch.matmul(a, b, out=c)
    best = float("inf")
    for _ in range(args.repeat):
        start = time.perf_counter()
        torch.matmul(a, b, out=c)
        best = min(best, time.perf_counter() - start)
    gflops = 2.0 * args.m * args.n * args.k / best / 1e9
    print(json.dumps({"m": args.m, "n": args.n, "k": args.k, "gflops": round(gflops, 2),
                      "backend": "torch", "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
