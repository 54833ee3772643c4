"""User-facing models: a network + a process + the graph-size distribution (+ an atom vocabulary for
molecules), with ``fit``, ``sample``, ``save_pretrained`` and ``from_pretrained``.

A family (continuous SDE, discrete CTMC) subclasses :class:`GraphDiffusionPipeline` and implements
four small methods: ``loss`` (one training batch), ``sample_batch`` (one batch of states for a given
node mask), ``process_config`` (JSON of its process) and ``_build`` (network + process from a card).
Everything else — batching, seeds, node counts, molecule decoding, checkpoints — lives here once,
with its parts in their own modules: :mod:`.results` (what sampling returns), :mod:`.precision`
(autocast), :mod:`.bucketing` (size-bucketed sampling), :mod:`.shards` (sampling over processes)
and :mod:`.budget` (training budgets); the network calls of a sampler's steps are stated by the
sampler itself (:mod:`graphdiff.samplers.registry`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

import torch
from torch import Tensor, nn

from ..errors import CheckpointError, unknown_name
from ..registry import Registry
from ..samplers.registry import SamplerSpec, steps_for_nfe
from ..states import GraphState, NodeCountDistribution
from .bucketing import progress_bar, sample_by_size
from .budget import check_max_minutes
from .precision import PRECISIONS, autocast, upcast  # noqa: F401  (upcast: kept importable from here)
from .results import GraphSamples, MoleculeSamples

__all__ = ["GraphDiffusionPipeline", "GraphSamples", "MoleculeSamples", "PIPELINES", "register_pipeline", "pipeline_class", "PRECISIONS"]

#: the pipeline families by name (the card's ``family``, also the training config's ``family``),
#: each also found under its class name (the card's ``pipeline``); a ``"module:Class"`` target is
#: imported on first use
PIPELINES: Registry[type] = Registry("family")
PIPELINES.register("continuous", "graphdiff.pipelines.continuous:ContinuousGraphDiffusion", aliases=("ContinuousGraphDiffusion",))
PIPELINES.register("discrete", "graphdiff.pipelines.discrete:DiscreteGraphDiffusion", aliases=("DiscreteGraphDiffusion",))


def register_pipeline(name: str, target: "str | type", *, aliases: tuple[str, ...] = ()) -> None:
    """Register a pipeline family under ``name`` (and ``aliases``, e.g. its class name, which
    cards record) as a class or ``"module:Class"``, so :meth:`GraphDiffusionPipeline.from_pretrained`
    and training configs find it."""
    PIPELINES.register(name, target, aliases=aliases)


def pipeline_class(name: str) -> type["GraphDiffusionPipeline"]:
    """The pipeline class of a family name or class name."""
    return PIPELINES.get(name)


# ----------------------------------------------------------------------------- pipeline
class GraphDiffusionPipeline:
    """Base class of graphdiff's generative models (see module docstring)."""

    family: ClassVar[str] = "abstract"
    default_steps: ClassVar[int] = 50
    default_sampler: ClassVar[str] = ""
    #: the sampler of a scaffold-constrained call that names none ("": the card's, as without a scaffold)
    scaffold_sampler: ClassVar[str] = ""
    #: where this family's samplers are registered (:data:`graphdiff.samplers.SAMPLERS` or
    #: :data:`graphdiff.samplers.CTMC_SAMPLERS`)
    samplers: ClassVar[Any] = None

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

    def sampler_spec(self, sampler: str) -> SamplerSpec:
        """The registered sampler of this family named ``sampler`` (or one of its aliases); a wrong
        name raises ``ValueError`` listing the valid ones."""
        return self.samplers.get(sampler)

    def sampler_options(self, sampler: str) -> dict[str, Any]:
        """Extra keyword arguments of a sampler from ``card["sampling"]["options"][name]``
        (e.g. ``{"pc": {"snr": 0.2}}`` or ``{"tau_leaping": {"jump": "exponential"}}``), found under
        the sampler's canonical name or any of its aliases."""
        table = self.card.get("sampling", {}).get("options", {})
        names = [sampler]
        if self.samplers is not None and sampler in self.samplers:
            entry = self.samplers.entry(sampler)
            names = [entry.name, *entry.aliases]
        out: dict[str, Any] = {}
        for name in names:
            out.update(table.get(name, {}))
        return out

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
        from .checks import check_device

        self.device = check_device(device)
        self.network.to(self.device)
        return self

    # ------------------------------------------------------------------ sampling
    def __call__(self, n: int, **kwargs: Any) -> GraphSamples:
        """``pipe(16)`` is ``pipe.sample(16)`` (every keyword argument of :meth:`sample` passes through)."""
        return self.sample(n, **kwargs)

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
        sort_sizes: bool = True,
        nfe: int | None = None,
        condition: Mapping[str, Any] | None = None,
        guidance_scale: float | None = None,
        scaffold: Any = None,
        predictor: Any = None,
        predictor_scale: float | None = None,
        candidates: int = 1,
    ) -> GraphSamples:
        """Generate ``n`` graphs (molecules for molecule models).

        Steering (:func:`graphdiff.guidance.sampling.sample_guided`): ``condition``
        (``{"logp": 1.5, "qed": 0.6}``, names of a conditional model's ``card["condition"]``; sizes
        then follow ``p(N | y)``) with classifier-free guidance ``guidance_scale`` (0 unconditional,
        1 conditional; default: the card's), and / or ``scaffold`` (a SMILES or one-graph
        :class:`GraphState` every sample contains; continuous models inpaint it with RePaint).
        ``predictor`` (a :class:`~graphdiff.guidance.predictor.NoisyGraphPredictor` of this model's
        noisy graphs, or its folder) steers any model towards the ``condition`` entries it predicts,
        scaled by ``predictor_scale`` (default 1). Molecule samples then carry ``targets`` and
        achieved ``properties``. ``candidates=k``: best-of-k selection (molecules, with a property
        target), the nearest of ``k`` candidates per molecule by RDKit properties, ``k`` times the calls.

        ``steps`` counts sampler steps; a step may call the network more than once (a predictor-
        corrector step with 2 corrector steps calls it 3 times). ``nfe`` instead sets a budget of
        network calls per graph: the most steps whose calls fit in it (:meth:`steps_for_nfe`).

        Graph sizes are drawn from :attr:`node_counts` (or given by ``num_nodes``). Sampling is
        seeded: the same ``seed``, ``steps``, ``sampler``, ``precision`` and options give the same
        samples. ``precision="bfloat16"`` runs the network in bfloat16 (see :data:`PRECISIONS`);
        ``"auto"`` picks bfloat16 where the hardware computes it natively
        (:func:`graphdiff.hardware.auto_precision`), else float32.
        ``sampler_options`` override the card's options of this sampler (``sampler_options(name)``),
        e.g. ``{"temperature": 0.8}`` for the continuous family's low-temperature prior or
        ``{"snr": 0.2}`` for its ``pc`` sampler.

        ``sort_sizes=True`` (the default) samples the drawn sizes in increasing order, in batches
        that mostly hold one size (:func:`~graphdiff.pipelines.bucketing.size_batches`), so little
        padding is computed (2x faster on ZINC, several-fold on ENZYMES); the graphs come back in
        draw order (graph ``i`` has the ``i``-th drawn size), but each sees different noise than
        without sorting, so a seed gives other samples than with ``sort_sizes=False`` (the earlier
        default, which the older card metrics used), drawn from the same distribution."""
        from .checks import check_sample_args, check_sampler_options, resolve_device

        if precision not in PRECISIONS + ("auto",):
            raise unknown_name("precision", precision, PRECISIONS + ("auto",))
        if precision == "auto":
            from ..hardware import auto_precision

            precision = auto_precision(resolve_device(device) if device is not None else self.device)
        if (condition is not None or guidance_scale is not None or scaffold is not None or predictor is not None
                or predictor_scale is not None or candidates != 1):
            from ..guidance.sampling import sample_guided

            if nproc != 1 or nfe is not None:
                raise ValueError("steered sampling (condition / guidance_scale / scaffold / predictor / candidates) "
                                 "runs in one process, with steps (not nfe)")
            if device is not None:
                self.to(device)
            with autocast(self.device, precision):
                out = sample_guided(self, n, condition=condition, guidance_scale=guidance_scale, scaffold=scaffold,
                                    predictor=predictor, predictor_scale=predictor_scale, candidates=candidates,
                                    num_nodes=num_nodes, steps=steps, sampler=sampler, seed=seed, batch_size=batch_size,
                                    sampler_options=sampler_options, progress=progress, sort_sizes=sort_sizes)
            out.info["precision"] = precision
            return out

        num_nodes = check_sample_args(n=n, steps=steps, nfe=nfe, batch_size=batch_size, nproc=nproc, num_nodes=num_nodes,
                                      max_nodes=self.node_counts.max_nodes)
        n = int(n)
        sampler = self.resolve_sampler(sampler)
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
        bar = progress_bar(n, progress, f"sampling ({sampler}, {steps} steps)")
        with torch.no_grad(), autocast(self.device, precision):
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

    def resolve_sampler(self, sampler: str | None = None, *, scaffold: bool = False) -> str:
        """The sampler a call uses: ``sampler`` if given, else :attr:`scaffold_sampler` for a
        scaffold-constrained call (where the family has one), else the card's, else
        :attr:`default_sampler`."""
        return (sampler or (self.scaffold_sampler if scaffold else "") or self.card.get("sampling", {}).get("sampler")
                or self.default_sampler)

    def steps_for_nfe(self, nfe: int, *, sampler: str | None = None,
                      sampler_options: Mapping[str, Any] | None = None) -> int:
        """The most steps of ``sampler`` (default: the card's) whose network calls per graph fit in
        ``nfe``, computed from the calls the sampler states for these options
        (:class:`~graphdiff.samplers.registry.StepCost`): e.g. 100 calls of predictor-corrector with
        2 corrector steps is 34 steps (33 x 3 + a last step without corrector). Raises ``ValueError``
        for samplers that choose their own steps (the adaptive ``rk45``) and for budgets below one
        step."""
        nfe = int(nfe)
        if nfe < 1:
            raise ValueError(f"nfe must be >= 1, got {nfe}")
        sampler = self.resolve_sampler(sampler)
        options = {**self.sampler_options(sampler), **dict(sampler_options or {})}
        return steps_for_nfe(self.sampler_spec(sampler), nfe, label=sampler, **options)

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

    def _sample_distributed(self, sizes: Tensor, **kwargs: Any) -> GraphSamples:
        """Shard the graphs over CPU processes (:func:`graphdiff.pipelines.shards.sample_distributed`)."""
        from .shards import sample_distributed

        return sample_distributed(self, sizes, **kwargs)

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
        device = self.device  # "auto" resolved
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

        from .checks import data_fingerprint

        t0 = time.perf_counter()
        if group_by_size:
            fit_kwargs["lengths"] = data.node_mask.sum(-1)
        if max_minutes is not None:
            fit_kwargs["max_seconds"] = 60.0 * check_max_minutes(max_minutes)
        result = core_fit(self.network, loss_fn, tensors, steps=steps, batch_size=batch_size, lr=lr,
                          ema_decay=ema_decay, seed=seed, device=device, checkpoint_dir=checkpoint_dir,
                          checkpoint_every=checkpoint_every, progress=progress,
                          hyperparameters={"steps": steps, "batch_size": batch_size, "lr": lr, "ema_decay": ema_decay, "seed": seed,
                                           "data_sha256": data_fingerprint(tensors)},
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
        """Load a bundled model by name or a folder written by :meth:`save_pretrained`
        (sha256-verified, no pickle). On a family's class a bundled alias resolves within the
        family, the diffusers way: ``ContinuousGraphDiffusion.from_pretrained("qm9")`` is ``qm9_sde``,
        ``DiscreteGraphDiffusion.from_pretrained("qm9")`` is ``qm9_ctmc`` (see ``graphdiff models``)."""
        from ..training import load_weights
        from .pretrained import _looks_like_path, resolve

        if isinstance(path, str) and path and not _looks_like_path(path):
            path = resolve(path, family=None if cls is GraphDiffusionPipeline else getattr(cls, "family", None))
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


