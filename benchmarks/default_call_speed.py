"""The default sampling call before and after this round's defaults, side by side in one run: the old
default (float32, batches in draw order, the card sampler of round 1) against the new one (``precision="auto"``, size-sorted
batches), for the bundled ``qm9_ctmc`` and ``zinc250k_ctmc`` with their cards' samplers.

Both settings sample the same number of molecules with the same seed (so the same drawn sizes),
interleaved (old, new, old, new, ...), on one torch thread; the time is CPU seconds of the process
per molecule (decoding included), which the machine's other load inflates little. ::

    python benchmarks/default_call_speed.py --n-qm9 256 --n-zinc 64 --rounds 2

Writes ``benchmarks/results/default_call_speed.md``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, git_commit, machine_line, utc_now  # noqa: E402

SETTINGS = {"old default (float32, draw order)": {"precision": "float32", "sort_sizes": False},
            "new default (auto precision, size-sorted)": {"precision": "auto", "sort_sizes": True}}
#: the card's sampler before this round where it changed since (qm9_ctmc: 49 -> 23 calls on 2026-12-07,
#: benchmarks/results/few_call_qm9.md); the old default row samples with it
OLD_SAMPLER = {"qm9_ctmc": {"steps": 17, "sampler_options": {"corrector_steps": 2, "time_power": 2.0}}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-qm9", type=int, default=256)
    ap.add_argument("--n-zinc", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "default_call_speed.md"))
    a = ap.parse_args(argv)
    if min(a.n_qm9, a.n_zinc, a.rounds) < 1:
        ap.error("--n-qm9, --n-zinc and --rounds must be >= 1")
    torch.set_num_threads(1)
    import graphdiff

    load0 = os.getloadavg()[0]
    rows = []
    for model, n in (("qm9_ctmc", a.n_qm9), ("zinc250k_ctmc", a.n_zinc)):
        pipe = graphdiff.load_pretrained(model)
        pipe.sample(4, seed=9, batch_size=512)  # warm-up
        res: dict[str, list[float]] = {k: [] for k in SETTINGS}
        info: dict[str, dict] = {}
        for _ in range(a.rounds):
            for name, kw in SETTINGS.items():
                c0 = time.process_time()
                old = OLD_SAMPLER.get(model, {}) if name == next(iter(SETTINGS)) else {}
                out = pipe.sample(n, seed=0, batch_size=512, **kw, **old)
                res[name].append(1000 * (time.process_time() - c0) / n)
                info[name] = {"precision": out.info["precision"], "nfe": out.nfe_per_graph,
                              "valid": out.report.n_valid_without_correction / n, "single": out.single_fragment_fraction}
                print(model, name, f"{res[name][-1]:.1f} ms", flush=True)
        rows.append((model, n, res, info))
    load1 = os.getloadavg()[0]
    lines = [f"## The default sampling call, old vs new defaults, side by side ({utc_now()})", "",
             f"- commit `{git_commit()}`; machine: {machine_line(1)}; load average {load0:.1f} at start, {load1:.1f} "
             "at end (times are CPU seconds of the process, which the load inflates little)",
             f"- command: `python benchmarks/default_call_speed.py {' '.join(argv if argv is not None else sys.argv[1:])}`",
             "- protocol: `pipe.sample(n, seed=0, batch_size=512)` with the card's sampler (the old default row: the card's "
             f"sampler before this round where it changed, {OLD_SAMPLER}), the two settings interleaved "
             f"for {a.rounds} round(s) after a warm-up; CPU ms per molecule, decoding included; validity w/o correction "
             "and single-fragment fraction of the last round (small n: a sanity check, not a quality measurement)", "",
             "| model | molecules | setting | precision | calls | CPU ms per molecule (each round) | median | speed-up | "
             "valid w/o correction | single fragment |", "|---|---|---|---|---|---|---|---|---|---|"]
    for model, n, res, info in rows:
        base = statistics.median(res[next(iter(SETTINGS))])
        for name in SETTINGS:
            med = statistics.median(res[name])
            i = info[name]
            lines.append(f"| `{model}` | {n} | {name} | {i['precision']} | {i['nfe']} | "
                         f"{', '.join(f'{x:.1f}' for x in res[name])} | {med:.1f} | {base / med:.2f}x | "
                         f"{100 * i['valid']:.1f}% | {100 * i['single']:.1f}% |")
    Path(a.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
