"""User-facing models: a network + a process + the graph-size distribution (+ an atom vocabulary for
molecules), with ``fit``, ``sample``, ``save_pretrained`` and ``from_pretrained``.

A family (continuous SDE, discrete CTMC) subclasses :class:`GraphDiffusionPipeline` and implements
four small methods: ``loss`` (one training batch), ``sample_batch`` (one batch of states for a given
node mask), ``process_config`` (JSON of its process) and ``_build`` (network + process from a card).
Everything else — batching, seeds, node counts, molecule decoding, checkpoints — lives here once.
"""

from __future__ import annotations

import importlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

import torch
from torch import Tensor, nn

from ..errors import CheckpointError, unknown_name
from ..states import GraphState, NodeCountDistribution

__all__ = ["GraphDiffusionPipeline", "GraphSamples", "MoleculeSamples", "register_pipeline", "pipeline_class", "PRECISIONS"]

#: Network precision while sampling: ``"float32"`` (exact, the default) or ``"bfloat16"`` (the
#: network runs under ``torch.autocast``; the sampler's state, positional features and the
#: posterior / solver arithmetic stay in float32). bfloat16 was 1.5-1.8x faster on this project's
#: AVX512-BF16 CPU for the bundled QM9 models with validity unchanged (BENCHMARKS.md, sampling
#: speed); GPUs gain too; on CPUs without bf16 instructions it is emulated and slower.
PRECISIONS = ("float32", "bfloat16")


def upcast(t: Tensor) -> Tensor:
    """A network output in float32 when autocast made it bfloat16 / float16 (samplers and losses
    do their arithmetic in at least float32); other dtypes pass through."""
    return t.float() if t.dtype in (torch.bfloat16, torch.float16) else t


def _autocast(device: torch.device, precision: str):
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=precision == "bfloat16")

# card["pipeline"] -> "module:Class"; families register themselves here
_PIPELINES: dict[str, str] = {
    "ContinuousGraphDiffusion": "graphdiff.pipelines.continuous:ContinuousGraphDiffusion",
    "DiscreteGraphDiffusion": "graphdiff.pipelines.discrete:DiscreteGraphDiffusion",
}


def register_pipeline(name: str, target: str) -> None:
    """Register a pipeline class (``"module:Class"``) so :meth:`GraphDiffusionPipeline.from_pretrained` finds it."""
    _PIPELINES[name] = target


def pipeline_class(name: str) -> type["GraphDiffusionPipeline"]:
    if name not in _PIPELINES:
        raise unknown_name("pipeline", name, list(_PIPELINES))
    mod, cls = _PIPELINES[name].split(":")
    return getattr(importlib.import_module(mod), cls)


# ----------------------------------------------------------------------------- results
@dataclass
class GraphSamples:
    """Generated graphs: the dense :class:`GraphState` plus timings. ``nfe`` counts every network
    call of the run (summed over batches and processes); ``nfe_per_graph`` the calls each graph went
    through (its batch's count; the most over batches, which all make the same number except with
    the adaptive ``rk45``)."""

    state: GraphState
    nfe: int = 0
    seconds: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)
    nfe_per_graph: int = 0

    def __len__(self) -> int:
        return self.state.batch_size

    @property
    def graphs(self) -> list:
        """The samples as networkx graphs (nodes 0..n-1)."""
        return self.state.to_networkx()

    def summary(self) -> str:
        n = len(self)
        per = 1000 * self.seconds / max(n, 1)
        return f"{n} graphs, {self._calls()}, {self.seconds:.1f} s ({per:.2f} ms per graph)"

    def _calls(self) -> str:
        if not self.nfe_per_graph:  # made by hand, without the per-graph count
            return f"{self.nfe} network calls"
        if self.nfe_per_graph != self.nfe:
            return f"{self.nfe_per_graph} network calls per graph ({self.nfe} in all, over batches)"
        return f"{self.nfe} network calls per graph"

    def save(self, path: str | Path) -> Path:
        """Write a JSON list of networkx node-link dicts (``.json``)."""
        import networkx as nx

        p = Path(path)
        data = [nx.node_link_data(g, edges="links") for g in self.graphs]
        p.write_text(json.dumps(data))
        return p


@dataclass
class MoleculeSamples(GraphSamples):
    """Generated molecules. ``molecules[i]`` is an RDKit ``Mol`` or ``None`` (invalid, reported in
    :attr:`report`); :attr:`smiles` holds canonical SMILES (``None`` for invalid ones)."""

    molecules: list = field(default_factory=list)
    smiles: list = field(default_factory=list)
    report: Any = None

    def __getitem__(self, i: int) -> Any:
        return self.molecules[i]

    def __iter__(self):
        return iter(self.molecules)

    @property
    def valid_smiles(self) -> list[str]:
        return [s for s in self.smiles if s is not None]

    def summary(self) -> str:
        n = len(self)
        valid = len(self.valid_smiles)
        per = 1000 * self.seconds / max(n, 1)
        return (f"{n} molecules, {valid} valid ({100 * valid / max(n, 1):.1f}%), {self._calls()}, "
                f"{self.seconds:.1f} s ({per:.2f} ms per molecule)")

    def save(self, path: str | Path) -> Path:
        """Write one SMILES per line; invalid samples are written as ``INVALID`` so line i is sample i."""
        p = Path(path)
        p.write_text("\n".join(s if s is not None else "INVALID" for s in self.smiles) + "\n")
        return p


# ----------------------------------------------------------------------------- pipeline
class GraphDiffusionPipeline:
    """Base class of graphdiff's generative models (see module docstring)."""

    family: ClassVar[str] = "abstract"
    default_steps: ClassVar[int] = 50
    default_sampler: ClassVar[str] = ""

    def __init__(
        self,
        network: nn.Module,
        *,
        node_counts: NodeCountDistribution,
        vocabulary: Any | None = None,
        dataset: str | None = None,
        card: dict[str, Any] | None = None,
    ) -> None:
        self.network = network
        self.node_counts = node_counts
        self.vocabulary = vocabulary
        self.dataset = dataset
        self.card: dict[str, Any] = dict(card or {})
        self.device = torch.device("cpu")

    # ------------------------------------------------------------------ to implement
    def loss(self, network: nn.Module, batch: GraphState, generator: torch.Generator | None = None) -> Tensor | dict:
        """Training loss of one batch (``network`` may be a DDP wrapper of :attr:`network`)."""
        raise NotImplementedError

    def sample_batch(self, node_mask: Tensor, *, steps: int, sampler: str, generator: torch.Generator,
                     progress: bool = False, options: Mapping[str, Any] | None = None) -> tuple[GraphState, int]:
        """Sample one batch of graphs with the given node mask; returns ``(state, nfe)``. The state
        has categorical ``X`` (B, N) and ``A`` (B, N, N) long for molecule models. ``options``
        override the card's sampler options."""
        raise NotImplementedError

    def sampler_options(self, sampler: str) -> dict[str, Any]:
        """Extra keyword arguments of a sampler from ``card["sampling"]["options"][name]``
        (e.g. ``{"pc": {"snr": 0.2}}`` or ``{"tau_leaping": {"jump": "exponential"}}``)."""
        return dict(self.card.get("sampling", {}).get("options", {}).get(sampler, {}))

    def process_config(self) -> dict[str, Any]:
        """JSON-able description of the process (for the card)."""
        raise NotImplementedError

    @classmethod
    def create(cls, *, train_state: GraphState, vocabulary: Any | None = None, dataset: str | None = None,
               network: dict[str, Any] | None = None, process: dict[str, Any] | None = None) -> "GraphDiffusionPipeline":
        """A new, untrained pipeline sized for ``train_state`` (node counts, feature sizes and class
        frequencies are read from it); ``network`` / ``process`` are keyword arguments of the family's
        network and process."""
        raise NotImplementedError

    @classmethod
    def _build(cls, card: dict[str, Any]) -> "GraphDiffusionPipeline":
        """A pipeline with freshly initialised weights from a card (inverse of :meth:`to_card`)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ devices
    def to(self, device: str | torch.device) -> "GraphDiffusionPipeline":
        self.device = torch.device(device)
        self.network.to(self.device)
        return self

    # ------------------------------------------------------------------ sampling
    def sample(
        self,
        n: int,
        *,
        steps: int | None = None,
        sampler: str | None = None,
        seed: int = 0,
        batch_size: int = 512,
        device: str | torch.device | None = None,
        progress: bool = False,
        nproc: int = 1,
        num_nodes: Sequence[int] | Tensor | None = None,
        precision: str = "float32",
        sampler_options: Mapping[str, Any] | None = None,
        sort_sizes: bool = False,
        nfe: int | None = None,
    ) -> GraphSamples:
        """Generate ``n`` graphs (molecules for molecule models).

        ``steps`` counts sampler steps; a step may call the network more than once (a predictor-
        corrector step with 2 corrector steps calls it 3 times). ``nfe`` instead sets a budget of
        network calls per graph: the most steps whose calls fit in it (:meth:`steps_for_nfe`).

        Graph sizes are drawn from :attr:`node_counts` (or given by ``num_nodes``). Sampling is
        seeded: the same ``seed``, ``steps``, ``sampler``, ``precision`` and options give the same
        samples. ``precision="bfloat16"`` runs the network in bfloat16 (see :data:`PRECISIONS`).
        ``sampler_options`` override the card's options of this sampler (``sampler_options(name)``),
        e.g. ``{"temperature": 0.8}`` for the continuous family's low-temperature prior or
        ``{"snr": 0.2}`` for its ``pc`` sampler.

        ``sort_sizes=True`` samples the drawn sizes in increasing order, so each batch is padded
        only to similar sizes (several-fold faster on sets with a wide size range, e.g. ENZYMES);
        the graphs come back in draw order (graph ``i`` has the ``i``-th drawn size), but each sees
        different noise than without sorting, so the samples differ from an unsorted run."""
        from .checks import check_sample_args, check_sampler_options

        num_nodes = check_sample_args(n=n, steps=steps, nfe=nfe, batch_size=batch_size, nproc=nproc, num_nodes=num_nodes,
                                      max_nodes=self.node_counts.max_nodes)
        n = int(n)
        if precision not in PRECISIONS:
            raise unknown_name("precision", precision, PRECISIONS)
        sampler = sampler or self.card.get("sampling", {}).get("sampler") or self.default_sampler
        options = {**self.sampler_options(sampler), **dict(sampler_options or {})}  # what this call uses
        check_sampler_options(options)
        if device is not None:
            self.to(device)
        if nfe is not None:
            if steps is not None:
                raise ValueError("give steps or nfe (a budget of network calls), not both")
            steps = self.steps_for_nfe(nfe, sampler=sampler, sampler_options=sampler_options)
        steps = int(steps or self.card.get("sampling", {}).get("steps") or self.default_steps)
        if num_nodes is None:
            sizes = self.node_counts.sample(n, generator=torch.Generator().manual_seed(seed))
        else:
            sizes = num_nodes
        if nproc > 1:
            return self._sample_distributed(sizes, steps=steps, sampler=sampler, seed=seed, batch_size=batch_size, nproc=nproc,
                                            precision=precision, sampler_options=options, sort_sizes=sort_sizes,
                                            progress=progress)
        self.network.eval()
        t0 = time.perf_counter()
        gdev = torch.Generator(device=self.device).manual_seed(seed + 1)
        bar = _progress(n, progress, f"sampling ({sampler}, {steps} steps)")
        with torch.no_grad(), _autocast(self.device, precision):
            calls: list[int] = []
            state, total_calls = sample_by_size(
                lambda mask: self.sample_batch(mask.to(self.device), steps=steps, sampler=sampler, generator=gdev, options=options),
                sizes, batch_size, sort_sizes=sort_sizes, bar=bar, batch_calls=calls)
        if bar is not None:
            bar.close()
        seconds = time.perf_counter() - t0
        info = {"steps": steps, "sampler": sampler, "seed": seed, "precision": precision, "options": options}
        if sort_sizes:
            info["sort_sizes"] = True
        return self._wrap(state, nfe=total_calls, seconds=seconds, info=info, nfe_per_graph=max(calls, default=0))

    def steps_for_nfe(self, nfe: int, *, sampler: str | None = None,
                      sampler_options: Mapping[str, Any] | None = None) -> int:
        """The most steps of ``sampler`` (default: the card's) whose network calls per graph fit in
        ``nfe``. Counted exactly, by dry runs of the sampler on one single-node graph (a fraction of a
        second), so it holds for every sampler and option: e.g. 100 calls of predictor-corrector with
        2 corrector steps is 34 steps (33 x 3 + a last step without corrector). Raises ``ValueError``
        for samplers that choose their own steps (the adaptive ``rk45``) and for budgets below one
        step."""
        nfe = int(nfe)
        if nfe < 1:
            raise ValueError(f"nfe must be >= 1, got {nfe}")
        sampler = sampler or self.card.get("sampling", {}).get("sampler") or self.default_sampler
        options = {**self.sampler_options(sampler), **dict(sampler_options or {})}
        mask = torch.ones(1, 1, dtype=torch.bool, device=self.device)
        was_training = self.network.training
        self.network.eval()

        def calls(steps: int) -> int:
            g = torch.Generator(device=self.device).manual_seed(0)
            return int(self.sample_batch(mask, steps=steps, sampler=sampler, generator=g, options=options)[1])

        try:
            with torch.no_grad():
                c1, c2, c3 = calls(1), calls(2), calls(3)
                per_step, offset = c3 - c2, c2 - 2 * (c3 - c2)
                if per_step <= 0:
                    raise ValueError(f"sampler {sampler!r} chooses its own number of steps; nfe cannot set it "
                                     f"(give steps, or pick another sampler)")
                if nfe < c1:
                    raise ValueError(f"nfe={nfe} is below one step of sampler {sampler!r} ({c1} network calls)")
                steps = max(1, (nfe - offset) // per_step)
                if c2 - c1 != per_step:  # not linear in steps (none of ours): count the calls down from the estimate
                    while steps > 1 and calls(steps) > nfe:
                        steps -= 1
        finally:
            self.network.train(was_training)
        return int(steps)

    def _wrap(self, state: GraphState, *, nfe: int, seconds: float, info: dict, nfe_per_graph: int = 0) -> GraphSamples:
        if self.vocabulary is None:
            return GraphSamples(state, nfe=nfe, seconds=seconds, info=info, nfe_per_graph=nfe_per_graph)
        from ..data.molecules import decode_molecules

        protocol = self.card.get("sampling", {}).get("decode", "gdss")
        report = decode_molecules(state, self.vocabulary, protocol=protocol)
        mols = [d.mol for d in report.results]
        smiles = [d.smiles if d.mol is not None else None for d in report.results]
        return MoleculeSamples(state, nfe=nfe, seconds=seconds, info=info, molecules=mols, smiles=smiles, report=report,
                               nfe_per_graph=nfe_per_graph)

    def _sample_distributed(self, sizes: Tensor, *, steps: int, sampler: str, seed: int, batch_size: int, nproc: int,
                            precision: str = "float32", sampler_options: Mapping[str, Any] | None = None,
                            sort_sizes: bool = False, progress: bool = False) -> GraphSamples:
        """Shard graphs of the given ``sizes`` (drawn from ``seed`` or the caller's ``num_nodes``) over
        ``nproc`` CPU processes (gloo); each rank samples its contiguous share with its own seed
        stream, and the results are gathered in rank order, so a run is reproducible for a given
        ``(seed, nproc)``. ``sampler_options`` are the card's options already merged with the caller's.
        ``progress`` shows rank 0's bar (the shares are equal, so it tracks the whole run)."""
        from ..training.distributed import launch

        chunks = torch.tensor_split(torch.arange(sizes.numel()), nproc)
        t0 = time.perf_counter()
        parts = launch(_sample_shard, nproc, self.to_card(), {k: v.cpu() for k, v in self.network.state_dict().items()},
                       sizes, [c.tolist() for c in chunks], steps, sampler, seed, batch_size, precision,
                       dict(sampler_options or {}), sort_sizes, progress)
        states = [GraphState(*p[0]) for p in parts if p[0][2].shape[0] > 0]
        state = GraphState.cat(states)
        return self._wrap(state, nfe=sum(p[1] for p in parts), nfe_per_graph=max(p[2] for p in parts),
                          seconds=time.perf_counter() - t0,
                          info={"steps": steps, "sampler": sampler, "seed": seed, "precision": precision, "nproc": nproc,
                                "options": dict(sampler_options or {}), **({"sort_sizes": True} if sort_sizes else {})})

    # ------------------------------------------------------------------ training
    def fit(
        self,
        data: GraphState,
        *,
        steps: int,
        batch_size: int = 256,
        lr: float = 2e-4,
        ema_decay: float = 0.999,
        seed: int = 0,
        device: str | torch.device = "cpu",
        checkpoint_dir: str | Path | None = None,
        checkpoint_every: int = 1000,
        progress: bool = True,
        group_by_size: bool = False,
        max_minutes: float | None = None,
        condition: Tensor | None = None,
        **fit_kwargs: Any,
    ):
        """Train on a :class:`GraphState` of training graphs with the core trainer (AdamW, EMA,
        gradient clipping, atomic checkpoints, exact resume). The EMA weights end up in
        :attr:`network`. Returns the trainer's ``TrainResult``.

        Each batch is trimmed to its largest graph. ``group_by_size=True`` draws batches of
        similar-sized graphs (the trainer's ``lengths``; ``bucket_batches`` passes through), which
        cuts the padded work on sets with a wide size range (steps 2x faster on ZINC, 2-3x on
        ENZYMES here); every graph is still seen once per epoch, in a different order than
        without grouping. ``max_minutes`` is a wall-clock budget: training stops at the first
        update past it (checkpointed, and recorded in the card as ``stopped_by`` with the
        ``planned_steps``); size ``steps`` to the budget so a cosine schedule completes.

        ``condition``: for a conditional model (``card["condition"]``), the standardised condition
        ``Y`` ``(B, k)`` of each training graph (NaN = absent; see
        :class:`graphdiff.guidance.ConditionSpec`), dropped per the card's condition dropout."""
        from ..training import fit as core_fit

        self.to(device)
        batch_size = max(1, min(batch_size, data.batch_size))  # small datasets: one batch per step
        tensors: tuple = (data.X, data.A, data.node_mask)
        spec = None
        if condition is not None:
            from ..guidance.training import conditional_batches

            spec, tensors = conditional_batches(self, data, condition)

        def loss_fn(model: nn.Module, batch: tuple, generator: torch.Generator | None) -> Any:
            X, A, mask = batch[:3]
            n = max(int(mask.sum(-1).max()), 1)  # trim padding to the batch's largest graph
            state = GraphState(X[:, :n], A[:, :n, :n], mask[:, :n])
            if spec is None:
                return self.loss(model, state, generator)
            from ..guidance.condition import drop_conditions

            y = drop_conditions(batch[3], spec.dropout, spec.entry_dropout, generator)
            return self.loss(model, state, generator, cond=spec.network_kwargs(y))

        t0 = time.perf_counter()
        if group_by_size:
            fit_kwargs["lengths"] = data.node_mask.sum(-1)
        if max_minutes is not None:
            fit_kwargs["max_seconds"] = 60.0 * check_max_minutes(max_minutes)
        result = core_fit(self.network, loss_fn, tensors, steps=steps, batch_size=batch_size, lr=lr,
                          ema_decay=ema_decay, seed=seed, device=device, checkpoint_dir=checkpoint_dir,
                          checkpoint_every=checkpoint_every, progress=progress,
                          hyperparameters={"steps": steps, "batch_size": batch_size, "lr": lr, "ema_decay": ema_decay, "seed": seed},
                          model_kwargs=self.to_card(), **fit_kwargs)
        if result.ema is not None:
            result.ema.copy_to(self.network)
        self.card.setdefault("training", {}).update({
            "steps": result.final_step, "batch_size": batch_size, "lr": lr, "ema_decay": ema_decay, "seed": seed,
            "train_graphs": data.batch_size, "seconds": round(time.perf_counter() - t0, 1), "device": str(device),
            "group_by_size": bool(group_by_size),
        })
        training = self.card["training"]
        for key in ("planned_steps", "stopped_by", "max_minutes", "processes"):
            training.pop(key, None)  # a record of this run only
        from ..training.distributed import get_world_size

        world = get_world_size()
        if world > 1:
            training["processes"] = world  # DistributedDataParallel; batch_size is the global batch
        if result.stopped_by is not None:
            training.update(planned_steps=steps, stopped_by=result.stopped_by)
        if max_minutes is not None:
            training["max_minutes"] = float(max_minutes)
        return result

    # ------------------------------------------------------------------ persistence
    def to_card(self) -> dict[str, Any]:
        """Everything needed to rebuild this pipeline, as plain JSON."""
        card = dict(self.card)
        card.update({
            "pipeline": type(self).__name__,
            "family": self.family,
            "network": {"class": type(self.network).__name__, "config": dict(getattr(self.network, "config", {}))},
            "process": self.process_config(),
            "node_counts": self.node_counts.to_dict(),
            "vocabulary": None if self.vocabulary is None else self.vocabulary.to_dict(),
            "dataset": self.dataset,
        })
        return card

    def save_pretrained(self, path: str | Path, *, metrics: dict[str, Any] | None = None) -> Path:
        """Write ``path/model.safetensors`` (weights) and ``path/config.json`` (the card); atomic, no pickle."""
        from ..training import save_weights

        card = self.to_card()
        if metrics is not None:
            card["metrics"] = metrics
        return save_weights(path, self.network.state_dict(), card)

    @classmethod
    def from_pretrained(cls, path: str | Path, *, device: str | torch.device = "cpu") -> "GraphDiffusionPipeline":
        """Load a folder written by :meth:`save_pretrained` (sha256-verified, no pickle)."""
        from ..training import load_weights

        p = Path(path)
        if not p.exists():
            raise FileNotFoundError(f"no pretrained model at {p}")
        state_dict, card = load_weights(p)
        from .checks import check_card_against_weights

        check_card_against_weights(card, state_dict, p)  # before anything is allocated
        klass = pipeline_class(card.get("pipeline", "")) if cls is GraphDiffusionPipeline else cls
        if card.get("pipeline") != klass.__name__:
            raise CheckpointError(f"{p} holds a {card.get('pipeline')!r} model, not a {klass.__name__}")
        pipe = klass._build(card)
        try:
            pipe.network.load_state_dict(state_dict, strict=True)
        except RuntimeError as exc:
            raise CheckpointError(f"{p}: weights do not match the architecture in config.json: {exc}") from exc
        return pipe.to(device)


def sample_by_size(sample_batch: Any, sizes: Tensor, batch_size: int, *, sort_sizes: bool = False,
                   bar: Any = None, batch_calls: list[int] | None = None) -> tuple[GraphState, int]:
    """Graphs of the given ``sizes``, ``batch_size`` at a time, from ``sample_batch(node_mask) ->
    (GraphState, nfe)`` (each batch padded to its largest graph, results moved to the CPU). With
    ``sort_sizes`` the sizes are taken in increasing order, so each batch is padded only to similar
    sizes, and the graphs come back in the order of ``sizes``. Returns ``(state, total nfe)``;
    ``bar`` (a tqdm bar) is advanced per batch; ``batch_calls``, a list, gets each batch's nfe (the
    network calls each of its graphs went through)."""
    order = torch.sort(sizes, stable=True).indices if sort_sizes else None
    run = sizes if order is None else sizes[order]
    states, nfe = [], 0
    for start in range(0, run.numel(), batch_size):
        sz = run[start:start + batch_size]
        st, k = sample_batch(torch.arange(max(int(sz.max()), 1))[None, :] < sz[:, None])
        states.append(st.to("cpu"))
        nfe += k
        if batch_calls is not None:
            batch_calls.append(int(k))
        if bar is not None:
            bar.update(len(sz))
    if not states:
        return GraphState(torch.zeros(0, 0, dtype=torch.long), torch.zeros(0, 0, 0, dtype=torch.long),
                          torch.zeros(0, 0, dtype=torch.bool)), 0
    state = GraphState.cat(states)
    return (state if order is None else state[torch.argsort(order)]), nfe  # back to the order of sizes


def check_max_minutes(value: Any, name: str = "max_minutes") -> float:
    """``value`` as a float if it is a positive, finite number of minutes (a training budget);
    otherwise a ValueError naming ``name``."""
    if not (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < math.inf):
        raise ValueError(f"{name} must be a positive number of minutes, got {value!r}")
    return float(value)


def _progress(total: int, enabled: bool, desc: str):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="graph")


def _sample_shard(rank: int, card: dict, state_dict: dict, sizes: Tensor, chunks: list, steps: int, sampler: str,
                  seed: int, batch_size: int, precision: str = "float32", sampler_options: dict | None = None,
                  sort_sizes: bool = False, progress: bool = False) -> tuple:
    """Worker of :meth:`GraphDiffusionPipeline._sample_distributed` (one rank's share, own seed stream)."""
    torch.set_num_threads(1)
    pipe = pipeline_class(card["pipeline"])._build(card)
    pipe.network.load_state_dict(state_dict)
    idx = chunks[rank]
    if not idx:
        return (torch.zeros(0, 0, dtype=torch.long), torch.zeros(0, 0, 0, dtype=torch.long), torch.zeros(0, 0, dtype=torch.bool)), 0, 0
    out = pipe.sample(len(idx), steps=steps, sampler=sampler, seed=seed + 7919 * (rank + 1), batch_size=batch_size,
                      num_nodes=sizes[idx], precision=precision, sampler_options=sampler_options, sort_sizes=sort_sizes,
                      progress=progress and rank == 0)
    st = out.state
    return (st.X, st.A, st.node_mask), out.nfe, out.nfe_per_graph
