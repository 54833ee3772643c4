"""Knowledge-distil `qm9_ctmc` into a smaller network that makes the same 23 calls (issue #26).

The student (a :class:`~graphdiff.nn.denoiser.GraphTransformerDenoiser` with the teacher's config and
smaller sizes, fresh weights) is trained on QM9 training graphs noised by the forward process at
``t ~ U(0, 1)``, as in ordinary training, against the teacher's ``p(x0 | x_t)`` at the same point:
:func:`graphdiff.losses.ctmc_kd.ctmc_kd_loss` (KL, edges x5; ``--ce-weight`` mixes in the data
cross-entropy). AdamW, warm-up then cosine decay over the ``--minutes`` budget, EMA checkpoints every
``--save-every`` minutes, one thread, bfloat16 autocast where the CPU has it. The student keeps the
teacher's card sampler (pc, 12 steps, 1 corrector, time_power 3).

Parts::

    python benchmarks/ctmc_kd.py train --out W/kd --minutes 60 --save-every 12 --hidden 64 --edge-hidden 32 --depth 3
    python benchmarks/ctmc_kd.py eval --load W/kd/ckpt_01234 --n 1000 --seed 0 --work W/rows   # card sampler row
    python benchmarks/ctmc_kd.py speed --load W/kd/final --n 256 --rounds 3                    # ms / molecule
    python benchmarks/ctmc_kd.py report --work W/rows                                          # rows as a table

``eval`` is ``benchmarks/ctmc_distill.py eval --teacher`` (``benchmarks/discrete_graphs.py --dataset qm9
--load DIR --sampler pc --steps 12 --time-power 3 --option predictor="ancestral" --option
corrector_steps=1``: the few_call_qm9.md protocol) on any folder; ``report`` is its table.
"""

from __future__ import annotations

import argparse
import copy
import datetime as _dt
import json
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ctmc_distill  # noqa: E402
from _common import machine_line, utc_now  # noqa: E402

TEACHER = "qm9_ctmc"


def _n_params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def train(a: argparse.Namespace) -> int:
    from graphdiff.hardware import cpu_has_bf16
    from graphdiff.losses.ctmc_kd import ctmc_kd_loss
    from graphdiff.nn.denoiser import GraphTransformerDenoiser
    from graphdiff.pipelines.discrete import DiscreteGraphDiffusion
    from graphdiff.pipelines.pretrained import resolve
    from graphdiff.training.ema import EMA

    pipe, teacher_card, data, teacher_net, teacher = ctmc_distill.load_teacher(a)
    sizes = {"hidden": a.hidden, "edge_hidden": a.edge_hidden, "global_hidden": a.global_hidden or a.edge_hidden,
             "depth": a.depth, "heads": a.heads}
    if a.init:
        start = DiscreteGraphDiffusion.from_pretrained(a.init).network
        student_net = GraphTransformerDenoiser(**start.config)
        student_net.load_state_dict(start.state_dict())
    else:
        student_net = GraphTransformerDenoiser(**{**teacher_net.config, **sizes})
    student_net.train()
    student = pipe._denoiser(student_net)
    opt = torch.optim.AdamW(student_net.parameters(), lr=a.lr, weight_decay=0.0)
    ema = EMA(student_net, decay=a.ema_decay, warmup=a.ema_warmup)
    bf16 = a.bf16 == "on" or (a.bf16 == "auto" and cpu_has_bf16())
    g = torch.Generator().manual_seed(a.seed)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    log = open(out / "train_log.jsonl", "a")
    sha = json.loads((Path(resolve(a.teacher)) / "config.json").read_text()).get("sha256")
    info = {"teacher": a.teacher, "teacher_sha256": sha, "teacher_parameters": _n_params(teacher_net),
            "parameters": _n_params(student_net), "sizes": dict(student_net.config),
            "loss": "graphdiff.losses.ctmc_kd.ctmc_kd_loss (KL of the teacher's p(x0 | x_t) to the student's, "
                    "x_t from the forward process at t = u or u^t_power (fraction t_mix), u ~ U(0, 1), edges x5)",
            "ce_weight": a.ce_weight, "t_mix": a.t_mix, "t_power": a.t_power, "batch_size": a.batch_size, "lr": a.lr, "warmup_steps": a.warmup,
            "schedule": "linear warm-up, cosine to lr_min over the minutes budget", "lr_min": a.lr_min,
            "ema_decay": a.ema_decay, "ema_warmup": a.ema_warmup, "seed": a.seed, "threads": a.threads, "bf16": bf16,
            "train_graphs": data.batch_size, "minutes": a.minutes, "init": a.init, "device": "cpu"}
    print(json.dumps({"student_parameters": info["parameters"], "teacher_parameters": info["teacher_parameters"],
                      "bf16": bf16, "machine": machine_line(a.threads)}), flush=True)
    t0 = time.perf_counter()

    def save(step: int, name: str) -> None:
        card, net = pipe.card, pipe.network
        with ema.swapped(student_net):
            pipe.network = student_net
            pipe.card = copy.deepcopy(teacher_card)
            pipe.card.pop("metrics", None)
            pipe.card.pop("training", None)
            pipe.card["summary"] = (f"Discrete CTMC (marginal rates) graph transformer on QM9 ({info['parameters'] / 1e6:.2f}M "
                                    f"parameters), knowledge-distilled from the {info['teacher_parameters'] / 1e6:.2f}M-parameter "
                                    f"{a.teacher} on one CPU core")
            seconds = round(time.perf_counter() - t0, 1)
            pipe.card["training"] = {"steps": step, "batch_size": a.batch_size, "lr": a.lr, "ema_decay": a.ema_decay,
                                     "seed": a.seed, "train_graphs": data.batch_size, "seconds": seconds, "device": "cpu",
                                     "distilled_from": a.teacher}
            pipe.card["distillation"] = {**info, "steps": step, "seconds": seconds, "date": _dt.date.today().isoformat()}
            try:
                pipe.save_pretrained(out / name)
            finally:
                pipe.card, pipe.network = card, net
        print(f"saved {out / name} at step {step}", flush=True)

    budget = a.minutes * 60
    next_save = a.save_every * 60
    step, run = 0, []
    while True:
        el = time.perf_counter() - t0
        frac = min(el / budget, 1.0)
        lr = a.lr * min(1.0, (step + 1) / a.warmup) * (a.lr_min / a.lr + (1 - a.lr_min / a.lr) * 0.5 * (1 + math.cos(math.pi * frac)))
        for group in opt.param_groups:
            group["lr"] = lr
        x0 = ctmc_distill.random_batch(data, a.batch_size, g)
        t = None
        if a.t_mix > 0:  # a fraction t_mix of the batch at t = u^t_power (the sampler's grid density for t_power = its time_power)
            u = torch.rand(a.batch_size, generator=g)
            t = torch.where(torch.rand(a.batch_size, generator=g) < a.t_mix, u ** a.t_power, u)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            res = ctmc_kd_loss(pipe.process, student, teacher, x0, edge_weight=pipe.edge_weight, ce_weight=a.ce_weight,
                               t=t, generator=g)
        gn = ctmc_distill.optimizer_step(res.loss, opt, student_net, ema)
        step += 1
        run.append(float(res.loss.detach()))
        el = time.perf_counter() - t0
        if step % a.log_every == 0:
            rec = {"step": step, "loss": round(sum(run) / len(run), 5), "grad_norm": round(gn, 4), "lr": lr,
                   "seconds": round(el, 1), **{k: round(float(v.detach()), 5) for k, v in res.terms.items()}}
            run = []
            log.write(json.dumps(rec) + "\n")
            log.flush()
            print(json.dumps(rec), flush=True)
        if el >= next_save:
            save(step, f"ckpt_{step:05d}")
            next_save += a.save_every * 60
        if el >= budget or (a.max_steps and step >= a.max_steps):
            break
    save(step, "final")
    return 0


def evaluate(a: argparse.Namespace) -> int:
    """One row with the card sampler (``ctmc_distill.py eval --teacher``, which is that sampler on any folder)."""
    return ctmc_distill.evaluate(argparse.Namespace(load=a.load, teacher=True, label=a.label or Path(a.load).name,
                                                    steps=12, time_power=3.0, n=a.n, seed=a.seed, sort_sizes=False,
                                                    work=a.work))


def speed(a: argparse.Namespace) -> int:
    """CPU ms per molecule of the default call (``pipe.sample(n, seed=0, batch_size=512, precision="auto")``,
    size-sorted, each card's sampler, as ``benchmarks/default_call_speed.py``) of the student beside the
    teacher: one process, same sizes, interleaved for ``--rounds`` after a warm-up; best and median."""
    import os
    import statistics

    from graphdiff.pipelines.discrete import DiscreteGraphDiffusion

    torch.set_num_threads(a.threads)
    pipes = {"student": DiscreteGraphDiffusion.from_pretrained(a.load),
             "teacher": DiscreteGraphDiffusion.from_pretrained(a.teacher_model)}
    for pipe in pipes.values():
        pipe.sample(4, seed=9, batch_size=512, precision="auto")  # warm-up
    ms: dict[str, list[float]] = {k: [] for k in pipes}
    info: dict[str, dict] = {}
    load0 = os.getloadavg()
    for _ in range(a.rounds):
        for k, pipe in pipes.items():
            c0 = time.process_time()
            out = pipe.sample(a.n, seed=0, batch_size=512, precision="auto")
            ms[k].append(1000 * (time.process_time() - c0) / a.n)
            info[k] = {"calls": out.nfe_per_graph, "precision": out.info["precision"], "parameters": _n_params(pipe.network),
                       "valid_wo_correction": out.report.n_valid_without_correction / a.n}
            print(k, f"{ms[k][-1]:.2f} ms", flush=True)
    res = {"load": a.load, "teacher": a.teacher_model, "threads": a.threads, "n": a.n, "rounds": a.rounds, "info": info,
           "cpu_ms_per_molecule": {k: [round(x, 2) for x in v] for k, v in ms.items()},
           "median": {k: round(statistics.median(v), 2) for k, v in ms.items()},
           "best": {k: round(min(v), 2) for k, v in ms.items()},
           "loadavg_before_after": [load0, os.getloadavg()], "date": utc_now()}
    print(json.dumps(res))
    if a.work:
        Path(a.work).mkdir(parents=True, exist_ok=True)
        Path(a.work, f"speed_{Path(a.load).name}.json").write_text(json.dumps(res, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="part", required=True)
    t = sub.add_parser("train")
    t.add_argument("--teacher", default=TEACHER)
    t.add_argument("--out", required=True)
    t.add_argument("--init", default=None, help="train on from an earlier student folder (its sizes and weights)")
    t.add_argument("--hidden", type=int, default=64)
    t.add_argument("--edge-hidden", type=int, default=32)
    t.add_argument("--global-hidden", type=int, default=0, help="0: same as --edge-hidden")
    t.add_argument("--depth", type=int, default=3)
    t.add_argument("--heads", type=int, default=8)
    t.add_argument("--minutes", type=float, default=60.0)
    t.add_argument("--max-steps", type=int, default=0)
    t.add_argument("--save-every", type=float, default=12.0, help="minutes between EMA checkpoints")
    t.add_argument("--batch-size", type=int, default=256)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--lr-min", type=float, default=1e-4)
    t.add_argument("--warmup", type=int, default=200)
    t.add_argument("--ce-weight", type=float, default=0.0)
    t.add_argument("--t-mix", type=float, default=0.0, help="fraction of each batch at t = u^t_power instead of t = u")
    t.add_argument("--t-power", type=float, default=3.0)
    t.add_argument("--ema-decay", type=float, default=0.999)
    t.add_argument("--ema-warmup", action="store_true",
                   help="EMA warm-up (decay min(d, (1 + n) / (10 + n))): from fresh weights the plain EMA keeps 0.999^n of them")
    t.add_argument("--bf16", choices=["auto", "on", "off"], default="auto")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--log-every", type=int, default=25)
    e = sub.add_parser("eval")
    e.add_argument("--load", required=True)
    e.add_argument("--label", default=None)
    e.add_argument("--n", type=int, default=1000)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--work", required=True)
    s = sub.add_parser("speed")
    s.add_argument("--load", required=True)
    s.add_argument("--teacher-model", default=TEACHER)
    s.add_argument("--n", type=int, default=256)
    s.add_argument("--rounds", type=int, default=3)
    s.add_argument("--threads", type=int, default=1)
    s.add_argument("--work", default=None)
    r = sub.add_parser("report")
    r.add_argument("--work", required=True)
    a = p.parse_args(argv)
    return {"train": train, "eval": evaluate, "speed": speed, "report": ctmc_distill.report}[a.part](a)


if __name__ == "__main__":
    sys.exit(main())
