"""Training a :class:`~graphdiff.guidance.predictor.NoisyGraphPredictor` on the noisy graphs of a
diffusion model's own forward process.

Each step draws a batch of training graphs, a time ``t`` per graph (``U(0, 1)`` for the CTMC family,
the SDE's training times for the continuous one), noises the graphs with the model's forward
process (CTMC: corrupted node / edge classes; SDE: noised encoded features and adjacency) and fits
the predictor to the graphs' condition values: Gaussian negative log-likelihood (mean and
log-variance, standardised units) for continuous entries, cross-entropy for labels, NaN values
left out. The graphs' values come from the user (any numeric columns or labels) or, for
molecules, from RDKit (:func:`molecule_property_data`).
"""

from __future__ import annotations

import math
import time
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from ..states import GraphState
from .condition import ConditionSpec
from .predictor import NoisyGraphPredictor

__all__ = ["noisy_graphs", "predictor_loss", "train_predictor", "molecule_property_data", "predictor_mae"]


def noisy_graphs(pipe: Any, graphs: GraphState, generator: torch.Generator | None = None,
                 t: Tensor | None = None) -> tuple[GraphState, Tensor]:
    """``(G_t, t)``: dataset ``graphs`` noised by ``pipe``'s forward process at ``t`` ``(B,)`` (drawn
    when not given), in the form the predictor reads (categorical / encoded continuous)."""
    graphs = graphs.to(pipe.device)
    B = graphs.batch_size
    if pipe.family == "discrete":
        from ..losses.ctmc import sample_ctmc_training_pair

        return sample_ctmc_training_pair(pipe.process, pipe.categorical(graphs), t=t, generator=generator)
    enc = pipe.encoding.encode(graphs)
    flat, fmask = pipe.process.pack(enc)
    if t is None:
        t = pipe.process.sample_time(B, generator=generator, device=flat.device)
    xt, _ = pipe.process.sample_marginal(flat, t, generator=generator, mask=fmask)
    st = pipe.process.unpack(xt, enc.node_mask)
    if "X" not in pipe.process.components:
        st = GraphState(xt.new_zeros(enc.node_mask.shape + (0,)), st.A, enc.node_mask)
    return st, t


def predictor_loss(model: NoisyGraphPredictor, state: GraphState, t: Tensor, y: Tensor) -> Tensor:
    """Mean over given entries of the Gaussian NLL (continuous) / cross-entropy (labels)."""
    parts = model.split(model(state, t))
    total, count = y.new_zeros(()), 0
    for j, (e, part) in enumerate(zip(model.spec.entries, parts)):
        v = y[:, j]
        have = ~torch.isnan(v)
        if not bool(have.any()):
            continue
        if e.kind == "label":
            nll = torch.nn.functional.cross_entropy(part[0][have].float(), v[have].long())
        else:
            mean, logvar = part[0][have].float(), part[1][have].float()
            nll = 0.5 * ((v[have] - mean) ** 2 * torch.exp(-logvar) + logvar + math.log(2 * math.pi)).mean()
        total, count = total + nll, count + 1
    return total / max(count, 1)


def _trim(state: GraphState) -> GraphState:
    n = max(int(state.node_mask.sum(1).max()), 1) if state.batch_size else 1
    return GraphState(state.X[:, :n], state.A[:, :n, :n], state.node_mask[:, :n])


@torch.no_grad()
def predictor_mae(model: NoisyGraphPredictor, pipe: Any, graphs: GraphState, values: np.ndarray, *,
                  times: Sequence[float] = (0.1, 0.5, 0.9), seed: int = 0, batch_size: int = 256) -> dict[str, dict[str, float]]:
    """Mean absolute error (raw units; labels: error rate) of the predictions on ``graphs`` noised
    at each of ``times``: ``{entry: {"t=0.1": mae, ...}}``."""
    g = torch.Generator(device=pipe.device).manual_seed(seed)
    model.eval()
    out: dict[str, dict[str, float]] = {e.name: {} for e in model.spec.entries}
    vals = np.asarray(values, dtype=np.float64).reshape(graphs.batch_size, -1)
    for t in times:
        preds = []
        for s in range(0, graphs.batch_size, batch_size):
            part = _trim(graphs[s:s + batch_size])
            st, tv = noisy_graphs(pipe, part, g, t=torch.full((part.batch_size,), float(t), device=pipe.device))
            preds.append(model.predict(st, tv).double().cpu().numpy())
        pred = np.concatenate(preds) if preds else np.zeros((0, vals.shape[1]))
        for j, e in enumerate(model.spec.entries):
            ok = ~np.isnan(vals[:, j])
            err = (pred[ok, j] != vals[ok, j]) if e.kind == "label" else np.abs(pred[ok, j] - vals[ok, j])
            out[e.name][f"t={t:g}"] = float(err.mean()) if ok.any() else float("nan")
    return out


def train_predictor(
    pipe: Any,
    graphs: GraphState,
    values: np.ndarray | Tensor,
    names: Sequence[str],
    *,
    kinds: Sequence[str] | None = None,
    network: Mapping[str, Any] | None = None,
    steps: int = 2000,
    max_minutes: float | None = None,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    valid_fraction: float = 0.1,
    progress: bool = False,
) -> NoisyGraphPredictor:
    """A :class:`NoisyGraphPredictor` of entries ``names`` (raw ``values`` ``(n, k)`` of the ``n``
    dataset ``graphs``; NaN = unknown; ``kinds`` as in :meth:`ConditionSpec.from_data`), trained on
    ``pipe``'s noisy graphs for ``steps`` steps or ``max_minutes``, whichever ends first. A
    ``valid_fraction`` of the graphs is held out: the predictor's card records the held-out MAE at
    a few noise levels (:func:`predictor_mae`), the steps and the minutes."""
    vals = np.asarray(values, dtype=np.float64).reshape(graphs.batch_size, -1)
    if vals.shape[1] != len(names):
        raise ValueError(f"values have {vals.shape[1]} columns for {len(names)} names {list(names)}")
    if graphs.batch_size < 2:
        raise ValueError("training a predictor needs at least 2 graphs")
    if steps < 1 or batch_size < 1 or not lr > 0:
        raise ValueError(f"steps and batch_size must be >= 1 and lr > 0, got {steps}, {batch_size}, {lr}")
    if not 0.0 <= valid_fraction < 1.0:
        raise ValueError(f"valid_fraction must lie in [0, 1), got {valid_fraction}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(graphs.batch_size)
    n_valid = int(round(valid_fraction * graphs.batch_size))
    valid, train = order[:n_valid], order[n_valid:]
    spec = ConditionSpec.from_data(list(names), vals[train], kinds=kinds, dropout=0.0, entry_dropout=0.0)
    Y = spec.standardise(vals)
    model = NoisyGraphPredictor.for_pipeline(pipe, spec, network=network).to(pipe.device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    g = torch.Generator(device=pipe.device).manual_seed(seed)
    t0 = time.perf_counter()
    losses: list[float] = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc="noisy predictor", unit="step")
    step = 0
    model.train()
    while step < steps and (max_minutes is None or time.perf_counter() - t0 < 60 * max_minutes):
        idx = torch.as_tensor(rng.choice(train, size=min(batch_size, len(train)), replace=False))
        st, t = noisy_graphs(pipe, _trim(graphs[idx]), g)
        loss = predictor_loss(model, st, t, Y[idx].to(pipe.device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(float(loss.detach()))
        step += 1
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}")
    if bar is not None:
        bar.close()
    model.eval()
    report: dict[str, Any] = {"steps": step, "minutes": round((time.perf_counter() - t0) / 60, 2), "batch_size": batch_size,
                              "lr": lr, "train_graphs": int(len(train)), "final_loss": float(np.mean(losses[-50:]))}
    if n_valid:
        report["valid_graphs"] = n_valid
        report["valid_mae"] = predictor_mae(model, pipe, graphs[torch.as_tensor(valid)], vals[valid], seed=seed)
    model.card["training"] = report
    return model


def molecule_property_data(pipe: Any, smiles: Sequence[str], properties: Sequence[str]) -> tuple[GraphState, np.ndarray]:
    """``(graphs, values)`` of the molecules ``smiles`` a molecule model can encode (others are
    skipped) and their RDKit ``properties`` (:mod:`graphdiff.data.properties`)."""
    from ..data.molecules import smiles_to_state
    from ..data.properties import PROPERTIES, compute_properties
    from ..errors import unknown_name

    if pipe.vocabulary is None:
        raise ValueError("molecule properties need a molecule model (one with an atom vocabulary)")
    for p in properties:
        if p not in PROPERTIES:
            raise unknown_name("property", p, PROPERTIES)
    enc = smiles_to_state(list(smiles), pipe.vocabulary, max_atoms=pipe.node_counts.max_nodes, on_unknown="skip",
                          on_too_large="skip", warn=False)
    vals = compute_properties([smiles[i] for i in enc.indices], list(properties))
    return enc.state, vals
