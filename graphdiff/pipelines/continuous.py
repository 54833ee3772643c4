"""Continuous SDE graph diffusion (GDSS, Jo et al. 2022; GraphGDP, Huang et al. 2022) as a pipeline.

A graph is encoded as two continuous tensors (:class:`~graphdiff.data.transforms.GraphEncoding`):

* node features ``X`` ``(B, N, F)``: one-hot atom types for molecules (GDSS), one-hot node degrees
  clipped at ``F - 1`` for plain graphs (GDSS ``init: deg``, ``max_feat_num``), the graph's own
  float features, a one-hot of its categorical node ids, or nothing (``F = 0``);
* adjacency ``A`` ``(B, N, N)``: ``{0, 1}`` for plain graphs, the bond order ``0..3`` for molecules
  (GDSS ``data_loader_mol``); decoded with thresholds ``0.5`` (plain) or ``0.5 / 1.5 / 2.5``
  (molecules, GDSS ``quantize_mol``).

With ``centered=True`` (default) both are mapped affinely onto ``[-1, 1]`` (one-hot and binary
values ``v -> 2 v - 1``, bond orders ``b -> 2 b / 3 - 1``), GraphGDP's ``data.centered``: the
data then has the scale the VP prior assumes. Decoding inverts the map before thresholding.

The joint forward process is a :class:`~graphdiff.processes.ProductProcess` with one linear SDE per
component (default VP for both, ``beta`` 0.1..20: with a prior that matches the terminal marginal
the few-step ODE / exponential-integrator samplers work) and symmetric zero-diagonal adjacency
noise; everything is masked by the node mask. The network is the position-enhanced
:class:`~graphdiff.nn.GraphScoreNetwork` (random-walk features of the thresholded noisy adjacency
at every call), trained by denoising score matching (Song et al. 2021, Eq. 7) through
:func:`graphdiff.losses.dsm_loss`; the network output is read in ``parametrization`` (default the
noise ``eps``) and converted to a score in one place (:mod:`graphdiff.processes.parametrization`).

Every score-based sampler of :data:`graphdiff.samplers.SAMPLERS` is selectable by name:
``"euler_maruyama"`` and ``"pc"`` (reference, 1000 steps), ``"ode_euler"``, ``"ode_heun"``
(``steps`` Heun steps = ``2 steps`` evaluations), ``"rk45"`` (adaptive), ``"ddim"`` and
``"dpm_solver"`` (exponential integrators in log-SNR time), and their reverse-SDE forms
``"ddpm"`` and ``"dpm_solver_sde"`` (noise fraction ``eta``, default 1).
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

import torch
from torch import Tensor, nn

from ..errors import unknown_name
from ..losses import dsm_loss
from ..processes.parametrization import PARAMETRIZATIONS, as_score_fn
from ..losses.dsm import WEIGHTINGS
from ..nn import GraphScoreNetwork
from ..processes import ProductProcess
from ..processes.registry import SDE_TYPES, process_from_config
from ..processes.base import LinearSDE
from ..samplers import SAMPLERS, sample
from ..samplers.registry import SamplerSpec
from ..data.transforms import NODE_FEATURES, GraphEncoding
from ..states import GraphState, NodeCountDistribution, pair_mask
from .base import GraphDiffusionPipeline
from .precision import upcast

__all__ = [
    "ContinuousGraphDiffusion", "SDE_TYPES", "CONTINUOUS_SAMPLERS",
    "make_sde", "make_graph_process", "DEFAULT_SAMPLER_OPTIONS",
]

#: the samplers that consume a score (the flow samplers need a velocity model)
CONTINUOUS_SAMPLERS = tuple(SAMPLERS.names(consumes="score"))  # as imported; later registrations count too

_DEFAULT_X_SDE: dict[str, Any] = {"type": "vp", "beta_min": 0.1, "beta_max": 20.0}
_DEFAULT_ADJ_SDE: dict[str, Any] = {"type": "vp", "beta_min": 0.1, "beta_max": 20.0}
#: sampler keyword arguments used unless the card overrides them (graphs are thresholded at the
#: end, so the adaptive solver does not need the tight default tolerance of the core)
DEFAULT_SAMPLER_OPTIONS: dict[str, dict[str, Any]] = {"rk45": {"rtol": 1e-3, "atol": 1e-3}}
_PROCESS_KEYS = ("x_sde", "adj_sde", "parametrization", "weighting", "node_features", "num_node_features", "centered")


# ----------------------------------------------------------------------------- processes
def make_sde(spec: Mapping[str, Any]) -> LinearSDE:
    """A linear SDE from its JSON spec: ``{"name" (or "type"): one of :data:`SDE_TYPES`, **keyword
    arguments}`` (e.g. ``{"type": "ve", "sigma_min": 0.2, "sigma_max": 1.0}``, GDSS's adjacency
    SDE), i.e. :func:`~graphdiff.processes.registry.process_from_config` restricted to SDEs."""
    spec = dict(spec)
    kind = spec.get("name", spec.get("type"))
    if kind not in SDE_TYPES:
        raise unknown_name("SDE type", kind, SDE_TYPES.all_names())
    return process_from_config(spec)


def make_graph_process(x_sde: Mapping[str, Any], adj_sde: Mapping[str, Any], *, with_x: bool = True) -> ProductProcess:
    """GDSS joint process: ``{"X": x_sde, "A": adj_sde}`` with symmetric zero-diagonal ``A`` noise
    (``with_x=False``: adjacency only, for graphs without node features)."""
    comps: dict[str, LinearSDE] = {}
    if with_x:
        comps["X"] = make_sde(x_sde)
    comps["A"] = make_sde(adj_sde)
    return ProductProcess(comps, symmetric={"A"})


# ----------------------------------------------------------------------------- helpers
def _max_or_zero(t: Tensor) -> int:
    return int(t.max()) if t.numel() else 0


# ----------------------------------------------------------------------------- pipeline
class ContinuousGraphDiffusion(GraphDiffusionPipeline):
    """Score-based joint SDE diffusion over node features and adjacency (GDSS / GraphGDP).

    Build one with :meth:`create` (sized from training graphs), train with :meth:`fit`, generate
    with :meth:`sample` (any sampler of :data:`CONTINUOUS_SAMPLERS`), score graphs with :meth:`nll`.

    Args:
        network: a :class:`~graphdiff.nn.GraphScoreNetwork` with ``num_node_features = F``.
        encoding: how graphs become continuous tensors (:class:`~graphdiff.data.transforms.GraphEncoding`).
        x_sde: JSON spec of the node SDE (:func:`make_sde`).
        adj_sde: JSON spec of the adjacency SDE.
        parametrization: what the network predicts (``"eps"``, ``"score"``, ``"x0"``, ``"v"``).
        weighting: DSM weighting (``"sigma2"``, ``"likelihood"``, ``"none"``).
        node_counts: see :class:`GraphDiffusionPipeline`.
        vocabulary: see :class:`GraphDiffusionPipeline`.
        dataset: see :class:`GraphDiffusionPipeline`.
        card: see :class:`GraphDiffusionPipeline`.
    """

    family: ClassVar[str] = "continuous"
    default_steps: ClassVar[int] = 50
    default_sampler: ClassVar[str] = "dpm_solver"
    scaffold_sampler: ClassVar[str] = "repaint"  # scaffolds of score models are inpainted (graphdiff.samplers.repaint)
    samplers: ClassVar[Any] = SAMPLERS
    #: reference settings of the 1000-step stochastic samplers
    reference_steps: ClassVar[int] = 1000

    def __init__(
        self,
        network: GraphScoreNetwork,
        *,
        encoding: GraphEncoding,
        node_counts: NodeCountDistribution,
        x_sde: Mapping[str, Any] | None = None,
        adj_sde: Mapping[str, Any] | None = None,
        parametrization: str = "eps",
        weighting: str = "sigma2",
        vocabulary: Any | None = None,
        dataset: str | None = None,
        card: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(network, node_counts=node_counts, vocabulary=vocabulary, dataset=dataset, card=card)
        if parametrization not in PARAMETRIZATIONS or parametrization == "velocity":
            raise unknown_name("parametrization", parametrization, [p for p in PARAMETRIZATIONS if p != "velocity"])
        if weighting not in WEIGHTINGS:
            raise unknown_name("weighting", weighting, WEIGHTINGS)
        if getattr(network, "num_node_features", encoding.num_node_features) != encoding.num_node_features:
            raise ValueError(f"network has {network.num_node_features} node features, the encoding {encoding.num_node_features}")
        self.encoding = encoding
        self.x_sde = dict(x_sde or _DEFAULT_X_SDE)
        self.adj_sde = dict(adj_sde or _DEFAULT_ADJ_SDE)
        self.parametrization = parametrization
        self.weighting = weighting
        self.process = make_graph_process(self.x_sde, self.adj_sde, with_x=encoding.num_node_features > 0)

    # ------------------------------------------------------------------ construction
    @classmethod
    def create(cls, *, train_state: GraphState, vocabulary: Any | None = None, dataset: str | None = None,
               network: dict[str, Any] | None = None, process: dict[str, Any] | None = None) -> "ContinuousGraphDiffusion":
        """A new model sized for ``train_state``.

        ``process`` keys (all optional): ``x_sde``, ``adj_sde`` (SDE specs, :func:`make_sde`),
        ``parametrization``, ``weighting``, ``node_features`` (default ``"atoms"`` with a
        vocabulary, ``"given"`` for float features, ``"categorical"`` for integer node ids, else
        ``"degree"``), ``num_node_features`` (for ``"degree"``: default max training degree + 1),
        ``centered`` (default ``True``). ``network`` holds keyword arguments of
        :class:`~graphdiff.nn.GraphScoreNetwork` (its feature sizes and threshold are set here)."""
        process = dict(process or {})
        bad = set(process) - set(_PROCESS_KEYS)
        if bad:
            raise ValueError(f"unknown process option(s) {sorted(bad)}; valid: {', '.join(_PROCESS_KEYS)}")
        X = train_state.X
        cat = X.dim() == 2 and not X.is_floating_point()
        if vocabulary is not None:
            default_nf = "atoms"
        elif cat:
            default_nf = "categorical"
        elif X.dim() == 3 and X.shape[-1] > 0:
            default_nf = "given"
        else:
            default_nf = "degree"
        nf = process.get("node_features", default_nf)
        if nf not in NODE_FEATURES:
            raise unknown_name("node feature encoding", nf, NODE_FEATURES)
        F = process.get("num_node_features")
        if F is None:
            if nf == "atoms":
                F = vocabulary.num_types
            elif nf == "categorical":
                F = _max_or_zero(X) + 1
            elif nf == "given":
                F = X.shape[-1]
            elif nf == "degree":
                pm = pair_mask(train_state.node_mask.bool())
                F = _max_or_zero(((train_state.A != 0) & pm).sum(-1)) + 1
            else:
                F = 0
        adjacency = "bond_order" if (vocabulary is not None or (not train_state.A.is_floating_point() and _max_or_zero(train_state.A) > 1)) else "binary"
        encoding = GraphEncoding(nf, int(F), adjacency, bool(process.get("centered", True)))
        net_kwargs = dict(network or {})
        for k in ("num_node_features", "num_edge_channels", "threshold"):
            net_kwargs.pop(k, None)
        net = GraphScoreNetwork(num_node_features=encoding.num_node_features, num_edge_channels=1,
                                threshold=encoding.edge_threshold, **net_kwargs)
        return cls(net, encoding=encoding, node_counts=NodeCountDistribution.fit(train_state),
                   x_sde=process.get("x_sde"), adj_sde=process.get("adj_sde"),
                   parametrization=process.get("parametrization", "eps"), weighting=process.get("weighting", "sigma2"),
                   vocabulary=vocabulary, dataset=dataset)

    def process_config(self) -> dict[str, Any]:
        return {"x_sde": dict(self.x_sde), "adj_sde": dict(self.adj_sde), "parametrization": self.parametrization,
                "weighting": self.weighting, "encoding": self.encoding.to_dict()}

    @classmethod
    def _build(cls, card: dict[str, Any]) -> "ContinuousGraphDiffusion":
        from ..data.molecules import AtomVocabulary

        net_cfg = card["network"]
        if net_cfg.get("class", "GraphScoreNetwork") != "GraphScoreNetwork":
            raise ValueError(f"a continuous pipeline needs a GraphScoreNetwork, the card names {net_cfg.get('class')!r}")
        proc = card["process"]
        vocab = card.get("vocabulary")
        keep = {k: v for k, v in card.items() if k not in ("pipeline", "family", "network", "process", "node_counts", "vocabulary", "dataset")}
        return cls(GraphScoreNetwork.from_config(net_cfg["config"]), encoding=GraphEncoding(**proc["encoding"]),
                   node_counts=NodeCountDistribution.from_dict(card["node_counts"]), x_sde=proc["x_sde"],
                   adj_sde=proc["adj_sde"], parametrization=proc["parametrization"], weighting=proc["weighting"],
                   vocabulary=None if vocab is None else AtomVocabulary.from_dict(vocab), dataset=card.get("dataset"),
                   card=keep)

    # ------------------------------------------------------------------ model function
    def _model_fn(self, network: nn.Module, node_mask: Tensor, cond: Mapping[str, Tensor] | None = None):
        """``(flat x_t (B, D), t (B,)) -> flat network output (B, D)`` in :attr:`parametrization`;
        ``cond``: the network's conditioning tensors (``{name: (B,)}``), if any."""
        process = self.process
        fmask = process.flat_mask(node_mask)
        cond = dict(cond or {})

        def fn(x: Tensor, t: Tensor) -> Tensor:
            st = process.unpack(x, node_mask)
            if "X" not in process.components:  # no node features: an empty (B, N, 0) X
                st = GraphState(x.new_zeros(node_mask.shape + (0,)), st.A, node_mask)
            out = network(st, t, **cond)
            parts = {"A": upcast(out.A)}
            if "X" in process.components:
                parts["X"] = upcast(out.X)
            return process.merge(parts) * fmask

        return fn

    def _pack(self, enc: GraphState) -> tuple[Tensor, Tensor]:
        """Encoded state -> flat ``(B, D)`` tensor and mask (fixes the process layout for its ``N``)."""
        return self.process.pack(enc)

    # ------------------------------------------------------------------ training
    def loss(self, network: nn.Module, batch: GraphState, generator: torch.Generator | None = None,
             cond: Mapping[str, Tensor] | None = None) -> Tensor:
        """Denoising score-matching loss (Song et al. 2021, Eq. 7) of one batch of dataset graphs
        (encoded here), mean over real entries (padding and the adjacency diagonal excluded).
        ``cond``: conditioning tensors of a conditional network (``{name: (B,)}``)."""
        enc = self.encoding.encode(batch)
        flat, fmask = self._pack(enc)
        out = dsm_loss(self._model_fn(network, enc.node_mask, cond), self.process, flat, parametrization=self.parametrization,
                       weighting=self.weighting, generator=generator, mask=fmask)
        return out.loss

    # ------------------------------------------------------------------ sampling
    def sampler_spec(self, sampler: str) -> SamplerSpec:
        """A registered sampler that consumes a score (the flow samplers need a velocity model)."""
        if sampler not in SAMPLERS or SAMPLERS.get(sampler).consumes != "score":
            raise unknown_name("sampler", sampler, SAMPLERS.names(consumes="score"))
        return SAMPLERS.get(sampler)

    def sampler_options(self, sampler: str) -> dict[str, Any]:
        """Extra keyword arguments of a sampler: :data:`DEFAULT_SAMPLER_OPTIONS` updated with the
        card's ``card["sampling"]["options"][name]`` (e.g. ``{"pc": {"snr": 0.05}}``)."""
        return {**DEFAULT_SAMPLER_OPTIONS.get(sampler, {}), **super().sampler_options(sampler)}

    def sample_batch(self, node_mask: Tensor, *, steps: int, sampler: str, generator: torch.Generator,
                     progress: bool = False, options: Mapping[str, Any] | None = None,
                     cond: Mapping[str, Tensor] | None = None, guidance_scale: float = 1.0,
                     known: Any = None, predictor: Any = None) -> tuple[GraphState, int]:
        """One batch for ``node_mask`` (B, N): prior draw, reverse SDE / ODE with ``sampler`` in
        ``steps`` steps, then :meth:`~graphdiff.data.transforms.GraphEncoding.decode`. ``options`` override
        :meth:`sampler_options` (e.g. ``{"temperature": 0.8}``). Returns ``(state, nfe)``.
        ``cond`` / ``guidance_scale``: classifier-free guidance by score mixing
        (:mod:`graphdiff.guidance.sde`; the network calls of both passes are counted).
        ``predictor``: a :class:`~graphdiff.guidance.predictor.PredictorGuide`, gradient guidance
        (:mod:`graphdiff.guidance.gradient`; one more call per evaluation). ``known = (values,
        which)``: categorical states whose entries with ``which`` True every sample keeps (RePaint
        inpainting, :mod:`graphdiff.samplers.repaint`; needs ``sampler="repaint"``)."""
        self.sampler_spec(sampler)
        node_mask = node_mask.bool()
        like, fmask = self._pack(self.encoding.template(node_mask))
        model_fn = self._model_fn(self.network, node_mask, cond)
        param = self.parametrization
        calls = 1
        if cond and guidance_scale != 1.0:
            from ..guidance.sde import classifier_free_model

            model_fn = classifier_free_model(model_fn, self._model_fn(self.network, node_mask), guidance_scale)
            calls = getattr(model_fn, "calls", 1)
        if predictor is not None and predictor.scale != 0:
            from ..guidance.gradient import predictor_guided_model

            model_fn = predictor_guided_model(model_fn, self.process, param, predictor.sde_log_prob(self.process, node_mask),
                                              predictor.scale, mask=fmask)
            param, calls = "score", calls + 1
        options = {**self.sampler_options(sampler), **dict(options or {})}
        if known is not None:
            if self.sampler_spec(sampler).name != "repaint":
                raise ValueError(f"scaffold-constrained (inpainting) sampling of continuous models uses the 'repaint' "
                                 f"sampler, not {sampler!r}")
            options["known"] = self._known_flat(known, node_mask)
        out = sample(self.process, model_fn, like, method=sampler, parametrization=param, steps=int(steps), mask=fmask,
                     generator=generator, **options)
        st = self.process.unpack(out.samples, node_mask)
        if "X" not in self.process.components:
            st = GraphState(like.new_zeros(node_mask.shape + (0,)), st.A, node_mask)
        return self.encoding.decode(st), int(out.nfe) * calls

    def _known_flat(self, known: Any, node_mask: Tensor) -> tuple[Tensor, Tensor]:
        """Categorical ``(values, which)`` -> flat encoded values and a flat boolean mask (node
        features are fixed only where they are the nodes' own classes, not derived degrees)."""
        values, which = known
        enc = self.encoding.encode(GraphState(values.X, values.A, node_mask))
        flat, _ = self._pack(enc)
        wx = which.X.bool() & node_mask
        if self.encoding.node_features not in ("atoms", "categorical"):
            wx = torch.zeros_like(wx)
        wa = which.A.bool() & (node_mask[:, :, None] & node_mask[:, None, :])
        w = GraphState(wx[..., None].expand(enc.X.shape).float(), wa.float(), node_mask)
        wflat, _ = self._pack(w)
        return flat, wflat > 0.5

    def sample_continuous(self, node_mask: Tensor, *, steps: int = 50, sampler: str = "dpm_solver", seed: int = 0) -> GraphState:
        """Like :meth:`sample_batch` but returns the raw continuous ``(X, A)`` (before decoding)."""
        self.sampler_spec(sampler)
        node_mask = node_mask.bool().to(self.device)
        g = torch.Generator(device=self.device).manual_seed(seed)
        like, fmask = self._pack(self.encoding.template(node_mask))
        self.network.eval()
        with torch.no_grad():
            out = sample(self.process, self._model_fn(self.network, node_mask), like, method=sampler,
                         parametrization=self.parametrization, steps=int(steps), mask=fmask, generator=g,
                         **self.sampler_options(sampler))
        return self.process.unpack(out.samples, node_mask)

    # ------------------------------------------------------------------ likelihood
    def nll(self, states: GraphState, *, n_probes: int = 1, rtol: float = 1e-4, atol: float = 1e-4, seed: int = 0):
        """Negative log-likelihood of graphs under the probability-flow ODE (Song et al. 2021,
        Sec. 4.3; Hutchinson trace estimator): the continuous density of the *encoded* graphs at
        ``t = eps`` (no dequantisation; each unordered node pair counts once). Returns
        :class:`graphdiff.likelihood.NLLOutput` (``nll`` nats and ``bpd`` per graph)."""
        from ..likelihood import pf_ode_nll

        states = states.to(self.device)
        enc = self.encoding.encode(states)
        flat, fmask = self._pack(enc)
        score_fn = as_score_fn(self._model_fn(self.network, enc.node_mask), self.process, self.parametrization)
        g = torch.Generator(device=self.device).manual_seed(seed)
        self.network.eval()
        return pf_ode_nll(self.process, score_fn, flat, mask=fmask, n_probes=n_probes, rtol=rtol, atol=atol, generator=g)
