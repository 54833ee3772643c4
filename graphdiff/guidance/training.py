"""Training a conditional model: turning a pipeline's network into a conditional one (fine-tuning
an unconditional model: the new conditioning input starts at zero, so the model starts as the
unconditional one) and the condition values of training molecules."""

from __future__ import annotations

import inspect
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from ..errors import unknown_name
from .condition import ConditionSpec

__all__ = ["condition_spec", "make_conditional", "attach_condition", "conditional_batches", "training_condition_values",
           "conditioning_parameters", "conditioning_lr_scales", "set_cond_film", "extend_condition", "check_cond_lr_scale", "CONDITION_KEYS",
           "refit_size_law", "check_condition_options"]

#: keys of the ``condition:`` block of a training config (``labels``: class attributes of generic graphs)
CONDITION_KEYS = ("properties", "columns", "labels", "file", "smiles_column", "dropout", "entry_dropout", "size_law")


def condition_spec(pipe: Any) -> ConditionSpec | None:
    """The :class:`ConditionSpec` of a pipeline (``card["condition"]``), or ``None`` if unconditional."""
    d = pipe.card.get("condition")
    return None if not d else ConditionSpec.from_dict(d)


def make_conditional(pipe: Any, spec: ConditionSpec) -> ConditionSpec:
    """Give ``pipe``'s network the conditioning input of ``spec`` (in place), record the condition in
    its card and return it. The existing weights are kept; the new input's weights are fresh, with
    the last layer of its MLP at zero (:class:`graphdiff.nn.layers.GlobalConditioning`), so the
    network computes exactly what it did before until it is trained. A network that already has this
    condition (training on from a conditional model) keeps its weights and its standardisation: the
    returned spec has the card's mean / std per entry (what the conditioning input learned to read),
    the training range widened to cover ``spec``'s, and ``spec``'s dropout and extras (node counts of
    the new data); standardise the new data with the returned spec. One with a different condition
    raises ``ValueError``."""
    net = pipe.network
    cfg = dict(getattr(net, "config", {}))
    have = (dict(cfg.get("cond_dims") or {}), dict(cfg.get("cond_classes") or {}))
    want = (spec.cond_dims(), spec.cond_classes())
    if have == want:
        old = condition_spec(pipe)
        if old is not None:
            spec = _keep_standardisation(old, spec)
        pipe.card["condition"] = spec.to_dict()
        return spec
    if have != ({}, {}):
        raise ValueError(f"the model is already conditioned on {sorted(have[0]) + sorted(have[1])}; "
                         f"cannot re-condition it on {spec.names}")
    pipe.network = _with_new_conditioning(net, cond_dims=want[0], cond_classes=want[1])
    pipe.card["condition"] = spec.to_dict()
    return spec


# the parameter names of the conditioning weights a network may gain on top of trained ones (all start
# so that the network computes what it did: zero last layers / zero projections)
CONDITIONING_PREFIXES = ("conditioning.cond_mlp.", "conditioning.label_embeddings.", "conditioning.film_mlp.",
                         "backbone.cond_film.")


def _with_new_conditioning(net: torch.nn.Module, carry: Callable[[torch.nn.Module, dict], dict] | None = None,
                           new_prefixes: tuple[str, ...] = CONDITIONING_PREFIXES, **changes: Any) -> torch.nn.Module:
    """``net`` rebuilt with config ``changes``, its weights carried over (through ``carry(new network,
    net's state dict) -> state dict`` where the layout changes); only weights under ``new_prefixes``
    (default: the conditioning weights, :data:`CONDITIONING_PREFIXES`) may be new, and none may be
    dropped (``ValueError`` otherwise)."""
    cfg = dict(getattr(net, "config", {}))
    cfg.update(changes)
    new = type(net).from_config(cfg)
    param = next(net.parameters())
    new.to(device=param.device, dtype=param.dtype)
    state = dict(net.state_dict())
    missing, unexpected = new.load_state_dict(state if carry is None else carry(new, state), strict=False)
    bad = [k for k in missing if not k.startswith(new_prefixes)]
    if unexpected or bad:
        raise ValueError(f"cannot carry the weights over to {changes}: the change would add {bad} and drop "
                         f"{list(unexpected)} (only new zero-initialised conditioning weights may be added)")
    return new


def extend_condition(pipe: Any, spec: ConditionSpec) -> None:
    """Training on from a conditional model with a condition that names every entry of the
    model's condition and more: give the network the new entries (in place). The old entries keep
    their weights and their standardisation (the card's mean / std); the new entries' columns of
    the condition MLPs' first layers start at zero (:meth:`GlobalConditioning.carry_input_weight`)
    and a new label gets a fresh embedding table, so the network computes exactly what it did
    until it is trained. Any other change of the condition is left to :func:`make_conditional`,
    which refuses it."""
    from ..nn.layers import GlobalConditioning

    old = condition_spec(pipe)
    if old is None or not set(old.names) < set(spec.names):
        return
    for e in old.entries:
        if spec[e.name].kind != e.kind or (e.kind == "label" and spec[e.name].num_classes != e.num_classes):
            raise ValueError(f"condition {e.name!r} is a {e.kind} in the model and differs in "
                             "the options: only new entries may be added")
    net = pipe.network
    modules = {name: m for name, m in net.named_modules() if isinstance(m, GlobalConditioning)}
    prefixes = {name: f"{name}." if name else "" for name in modules}
    added = tuple(f"{prefixes[name]}label_embeddings.{k}." for name, m in modules.items()
                  for k in spec.cond_classes() if k not in m.cond_classes)

    def carry(new: torch.nn.Module, state: dict) -> dict:
        for name, module in modules.items():
            grown = new.get_submodule(name)
            assert isinstance(grown, GlobalConditioning)
            for part in ("cond_mlp", "film_mlp"):
                key = f"{prefixes[name]}{part}.net.0.weight"
                if key in state:
                    state[key] = grown.carry_input_weight(module, state[key])
        return state

    pipe.network = _with_new_conditioning(net, carry, added, cond_dims=spec.cond_dims(), cond_classes=spec.cond_classes())
    # the card names every entry: the old ones with their standardisation, the new ones with the data's
    entries = list(old.entries) + [e for e in spec.entries if e.name not in old.names]
    pipe.card["condition"] = ConditionSpec(entries, dropout=old.dropout, entry_dropout=old.entry_dropout,
                                           extra=dict(old.extra)).to_dict()


def set_cond_film(pipe: Any, on: bool) -> None:
    """Give ``pipe``'s network the per-layer conditioning path (``cond_film``, in place): new
    zero-initialised weights (:class:`graphdiff.nn.layers.ConditionFiLM` and the embedding that
    feeds it), so the network computes exactly what it did. Only for a conditional network (an
    unconditional one records the option and gains the weights with its condition, in
    :func:`make_conditional`). Turning the path off on a network that has it raises ``ValueError``
    (it would drop trained weights); asking for the state the network is in does nothing."""
    net = pipe.network
    cfg = dict(getattr(net, "config", {}))
    if bool(cfg.get("cond_film", False)) == bool(on):
        return
    if not on:
        raise ValueError("the model has the per-layer conditioning path (cond_film) and its trained weights; "
                         "it cannot be turned off when training on")
    if "cond_film" not in inspect.signature(type(net).__init__).parameters:
        raise ValueError(f"{type(net).__name__} has no per-layer conditioning path (cond_film)")
    pipe.network = _with_new_conditioning(net, cond_film=True)


def conditioning_parameters(network: torch.nn.Module) -> list[torch.nn.Parameter]:
    """The parameters of ``network``'s conditioning path: the condition MLP (``cond_mlp``), the
    label embeddings and the FiLM embedding (``film_mlp``) of every
    :class:`graphdiff.nn.layers.GlobalConditioning` inside it, and every per-layer
    :class:`graphdiff.nn.layers.ConditionFiLM` (found by module type, not by parameter names), in
    module order. The time MLP and the time embedding are
    not part of it. Empty for an unconditional network."""
    from ..nn.layers import ConditionFiLM, GlobalConditioning

    out: list[torch.nn.Parameter] = []
    seen: set[int] = set()
    for module in network.modules():
        if isinstance(module, ConditionFiLM):
            parts: tuple[Any, ...] = (module,)
        elif isinstance(module, GlobalConditioning):
            parts = tuple(getattr(module, part, None) for part in ("cond_mlp", "label_embeddings", "film_mlp"))
        else:
            continue
        for sub in parts:
            if sub is None:
                continue
            for p in sub.parameters():
                if id(p) not in seen:
                    seen.add(id(p))
                    out.append(p)
    return out


def check_cond_lr_scale(scale: Any, *, conditional: bool = True) -> float:
    """``train.cond_lr_scale`` as a float; ``ValueError`` unless it is a finite number > 0, or when it
    is not 1 and the model is not ``conditional``."""
    import math

    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"cond_lr_scale must be a finite number > 0, got {scale!r}")
    if scale != 1 and not conditional:
        raise ValueError(f"cond_lr_scale {scale:g} scales the learning rate of the conditioning weights: it needs a "
                         "conditional model (a `condition:` block)")
    return float(scale)


def conditioning_lr_scales(network: torch.nn.Module, scale: float) -> list[tuple[list[torch.nn.Parameter], float]]:
    """``lr_scales`` for :func:`graphdiff.training.fit` that train the conditioning path
    (:func:`conditioning_parameters`) at ``scale`` times the learning rate: ``[]`` for ``scale == 1``
    (one parameter group, the trainer's default); ``ValueError`` for a scale that is not a finite
    number > 0, or a network without conditioning weights."""
    scale = check_cond_lr_scale(scale)
    if scale == 1.0:
        return []
    params = conditioning_parameters(network)
    if not params:
        raise ValueError(f"cond_lr_scale {scale:g} needs a conditional network, and this "
                         f"{type(network).__name__} has no conditioning weights (give a `condition:` block, or "
                         "init_from a conditional model)")
    return [(params, scale)]


def _keep_standardisation(old: ConditionSpec, new: ConditionSpec) -> ConditionSpec:
    """``new`` with ``old``'s mean / std per entry and the union of both training ranges."""
    from dataclasses import replace

    if sorted(old.names) != sorted(new.names):
        raise ValueError(f"the model is conditioned on {old.names}; cannot train it on with {new.names}")
    entries = []
    for e in new.entries:
        o = old[e.name]
        if o.kind != e.kind:
            raise ValueError(f"condition {e.name!r} is a {o.kind} in the model and a {e.kind} in the options")
        entries.append(e if e.kind == "label" else
                       replace(e, mean=o.mean, std=o.std, low=min(o.low, e.low), high=max(o.high, e.high)))
    return ConditionSpec(entries, dropout=new.dropout, entry_dropout=new.entry_dropout, extra=dict(new.extra))


def attach_condition(pipe: Any, spec: ConditionSpec, values: np.ndarray, state: Any, *, size_law: str = "auto") -> Tensor:
    """Make ``pipe`` conditional on ``spec`` (:func:`make_conditional`), with ``p(N | y)`` fitted
    on the raw training ``values`` ``(n, k)`` and the graph sizes of ``state``
    (:func:`~graphdiff.guidance.node_counts.fit_node_counts`, ``size_law``); returns the
    standardised ``Y`` for ``pipe.fit(state, condition=Y)``."""
    _fit_size_law(spec, values, state.node_mask.sum(-1), size_law)
    n_missing = int(np.isnan(values).any(1).sum())
    if n_missing:
        spec.extra["train_rows_with_missing_entries"] = n_missing
    spec = make_conditional(pipe, spec)  # training on from a conditional model: its standardisation
    return spec.standardise(values)


def _fit_size_law(spec: ConditionSpec, values: np.ndarray, sizes: Any, size_law: str) -> None:
    from .node_counts import fit_node_counts

    classes = [e.num_classes if e.kind == "label" else 0 for e in spec.entries]
    spec.extra["node_counts"] = fit_node_counts(values, sizes, labels=classes, size_law=size_law).to_dict()  # p(N | y)


def refit_size_law(pipe: Any, values: np.ndarray, sizes: Any, *, size_law: str = "auto") -> None:
    """Refit a conditional model's ``p(N | y)`` (in its card, in place) on raw training conditions
    ``values`` ``(n, k)`` in the card's entry order and graph sizes ``(n,)``; the network is
    untouched. For a model saved with the joint bins, ``size_law="mlp"`` gives the sharper law
    (:class:`~graphdiff.guidance.node_counts.NeuralNodeCounts`)."""
    spec = condition_spec(pipe)
    if spec is None:
        raise ValueError("refit_size_law needs a conditional model; this one has no condition in its card")
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != len(spec.entries):
        raise ValueError(f"values must be (n, {len(spec.entries)}) for the entries {spec.names}, got {v.shape}")
    _fit_size_law(spec, v, sizes, size_law)
    pipe.card["condition"] = spec.to_dict()


def conditional_batches(pipe: Any, data: Any, condition: Tensor) -> tuple[ConditionSpec, tuple]:
    """Check a training condition ``Y`` ``(B, k)`` against the pipeline's spec; the trainer's tensors."""
    spec = condition_spec(pipe)
    if spec is None:
        raise ValueError("fit(condition=...) needs a conditional model: graphdiff.guidance.make_conditional(pipe, spec) "
                         "first (or the `condition:` block of a training config)")
    y = torch.as_tensor(condition, dtype=torch.float32)
    if y.dim() == 1:
        y = y[:, None]
    if y.shape != (data.batch_size, len(spec.entries)):
        raise ValueError(f"condition must be (B, {len(spec.entries)}) = one row per training graph "
                         f"({spec.names}); got {tuple(y.shape)} for B={data.batch_size}")
    return spec, (data.X, data.A, data.node_mask, y)


def check_condition_options(options: Any) -> None:
    """Errors of a ``condition:`` config block that need no data (unknown keys, property names or
    ``size_law``), so a training run refuses them before reading its molecules."""
    from ..data.properties import PROPERTIES
    from .node_counts import SIZE_LAW_CHOICES

    if not isinstance(options, Mapping):
        raise ValueError(f"the condition block must be a mapping (properties: [...], ...), got {type(options).__name__}")
    bad = set(options) - set(CONDITION_KEYS)
    if bad:
        raise ValueError(f"unknown condition option(s) {sorted(bad)}; valid: {', '.join(CONDITION_KEYS)}")
    if options.get("size_law", "auto") not in SIZE_LAW_CHOICES:
        raise ValueError(f"unknown condition size_law {options['size_law']!r}; valid: {', '.join(SIZE_LAW_CHOICES)}")
    for p in options.get("properties") or []:
        if p not in PROPERTIES:
            raise unknown_name("property", p, PROPERTIES)


def training_condition_values(options: Mapping[str, Any], smiles: Sequence[str] | None, *,
                              progress: bool = False, graphs: Sequence[Any] | None = None
                              ) -> tuple[list[str], list[str], np.ndarray]:
    """The raw training condition of a ``condition:`` config block for the molecules ``smiles``
    (in order): ``(names, kinds, values (n, k))``. ``properties`` are computed with RDKit
    (:mod:`graphdiff.data.properties`), through its on-disk cache (:func:`cached_properties`); ``columns`` are read from ``file`` (a CSV whose
    ``smiles_column`` rows must be the training SMILES, in order). For generic ``graphs`` (no
    ``smiles``), ``labels`` and ``columns`` name graph attributes
    (:func:`graphdiff.guidance.graph_labels.graph_condition_values`)."""
    from ..data.properties import PROPERTIES, cached_properties, read_property_columns

    check_condition_options(options)
    if smiles is None and graphs is not None:
        from .graph_labels import graph_condition_values

        wrong = [k for k in ("properties", "file", "smiles_column") if options.get(k)]
        if wrong:
            raise ValueError(f"condition {', '.join(wrong)} need molecules; for generic graphs give `labels` and/or "
                             "`columns`: names of graph attributes")
        return graph_condition_values(graphs, labels=list(options.get("labels") or []),
                                      columns=list(options.get("columns") or []))
    if options.get("labels"):
        raise ValueError("condition `labels` are graph attributes of generic graphs (dataset or graphs_file); "
                         "for molecules give `properties` and/or `columns`")
    props = list(options.get("properties") or [])
    cols = list(options.get("columns") or [])
    if not props and not cols:
        raise ValueError(f"the condition block needs `properties` (any of {', '.join(PROPERTIES)}) and/or `columns`")
    if smiles is None:
        raise ValueError("a property condition needs molecules (a molecule dataset or smiles_file)")
    parts, kinds = [], []
    if props:
        parts.append(cached_properties(smiles, props, progress=progress))  # on-disk cache (GRAPHDIFF_PROPERTY_CACHE=0: off)
        kinds += ["property"] * len(props)
    if cols:
        if not options.get("file"):
            raise ValueError("condition `columns` need `file`: a CSV with a SMILES column and those columns")
        file_smiles, vals = read_property_columns(options["file"], cols, smiles_column=options.get("smiles_column", "smiles"))
        if len(file_smiles) != len(smiles) or any(a.strip() != b.strip() for a, b in zip(file_smiles, smiles)):
            raise ValueError(f"{options['file']}: its SMILES must be the training molecules in order "
                             f"({len(file_smiles)} rows for {len(smiles)} molecules)")
        parts.append(vals)
        kinds += ["column"] * len(cols)
    return props + cols, kinds, np.concatenate(parts, axis=1)
