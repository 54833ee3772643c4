"""Training from a plain options dict (what ``graphdiff train --config run.yaml`` passes in).

Options (all keys but one data source optional; ``graphdiff train --smiles my.smi`` needs no file at
all: the atom types and charges are read from the data and every other key has a default)::

    dataset: qm9                # a registry name (see `graphdiff datasets`), or
    smiles_file: my.smi         # your own SMILES (.smi / .csv), or
    vocabulary: qm9             # optional with smiles_file: a preset or a list of atom tokens; default:
                                # the (element, charge) types found in the file
    graphs_file: graphs.json    # your own graphs (networkx node-link JSON list)
    family: discrete            # discrete (CTMC) or continuous (SDE)
    init_from: zinc250k         # optional: start from a pretrained model (bundled name or save_pretrained
                                # folder) instead of fresh weights: train on, or fine-tune on your own data;
                                # its network, process and atom types are kept (no network / process keys),
                                # except that a `condition` block adds a conditioning input (zero-initialised),
                                # or new entries to a conditional model's (its own entries keep their weights
                                # and standardisation; the new ones start at zero), and
                                # `network: {cond_film: true}` adds per-layer conditioning (zero-initialised)
    condition:                  # optional: a conditional model (classifier-free guidance)
      properties: [logp, qed, mw]   # molecules: RDKit properties (graphdiff.data.properties.PROPERTIES)
      columns: [my_prop]        # and / or numeric columns of `file` (default: the smiles_file CSV);
                                # generic graphs: numeric graph attributes (g.graph["my_prop"])
      labels: [label]           # generic graphs: class attributes (g.graph["label"] in 0..K-1)
      dropout: 0.1              # probability of training on the null condition
      entry_dropout: 0.1        # probability of dropping each other entry (any subset can be given)
      size_law: auto            # p(N | y): mlp (a small classifier), bins (joint quantile bins), or auto
                                # (mlp with a continuous entry and >= 2,000 training graphs, else bins)
    max_train: 20000            # optional: train on the first k training items
    network: {...}              # keyword arguments of the family's network
    process: {...}              # keyword arguments of the family's process
    train: {steps: 5000, batch_size: 256, lr: 2e-4, ema_decay: 0.999, seed: 0, checkpoint_every: 500,
            group_by_size: false,   # true: batches of similar-sized graphs (faster on wide size ranges)
            max_minutes: 90}        # optional wall-clock budget: stop (checkpointed) at the first step past it
    sampling: {steps: 50, sampler: ...}
    out: runs/my_model          # checkpoints in out/checkpoints, final model in out/model
    device: auto                # cuda when PyTorch sees a GPU, else cpu (or name one: cpu, cuda, cuda:1)
    progress: true              # tqdm bar on rank 0
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .base import PIPELINES, pipeline_class
from .budget import check_max_minutes

__all__ = ["train_from_options", "training_lineage", "start_new_stage", "TrainSummary", "FAMILIES", "read_config", "prepare_training"]

FAMILIES = PIPELINES  #: the pipeline families by name (:data:`graphdiff.pipelines.base.PIPELINES`)
_KNOWN = {"dataset", "smiles_file", "graphs_file", "family", "max_train", "network", "process", "train", "sampling",
          "out", "device", "vocabulary", "max_atoms", "summary", "progress", "init_from", "condition"}
_TRAIN_KEYS = {"steps", "batch_size", "lr", "ema_decay", "seed", "checkpoint_every", "warmup_steps", "lr_schedule",
               "grad_clip", "weight_decay", "log_every", "group_by_size", "bucket_batches", "max_minutes", "bf16",
               "cond_lr_scale"}


@dataclass
class TrainSummary:
    """What :func:`train_from_options` returns: where the model is, and the loss curve."""

    model_dir: Path
    steps: int
    final_loss: float
    seconds: float
    losses: list[float] = field(default_factory=list)
    planned_steps: int | None = None
    stopped_by: str | None = None
    notes: list[str] = field(default_factory=list)  #: molecules skipped while encoding, with the fix
    already_complete: bool = False  #: the run had finished before: nothing was trained

    def __str__(self) -> str:
        notes = "".join(f"note: {n}\n" for n in self.notes)
        if self.already_complete:
            return (f"{notes}already complete: {self.model_dir} holds the model trained for {self.steps} steps; nothing "
                    f"to do (raise --steps / train.steps to train on from the last checkpoint, or give another --out "
                    f"for a new run)")
        stopped = ""
        if self.stopped_by == "max_seconds":
            stopped = f", stopped by the max_minutes budget (planned {self.planned_steps})"
        elif self.stopped_by is not None:
            stopped = f", stopped by {self.stopped_by} (planned {self.planned_steps})"
        return (f"{notes}trained {self.steps} steps{stopped} in {self.seconds:.0f} s (final loss {self.final_loss:.4f}); "
                f"model saved to {self.model_dir} (load with graphdiff.load_pretrained({str(self.model_dir)!r}))")


def read_config(path: "str | os.PathLike") -> dict[str, Any]:
    """The options of a YAML config file (``configs/*.yaml``, ``graphdiff train --config``): the one
    place config files are parsed. A missing file raises ``FileNotFoundError``, bad YAML or a file
    that is not a mapping ``ValueError``; an empty file gives ``{}``."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"config file not found: {p}")
    try:
        cfg = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"config file {p} is not valid YAML: {exc}") from exc
    if cfg is None:
        return {}
    if not isinstance(cfg, dict):
        raise ValueError(f"config file {p} must hold a mapping of option: value, got {type(cfg).__name__}")
    return cfg


def prepare_training(options: "dict[str, Any] | str | os.PathLike") -> tuple[Any, Any, dict[str, Any]]:
    """What a training config describes, for callers that run ``fit`` themselves (benchmarks):
    ``(pipeline, training GraphState, keyword arguments of pipe.fit)`` from an options dict or a
    config file (:func:`read_config`). The ``fit`` arguments are the config's ``train:`` block,
    checked (default ``steps`` 1000); :func:`train_from_options` does the rest of a run (output
    folder, checkpoints, processes, the card)."""
    if not isinstance(options, dict):
        options = read_config(options)
    pipe, state = _prepare(options)
    kw = _train_kwargs(options)
    _cond_lr_scale(pipe, kw)
    return pipe, state, kw


def _prepare(options: dict[str, Any]):
    """Data (train GraphState, vocabulary, dataset name) and the pipeline described by ``options``."""
    pipe, state, _ = _prepare_conditional(options)
    return pipe, state


def _prepare_conditional(options: dict[str, Any], notes: list[str] | None = None):
    """:func:`_prepare` plus the standardised training condition ``Y`` ``(B, k)`` of a ``condition``
    block (``None`` without one). Molecules skipped while encoding are described in ``notes``."""
    unknown = set(options) - _KNOWN
    if unknown:
        raise ValueError(f"unknown option(s) {sorted(unknown)}; valid options: {sorted(_KNOWN)}")
    family = options.get("family", "discrete")
    FAMILIES.canonical(family)  # an unknown name: the standard error
    sources = [k for k in ("dataset", "smiles_file", "graphs_file") if options.get(k)]
    if len(sources) != 1:
        raise ValueError("give exactly one data source: dataset, smiles_file or graphs_file")
    max_train = options.get("max_train")
    vocabulary = None
    notes = [] if notes is None else notes  # counted skips, told to the user with the fix
    kept_smiles: list[str] | None = None  # the training molecules in state order (for conditions)
    kept_graphs: list | None = None  # the generic training graphs in state order (for conditions)
    from ..data import load, molecules

    init = _initial_model(options, family)
    if options.get("dataset"):
        name = options["dataset"]
        ds = load(name)
        if hasattr(ds, "smiles"):
            vocabulary = ds.vocabulary
            if init is not None and init.vocabulary != vocabulary:
                raise ValueError(f"init_from {options['init_from']!r} has atom types {_atoms(init.vocabulary)}, "
                                 f"dataset {name!r} has {_atoms(vocabulary)}: the model cannot encode this data")
            idx = None if max_train is None else range(min(int(max_train), len(ds.smiles("train"))))
            enc = ds.encode("train", indices=idx)
            state = enc.state
            all_smiles = ds.smiles("train")
            kept_smiles = [all_smiles[(idx[i] if idx is not None else i)] for i in enc.indices]
        else:
            graphs = ds.split("train")[: max_train or None]
            from ..states import GraphState

            state = GraphState.from_networkx(graphs)
            kept_graphs = graphs
    elif options.get("smiles_file"):
        from ..data import read_smiles_file

        name = Path(options["smiles_file"]).stem
        smiles = read_smiles_file(options["smiles_file"])[: max_train or None]
        explicit = options.get("vocabulary")
        if explicit is None:  # the (element, charge) types found in the data, as graphdiff.data.from_smiles does
            try:
                vocabulary = molecules.AtomVocabulary.from_smiles(smiles, name=name)
            except ValueError:  # not one parsable molecule
                raise ValueError(f"{options['smiles_file']}: none of its {len(smiles)} rows is a SMILES RDKit can "
                                 "parse; give a .smi (one SMILES per line) or a .csv with a smiles column") from None
        elif isinstance(explicit, str):
            vocabulary = molecules.AtomVocabulary.from_name(explicit)
        else:
            vocabulary = molecules.AtomVocabulary(list(explicit), name=name)
        if init is not None:
            if init.vocabulary is None or (explicit is not None and init.vocabulary != vocabulary):
                raise ValueError(f"init_from {options['init_from']!r} has atom types {_atoms(init.vocabulary)}; "
                                 f"smiles_file needs a molecule model (and no different `vocabulary:`)")
            vocabulary = init.vocabulary  # encode the SMILES with the model's atom types
        enc = molecules.smiles_to_state(smiles, vocabulary, max_atoms=options.get("max_atoms"), on_unknown="skip",
                                        warn=False)
        notes.extend(_encoding_notes(enc, vocabulary, options))
        if not enc.indices:
            raise ValueError(f"none of the {len(smiles)} molecules of {options['smiles_file']} can be encoded: "
                             + " ".join(notes))
        state = enc.state
        kept_smiles = [smiles[i] for i in enc.indices]
    else:
        from ..data.custom import read_graphs_file
        from ..states import GraphState

        path = Path(options["graphs_file"])
        if not path.exists():
            raise FileNotFoundError(f"graphs_file not found: {path}")
        name = path.stem
        graphs = read_graphs_file(path)[: max_train or None]
        state = GraphState.from_networkx(graphs)
        kept_graphs = graphs
    if init is not None:
        if vocabulary is None and init.vocabulary is not None:
            raise ValueError(f"init_from {options['init_from']!r} is a molecule model ({_atoms(init.vocabulary)}); "
                             f"{name!r} holds generic graphs")
        from ..states import NodeCountDistribution

        pipe = init
        start_new_stage(pipe, str(options["init_from"]))
        old_summary = pipe.card.get("summary")
        pipe.card["summary"] = (f"{pipe.family} model trained on {name}, starting from {options['init_from']}"
                                + (f" ({old_summary})" if old_summary else ""))
        pipe.dataset = name
        pipe.node_counts = NodeCountDistribution.fit(state)  # sample sizes like the data trained on
    else:
        cls = pipeline_class(family)
        try:
            pipe = cls.create(train_state=state, vocabulary=vocabulary, dataset=name,
                              network=dict(options.get("network") or {}), process=dict(options.get("process") or {}))
        except RuntimeError as exc:  # torch refusing the sizes, e.g. a negative width
            raise ValueError(f"the network / process options cannot build a model: {exc}") from exc
    if options.get("sampling"):
        pipe.card["sampling"] = dict(options["sampling"])
    if options.get("summary"):
        pipe.card["summary"] = options["summary"]
    y = None
    if options.get("condition"):
        y = _add_condition(pipe, dict(options["condition"]), state, kept_smiles, options, kept_graphs)
    elif pipe.card.get("condition"):  # without values only the null condition would be trained
        names = [e["name"] for e in pipe.card["condition"]["entries"]]
        raise ValueError(f"init_from {options['init_from']!r} is conditioned on {', '.join(names)}: give the "
                         f"`condition:` block it was trained with (e.g. properties: {names}) to train on")
    return pipe, state, y


def _add_condition(pipe: Any, cond: dict[str, Any], state: Any, smiles: list[str] | None, options: dict[str, Any],
                   graphs: list | None = None):
    """Make ``pipe`` conditional on the ``condition`` block; the standardised ``Y`` of ``state``."""
    from ..guidance import ConditionSpec
    from ..guidance.training import attach_condition, extend_condition, training_condition_values

    if cond.get("columns") and not cond.get("file") and options.get("smiles_file"):
        cond["file"] = options["smiles_file"]
    names, kinds, values = training_condition_values(cond, smiles, progress=bool(options.get("progress", True)),
                                                     graphs=graphs)
    spec = ConditionSpec.from_data(names, values, kinds=kinds, dropout=float(cond.get("dropout", 0.1)),
                                   entry_dropout=float(cond.get("entry_dropout", 0.1)))
    if options.get("init_from"):
        extend_condition(pipe, spec)
    return attach_condition(pipe, spec, values, state, size_law=str(cond.get("size_law", "auto")))


def _encoding_notes(enc: Any, vocabulary: Any, options: dict[str, Any]) -> list[str]:
    """One line per kind of molecule ``smiles_to_state`` skipped: how many, which atoms, and the fix."""
    notes = []
    if enc.n_invalid_smiles:
        notes.append(f"skipped {enc.n_invalid_smiles} of {enc.n_input} rows that RDKit cannot parse as SMILES")
    if enc.n_unknown_atoms:
        atoms = ", ".join(f"{tok} ({n} molecule{'s' * (n != 1)})" for tok, n in sorted(enc.unknown_atoms.items()))
        if options.get("init_from"):
            fix = (f"the model {options['init_from']!r} knows only {_atoms(vocabulary)}: train from scratch (no "
                   "init_from) to take the atom types from your data, or remove these molecules")
        else:
            fix = ("remove the `vocabulary:` option so the atom types are read from your data, or give a vocabulary "
                   "that includes these atoms")
        notes.append(f"skipped {enc.n_unknown_atoms} of {enc.n_input} molecules with atoms the model cannot encode: "
                     f"{atoms}; {fix}")
    return notes


def start_new_stage(pipe: Any, source: str) -> None:
    """Make ``pipe``'s card ready for training on from its current weights (loaded from ``source``):
    its training record moves to ``card["init_from"]`` (``model``, ``dataset``, ``steps``,
    ``seconds``, and the parent's own ``init_from`` nested, so every stage is kept), and its metrics
    are dropped (they describe the old weights). ``fit`` then records the new stage's training."""
    parent = {"model": source, "dataset": pipe.dataset,
              **{k: pipe.card.get("training", {}).get(k) for k in ("steps", "seconds")}}
    if pipe.card.get("init_from"):
        parent["init_from"] = pipe.card["init_from"]  # the whole chain of stages, newest first
    pipe.card["init_from"] = parent
    pipe.card.pop("training", None)
    pipe.card.pop("metrics", None)


def training_lineage(card: dict) -> list[dict]:
    """The models a card's model was trained on from (``init_from``, nested for several stages), oldest
    first: each ``{"model", "dataset", "steps", "seconds"}``. Empty for a model trained from scratch."""
    stages: list[dict] = []
    node = card.get("init_from")
    while node:
        stages.append({k: v for k, v in node.items() if k != "init_from"})
        node = node.get("init_from")
    return stages[::-1]


def _atoms(vocabulary: Any) -> str:
    return "none (generic graphs)" if vocabulary is None else "/".join(vocabulary.tokens)


def _initial_model(options: dict[str, Any], family: str):
    """The pipeline named by ``init_from`` (bundled name or folder), checked against the options; or None."""
    if not options.get("init_from"):
        return None
    network = dict(options.get("network") or {})
    film = network.pop("cond_film", None)  # the one network option that only adds zero-init conditioning weights
    fixed = [k for k, v in (("network", network), ("process", options.get("process"))) if v]
    if fixed:
        raise ValueError(f"init_from keeps the saved model's network and process: remove the {' and '.join(fixed)} "
                         f"key(s) from the options (of the network only `cond_film` may be given)")
    from .pretrained import load_pretrained

    pipe = load_pretrained(str(options["init_from"]))
    if pipe.family != family:
        raise ValueError(f"init_from {options['init_from']!r} is a {pipe.family} model; the options say family: "
                         f"{family} (set family: {pipe.family})")
    if film is not None:
        from ..guidance.training import set_cond_film

        set_cond_film(pipe, bool(film))
    return pipe


def _train_kwargs(options: dict[str, Any]) -> dict[str, Any]:
    train = dict(options.get("train") or {})
    bad = set(train) - _TRAIN_KEYS
    if bad:
        raise ValueError(f"unknown train option(s) {sorted(bad)}; valid: {sorted(_TRAIN_KEYS)}")
    train.setdefault("steps", 1000)
    if train.get("cond_lr_scale") is not None:  # checked before the data are read
        from ..guidance.training import check_cond_lr_scale

        check_cond_lr_scale(train["cond_lr_scale"], conditional=bool(options.get("condition")))
    if train.get("max_minutes") is not None:
        check_max_minutes(train["max_minutes"], "train.max_minutes")
    if options.get("condition") is not None:  # also checked before the data are read
        from ..guidance.training import check_condition_options

        check_condition_options(options["condition"])
    return train


def _cond_lr_scale(pipe: Any, kw: dict[str, Any]) -> float | None:
    """``train.cond_lr_scale`` (popped from ``kw``) as the trainer's ``lr_scales``; the scale."""
    scale = kw.pop("cond_lr_scale", None)
    if scale is not None:
        from ..guidance.training import conditioning_lr_scales

        kw["lr_scales"] = conditioning_lr_scales(pipe.network, scale)
    return scale


def threads_per_process(nproc: int, *, cpus: int | None = None, environ: dict[str, str] | None = None) -> int | None:
    """Torch threads for each of ``nproc`` training processes: the machine's CPUs shared out
    (``cpus // nproc``, at least 1) so that ``--nproc 2`` on two cores runs two threads, not four
    fighting over two cores. ``None`` (leave torch's setting) for one process, or when the user
    chose with ``OMP_NUM_THREADS``."""
    environ = os.environ if environ is None else environ
    if nproc <= 1 or environ.get("OMP_NUM_THREADS"):
        return None
    if cpus is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cpus // nproc)


def _worker(rank: int, options: dict[str, Any], nproc: int = 1) -> TrainSummary | None:
    threads = threads_per_process(nproc)
    if threads is not None:
        torch.set_num_threads(threads)
    kw = _train_kwargs(options)
    torch.manual_seed(int(kw.get("seed", 0)))  # the same initial weights on every rank and every run
    notes: list[str] = []
    pipe, state, y = _prepare_conditional(options, notes)
    if rank == 0:
        for note in notes:
            warnings.warn(note, stacklevel=2)
    if options.get("sampling"):  # the sampling block must work on this model before a step is taken
        from .streaming import dry_run

        sampling = pipe.card.get("sampling", {})
        dry_run(pipe, steps=sampling.get("steps"), sampler=sampling.get("sampler") or pipe.default_sampler, options={})
    out = Path(options.get("out", "runs/model"))
    cond_lr_scale = _cond_lr_scale(pipe, kw)
    result = pipe.fit(state, device=options.get("device", "auto"), checkpoint_dir=out / "checkpoints",
                      progress=rank == 0 and bool(options.get("progress", True)), condition=y, **kw)
    if rank != 0:
        return None
    if cond_lr_scale is not None:
        pipe.card["training"]["cond_lr_scale"] = float(cond_lr_scale)
    model_dir = pipe.save_pretrained(out / "model")
    return TrainSummary(model_dir, result.final_step, result.losses[-1] if result.losses else float("nan"),
                        result.wall_time, list(result.losses), planned_steps=int(kw["steps"]),
                        stopped_by=result.stopped_by, notes=notes)


def _finished_run(options: dict[str, Any]) -> TrainSummary | None:
    """The summary of a run in ``options["out"]`` that already reached its planned steps (its last
    checkpoint at ``train.steps`` and the model saved), or ``None`` when there is work to do."""
    from ..training.checkpoint import checkpoint_exists, read_checkpoint_record

    out = Path(options.get("out", "runs/model"))
    planned = int(_train_kwargs(options)["steps"])
    if not (checkpoint_exists(out / "checkpoints") and (out / "model" / "config.json").is_file()):
        return None
    step = int(read_checkpoint_record(out / "checkpoints").get("step", -1))
    if step < planned:
        return None
    import json

    card = json.loads((out / "model" / "config.json").read_text()).get("card", {})
    source = options.get("dataset") or Path(str(options.get("smiles_file") or options.get("graphs_file") or "")).stem
    parent = (card.get("init_from") or {}).get("model")
    if (card.get("dataset"), card.get("family"), parent) != (source, options.get("family", "discrete"),
                                                              options.get("init_from")):
        return None  # another run's folder: train (and let the checks and the resume warnings speak)
    training = card.get("training", {})
    return TrainSummary(out / "model", step, float("nan"), float(training.get("seconds", 0.0)), planned_steps=planned,
                        already_complete=True)


def _torchrun_worker(options: dict[str, Any], nproc: int) -> TrainSummary | None:
    """One rank of a ``torchrun --nnodes N --nproc-per-node K -m graphdiff train ...`` run: join the
    process group torchrun describes (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``; nccl on GPUs, gloo
    on CPUs) and train; rank 0 saves the model and returns the summary, the others ``None``."""
    import torch.distributed as dist

    from ..training.distributed import init_distributed

    if nproc != 1:
        raise ValueError("under torchrun the processes are torchrun's (--nproc-per-node); leave out --nproc")
    from .checks import resolve_device

    device = resolve_device(options.get("device", "auto"))
    info = init_distributed(device=device)
    try:
        return _worker(info.rank, {**options, "device": str(info.device)}, 1)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def train_from_options(options: dict[str, Any], *, nproc: int = 1) -> TrainSummary | None:
    """Train the model described by ``options`` (see module docstring); with ``nproc > 1`` the same
    run uses DistributedDataParallel over ``nproc`` CPU processes (gloo; global batch = sum of the
    per-rank batches). Resumes from ``out/checkpoints`` when present. Started by ``torchrun``
    (``WORLD_SIZE`` > 1 in the environment) each process is one rank of torchrun's group, and
    only rank 0 gets the summary (the others ``None``)."""
    from .checks import check_training_options

    check_training_options(options, nproc=nproc)  # every block, before data, spawning or a step
    done = _finished_run(options)
    if done is not None:
        return done
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # started by torchrun: this process is one rank
        return _torchrun_worker(options, nproc)
    if nproc == 1:
        res = _worker(0, options)
        assert res is not None
        return res
    from ..training.distributed import launch

    results = launch(_worker, nproc, options, nproc)
    res = results[0]
    assert res is not None
    return res
