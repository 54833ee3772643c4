"""Training throughput (graphs per second per core) of the CPU recipes, before and after the speed
settings, in one run: the same model (same initial weights, seed and learning-rate schedule), the
recipe's settings ("before": float32, the recipe's batching) against bfloat16 autocast where the CPU
computes it natively (``train.bf16: auto``) plus size-grouped batches (``train.group_by_size``).

Each recipe trains ``--steps`` updates per run from the same initial weights, the two settings
interleaved (before, after, before, after, ...) for ``--rounds`` rounds, on one torch thread; the
throughput is graphs per CPU second of the process (one thread = one core), so the machine's other
load inflates it little; the loss columns show the two curves stay together (mean over the first
and the last third of the run). ::

    python benchmarks/train_throughput.py --steps 100 --rounds 2

Writes ``benchmarks/results/train_throughput.md``.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, git_commit, machine_line, utc_now  # noqa: E402

RECIPES = ["configs/qm9_ctmc.yaml", "configs/zinc_ctmc_cpu.yaml"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recipes", nargs="+", default=RECIPES)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--max-train", type=int, default=20000, help="training graphs loaded (the first ones)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "train_throughput.md"))
    a = ap.parse_args(argv)
    if a.steps < 3 or a.rounds < 1:
        ap.error("--steps must be >= 3 and --rounds >= 1")
    torch.set_num_threads(1)
    from graphdiff.hardware import cpu_has_bf16
    from graphdiff.pipelines import prepare_training, read_config

    load0 = os.getloadavg()[0]
    rows = []
    for recipe in a.recipes:
        options = read_config(ROOT / recipe)
        options["max_train"] = a.max_train
        pipe, state, _ = prepare_training(options)
        init = copy.deepcopy(pipe.network.state_dict())
        train = dict(options.get("train") or {})
        bs = int(train.get("batch_size", 256))
        settings = {"before": {"group_by_size": bool(train.get("group_by_size", False)), "bf16": bool(train.get("bf16", False))},
                    "after": {"group_by_size": True, "bf16": "auto"}}
        res: dict[str, dict[str, list[float]]] = {k: {"gps": [], "first": [], "last": []} for k in settings}
        for kw in settings.values():  # warm-up: first-call allocations, autocast caches
            pipe.fit(state, steps=2, batch_size=bs, ema_decay=None, progress=False, log_every=10**9, **kw)
        for _ in range(a.rounds):
            for name, kw in settings.items():
                pipe.network.load_state_dict(init)
                c0, w0 = time.process_time(), time.perf_counter()
                out = pipe.fit(state, steps=a.steps, batch_size=bs, lr=float(train.get("lr", 1e-3)),
                               warmup_steps=min(int(train.get("warmup_steps", 0)), a.steps // 3),
                               lr_schedule=train.get("lr_schedule", "constant"), ema_decay=None,
                               seed=int(train.get("seed", 0)), progress=False, log_every=10**9, **kw)
                cpu = time.process_time() - c0
                third = max(1, a.steps // 3)
                res[name]["gps"].append(a.steps * bs / cpu)
                res[name]["first"].append(statistics.fmean(out.losses[:third]))
                res[name]["last"].append(statistics.fmean(out.losses[-third:]))
                print(recipe, name, f"{a.steps * bs / cpu:.1f} graphs/s per core, wall {time.perf_counter() - w0:.0f} s, "
                      f"loss {res[name]['first'][-1]:.3f} -> {res[name]['last'][-1]:.3f}", flush=True)
        rows.append((recipe, bs, settings, res))
    load1 = os.getloadavg()[0]
    lines = [f"## Training throughput of the CPU recipes, before / after the speed settings ({utc_now()})", "",
             f"- commit `{git_commit()}`; machine: {machine_line(1)}; native bf16: {cpu_has_bf16()}; load average "
             f"{load0:.1f} at start, {load1:.1f} at end (throughput is per CPU second of the process, which the load "
             "inflates little)",
             f"- command: `python benchmarks/train_throughput.py {' '.join(argv if argv is not None else sys.argv[1:])}`",
             f"- protocol: the first {a.max_train:,} training graphs of each recipe's dataset, {a.steps} updates per run "
             f"from the same initial weights, seed and LR schedule (the recipe's lr, warmup capped at a third of the run, "
             f"no EMA), settings interleaved for {a.rounds} round(s) after a 2-step warm-up of each; graphs/s per core = steps x batch / CPU seconds; "
             "loss = mean training loss over the first / last third of the run (the same seed draws the same noise "
             "in both settings, but grouped batches hold other graphs)", "",
             "| recipe | batch | setting | graphs/s per core (each round) | median | speed-up | loss, first third | "
             "loss, last third |", "|---|---|---|---|---|---|---|---|"]
    for recipe, bs, settings, res in rows:
        base = statistics.median(res["before"]["gps"])
        for name, kw in settings.items():
            r = res[name]
            med = statistics.median(r["gps"])
            desc = f"{name}: bf16 {kw['bf16']}, group_by_size {kw['group_by_size']}"
            lines.append(f"| `{recipe}` | {bs} | {desc} | {', '.join(f'{x:.1f}' for x in r['gps'])} | {med:.1f} | "
                         f"{med / base:.2f}x | {', '.join(f'{x:.3f}' for x in r['first'])} | "
                         f"{', '.join(f'{x:.3f}' for x in r['last'])} |")
    Path(a.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
