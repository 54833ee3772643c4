"""Steered sampling from a pipeline: property / label targets with classifier-free guidance, graph
sizes from ``p(N | y)``, and scaffold-constrained (inpainting) sampling.

:func:`sample_guided` is what ``pipe.sample(..., condition=..., guidance_scale=..., scaffold=...)``
and ``graphdiff.generate_molecules(...)`` call.
"""

from __future__ import annotations

import time
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from ..states import GraphState
from .condition import ConditionSpec
from .ctmc import check_guidance_scale
from .node_counts import node_counts_from_dict
from .selection import check_candidates, sample_best_of_k
from .training import condition_spec

__all__ = ["sample_guided", "encode_scaffold", "Scaffold", "DEFAULT_GUIDANCE_SCALE"]

#: classifier-free guidance scale when neither the caller nor the card gives one (plain conditional)
DEFAULT_GUIDANCE_SCALE = 1.0


class Scaffold:
    """A fixed subgraph every sample must contain: categorical node classes ``X`` ``(k,)`` and edge
    classes ``A`` ``(k, k)`` (class 0 = no bond, also fixed) of its ``k`` atoms, and the SMILES it
    came from (if any)."""

    def __init__(self, X: Tensor, A: Tensor, smiles: str | None = None) -> None:
        self.X, self.A, self.smiles = X.long(), A.long(), smiles

    @property
    def size(self) -> int:
        return int(self.X.shape[0])

    def known(self, node_mask: Tensor) -> tuple[GraphState, GraphState]:
        """``(values, which)`` for a batch ``node_mask`` ``(B, N)``: the scaffold on nodes ``0..k-1``."""
        B, N = node_mask.shape
        k = self.size
        X = torch.zeros(B, N, dtype=torch.long)
        A = torch.zeros(B, N, N, dtype=torch.long)
        X[:, :k] = self.X
        A[:, :k, :k] = self.A
        wx = torch.zeros(B, N, dtype=torch.bool)
        wx[:, :k] = True
        wa = wx[:, :, None] & wx[:, None, :]
        dev = node_mask.device
        return (GraphState(X.to(dev), A.to(dev), node_mask), GraphState(wx.to(dev), wa.to(dev), node_mask))


def encode_scaffold(pipe: Any, scaffold: "str | GraphState", scaffold_mask: Tensor | None = None) -> Scaffold:
    """A :class:`Scaffold` from a SMILES (molecule models; kekulized bonds, atoms in the model's
    vocabulary) or from a one-graph categorical :class:`GraphState` (its real nodes, or those with
    ``scaffold_mask`` True). Errors: atoms the model cannot encode (naming them), a scaffold larger
    than the model's largest graph, an empty scaffold."""
    max_nodes = pipe.node_counts.max_nodes
    if isinstance(scaffold, str):
        if pipe.vocabulary is None:
            raise ValueError("a scaffold SMILES needs a molecule model; for generic graphs pass a GraphState")
        from ..data.molecules import smiles_to_state
        from ..errors import InvalidGraphError

        try:
            enc = smiles_to_state([scaffold], pipe.vocabulary, on_invalid="raise", on_unknown="raise", warn=False)
        except InvalidGraphError as exc:
            raise ValueError(f"invalid scaffold SMILES {scaffold!r}: {exc}") from exc
        st = enc.state
        smiles = scaffold
    elif isinstance(scaffold, GraphState):
        st, smiles = scaffold, None
        if st.batch_size != 1:
            raise ValueError(f"a scaffold GraphState must hold one graph, got {st.batch_size}")
        if st.X.dim() != 2 or st.X.is_floating_point() or st.A.dim() != 3 or st.A.is_floating_point():
            raise ValueError("a scaffold GraphState must be categorical: X (1, N) long, A (1, N, N) long")
    else:
        raise TypeError(f"scaffold must be a SMILES string or a GraphState, got {type(scaffold).__name__}")
    keep = st.node_mask[0].bool()
    if scaffold_mask is not None:
        keep = keep & torch.as_tensor(scaffold_mask, dtype=torch.bool).reshape(-1)[: keep.shape[0]]
    idx = torch.nonzero(keep).reshape(-1)
    if idx.numel() == 0:
        raise ValueError("the scaffold is empty")
    if idx.numel() > max_nodes:
        raise ValueError(f"the scaffold has {idx.numel()} atoms; this model generates at most {max_nodes}")
    X = st.X[0, idx]
    A = st.A[0][idx][:, idx]
    nc, ec = getattr(pipe, "num_node_classes", None), getattr(pipe, "num_edge_classes", None)
    if nc is not None and (int(X.max()) >= nc or int(A.max()) >= ec):
        raise ValueError(f"the scaffold uses node / edge classes this model does not have ({nc} node, {ec} edge classes)")
    return Scaffold(X, A, smiles)


def _size_probs(pipe: Any, spec: ConditionSpec | None, raw: np.ndarray | None, n: int) -> Tensor:
    """``p(N)`` per sample ``(n, max_nodes + 1)``: ``p(N | y)`` from the card when a condition is given."""
    if spec is not None and raw is not None and "node_counts" in spec.extra:
        p = node_counts_from_dict(spec.extra["node_counts"]).probs(raw).float()
        M = pipe.node_counts.max_nodes
        if p.shape[1] < M + 1:
            p = torch.nn.functional.pad(p, (0, M + 1 - p.shape[1]))
        return p[:, : M + 1]
    return pipe.node_counts.probs.float()[None].expand(n, -1)


def sample_guided(
    pipe: Any,
    n: int,
    *,
    condition: Mapping[str, Any] | None = None,
    guidance_scale: float | None = None,
    scaffold: "str | GraphState | None" = None,
    scaffold_mask: Tensor | None = None,
    predictor: Any = None,
    predictor_scale: float | None = None,
    num_nodes: Sequence[int] | Tensor | None = None,
    steps: int | None = None,
    sampler: str | None = None,
    seed: int = 0,
    batch_size: int = 512,
    sampler_options: Mapping[str, Any] | None = None,
    progress: bool = False,
    sort_sizes: bool = True,
    candidates: int = 1,
) -> Any:
    """``n`` samples of ``pipe`` steered by a ``condition`` (``{name: value or n values}``, names of
    the model's ``card["condition"]``) with classifier-free guidance ``guidance_scale`` (default:
    the card's ``sampling.guidance_scale``, else 1), and / or containing a ``scaffold`` (SMILES or
    one-graph :class:`GraphState`). Sizes come from ``num_nodes``, else from ``p(N | y)`` (card),
    else from the model's ``p(N)``, restricted to at least the scaffold's size. Molecule samples
    carry ``targets`` and achieved ``properties``.

    ``predictor`` (a :class:`~graphdiff.guidance.predictor.NoisyGraphPredictor` trained on this
    model's noisy graphs, or the folder it was saved to) steers any model, conditional or not,
    towards the ``condition`` entries it predicts, with scale ``predictor_scale`` (default 1; 0 =
    unguided): the first-order rate tilt for CTMC models, gradient guidance for SDE models. A
    condition entry the model is also conditioned on goes to both. Scaffolds of continuous models
    are inpainted with RePaint (sampler ``"repaint"``, the default then; ``sampler_options``
    ``{"jumps": r}`` resamples each step ``r`` times).

    Errors (never a silent unconditional run): a condition for an unconditional model (without a
    predictor of it), unknown names (listing the valid ones), a guidance scale without a
    condition, a predictor of another model or without a target, a predictor scale without a
    predictor, a scaffold the model cannot encode or larger than its largest graph. Targets far
    outside the training range warn.
    ``candidates=k`` (> 1; molecule models with a property target): best-of-k selection, ``k``
    candidates per molecule and the one whose RDKit properties lie nearest the targets returned, at
    ``k`` times the network calls (:mod:`graphdiff.guidance.selection`; a selection step, not the model).
    ``sort_sizes``: batch the graphs by size (less padding); they come back in draw order."""
    n = int(n)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    k = check_candidates(candidates)
    if k > 1:
        return sample_best_of_k(pipe, n, k, condition=condition, predictor=predictor, num_nodes=num_nodes,
                                guidance_scale=guidance_scale, scaffold=scaffold, scaffold_mask=scaffold_mask,
                                predictor_scale=predictor_scale, steps=steps, sampler=sampler, seed=seed,
                                batch_size=batch_size, sampler_options=sampler_options, progress=progress,
                                sort_sizes=sort_sizes)
    spec = condition_spec(pipe)
    name = pipe.card.get("name") or pipe.dataset or "this model"
    guide = None
    if predictor is not None:
        guide, condition = _predictor_guide(pipe, predictor, predictor_scale, condition, spec, n)
    elif predictor_scale is not None:
        raise ValueError("predictor_scale needs a predictor (a NoisyGraphPredictor trained on this model's noisy graphs)")
    if condition is not None and spec is None:
        raise ValueError(f"{name} is an unconditional model: it cannot take a condition (a conditional model "
                         f"such as the bundled 'qm9_cond' can; or train one with a `condition:` block)")
    if guidance_scale is not None and not condition:
        if guide is not None:
            raise ValueError("guidance_scale is classifier-free guidance of a conditional model on its own condition "
                             "entries; predictor guidance is scaled by predictor_scale")
        raise ValueError("guidance_scale needs a condition (it scales the pull towards it)")
    raw = Y = None
    w = 1.0
    if condition is not None:
        assert spec is not None
        raw = spec.targets(condition, n)
        Y = spec.standardise(raw)
        if guidance_scale is None:
            guidance_scale = pipe.card.get("sampling", {}).get("guidance_scale", DEFAULT_GUIDANCE_SCALE)
        w = check_guidance_scale(guidance_scale)
    if not hasattr(pipe, "sample_batch") or "known" not in pipe.sample_batch.__code__.co_varnames:
        raise ValueError(f"{type(pipe).__name__} does not support steered sampling")
    sc = None if scaffold is None else encode_scaffold(pipe, scaffold, scaffold_mask)

    from ..pipelines.checks import check_sampler_options

    sampler = pipe.resolve_sampler(sampler, scaffold=sc is not None)
    options = {**pipe.sampler_options(sampler), **dict(sampler_options or {})}
    check_sampler_options(options)
    steps = int(steps or pipe.card.get("sampling", {}).get("steps") or pipe.default_steps)
    g_sizes = torch.Generator().manual_seed(seed)
    if num_nodes is not None:
        sizes = torch.as_tensor(num_nodes, dtype=torch.long).reshape(-1)
        if sizes.numel() != n:
            raise ValueError(f"num_nodes has {sizes.numel()} entries for n={n}")
        if sizes.numel() and int(sizes.max()) > pipe.node_counts.max_nodes:
            raise ValueError(f"num_nodes asks for {int(sizes.max())} nodes; this model handles at most {pipe.node_counts.max_nodes}")
        if sc is not None and sizes.numel() and int(sizes.min()) < sc.size:
            raise ValueError(f"num_nodes has sizes below the scaffold's {sc.size} atoms")
    else:
        p = _size_probs(pipe, spec, raw, n).clone()
        if sc is not None:
            p[:, : sc.size] = 0
            empty = p.sum(1) <= 0
            p[empty, sc.size] = 1.0  # no training graph that large for this target: the scaffold alone
        sizes = torch.multinomial(p, 1, generator=g_sizes).reshape(-1) if n else torch.zeros(0, dtype=torch.long)

    pipe.network.eval()
    t0 = time.perf_counter()
    gdev = torch.Generator(device=pipe.device).manual_seed(seed + 1)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, desc=f"sampling ({sampler}, {steps} steps, w={w:g})", unit="graph")
    states, nfe, per_graph = [], 0, 0
    order = torch.sort(sizes, stable=True).indices if sort_sizes else torch.arange(n)
    with torch.no_grad():
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            sz = sizes[idx]
            mask = (torch.arange(max(int(sz.max()), 1))[None, :] < sz[:, None]).to(pipe.device)
            cond = None if Y is None else {k: v.to(pipe.device) for k, v in spec.network_kwargs(Y[idx]).items()}
            known = None if sc is None else sc.known(mask)
            kw = {} if guide is None else {"predictor": guide.batch(idx, pipe.device)}
            st, k = pipe.sample_batch(mask, steps=steps, sampler=sampler, generator=gdev, options=options, cond=cond,
                                      guidance_scale=w, known=known, **kw)
            states.append(st.to("cpu"))
            nfe += int(k)
            per_graph = max(per_graph, int(k))
            if bar is not None:
                bar.update(len(sz))
    if bar is not None:
        bar.close()
    if states:
        state = GraphState.cat(states)[torch.argsort(order)]  # back to draw order
    else:
        state = GraphState(torch.zeros(0, 0, dtype=torch.long), torch.zeros(0, 0, 0, dtype=torch.long),
                           torch.zeros(0, 0, dtype=torch.bool))
    info: dict[str, Any] = {"steps": steps, "sampler": sampler, "seed": seed, "options": options}
    if condition is not None:
        info.update(condition={k: (v if np.ndim(v) == 0 else "per sample") for k, v in condition.items()},
                    guidance_scale=w)
    if sc is not None:
        info["scaffold"] = sc.smiles if sc.smiles is not None else f"<graph of {sc.size} nodes>"
    if guide is not None:
        info.update(predictor={k: (v if np.ndim(v) == 0 else "per sample") for k, v in guide.condition.items()},
                    predictor_scale=guide.scale)
    out = pipe._wrap(state, nfe=nfe, seconds=time.perf_counter() - t0, info=info, nfe_per_graph=per_graph)
    if hasattr(out, "properties"):
        _attach_properties(out, spec, raw, condition)
        if guide is not None:
            _attach_predictor_targets(out, guide)
    return out


def _attach_properties(out: Any, spec: ConditionSpec | None, raw: np.ndarray | None,
                       condition: Mapping[str, Any] | None) -> None:
    """Targets and achieved RDKit properties of molecule samples (the spec's properties)."""
    from ..data.properties import PROPERTIES, compute_properties

    names = spec.property_names if spec is not None else []
    if condition:
        names = list(dict.fromkeys([*names, *[k for k in condition if k in PROPERTIES]]))
    if raw is not None and spec is not None:
        out.targets = {e.name: raw[:, j] for j, e in enumerate(spec.entries) if not np.isnan(raw[:, j]).all()}
    if names:
        vals = compute_properties(out.molecules, names)
        out.properties = {k: vals[:, j] for j, k in enumerate(names)}


class _BatchedGuide:
    """Predictor guidance of a whole sampling call: the predictor, its standardised targets
    ``(n, k)`` (raw ones in ``raw``) and the scale; :meth:`batch` cuts one batch's guide."""

    def __init__(self, predictor: Any, y: Tensor, raw: np.ndarray, scale: float, condition: Mapping[str, Any]) -> None:
        self.predictor, self.y, self.raw, self.scale, self.condition = predictor, y, raw, scale, dict(condition)

    def batch(self, idx: Tensor, device: Any) -> Any:
        from .predictor import PredictorGuide

        return PredictorGuide(self.predictor, self.y[idx].to(device), self.scale)


def _predictor_guide(pipe: Any, predictor: Any, predictor_scale: float | None, condition: Mapping[str, Any] | None,
                     spec: ConditionSpec | None, n: int) -> tuple[_BatchedGuide, dict[str, Any] | None]:
    """The predictor's guide and what is left of ``condition`` for the model itself (``None`` if
    nothing). Entries the predictor predicts go to it (and to the model too if it is conditioned on
    them); other entries must be the model's."""
    from .predictor import as_predictor

    predictor = as_predictor(predictor, device=pipe.device)
    predictor.check_pipeline(pipe)
    predictor.to(pipe.device).eval()
    scale = check_guidance_scale(1.0 if predictor_scale is None else predictor_scale, "predictor_scale")
    pspec = predictor.spec
    mine = {k: v for k, v in dict(condition or {}).items() if k in pspec.names}
    if not mine:
        raise ValueError(f"predictor guidance needs a target: condition={{name: value}} with any of "
                         f"{', '.join(pspec.describe())}")
    rest = {}
    for k, v in dict(condition or {}).items():
        if k in pspec.names and (spec is None or k not in spec.names):
            continue
        if spec is None or k not in spec.names:
            model = f"the model's: {', '.join(spec.describe())}" if spec is not None else "the model is unconditional"
            raise ValueError(f"unknown condition {k!r}; the predictor predicts: {', '.join(pspec.describe())} ({model})")
        rest[k] = v
    raw = pspec.targets(mine, n)
    return _BatchedGuide(predictor, pspec.standardise(raw), raw, scale, mine), (rest or None)


def _attach_predictor_targets(out: Any, guide: _BatchedGuide) -> None:
    """The predictor's targets and, for RDKit properties among them, the achieved values."""
    from ..data.properties import PROPERTIES, compute_properties

    targets = dict(getattr(out, "targets", None) or {})
    for j, e in enumerate(guide.predictor.spec.entries):
        if not np.isnan(guide.raw[:, j]).all():
            targets.setdefault(e.name, guide.raw[:, j])
    out.targets = targets
    props = dict(getattr(out, "properties", None) or {})
    names = [k for k in guide.condition if k in PROPERTIES and k not in props]
    if names:
        vals = compute_properties(out.molecules, names)
        props.update({k: vals[:, j] for j, k in enumerate(names)})
        out.properties = props
