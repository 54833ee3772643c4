"""The default sampling call before and after the speed rounds, side by side in one run, for the bundled
``qm9_ctmc`` and ``zinc250k_ctmc``:

- ``old``: the first round's default (float32, batches in draw order, the card's earlier sampler);
- ``previous``: the card's earlier sampler with today's precision and batching (``precision="auto"``,
  size-sorted batches): what the default call cost before the card's sampler changed;
- ``new``: today's default (``precision="auto"``, size-sorted batches, the card's sampler).

All settings sample the same number of molecules with the same seed (so the same drawn sizes),
interleaved (old, previous, new, old, ...), on one torch thread; the time is CPU seconds of the process
per molecule (decoding included), which the machine's other load inflates little. ::

    python benchmarks/default_call_speed.py --n-qm9 256 --n-zinc 64 --rounds 2
    python benchmarks/default_call_speed.py --models zinc250k_ctmc --n-zinc 1000 --settings previous new --rounds 1

Writes ``benchmarks/results/default_call_speed.md`` (all models), else
``benchmarks/results/default_call_speed_<model>.md`` (``--out`` to choose).
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

#: key -> (row name, sample() keywords, samples with the card's earlier sampler)
SETTINGS = {"old": ("old default (float32, draw order)", {"precision": "float32", "sort_sizes": False}, True),
            "previous": ("earlier card sampler (auto precision, size-sorted)", {"precision": "auto", "sort_sizes": True}, True),
            "new": ("new default (auto precision, size-sorted)", {"precision": "auto", "sort_sizes": True}, False)}
#: the card's sampler before it changed (qm9_ctmc: 49 -> 23 calls on 2026-12-07, benchmarks/results/few_call_qm9.md;
#: zinc250k_ctmc: 97 calls before 2026-12-07, benchmarks/results/few_call_zinc250k.md); the old and previous rows sample with it
OLD_SAMPLER = {"qm9_ctmc": {"steps": 17, "sampler_options": {"corrector_steps": 2, "time_power": 2.0}},
               "zinc250k_ctmc": {"steps": 25, "sampler_options": {"corrector_steps": 3, "time_power": 3.0}}}
MODELS = ("qm9_ctmc", "zinc250k_ctmc")


def sample_kwargs(model: str, setting: str) -> dict:
    """The ``pipe.sample`` keywords of one row (besides ``n``, ``seed`` and ``batch_size``)."""
    _, kw, earlier = SETTINGS[setting]
    return {**kw, **(OLD_SAMPLER.get(model, {}) if earlier else {})}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    ap.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=["old", "new"],
                    help="rows per model; the first is the speed-up's baseline")
    ap.add_argument("--n-qm9", type=int, default=256)
    ap.add_argument("--n-zinc", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    if min(a.n_qm9, a.n_zinc, a.rounds) < 1:
        ap.error("--n-qm9, --n-zinc and --rounds must be >= 1")
    settings = list(dict.fromkeys(a.settings))
    out_path = Path(a.out) if a.out else ROOT / "benchmarks" / "results" / (
        "default_call_speed.md" if set(a.models) == set(MODELS) else f"default_call_speed_{'_'.join(a.models)}.md")
    torch.set_num_threads(1)
    import graphdiff

    load0 = os.getloadavg()[0]
    rows = []
    for model in a.models:
        n = a.n_qm9 if model == "qm9_ctmc" else a.n_zinc
        pipe = graphdiff.load_pretrained(model)
        pipe.sample(4, seed=9, batch_size=512)  # warm-up
        res: dict[str, list[float]] = {k: [] for k in settings}
        info: dict[str, dict] = {}
        for _ in range(a.rounds):
            for key in settings:
                c0 = time.process_time()
                out = pipe.sample(n, seed=0, batch_size=512, **sample_kwargs(model, key))
                res[key].append(1000 * (time.process_time() - c0) / n)
                info[key] = {"precision": out.info["precision"], "nfe": out.nfe_per_graph,
                             "valid": out.report.n_valid_without_correction / n, "single": out.single_fragment_fraction}
                print(model, key, f"{res[key][-1]:.1f} ms", flush=True)
        rows.append((model, n, res, info))
    load1 = os.getloadavg()[0]
    lines = [f"## The default sampling call, earlier vs current defaults, side by side ({utc_now()})", "",
             f"- commit `{git_commit()}`; machine: {machine_line(1)}; load average {load0:.1f} at start, {load1:.1f} "
             "at end (times are CPU seconds of the process, which the load inflates little)",
             f"- command: `python benchmarks/default_call_speed.py {' '.join(argv if argv is not None else sys.argv[1:])}`",
             "- protocol: `pipe.sample(n, seed=0, batch_size=512)`; rows: "
             + "; ".join(f"{SETTINGS[k][0]}: {SETTINGS[k][1]}" + (", the card's earlier sampler" if SETTINGS[k][2] else ", the card's sampler")
                         for k in settings)
             + f" (earlier samplers: {OLD_SAMPLER}); the settings interleaved for {a.rounds} round(s) after a warm-up; "
             "CPU ms per molecule, decoding included; validity w/o correction and single-fragment fraction of the last "
             "round (a sanity check at small n, not a quality measurement: that is in the few_call_*.md pages)", "",
             "| model | molecules | setting | precision | calls | CPU ms per molecule (each round) | median | speed-up | "
             "valid w/o correction | single fragment |", "|---|---|---|---|---|---|---|---|---|---|"]
    for model, n, res, info in rows:
        base = statistics.median(res[settings[0]])
        for key in settings:
            med = statistics.median(res[key])
            i = info[key]
            lines.append(f"| `{model}` | {n} | {SETTINGS[key][0]} | {i['precision']} | {i['nfe']} | "
                         f"{', '.join(f'{x:.1f}' for x in res[key])} | {med:.1f} | {base / med:.2f}x | "
                         f"{100 * i['valid']:.1f}% | {100 * i['single']:.1f}% |")
    out_path.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
