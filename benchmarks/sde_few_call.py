"""A few-call student of the continuous QM9 model ``qm9_sde`` by reflow (issue #26, "the continuous
family"): pairs ``(z, x_0)`` from the teacher's deterministic PF-ODE sampler, a student initialised
from the teacher and fine-tuned on them, and the GDSS molecule protocol at few calls.

The teacher is a VP ``eps`` network. Reflow (Liu et al. 2022, Alg. 1) in its own parametrisation is
denoising score matching on the *coupled* pairs: ``x_t = alpha x_0 + sigma z`` with ``x_0 =
ODE(z)`` and target ``eps = z`` (:func:`graphdiff.losses.flow_matching.reflow_loss`); ``x_t /
(alpha + sigma)`` is the straight line between ``x_0`` and ``z``, so DDIM (first-order, one call a
step) follows the student's trajectories exactly when the loss is zero. The student is the
teacher's pipeline with fine-tuned weights (same card), so every sampler of the library runs it.

    python benchmarks/sde_few_call.py pairs --work W --minutes 20        # teacher PF-ODE pairs (resumable chunks)
    python benchmarks/sde_few_call.py train --work W --minutes 35        # reflow fine-tune -> W/student
    python benchmarks/sde_few_call.py eval --work W --run grid           # 1,000 samples per setting
    python benchmarks/sde_few_call.py eval --work W --run check --seed 0 # 10,000 samples: best student vs teacher
    python benchmarks/sde_few_call.py report --work W                    # -> benchmarks/results/few_call_qm9_sde.md

Every eval row is one run of ``benchmarks/molecule_model_eval.py`` (a result file in ``W/eval``;
existing files are skipped, so an interrupted grid resumes). Nothing here is bundled: the student
lives in ``W/student`` (a ``save_pretrained`` folder).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
TEACHER = "qm9_sde"
N_MAX = 9  # QM9 heavy atoms
#: name -> (model, sampler, steps); "student" is W/student
GRID = {
    "teacher_ode1": ("teacher", "dpm_solver", 1),
    "teacher_ode2": ("teacher", "dpm_solver", 2),
    "teacher_ode4": ("teacher", "dpm_solver", 4),
    "teacher_ode8": ("teacher", "dpm_solver", 8),
    "teacher_ode12": ("teacher", "dpm_solver", 12),
    "teacher_sde4": ("teacher", "dpm_solver_sde", 4),
    "teacher_sde8": ("teacher", "dpm_solver_sde", 8),
    "teacher_sde12": ("teacher", "dpm_solver_sde", 12),
    "student_ddim1": ("student", "ddim", 1),
    "student_ddim2": ("student", "ddim", 2),
    "student_ddim4": ("student", "ddim", 4),
    "student_ddim8": ("student", "ddim", 8),
    "student_ode4": ("student", "dpm_solver", 4),
    "student_ode8": ("student", "dpm_solver", 8),
    "teacher_ddim4": ("teacher", "ddim", 4),
}


def _load_teacher():
    import graphdiff

    pipe = graphdiff.load_pretrained(TEACHER)
    pipe.network.eval()
    return pipe


# ----------------------------------------------------------------------------- pairs
def teacher_ode(pipe, node_mask: torch.Tensor, z: torch.Tensor, steps: int, sampler: str = "dpm_solver") -> torch.Tensor:
    """The teacher's deterministic PF-ODE solution from flat noise ``z`` for ``node_mask`` (flat, same layout)."""
    from graphdiff.processes.parametrization import as_fn
    from graphdiff.samplers import SAMPLERS

    like, fmask = pipe._pack(pipe.encoding.template(node_mask))
    score = as_fn(pipe._model_fn(pipe.network, node_mask), pipe.process, pipe.parametrization, "score")
    with torch.no_grad():
        return SAMPLERS.get(sampler).run(pipe.process, score, z.clone(), steps=steps, mask=fmask).samples


def pad_state(st, n_max: int = N_MAX):
    """A size-``n`` GraphState (continuous X, A) zero-padded to ``n_max`` nodes."""
    from graphdiff.states import GraphState

    B, N = st.node_mask.shape
    X = st.X.new_zeros(B, n_max, st.X.shape[-1])
    A = st.A.new_zeros(B, n_max, n_max)
    m = torch.zeros(B, n_max, dtype=torch.bool)
    X[:, :N], A[:, :N, :N], m[:, :N] = st.X, st.A, st.node_mask
    return GraphState(X, A, m)


def make_pairs(pipe, sizes: torch.Tensor, *, steps: int, seed: int, batch_size: int = 500) -> dict[str, torch.Tensor]:
    """Pairs for graphs of ``sizes``: noise ``z`` (the process's prior: symmetric, zero-diagonal
    adjacency noise, masked) and the teacher's ODE sample ``x0`` from it, both as padded
    ``(P, N_MAX, F)`` / ``(P, N_MAX, N_MAX)`` tensors, with the node counts ``n``."""
    from graphdiff.processes.flow import reflow

    g = torch.Generator().manual_seed(seed)
    out = {k: [] for k in ("X0", "A0", "Xz", "Az", "n")}
    for n in sorted(set(sizes.tolist())):
        count = int((sizes == n).sum())
        for start in range(0, count, batch_size):
            B = min(batch_size, count - start)
            node_mask = torch.ones(B, n, dtype=torch.bool)
            like, fmask = pipe._pack(pipe.encoding.template(node_mask))
            pr = reflow(lambda z: teacher_ode(pipe, node_mask, z, steps), like, process=pipe.process, generator=g, mask=fmask)
            s0 = pad_state(pipe.process.unpack(pr.x0, node_mask))
            sz = pad_state(pipe.process.unpack(pr.z, node_mask))
            out["X0"].append(s0.X), out["A0"].append(s0.A), out["Xz"].append(sz.X), out["Az"].append(sz.A)
            out["n"].append(torch.full((B,), n, dtype=torch.long))
    return {k: torch.cat(v) for k, v in out.items()}


def flat_pairs(pipe, pairs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Padded pairs -> flat ``(x0, z, fmask, node_mask)`` in the N_MAX layout of ``pipe.process``."""
    from graphdiff.states import GraphState

    node_mask = torch.arange(N_MAX)[None, :] < pairs["n"][:, None]
    x0, fmask = pipe.process.pack(GraphState(pairs["X0"], pairs["A0"], node_mask))
    z, _ = pipe.process.pack(GraphState(pairs["Xz"], pairs["Az"], node_mask))
    return x0, z, fmask, node_mask


def load_pairs(work: Path) -> dict[str, torch.Tensor]:
    files = sorted((work / "pairs").glob("chunk_*.pt"))
    if not files:
        raise SystemExit(f"no pairs in {work / 'pairs'}: run the pairs step first")
    parts = [torch.load(f) for f in files]
    return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}


def determinism_check(pipe, pairs: dict[str, torch.Tensor], steps: int, k: int = 64) -> dict[str, float]:
    """Re-solve the first ``k`` pairs from their stored noise: at their own size (same ODE twice)
    and padded to N_MAX (the node mask, not the padding, decides); max |difference| of ``x0``."""
    from graphdiff.states import GraphState

    small = pairs["n"][pairs["n"] < N_MAX]  # a padded size exercises the mask
    n = int((small if small.numel() else pairs["n"]).mode().values)  # the commonest such size
    sel = (pairs["n"] == n).nonzero().flatten()[:k]
    sub = {key: v[sel] for key, v in pairs.items()}
    nm = torch.ones(len(sel), n, dtype=torch.bool)
    z, _ = pipe.process.pack(GraphState(sub["Xz"][:, :n], sub["Az"][:, :n, :n], nm))
    x0 = pad_state(pipe.process.unpack(teacher_ode(pipe, nm, z, steps), nm))
    own = max(float((x0.X - sub["X0"]).abs().max()), float((x0.A - sub["A0"]).abs().max()))
    x0f, zf, fmask, nmf = flat_pairs(pipe, sub)
    x0p = teacher_ode(pipe, nmf, zf, steps)
    padded = float(((x0p - x0f) * fmask).abs().max())
    return {"same_size_max_abs": own, "padded_max_abs": padded, "pairs_checked": len(sel), "size": n}


def cmd_pairs(a) -> int:
    torch.set_num_threads(a.threads)
    pipe = _load_teacher()
    d = Path(a.work) / "pairs"
    d.mkdir(parents=True, exist_ok=True)
    t_end = time.time() + 60 * a.minutes
    meta_path = d / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {"steps": a.steps, "sampler": "dpm_solver", "chunks": []}
    if meta["steps"] != a.steps:
        raise SystemExit(f"{d} holds pairs of {meta['steps']} steps, not {a.steps}")
    if a.check_only:
        meta["determinism"] = determinism_check(pipe, torch.load(d / "chunk_0000.pt"), a.steps)
        meta_path.write_text(json.dumps(meta, indent=1))
        print(json.dumps(meta["determinism"]))
        return 0
    while time.time() < t_end:
        i = len(meta["chunks"])
        seed = 1000 + i  # chunk seeds never meet the eval seeds 0 / 1
        sizes = pipe.node_counts.sample(a.chunk, generator=torch.Generator().manual_seed(seed))
        t0 = time.perf_counter()
        pairs = make_pairs(pipe, sizes, steps=a.steps, seed=seed)
        sec = time.perf_counter() - t0
        torch.save(pairs, d / f"chunk_{i:04d}.pt")
        meta["chunks"].append({"seed": seed, "pairs": a.chunk, "seconds": round(sec, 1),
                               "ms_per_pair": round(1000 * sec / a.chunk, 2), "load": round(os.getloadavg()[0], 2)})
        if i == 0:
            meta["determinism"] = determinism_check(pipe, pairs, a.steps)
        meta_path.write_text(json.dumps(meta, indent=1))
        print(f"chunk {i}: {a.chunk} pairs in {sec:.0f} s ({1000 * sec / a.chunk:.1f} ms/pair, load {os.getloadavg()[0]:.2f})",
              flush=True)
    print(json.dumps(meta.get("determinism")))
    return 0


# ----------------------------------------------------------------------------- train
@torch.no_grad()
def pair_agreement(pipe, network, pairs: dict[str, torch.Tensor], steps: int, sampler: str = "ddim") -> dict[str, float]:
    """How far ``network`` in ``steps`` steps of ``sampler`` lands from the teacher's pair targets on
    held-out pairs: RMS over real entries of the continuous ``x0``, and the fraction of graphs whose
    decoded atoms and bonds equal the teacher sample's."""
    from graphdiff.processes.parametrization import as_fn
    from graphdiff.samplers import SAMPLERS

    x0, z, fmask, nm = flat_pairs(pipe, pairs)
    score = as_fn(pipe._model_fn(network, nm), pipe.process, pipe.parametrization, "score")
    out = SAMPLERS.get(sampler).run(pipe.process, score, z.clone(), steps=steps, mask=fmask).samples
    rms = float((((out - x0) * fmask) ** 2).sum() / fmask.sum()) ** 0.5
    d_out = pipe.encoding.decode(pipe.process.unpack(out, nm))
    d_ref = pipe.encoding.decode(pipe.process.unpack(x0, nm))
    same = ((d_out.X == d_ref.X) | ~nm).all(1) & ((d_out.A == d_ref.A).flatten(1).all(1))
    return {"rms": round(rms, 4), "same_graph": round(float(same.float().mean()), 4)}


def cmd_train(a) -> int:
    from graphdiff.losses.flow_matching import reflow_loss

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    pipe = _load_teacher()
    work = Path(a.work)
    pairs = load_pairs(work)
    P = pairs["n"].shape[0]
    hold = {k: v[:a.holdout] for k, v in pairs.items()}
    train = {k: v[a.holdout:] for k, v in pairs.items()}
    x0, z, fmask, node_mask = flat_pairs(pipe, train)
    teacher_net = pipe.network
    student = copy.deepcopy(teacher_net)
    student.train()
    ema = copy.deepcopy(teacher_net)
    opt = torch.optim.Adam(student.parameters(), lr=a.lr)
    g = torch.Generator().manual_seed(a.seed)
    log = {"pairs": P, "holdout": a.holdout, "lr": a.lr, "batch_size": a.batch_size, "max_weight": a.max_weight,
           "ema_decay": a.ema, "steps": 0, "loss": [], "agreement": {}}
    ks = (1, 2, 4, 8)
    pipe.process.set_layout(N_MAX, {"X": (pipe.encoding.num_node_features,), "A": ()})
    log["agreement"]["teacher"] = {k: pair_agreement(pipe, teacher_net, hold, k) for k in ks}
    print("teacher on held-out pairs (ddim):", log["agreement"]["teacher"], flush=True)
    t0 = time.time()
    step, run = 0, 0.0
    n_train = x0.shape[0]
    while time.time() - t0 < 60 * a.minutes:
        idx = torch.randint(0, n_train, (a.batch_size,), generator=g)
        pipe.process.set_layout(N_MAX, {"X": (pipe.encoding.num_node_features,), "A": ()})
        fn = pipe._model_fn(student, node_mask[idx])
        out = reflow_loss(fn, pipe.process, x0[idx], z[idx], parametrization=pipe.parametrization,
                          max_weight=a.max_weight, generator=g, mask=fmask[idx])
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            for pe, ps in zip(ema.parameters(), student.parameters()):
                pe.lerp_(ps, 1.0 - a.ema)
        step += 1
        val = float(out.loss.detach())
        run = 0.98 * run + 0.02 * val if step > 1 else val
        if step % 50 == 0:
            log["loss"].append([step, round(run, 5), round(time.time() - t0)])
            print(f"step {step} loss {run:.4f} ({time.time() - t0:.0f} s)", flush=True)
    log["steps"], log["seconds"] = step, round(time.time() - t0)
    ema.eval()
    log["agreement"]["student"] = {k: pair_agreement(pipe, ema, hold, k) for k in ks}
    print("student on held-out pairs (ddim):", log["agreement"]["student"], flush=True)
    pipe.network = ema
    pipe.card["summary"] = (f"reflow student of {TEACHER} ({P - a.holdout} teacher PF-ODE pairs, {step} fine-tuning steps; "
                            "benchmarks/sde_few_call.py, not bundled)")
    pipe.card["sampling"] = {**pipe.card.get("sampling", {}), "sampler": "ddim", "steps": 4}
    pipe.card["training"] = {"steps": step, "batch_size": a.batch_size, "lr": a.lr, "ema_decay": a.ema,
                             "seconds": log["seconds"], "init_from": TEACHER, "max_weight": a.max_weight, "device": "cpu"}
    pipe.card.pop("metrics", None)
    pipe.save_pretrained(work / "student")
    (work / "train_log.json").write_text(json.dumps(log, indent=1))
    return 0


# ----------------------------------------------------------------------------- eval
def eval_path(work: Path, name: str, n: int, seed: int) -> Path:
    return work / "eval" / f"{name}_n{n}_s{seed}.md"


#: the page's pre-registered bar (10,000 samples) and its 1,000-sample screen (FCD + the small-sample bias)
BAR_VALIDITY, BAR_FCD, SCREEN_FCD = 0.9078, 1.95, 2.25


def select_check(work: Path) -> list[str]:
    """The page's rule for the 10,000-sample rows: the fewest student calls whose 1,000-sample row
    has validity w/o correction >= BAR_VALIDITY and FCD <= SCREEN_FCD (ties: lower FCD); if none, the
    student row with the lowest 1,000-sample FCD at <= 4 calls; with the teacher's PF-ODE at those calls."""
    rows = []
    for name, (model, _, steps) in GRID.items():
        p = eval_path(work, name, 1000, 0)
        if model == "student" and p.exists():
            r = parse_result(p)
            rows.append((steps, float(r["fcd"]), float(r["validity_wo_correction"]), name))
    if not rows:
        raise SystemExit("no 1,000-sample student rows: run --run grid first")
    ok = [r for r in rows if r[2] >= BAR_VALIDITY and r[1] <= SCREEN_FCD]
    best = min(ok) if ok else min((r for r in rows if r[0] <= 4), key=lambda r: r[1])
    return [best[3], f"teacher_ode{best[0]}"]


def cmd_eval(a) -> int:
    work = Path(a.work)
    names = sorted(GRID, key=lambda k: GRID[k][0] != "student") if a.run == "grid" else (select_check(work) if a.names == "auto" else a.names.split(","))
    print("settings:", names, flush=True)
    n = a.n or (1000 if a.run == "grid" else 10000)
    for name in names:
        model, sampler, steps = GRID[name]
        out = eval_path(work, name, n, a.seed)
        if out.exists():
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        m = TEACHER if model == "teacher" else str(work / "student")
        cmd = [sys.executable, str(ROOT / "benchmarks" / "molecule_model_eval.py"), m, "--n", str(n), "--sampler", sampler,
               "--steps", str(steps), "--seed", str(a.seed), "--threads", str(a.threads), "--out", str(out)]
        print(" ".join(cmd[1:]), flush=True)
        with open(out.with_suffix(".log"), "w") as f:
            subprocess.run(cmd, check=True, stdout=f, stderr=subprocess.STDOUT)
    return 0


# ----------------------------------------------------------------------------- report
METRICS = {"validity_wo_correction": "validity w/o corr.", "uniqueness": "uniqueness", "novelty": "novelty",
           "fcd": "FCD", "nspdk": "NSPDK"}


def parse_result(path: Path) -> dict[str, str]:
    """Metric values, calls per molecule, ms per molecule, load and single-fragment share of one
    molecule_model_eval.py page."""
    text = path.read_text()
    row: dict[str, str] = {}
    for ln in text.splitlines():
        cells = [c.strip() for c in ln.strip().strip("|").split("|")]
        if ln.startswith("|") and len(cells) > 1 and cells[0] in METRICS:
            row[cells[0]] = cells[1]
    for key, pat in (("calls", r"(\d+) network calls per molecule"), ("ms", r"= ([\d.]+) ms per molecule"),
                     ("load", r"load average ([\d.]+)"), ("single", r"\*\*([\d.]+)%\*\*")):
        m = re.search(pat, text)
        row[key] = m.group(1) if m else "?"
    return row


def _fmt(key: str, v: str | None) -> str:
    if v in (None, "", "?"):
        return "-"
    if key in ("validity_wo_correction", "uniqueness", "novelty"):
        return f"{100 * float(v):.2f}%"
    return f"{float(v):.3f}" if key == "fcd" else f"{float(v):.4f}"


def table(work: Path, names: list[str], n: int, seed: int) -> list[str]:
    rows = []
    for name in names:
        p = eval_path(work, name, n, seed)
        if not p.exists():
            continue
        r = parse_result(p)
        if not rows:
            rows.append("| setting | model | sampler | calls / molecule | " + " | ".join(METRICS.values())
                        + " | single fragment | ms / molecule (load) |")
            rows.append("|" + "---|" * (len(METRICS) + 6))
        model, sampler, steps = GRID[name]
        rows.append(f"| {name} | {model} | {sampler} {steps} steps | {r['calls']} | "
                    + " | ".join(_fmt(k, r.get(k)) for k in METRICS) + f" | {r['single']}% | {r['ms']} ({r['load']}) |")
    return rows or ["(not measured)"]


def cmd_report(a) -> int:
    work = Path(a.work)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from _common import git_commit, utc_now, write_page_block

    page = Path(a.page)
    if not page.exists():
        page.write_text("# Few-call student of qm9_sde\n")
    meta = json.loads((work / "pairs" / "meta.json").read_text()) if (work / "pairs" / "meta.json").exists() else {}
    log = json.loads((work / "train_log.json").read_text()) if (work / "train_log.json").exists() else {}
    out = ["", f"Tables written {utc_now()} by `python benchmarks/sde_few_call.py report`, "
           f"commit `{git_commit()}`, {platform.machine()}.", ""]
    if meta:
        ch = meta["chunks"]
        P = sum(c["pairs"] for c in ch)
        sec = sum(c["seconds"] for c in ch)
        out += ["### Pairs", "",
                f"{P:,} pairs from the teacher's PF-ODE (DPM-Solver++(2M), {meta['steps']} calls) in {sec / 60:.1f} min "
                f"({1000 * sec / max(P, 1):.1f} ms per pair, one thread, nice 5, load {min(c['load'] for c in ch):.1f}"
                f"-{max(c['load'] for c in ch):.1f}). Determinism check (re-solving {meta['determinism']['pairs_checked']} "
                f"stored noises of size {meta['determinism']['size']}): max |x0 difference| "
                f"{meta['determinism']['same_size_max_abs']:.2e} at their own size, "
                f"{meta['determinism']['padded_max_abs']:.2e} padded to {N_MAX} nodes.", ""]
    if log:
        out += ["### Training", "",
                f"{log['steps']} steps in {log['seconds'] / 60:.1f} min, batch {log['batch_size']}, Adam lr {log['lr']}, "
                f"EMA {log['ema_decay']}, loss weight cap {log['max_weight']}; "
                f"loss (running mean) {log['loss'][0][1] if log['loss'] else '?'} -> {log['loss'][-1][1] if log['loss'] else '?'}.",
                "", f"Held-out pairs ({log['holdout']}): DDIM in k calls from the pair's noise against the teacher's "
                "50-call sample (RMS of the continuous state; share of graphs decoded identically).", "",
                "| network | " + " | ".join(f"k={k}" for k in log["agreement"]["teacher"]) + " |",
                "|---|" + "---|" * len(log["agreement"]["teacher"])]
        for who, ag in log["agreement"].items():
            out.append(f"| {who} | " + " | ".join(f"RMS {v['rms']}, same {100 * v['same_graph']:.1f}%" for v in ag.values()) + " |")
        out.append("")
    out += ["### 1,000 samples, seed 0", ""] + table(work, list(GRID), 1000, 0) + [""]
    for seed in (0, 1):
        rows = table(work, list(GRID), 10000, seed)
        if rows != ["(not measured)"]:
            out += [f"### 10,000 samples, seed {seed}", ""] + rows + [""]
    write_page_block(page, out, "tables")  # the hand-written text above the tables is kept
    print(f"wrote {page}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pairs", help="teacher PF-ODE pairs into W/pairs (chunks, resumable)")
    p.add_argument("--work", required=True)
    p.add_argument("--minutes", type=float, default=20.0, help="start no new chunk after this")
    p.add_argument("--steps", type=int, default=50, help="teacher DPM-Solver++(2M) steps (= calls)")
    p.add_argument("--chunk", type=int, default=2000)
    p.add_argument("--check-only", action="store_true", help="only (re)run the determinism check on chunk 0")
    p.add_argument("--threads", type=int, default=1)
    p = sub.add_parser("train", help="reflow fine-tune of the teacher on the pairs -> W/student")
    p.add_argument("--work", required=True)
    p.add_argument("--minutes", type=float, default=35.0)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--ema", type=float, default=0.995)
    p.add_argument("--max-weight", type=float, default=20.0, help="cap of the data-space weight sigma^2/alpha^2")
    p.add_argument("--holdout", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p = sub.add_parser("eval", help="GDSS molecule protocol via molecule_model_eval.py into W/eval")
    p.add_argument("--work", required=True)
    p.add_argument("--run", choices=("grid", "check"), default="grid")
    p.add_argument("--names", default="teacher_ode4,student_ddim4", help="settings of --run check (GRID names; 'auto': the page's rule, select_check)")
    p.add_argument("--n", type=int, default=None, help="default 1,000 (grid) / 10,000 (check)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p = sub.add_parser("report", help="tables of W into the results page between its tables markers (the rest of the page is kept)")
    p.add_argument("--work", required=True)
    p.add_argument("--page", default=str(ROOT / "benchmarks" / "results" / "few_call_qm9_sde.md"))
    a = ap.parse_args(argv)
    return {"pairs": cmd_pairs, "train": cmd_train, "eval": cmd_eval, "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    raise SystemExit(main())
