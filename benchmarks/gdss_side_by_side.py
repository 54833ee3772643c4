"""Sampling time of GDSS's released QM9 checkpoint with its own PC sampler beside
``graphdiff.generate_molecules`` (the bundled default), in one run, with the same torch thread count.

GDSS is not part of graphdiff and nothing of it is committed: give the folder of a checkout of its
public repository (``harryjo97/GDSS``; its ``checkpoints/QM9/gdss_qm9.pth`` is the released model) and
a Python that can import it (torch, numpy, networkx, rdkit, easydict: a separate environment, not
graphdiff's). GDSS runs in that Python as a subprocess: its models, SDEs and ``get_pc_sampler`` from
the checkout, with the settings of its ``config/sample_qm9.yaml`` (reverse-diffusion predictor +
Langevin corrector, snr 0.2, scale_eps 0.7, 1000 steps, 2000 network calls), on node counts drawn
from graphdiff's QM9 size law (GDSS draws them from the training set, which is the same law), and
its own decoding (``quantize_mol`` + ``gen_mol`` with valency correction). The two are timed in the
order graphdiff, GDSS, graphdiff, so load that drifts during the run shows as a gap between the two
graphdiff rows. ::

    git -C <GDSS git dir> worktree add /tmp/gdss HEAD       # or any checkout
    python benchmarks/gdss_side_by_side.py --gdss /tmp/gdss --gdss-python /tmp/gdss-venv/bin/python \\
        --n-gdss 200 --n 1000 --threads 2

Writes ``benchmarks/results/gdss_side_by_side.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, git_commit, machine_line, utc_now  # noqa: E402

# run inside GDSS's environment, with its checkout as the working directory
_DRIVER = r"""
import json, sys, time
import numpy as np
import torch
args = json.loads(sys.argv[1])
torch.set_num_threads(args["threads"])
sys.path.insert(0, ".")
from sde import VPSDE, VESDE, subVPSDE
from solver import get_pc_sampler
from models.ScoreNetwork_X import ScoreNetworkX, ScoreNetworkX_GMH
from models.ScoreNetwork_A import ScoreNetworkA
from utils.graph_utils import quantize_mol
from utils.mol_utils import gen_mol

ckpt = torch.load("checkpoints/QM9/gdss_qm9.pth", map_location="cpu", weights_only=False)
cfg = ckpt["model_config"]
def model(params, sd):
    p = dict(params); kind = p.pop("model_type")
    m = {"ScoreNetworkX": ScoreNetworkX, "ScoreNetworkX_GMH": ScoreNetworkX_GMH, "ScoreNetworkA": ScoreNetworkA}[kind](**p)
    m.load_state_dict({k[7:] if k.startswith("module.") else k: v for k, v in sd.items()})
    return m.eval()
mx, madj = model(ckpt["params_x"], ckpt["x_state_dict"]), model(ckpt["params_adj"], ckpt["adj_state_dict"])
def sde(c):
    return {"VP": lambda: VPSDE(c.beta_min, c.beta_max, c.num_scales), "VE": lambda: VESDE(c.beta_min, c.beta_max, c.num_scales),
            "subVP": lambda: subVPSDE(c.beta_min, c.beta_max, c.num_scales)}[c.type]()
sizes = torch.tensor(args["sizes"])
N, F = cfg.data.max_node_num, cfg.data.max_feat_num
flags = (torch.arange(N)[None] < sizes[:, None]).float()
fn = get_pc_sampler(sde_x=sde(cfg.sde.x), sde_adj=sde(cfg.sde.adj), shape_x=(len(sizes), N, F), shape_adj=(len(sizes), N, N),
                    predictor="Reverse", corrector="Langevin", snr=0.2, scale_eps=0.7, n_steps=1,
                    probability_flow=False, continuous=True, denoise=True, eps=1.0e-4, device="cpu")
torch.manual_seed(42); np.random.seed(42)
t0 = time.perf_counter(); c0 = time.process_time()
x, adj, nfe = fn(mx, madj, flags)
t1 = time.perf_counter(); c1 = time.process_time()
s = quantize_mol(adj) - 1
s[s == -1] = 3
adj = torch.nn.functional.one_hot(torch.tensor(s), num_classes=4).permute(0, 3, 1, 2)
x = torch.where(x > 0.5, 1, 0)
x = torch.concat([x, 1 - x.sum(dim=-1, keepdim=True)], dim=-1)
mols, n_wo = gen_mol(x, adj, "QM9")
t2 = time.perf_counter(); c2 = time.process_time()
print("RESULT " + json.dumps({"sample_s": t1 - t0, "decode_s": t2 - t1, "sample_cpu": c1 - c0, "decode_cpu": c2 - c1, "n": len(sizes), "nfe": int(nfe) * 2,
                              "valid_wo_correction": n_wo / len(sizes), "torch": torch.__version__,
                              "steps": cfg.sde.adj.num_scales}))
"""


def _run_gdss(gdss: Path, python: str, sizes: list[int], threads: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": ""}
    t0 = time.perf_counter()
    res = subprocess.run([python, "-c", _DRIVER, json.dumps({"sizes": sizes, "threads": threads})], cwd=gdss, env=env,
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"error: GDSS run failed:\n{res.stderr[-3000:]}")
    line = [ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    out = json.loads(line[len("RESULT "):])
    out["wall_s"] = time.perf_counter() - t0
    return out


def _run_graphdiff(n: int, threads: int, seed: int) -> dict:
    import graphdiff

    t0, c0 = time.perf_counter(), time.process_time()
    out = graphdiff.generate_molecules(n=n, seed=seed, threads=threads)  # every other argument its default
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    rep = out.report
    return {"s": dt, "cpu": cpu, "n": n, "nfe": out.nfe_per_graph, "valid_wo_correction": rep.n_valid_without_correction / n,
            "precision": out.info.get("precision"), "sort_sizes": bool(out.info.get("sort_sizes")),
            "steps": out.info.get("steps"), "sampler": out.info.get("sampler")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gdss", required=True, help="folder of a GDSS checkout (with checkpoints/QM9/gdss_qm9.pth)")
    ap.add_argument("--gdss-python", default=sys.executable, help="a Python that can import GDSS's code")
    ap.add_argument("--n-gdss", type=int, default=200, help="GDSS molecules, one batch")
    ap.add_argument("--n", type=int, default=1000, help="graphdiff molecules per run")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "gdss_side_by_side.md"))
    a = ap.parse_args(argv)
    gdss = Path(a.gdss)
    if not (gdss / "checkpoints" / "QM9" / "gdss_qm9.pth").is_file() or not (gdss / "solver.py").is_file():
        ap.error(f"--gdss {gdss} is not a GDSS checkout (no solver.py / checkpoints/QM9/gdss_qm9.pth)")
    if a.n < 1 or a.n_gdss < 1 or a.threads < 1:
        ap.error("--n, --n-gdss and --threads must be >= 1")
    import graphdiff

    pipe = graphdiff.load_pretrained("qm9")
    sizes = pipe.node_counts.sample(a.n_gdss, generator=torch.Generator().manual_seed(0)).tolist()
    graphdiff.generate_molecules(n=16, seed=99)  # warm-up (loads, first-call allocations)
    loads = [os.getloadavg()[0]]
    g1 = _run_graphdiff(a.n, a.threads, 0)
    loads.append(os.getloadavg()[0])
    gd = _run_gdss(gdss, a.gdss_python, sizes, a.threads)
    loads.append(os.getloadavg()[0])
    g2 = _run_graphdiff(a.n, a.threads, 0)
    loads.append(os.getloadavg()[0])
    print(g1, gd, g2, flush=True)

    ms_gdss = 1000 * (gd["sample_s"] + gd["decode_s"]) / gd["n"]
    ms_g = [1000 * g["s"] / g["n"] for g in (g1, g2)]
    cpu_gdss = 1000 * (gd["sample_cpu"] + gd["decode_cpu"]) / gd["n"]
    cpu_g = [1000 * g["cpu"] / g["n"] for g in (g1, g2)]
    ratio = cpu_gdss / (sum(cpu_g) / 2)
    lines = [f"## GDSS vs graphdiff, QM9 sampling side by side ({utc_now()})", "",
             f"- commit `{git_commit()}`; machine: {machine_line(a.threads)} for both (GDSS: torch {gd['torch']}, "
             f"OMP_NUM_THREADS={a.threads}); load average {', '.join(f'{x:.1f}' for x in loads)} (before / between "
             "the runs; a shared machine, so the ratio is what to read)",
             f"- command: `python benchmarks/gdss_side_by_side.py {' '.join(argv if argv is not None else sys.argv[1:])}`",
             f"- protocol: GDSS's released `gdss_qm9.pth` with its PC sampler as in its `config/sample_qm9.yaml` "
             f"({gd['steps']} steps, reverse-diffusion predictor + 1 Langevin corrector, {gd['nfe']} network calls per "
             f"molecule counting the X and A networks), {gd['n']} molecules in one batch, float32, its own decoding "
             f"(valency correction); graphdiff: `generate_molecules(n={a.n}, seed=0, threads={a.threads})`, every other argument its default "
             f"({g1['sampler']}, {g1['steps']} steps, {g1['nfe']} calls, precision {g1['precision']}, "
             f"size-sorted batches: {g1['sort_sizes']}), decoding included; order graphdiff, GDSS, graphdiff", "",
             "| run | molecules | network calls per molecule | CPU ms per molecule | wall ms per molecule | "
             "validity w/o correction |", "|---|---|---|---|---|---|",
             f"| graphdiff (first) | {a.n} | {g1['nfe']} | {cpu_g[0]:.1f} | {ms_g[0]:.1f} | {100 * g1['valid_wo_correction']:.1f}% |",
             f"| GDSS PC sampler | {gd['n']} | {gd['nfe']} | {cpu_gdss:.1f} | {ms_gdss:.1f} | {100 * gd['valid_wo_correction']:.1f}% |",
             f"| graphdiff (second) | {a.n} | {g2['nfe']} | {cpu_g[1]:.1f} | {ms_g[1]:.1f} | {100 * g2['valid_wo_correction']:.1f}% |",
             "", f"GDSS / graphdiff in CPU time (mean of the two graphdiff runs): **{ratio:.0f}x** per molecule "
             "(CPU seconds of each process, which a loaded machine inflates far less than wall clock; with one "
             "thread a process's CPU time is its work)."]
    Path(a.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
