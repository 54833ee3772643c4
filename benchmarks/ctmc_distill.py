"""Distil `qm9_ctmc`'s 23-call `pc` sampler into a 12-call ancestral student (issue #26).

The student (a copy of the teacher) learns to do in ONE ancestral step per grid interval what the
teacher's predictor + corrector step does (two calls): :func:`graphdiff.losses.ctmc_distill.ctmc_distill_loss`
on the student's grid (12 steps, t_i = (1 - i/12)^3), KL of the teacher's per-coordinate step law
(last corrector leap integrated out) to the student's ancestral transition. AdamW, EMA, one thread.

Parts::

    python benchmarks/ctmc_distill.py train --out W/student --minutes 40 --save-every 10
    python benchmarks/ctmc_distill.py eval --load W/student --n 1000 --seed 0 --work W   # one row
    python benchmarks/ctmc_distill.py speed --load W/student                              # ms / molecule
    python benchmarks/ctmc_distill.py report --work W                                    # the rows as a table

``train --init DIR`` trains on from an earlier student; ``--on-policy K`` starts K of the ``--chunks``
chunks of each batch from the student's own ancestral rollout instead of the forward marginal (measured
worse on QM9: benchmarks/results/few_call_qm9_distill.md).

``eval`` is ``benchmarks/discrete_graphs.py --dataset qm9 --load DIR --sampler ancestral --steps 12
--time-power 3`` (or the teacher's row with ``--teacher``), its values kept as JSON under ``--work``.
"""

from __future__ import annotations

import argparse
import copy
import datetime as _dt
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import utc_now  # noqa: E402

STEPS, TIME_POWER = 12, 3.0
TEACHER = "qm9_ctmc"
TEACHER_SAMPLING = {"sampler": "pc", "steps": 12, "time_power": 3.0, "options": ["predictor=\"ancestral\"", "corrector_steps=1"]}


def _student_card(pipe, info: dict) -> None:
    """The card of a student: ancestral, 12 steps, time_power 3; the training record of this run."""
    pipe.card["sampling"] = {"sampler": "ancestral", "steps": STEPS, "decode": "gdss", "time_power": TIME_POWER}
    pipe.card.pop("metrics", None)
    pipe.card["summary"] = ("Discrete CTMC (marginal rates) graph transformer on QM9 (0.77M parameters), distilled from the "
                            "23-call pc sampler of the 12,000-step CPU model into 12 ancestral steps")
    pipe.card["distillation"] = info


def load_teacher(a: argparse.Namespace):
    """The teacher pipeline ``a.teacher`` (threads and seed set from ``a``), its card, QM9's training
    set in its categories, its frozen network and denoiser: ``(pipe, card, data, net, denoiser)``."""
    from graphdiff.data import load
    from graphdiff.pipelines.discrete import DiscreteGraphDiffusion

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    pipe = DiscreteGraphDiffusion.from_pretrained(a.teacher)
    card = copy.deepcopy(pipe.card)
    ds = load("qm9")
    if ds.vocabulary != pipe.vocabulary:
        raise SystemExit("the dataset's atom types differ from the teacher's")
    data = pipe.categorical(ds.to_state("train"))
    net = pipe.network.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return pipe, card, data, net, pipe._denoiser(net)


def random_batch(data, batch_size: int, g: torch.Generator):
    """``batch_size`` training graphs drawn with ``g``, cut to their largest size."""
    from graphdiff.states import GraphState

    idx = torch.randint(0, data.batch_size, (batch_size,), generator=g)
    nm = data.node_mask[idx]
    n = max(int(nm.sum(-1).max()), 1)
    return GraphState(data.X[idx][:, :n], data.A[idx][:, :n, :n], nm[:, :n])


def optimizer_step(loss: torch.Tensor, opt: torch.optim.Optimizer, net: torch.nn.Module, ema) -> float:
    """Backward, clip to norm 1, step, EMA update; the gradient norm before clipping."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    gn = float(torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0))
    opt.step()
    ema.update(net)
    return gn


def train(a: argparse.Namespace) -> int:
    from graphdiff.losses.ctmc_distill import ctmc_distill_loss, rollout_states
    from graphdiff.pipelines.discrete import DiscreteGraphDiffusion
    from graphdiff.samplers.ctmc import warped_time_grid
    from graphdiff.training.ema import EMA

    pipe, teacher_card, data, teacher_net, teacher = load_teacher(a)
    times = warped_time_grid(pipe.process.time_grid(STEPS), TIME_POWER)
    earlier = None
    if a.init:  # train on from an earlier student (its weights; a fresh optimizer and EMA)
        start_pipe = DiscreteGraphDiffusion.from_pretrained(a.init)
        earlier = start_pipe.card.get("distillation")
        start = start_pipe.network
        student_net = copy.deepcopy(teacher_net)
        student_net.load_state_dict(start.state_dict())
        student_net.train()
    else:
        student_net = copy.deepcopy(teacher_net).train()
    for p in student_net.parameters():
        p.requires_grad_(True)
    student = pipe._denoiser(student_net)
    opt = torch.optim.AdamW(student_net.parameters(), lr=a.lr, weight_decay=0.0)
    ema = EMA(student_net, decay=a.ema_decay)
    g = torch.Generator().manual_seed(a.seed)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    log = open(out / "train_log.jsonl", "a")
    t0 = time.perf_counter()
    next_save = a.save_every * 60
    from graphdiff.pipelines.pretrained import resolve

    sha = json.loads((Path(resolve(a.teacher)) / "config.json").read_text()).get("sha256")
    info = {"teacher": a.teacher, "teacher_sha256": sha, "teacher_sampling": teacher_card.get("sampling"),
            "loss": "graphdiff.losses.ctmc_distill.ctmc_distill_loss (KL of the teacher pc step law, last corrector leap "
                    "integrated out, to the student's ancestral transition)",
            "grid": {"steps": STEPS, "time_power": TIME_POWER}, "batch_size": a.batch_size, "chunks": a.chunks, "lr": a.lr,
            "ema_decay": a.ema_decay, "seed": a.seed, "threads": a.threads, "train_graphs": data.batch_size,
            "on_policy_chunks": a.on_policy, "init": a.init, "init_distillation": earlier}

    def save(step: int, name: str) -> None:
        with ema.swapped(student_net):
            pipe.network = student_net
            _student_card(pipe, {**info, "steps": step, "seconds": round(time.perf_counter() - t0, 1),
                                 "date": _dt.date.today().isoformat()})
            pipe.save_pretrained(out / name)
        print(f"saved {out / name} at step {step}", flush=True)

    step = 0
    run = []
    while True:
        x0 = random_batch(data, a.batch_size, g)
        index = states = None
        if a.on_policy:  # the first on_policy chunks start from the student's own rollout (one rollout, shared)
            index = torch.randint(0, STEPS, (a.chunks,), generator=g).tolist()
            size = a.batch_size // a.chunks
            like = x0[:size]
            top = max(index[: a.on_policy])
            student_net.eval()
            traj = rollout_states(pipe.process, student, like, times[: top + 2], g)
            student_net.train()
            states = [traj[i] for i in index[: a.on_policy]] + [None] * (a.chunks - a.on_policy)
        res = ctmc_distill_loss(pipe.process, student, teacher, x0, times, chunks=a.chunks, edge_weight=pipe.edge_weight,
                                index=index, states=states, generator=g, corrector_steps=1)
        gn = optimizer_step(res.loss, opt, student_net, ema)
        step += 1
        run.append(float(res.loss.detach()))
        el = time.perf_counter() - t0
        if step % a.log_every == 0:
            rec = {"step": step, "loss": sum(run) / len(run), "grad_norm": gn, "seconds": round(el, 1),
                   **{f"kl_{k}": float(v) for k, v in res.terms.items()}}
            run = []
            log.write(json.dumps(rec) + "\n")
            log.flush()
            print(json.dumps(rec), flush=True)
        if el >= next_save:
            save(step, f"ckpt_{step:05d}")
            next_save += a.save_every * 60
        if el >= a.minutes * 60 or (a.max_steps and step >= a.max_steps):
            break
    save(step, "final")
    return 0


def _row_file(work: Path, label: str, n: int, seed: int) -> Path:
    return work / f"row_{label}_n{n}_s{seed}.json"


def evaluate(a: argparse.Namespace) -> int:
    import discrete_graphs

    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    if a.teacher:
        label = a.label or "teacher_pc12c1tp3"
        args = ["--load", a.load, "--sampler", "pc", "--steps", "12", "--time-power", "3",
                "--option", "predictor=\"ancestral\"", "--option", "corrector_steps=1"]
    else:
        label = a.label or Path(a.load).name
        args = ["--load", a.load, "--sampler", "ancestral", "--steps", str(a.steps), "--time-power", str(a.time_power)]
    md = _row_file(work, label, a.n, a.seed).with_suffix(".md")
    argv = ["--dataset", "qm9", *args, "--n", str(a.n), "--seed", str(a.seed), "--threads", "1", "--out", str(md)]
    if a.sort_sizes:
        argv.append("--sort-sizes")
    captured: dict = {}
    orig = discrete_graphs.evaluate_molecules

    def keep(*args_, **kw):
        values, res = orig(*args_, **kw)
        captured.update(values)
        return values, res

    discrete_graphs.evaluate_molecules = keep
    t0 = time.perf_counter()
    discrete_graphs.main(argv)
    text = md.read_text()
    ms = float(text.split(" ms per molecule")[0].rsplit("= ", 1)[1])
    calls = int(text.split(" network calls per molecule")[0].rsplit(", ", 1)[1])
    row = {"label": label, "load": a.load, "n": a.n, "seed": a.seed, "calls": calls, "ms_per_molecule": ms,
           "argv": argv, "values": captured, "seconds": round(time.perf_counter() - t0, 1),
           "date": utc_now()}
    _row_file(work, label, a.n, a.seed).write_text(json.dumps(row, indent=1))
    print(json.dumps(row))
    return 0


def speed(a: argparse.Namespace) -> int:
    """CPU ms per molecule of the default call (``pipe.sample(n, seed=0, batch_size=512, precision="auto")``,
    size-sorted batches, the card's sampler) of the student (12 ancestral calls) beside the teacher's
    (23 calls), same process, same sizes, interleaved after a warm-up; best and median of ``--repeats``."""
    import os
    import statistics

    from graphdiff.pipelines.discrete import DiscreteGraphDiffusion

    torch.set_num_threads(a.threads)
    rows = {"student (card: ancestral 12)": DiscreteGraphDiffusion.from_pretrained(a.load),
            "teacher (card: pc 12, corrector 1)": DiscreteGraphDiffusion.from_pretrained(a.teacher_model)}
    times: dict[str, list[float]] = {k: [] for k in rows}
    calls: dict[str, int] = {}
    for pipe in rows.values():
        pipe.sample(4, seed=9, batch_size=512, precision="auto")  # warm-up
    load0 = os.getloadavg()
    for _ in range(a.repeats):
        for k, pipe in rows.items():
            out = pipe.sample(a.n, seed=0, batch_size=512, precision="auto")
            times[k].append(1000 * out.seconds / a.n)
            calls[k] = out.nfe_per_graph
    res = {"threads": a.threads, "n": a.n, "repeats": a.repeats, "calls": calls,
           "ms_per_molecule_best": {k: round(min(v), 2) for k, v in times.items()},
           "ms_per_molecule_median": {k: round(statistics.median(v), 2) for k, v in times.items()},
           "loadavg_before_after": [load0, os.getloadavg()],
           "date": utc_now()}
    print(json.dumps(res))
    if a.work:
        Path(a.work, f"speed_t{a.threads}.json").write_text(json.dumps(res, indent=1))
    return 0


def report(a: argparse.Namespace) -> int:
    rows = [json.loads(p.read_text()) for p in sorted(Path(a.work).glob("row_*.json"))]
    print("| model / sampler | calls / molecule | samples | seed | validity w/o correction | single fragment | uniqueness | novelty "
          "| FCD | NSPDK | ms / molecule (loaded) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in sorted(rows, key=lambda r: (r["n"], r["seed"], r["label"])):
        v = r["values"]
        print(f"| `{r['label']}` | {r['calls']} | {r['n']:,} | {r['seed']} | {100 * v['validity_wo_correction']:.2f}% "
              f"| {100 * v['single_fragment']:.1f}% | {100 * v['uniqueness']:.2f}% | {v['novelty']:.3f} | {v['fcd']:.3f} "
              f"| {v['nspdk']:.4f} | {r['ms_per_molecule']:.1f} |")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="part", required=True)
    t = sub.add_parser("train")
    t.add_argument("--teacher", default=TEACHER)
    t.add_argument("--out", required=True)
    t.add_argument("--minutes", type=float, default=40.0)
    t.add_argument("--max-steps", type=int, default=0)
    t.add_argument("--save-every", type=float, default=10.0, help="minutes between EMA checkpoints")
    t.add_argument("--batch-size", type=int, default=128)
    t.add_argument("--chunks", type=int, default=4, help="grid intervals per batch")
    t.add_argument("--on-policy", type=int, default=0,
                   help="chunks per batch whose x_t comes from the student's own ancestral rollout (batch size divisible by chunks)")
    t.add_argument("--init", default=None, help="start from this student folder instead of the teacher's weights")
    t.add_argument("--lr", type=float, default=2e-4)
    t.add_argument("--ema-decay", type=float, default=0.999)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--log-every", type=int, default=25)
    e = sub.add_parser("eval")
    e.add_argument("--load", required=True)
    e.add_argument("--teacher", action="store_true", help="the teacher's 23-call pc row instead")
    e.add_argument("--label", default=None)
    e.add_argument("--steps", type=int, default=STEPS)
    e.add_argument("--time-power", type=float, default=TIME_POWER)
    e.add_argument("--n", type=int, default=1000)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--sort-sizes", action="store_true")
    e.add_argument("--work", required=True)
    s = sub.add_parser("speed")
    s.add_argument("--load", required=True)
    s.add_argument("--n", type=int, default=500)
    s.add_argument("--teacher-model", default=TEACHER)
    s.add_argument("--repeats", type=int, default=3)
    s.add_argument("--threads", type=int, default=1)
    s.add_argument("--work", default=None)
    r = sub.add_parser("report")
    r.add_argument("--work", required=True)
    a = p.parse_args(argv)
    return {"train": train, "eval": evaluate, "speed": speed, "report": report}[a.part](a)


if __name__ == "__main__":
    sys.exit(main())
