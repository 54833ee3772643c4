"""Discrete CTMC graph diffusion (DiGress, Vignac et al. 2023; Campbell et al. 2022; DeFoG, Qin
et al. 2025) as a pipeline.

A graph is a categorical :class:`~graphdiff.states.GraphState`: node classes ``X`` ``(B, N)`` long
(atom types for molecules, a single class 0 for plain graphs, or the graph's own integer node ids)
and edge classes ``A`` ``(B, N, N)`` long (class 0 = no edge; bond orders 1..3 for molecules,
``{0, 1}`` for plain graphs).

The forward process is a :class:`~graphdiff.processes.ctmc.GraphCTMC`: one jump process over node
classes and one over the strict upper triangle of the edge classes (mirrored, so noisy graphs stay
symmetric with a zero diagonal; padding stays class 0). Rate families (``rates``):

* ``"marginal"`` (default): jumps towards the training data's node / edge class frequencies
  (DiGress's marginal transitions, Sec. 4.1; DeFoG's marginal prior);
* ``"uniform"``: every class to every other at the same rate (Campbell et al. 2022);
* ``"absorbing"``: every class to an extra mask state (D3PM-absorbing, Austin et al. 2021).

The network is the :class:`~graphdiff.nn.GraphTransformerDenoiser` (RRWP and cycle features of the
noisy graph) predicting the clean classes; it is trained with the cross-entropy of the ``x0``
prediction, edges weighted by ``edge_weight`` (DiGress eq. 5, lambda = 5;
:func:`graphdiff.losses.ctmc_denoising_loss`). Samplers by name (:data:`DISCRETE_SAMPLERS`):
``"ancestral"`` (exact posterior, default), ``"tau_leaping"`` and ``"pc"`` (predictor-corrector),
any number of steps. :meth:`DiscreteGraphDiffusion.nll` estimates the negative ELBO of the
continuous-time chain (Campbell et al. 2022, Prop. 2).
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar, Mapping

import torch
from torch import Tensor, nn

from ..errors import unknown_name
from ..losses.ctmc import CTMCELBOOutput, ctmc_denoising_loss, ctmc_elbo
from ..nn import GraphTransformerDenoiser
from ..processes.ctmc import CTMC_FAMILIES, GraphCTMC, MarginalCTMC, ctmc_from_config, get_ctmc_schedule, make_ctmc
from ..processes.ctmc.schedules import CTMCSchedule
from ..samplers.ctmc import check_time_power
from ..samplers.registry import CTMC_SAMPLERS
from ..data.transforms import to_categorical
from ..states import GraphState, NodeCountDistribution
from .base import GraphDiffusionPipeline
from .precision import upcast

__all__ = ["DiscreteGraphDiffusion", "DISCRETE_SAMPLERS", "RATE_FAMILIES", "DEFAULT_TIME_POWER", "make_graph_ctmc"]

#: the CTMC samplers by name (:data:`graphdiff.samplers.CTMC_SAMPLERS`: ``"ancestral"``,
#: ``"tau_leaping"``, ``"predictor_corrector"`` alias ``"pc"``)
DISCRETE_SAMPLERS = CTMC_SAMPLERS
RATE_FAMILIES = CTMC_FAMILIES  #: the CTMC rate families by name (:data:`graphdiff.processes.CTMC_FAMILIES`)
DEFAULT_TIME_POWER = 2.0  # sampling grid t_i = (1 - i/n)^2: finer steps near the data (DeFoG's polydec)
_PROCESS_KEYS = ("rates", "schedule", "edge_weight", "smoothing")
_DEFAULT_SCHEDULE: dict[str, Any] = {"name": "cosine"}


# ----------------------------------------------------------------------------- helpers
def _schedule(spec: "str | Mapping[str, Any] | None") -> CTMCSchedule:
    spec = dict(_DEFAULT_SCHEDULE) if spec is None else ({"name": spec} if isinstance(spec, str) else dict(spec))
    return get_ctmc_schedule(spec.pop("name", "cosine"), **spec)


def make_graph_ctmc(rates: str, *, node_classes: int, edge_classes: int, schedule: "str | Mapping[str, Any] | None" = None,
                    train_state: GraphState | None = None, smoothing: float = 0.0) -> GraphCTMC:
    """The node x edge CTMC of a rate family (:data:`RATE_FAMILIES`); ``"marginal"`` reads the class
    frequencies of real nodes and upper-triangle node pairs of the categorical ``train_state``
    (plus ``smoothing`` pseudo-counts per class)."""
    if rates not in RATE_FAMILIES:
        raise unknown_name("rate family", rates, RATE_FAMILIES)
    if rates != "marginal":
        return GraphCTMC(make_ctmc(rates, num_classes=node_classes, schedule=_schedule(schedule)),
                         make_ctmc(rates, num_classes=edge_classes, schedule=_schedule(schedule)))
    if train_state is None:
        raise ValueError("the marginal rates need train_state (the data's class frequencies)")
    nm = train_state.node_mask.bool()
    N = nm.shape[1]
    i, j = torch.triu_indices(N, N, 1)
    node = MarginalCTMC.from_data(train_state.X, node_classes, mask=nm, schedule=_schedule(schedule), smoothing=smoothing)
    edge = MarginalCTMC.from_data(train_state.A[:, i, j], edge_classes, mask=nm[:, i] & nm[:, j],
                                  schedule=_schedule(schedule), smoothing=smoothing)
    return GraphCTMC(node, edge)


# ----------------------------------------------------------------------------- pipeline
class DiscreteGraphDiffusion(GraphDiffusionPipeline):
    """Discrete jump-process (CTMC) diffusion over node and edge classes (DiGress / DeFoG style).

    Build one with :meth:`create` (sized from training graphs), train with :meth:`fit`, generate
    with :meth:`sample` (any sampler of :data:`DISCRETE_SAMPLERS`), bound likelihoods with :meth:`nll`.

    Args:
        network: a :class:`~graphdiff.nn.GraphTransformerDenoiser` whose class counts equal the
            process's state counts (data classes, plus the mask state for absorbing rates).
        process: the :class:`~graphdiff.processes.ctmc.GraphCTMC`.
        rates: its rate family (recorded on the card).
        edge_weight: weight of the edge cross-entropy (DiGress lambda).
        node_counts: see :class:`GraphDiffusionPipeline`.
        vocabulary: see :class:`GraphDiffusionPipeline`.
        dataset: see :class:`GraphDiffusionPipeline`.
        card: see :class:`GraphDiffusionPipeline`.
    """

    family: ClassVar[str] = "discrete"
    default_steps: ClassVar[int] = 50
    default_sampler: ClassVar[str] = "ancestral"
    samplers: ClassVar[Any] = CTMC_SAMPLERS

    def __init__(
        self,
        network: GraphTransformerDenoiser,
        *,
        process: GraphCTMC,
        node_counts: NodeCountDistribution,
        rates: str = "marginal",
        edge_weight: float = 5.0,
        vocabulary: Any | None = None,
        dataset: str | None = None,
        card: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(network, node_counts=node_counts, vocabulary=vocabulary, dataset=dataset, card=card)
        if rates not in RATE_FAMILIES:
            raise unknown_name("rate family", rates, RATE_FAMILIES)
        nx, ne = process.node_process.num_states, process.edge_process.num_states
        if (network.num_node_classes, network.num_edge_classes) != (nx, ne):
            raise ValueError(f"network predicts ({network.num_node_classes}, {network.num_edge_classes}) node/edge classes, "
                             f"the process has ({nx}, {ne}) states")
        if edge_weight < 0:
            raise ValueError(f"edge_weight must be >= 0, got {edge_weight}")
        self.process = process
        self.rates = rates
        self.edge_weight = float(edge_weight)

    @property
    def num_node_classes(self) -> int:
        """Data node classes (atom types; 1 for plain graphs)."""
        return self.process.node_process.num_classes

    @property
    def num_edge_classes(self) -> int:
        """Data edge classes including 0 = no edge."""
        return self.process.edge_process.num_classes

    # ------------------------------------------------------------------ construction
    @classmethod
    def create(cls, *, train_state: GraphState, vocabulary: Any | None = None, dataset: str | None = None,
               network: dict[str, Any] | None = None, process: dict[str, Any] | None = None) -> "DiscreteGraphDiffusion":
        """A new model sized for ``train_state``.

        ``process`` keys (all optional): ``rates`` (:data:`RATE_FAMILIES`, default ``"marginal"``),
        ``schedule`` (a CTMC schedule name or ``{"name": ..., **kwargs}``, default cosine),
        ``edge_weight`` (default 5), ``smoothing`` (pseudo-counts of the marginal frequencies).
        Node classes: the vocabulary size for molecules, ``max + 1`` of integer node ids, else 1;
        edge classes: ``max + 1`` of integer bond classes (at least 2), ``2`` for float / binary
        adjacencies. ``network`` holds keyword arguments of
        :class:`~graphdiff.nn.GraphTransformerDenoiser` (its class counts are set here)."""
        process = dict(process or {})
        bad = set(process) - set(_PROCESS_KEYS)
        if bad:
            raise ValueError(f"unknown process option(s) {sorted(bad)}; valid: {', '.join(_PROCESS_KEYS)}")
        nm = train_state.node_mask.bool()
        X, A = train_state.X, train_state.A
        x_cat = X.dim() == 2 and not X.is_floating_point() and X.dtype != torch.bool
        if vocabulary is not None:
            Kx = int(vocabulary.num_types)
        elif x_cat:
            Kx = int(X[nm].max()) + 1 if bool(nm.any()) else 1
        else:
            Kx = 1
        a_cat = A.dim() == 3 and not A.is_floating_point() and A.dtype != torch.bool
        Ke = max(2, int(A.max()) + 1) if (a_cat and A.numel()) else 2
        state = to_categorical(train_state, node_classes=Kx, edge_classes=Ke)
        rates = process.get("rates", "marginal")
        proc = make_graph_ctmc(rates, node_classes=Kx, edge_classes=Ke, schedule=process.get("schedule"),
                               train_state=state, smoothing=float(process.get("smoothing", 0.0)))
        net_kwargs = dict(network or {})
        for k in ("num_node_classes", "num_edge_classes"):
            net_kwargs.pop(k, None)
        net = GraphTransformerDenoiser(proc.node_process.num_states, proc.edge_process.num_states, **net_kwargs)
        return cls(net, process=proc, node_counts=NodeCountDistribution.fit(train_state), rates=rates,
                   edge_weight=float(process.get("edge_weight", 5.0)), vocabulary=vocabulary, dataset=dataset)

    def process_config(self) -> dict[str, Any]:
        return {"rates": self.rates, "edge_weight": self.edge_weight, "ctmc": self.process.config()}

    @classmethod
    def _build(cls, card: dict[str, Any]) -> "DiscreteGraphDiffusion":
        from ..data.molecules import AtomVocabulary

        net_cfg = card["network"]
        if net_cfg.get("class", "GraphTransformerDenoiser") != "GraphTransformerDenoiser":
            raise ValueError(f"a discrete pipeline needs a GraphTransformerDenoiser, the card names {net_cfg.get('class')!r}")
        proc = card["process"]
        process = ctmc_from_config(proc["ctmc"])
        assert isinstance(process, GraphCTMC)
        vocab = card.get("vocabulary")
        keep = {k: v for k, v in card.items() if k not in ("pipeline", "family", "network", "process", "node_counts", "vocabulary", "dataset")}
        return cls(GraphTransformerDenoiser.from_config(net_cfg["config"]), process=process,
                   node_counts=NodeCountDistribution.from_dict(card["node_counts"]), rates=proc["rates"],
                   edge_weight=proc["edge_weight"], vocabulary=None if vocab is None else AtomVocabulary.from_dict(vocab),
                   dataset=card.get("dataset"), card=keep)

    # ------------------------------------------------------------------ model function
    @staticmethod
    def _denoiser(network: nn.Module, cond: Mapping[str, Tensor] | None = None) -> Callable[[GraphState, Tensor], tuple[Tensor, Tensor]]:
        """``(noisy categorical G_t, t (B,)) -> (node logits (B, N, Sx), edge logits (B, N, N, Se))``;
        ``cond``: the network's conditioning tensors (``{name: (B,)}``), if any."""
        cond = dict(cond or {})

        def fn(state: GraphState, t: Tensor) -> tuple[Tensor, Tensor]:
            out = network(state, t, **cond)
            return upcast(out.X), upcast(out.A)

        return fn

    def categorical(self, state: GraphState) -> GraphState:
        """Dataset graphs as this model's categorical ``X`` (B, N) / ``A`` (B, N, N) long (:func:`~graphdiff.data.transforms.to_categorical`)."""
        return to_categorical(state, node_classes=self.num_node_classes, edge_classes=self.num_edge_classes)

    # ------------------------------------------------------------------ training
    def loss(self, network: nn.Module, batch: GraphState, generator: torch.Generator | None = None,
             cond: Mapping[str, Tensor] | None = None) -> dict[str, Tensor]:
        """``CE_X + edge_weight * CE_A`` of the ``x0`` prediction at ``t ~ U(0, 1)`` (DiGress eq. 5),
        averaged over real nodes and real upper-triangle pairs; also returns the two terms.
        ``cond``: conditioning tensors of a conditional network (``{name: (B,)}``)."""
        out = ctmc_denoising_loss(self.process, self._denoiser(network, cond), self.categorical(batch),
                                  edge_weight=self.edge_weight, generator=generator)
        return {"loss": out.loss, **{f"ce_{k}": v.detach() for k, v in out.terms.items()}}

    # ------------------------------------------------------------------ sampling
    @property
    def time_power(self) -> float:
        """Warp ``p`` of the sampling time grid, ``t_i = (1 - i/n)^p`` (``card["sampling"]["time_power"]``,
        default :data:`DEFAULT_TIME_POWER` = 2, DeFoG's polydec distortion; see
        :func:`graphdiff.samplers.ctmc.warped_time_grid`); ``p = 1`` is the plain uniform grid. Measured
        effect on QM9: ``benchmarks/results/discrete_qm9_time_power*.md``."""
        return float(self.card.get("sampling", {}).get("time_power", DEFAULT_TIME_POWER))

    @time_power.setter
    def time_power(self, value: float) -> None:
        self.card.setdefault("sampling", {})["time_power"] = check_time_power(value)

    def sample_batch(self, node_mask: Tensor, *, steps: int, sampler: str, generator: torch.Generator,
                     progress: bool = False, options: Mapping[str, Any] | None = None,
                     cond: Mapping[str, Tensor] | None = None, guidance_scale: float = 1.0,
                     known: tuple[GraphState, GraphState] | None = None, predictor: Any = None) -> tuple[GraphState, int]:
        """One batch for ``node_mask`` (B, N): a prior draw, then ``steps`` reverse steps of
        ``sampler`` (``options`` override :meth:`sampler_options`). Returns
        ``(state with X (B, N), A (B, N, N) long, nfe)``.

        ``cond``: the conditioning tensors of a conditional network, steered with classifier-free
        guidance of scale ``guidance_scale`` (0: unconditional, 1: conditional;
        :mod:`graphdiff.guidance.ctmc`). ``known = (values, which)``: categorical states whose
        entries with ``which`` True are clamped (inpainting). ``predictor``: a
        :class:`~graphdiff.guidance.predictor.PredictorGuide`, predictor guidance by the first-order
        rate tilt (:mod:`graphdiff.guidance.tilt`; one more call per prediction)."""
        spec = self.sampler_spec(sampler)
        if int(steps) < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        node_mask = node_mask.bool()
        B, N = node_mask.shape
        x = self.process.prior_sample(node_mask, generator=generator)
        options = {"time_power": self.time_power, **self.sampler_options(sampler), **dict(options or {})}
        denoiser = self._denoiser(self.network, cond)
        if cond and guidance_scale != 1.0:
            if guidance_scale == 0.0:  # unconditional: the null condition alone
                denoiser = self._denoiser(self.network)
            else:
                options.update(guidance_scale=guidance_scale, uncond_denoiser=self._denoiser(self.network))
        if known is not None:
            options["known"] = known
        if predictor is not None and predictor.scale != 0:
            options.update(log_tilt=predictor.ctmc_log_tilt(self.process), tilt_scale=predictor.scale)
        out = spec.run(self.process, denoiser, x, steps=int(steps), generator=generator, **options)
        st = out.samples
        return GraphState(st.X[:, :N].long(), st.A[:, :N, :N].long(), node_mask), int(out.nfe)

    # ------------------------------------------------------------------ likelihood
    def elbo(self, states: GraphState, *, n_samples: int = 16, seed: int = 0, batch_size: int = 256) -> CTMCELBOOutput:
        """Negative ELBO of the continuous-time chain (Campbell et al. 2022, Prop. 2) in nats per
        graph, given its node count: the prior KL at ``t = 1`` plus the time integral, estimated with
        ``n_samples`` random times per graph (averaged). ``nelbo >= -log p_theta(G | N)``.
        Returns :class:`~graphdiff.losses.CTMCELBOOutput` with ``(B,)`` tensors."""
        if n_samples < 1:
            raise ValueError(f"n_samples must be >= 1, got {n_samples}")
        states = self.categorical(states.to(self.device))
        g = torch.Generator(device=self.device).manual_seed(seed)
        self.network.eval()
        den = self._denoiser(self.network)
        outs = []
        with torch.no_grad():
            for start in range(0, states.batch_size, batch_size):
                sl = slice(start, start + batch_size)
                part = GraphState(states.X[sl], states.A[sl], states.node_mask[sl])
                runs = [ctmc_elbo(self.process, den, part, generator=g) for _ in range(n_samples)]
                outs.append(tuple(torch.stack([getattr(r, k) for r in runs]).mean(0) for k in ("nelbo", "prior", "diffusion")))
        if not outs:
            z = torch.zeros(0)
            return CTMCELBOOutput(nelbo=z, prior=z, diffusion=z)
        return CTMCELBOOutput(*(torch.cat([o[i] for o in outs]).cpu() for i in range(3)))

    def nll(self, states: GraphState, *, n_samples: int = 16, seed: int = 0, batch_size: int = 256) -> Tensor:
        """Upper bound on ``-log p_theta(G | N)`` in nats per graph ``(B,)`` (:meth:`elbo`'s ``nelbo``)."""
        return self.elbo(states, n_samples=n_samples, seed=seed, batch_size=batch_size).nelbo
