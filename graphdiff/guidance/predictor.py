"""A property predictor on *noisy* graphs, for predictor guidance of an unconditional model.

:class:`NoisyGraphPredictor` reads the noisy graphs of one diffusion model's forward process (the
question of DiGress issue #8: the predictor must see ``G_t``, not clean graphs) and predicts the
entries of a :class:`~graphdiff.guidance.ConditionSpec`: a Gaussian (mean and log-variance, in
standardised units) for each continuous entry, class logits for each label. Its body is the
family's own graph network (:class:`~graphdiff.nn.GraphTransformerDenoiser` on categorical
graphs for the CTMC family, :class:`~graphdiff.nn.GraphScoreNetwork` on encoded continuous graphs
for the SDE family), without conditioning; the readout pools the last layer's node and edge
channels (masked mean and size-scaled sum) with the global channel into an MLP.

:meth:`NoisyGraphPredictor.log_prob` is ``log p_t(y | G_t)`` for targets ``Y`` (NaN entries left
out): the Gaussian log-density, whose variance grows with the noise, so the pull fades where the
predictor cannot tell; :class:`PredictorGuide` turns it into the CTMC first-order rate tilt
(:mod:`.tilt`) or the SDE gradient (:mod:`.gradient`). Saved as ``model.safetensors`` +
``config.json`` like the pipelines (:meth:`save_pretrained`, :meth:`from_pretrained`).
Training: :mod:`.predictor_training`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import Tensor, nn

from ..errors import CheckpointError
from ..registry import Registry
from ..states import GraphState
from .condition import ConditionSpec

__all__ = ["NoisyGraphPredictor", "as_predictor", "PredictorGuide", "PREDICTOR_BODIES", "LOGVAR_RANGE"]

#: clamp of the predicted log-variance (standardised units)
LOGVAR_RANGE = (-6.0, 4.0)

#: the body network of each family's predictor: ``(network class, reads)``
PREDICTOR_BODIES: Registry[str] = Registry("predictor family")
PREDICTOR_BODIES.register("discrete", "graphdiff.nn:GraphTransformerDenoiser", reads="categorical")
PREDICTOR_BODIES.register("continuous", "graphdiff.nn:GraphScoreNetwork", reads="encoded")

_FORMAT = "graphdiff-noisy-predictor"


class NoisyGraphPredictor(nn.Module):
    """Predicts a condition's entries from a noisy graph ``G_t`` and ``t`` (module docstring).

    Args:
        family: the diffusion family whose noisy graphs it reads (``"discrete"``, ``"continuous"``).
        spec: the entries it predicts (standardisation and training ranges).
        body: keyword arguments of the family's network (:data:`PREDICTOR_BODIES`), including its
            input sizes (class counts, or feature width and edge threshold).
        max_nodes: the largest graph (scales the sum pooling).
        readout_hidden: width of the readout MLP.
    """

    def __init__(self, family: str, spec: ConditionSpec, body: Mapping[str, Any], *, max_nodes: int,
                 readout_hidden: int = 64, card: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        body_cls = PREDICTOR_BODIES.get(family)
        body = dict(body)
        if body.get("cond_dims") or body.get("cond_classes"):
            raise ValueError("a noisy predictor's body takes no condition")
        self.family, self.spec, self.max_nodes = PREDICTOR_BODIES.entry(family).name, spec, int(max_nodes)
        self.body = body_cls(**body)
        self.body_config = dict(self.body.config)
        self.readout_hidden = int(readout_hidden)
        self.card: dict[str, Any] = dict(card or {})
        hx = self.body_config.get("hidden", 64)
        he = self.body_config.get("edge_hidden", 32)
        hy = self.body_config.get("global_hidden", 32)
        self.out_dims = [e.num_classes if e.kind == "label" else 2 for e in spec.entries]
        self.readout = nn.Sequential(nn.Linear(2 * hx + 2 * he + hy + 1, readout_hidden), nn.SiLU(),
                                     nn.Linear(readout_hidden, readout_hidden), nn.SiLU(),
                                     nn.Linear(readout_hidden, sum(self.out_dims)))
        self._last: tuple[Tensor, Tensor, Tensor] | None = None
        self.body.backbone.layers[-1].register_forward_hook(self._keep)

    def _keep(self, module: nn.Module, args: Any, output: tuple[Tensor, Tensor, Tensor]) -> None:
        self._last = output

    # ------------------------------------------------------------------ construction
    @classmethod
    def for_pipeline(cls, pipe: Any, spec: ConditionSpec, *, network: Mapping[str, Any] | None = None,
                     readout_hidden: int = 64) -> "NoisyGraphPredictor":
        """A fresh predictor for the noisy graphs of ``pipe`` (its family, class counts or
        encoding); ``network``: sizes of the body (default ``hidden=64, depth=3``)."""
        family = getattr(pipe, "family", None)
        kw = {"hidden": 64, "depth": 3, **dict(network or {})}
        if family == "discrete":
            kw.update(num_node_classes=pipe.process.node_process.num_states, num_edge_classes=pipe.process.edge_process.num_states)
        elif family == "continuous":
            kw.update(num_node_features=pipe.encoding.num_node_features, num_edge_channels=1,
                      threshold=pipe.encoding.edge_threshold)
        else:
            raise ValueError(f"noisy predictors exist for the discrete and continuous families, not {family!r}")
        card = {"model": pipe.card.get("name") or pipe.dataset, "process": pipe.process_config()}
        return cls(family, spec, kw, max_nodes=pipe.node_counts.max_nodes, readout_hidden=readout_hidden, card=card)

    def check_pipeline(self, pipe: Any) -> None:
        """``ValueError`` unless ``pipe`` makes the noisy graphs this predictor was trained on."""
        if getattr(pipe, "family", None) != self.family:
            raise ValueError(f"this predictor reads noisy graphs of the {self.family} family; the model is "
                             f"{getattr(pipe, 'family', type(pipe).__name__)}")
        proc = self.card.get("process")
        if proc is not None and proc != pipe.process_config():
            raise ValueError(f"this predictor was trained on the noisy graphs of another process "
                             f"({self.card.get('model') or 'unnamed model'}); train one for this model")
        if pipe.node_counts.max_nodes > self.max_nodes:
            raise ValueError(f"this predictor handles graphs of at most {self.max_nodes} nodes; the model makes {pipe.node_counts.max_nodes}")

    # ------------------------------------------------------------------ forward
    def forward(self, state: GraphState, t: Tensor) -> Tensor:
        """Noisy graphs (categorical or one-hot for the discrete family; encoded continuous
        ``X``, ``A`` for the continuous one) -> raw outputs ``(B, sum(out_dims))``."""
        self._last = None
        self.body(state, t)
        assert self._last is not None
        h, e, y = self._last
        nm = state.node_mask.bool()
        pm = nm[:, :, None] & nm[:, None, :]
        n = nm.sum(1, keepdim=True).clamp_min(1).to(h.dtype)
        hs = (h * nm[..., None]).sum(1)
        es = (e * pm[..., None]).sum((1, 2))
        M = float(self.max_nodes)
        feats = torch.cat([hs / n, hs / M, es / (n * n), es / (M * M), y, n / M], -1)
        return self.readout(feats)

    def split(self, out: Tensor) -> list[tuple[Tensor, ...]]:
        """Per entry: ``(mean, logvar)`` ``(B,)`` each (continuous) or ``(logits (B, K),)`` (label)."""
        parts, i = [], 0
        for e, d in zip(self.spec.entries, self.out_dims):
            o = out[:, i:i + d]
            i += d
            if e.kind == "label":
                parts.append((o,))
            else:
                parts.append((o[:, 0], o[:, 1].clamp(*LOGVAR_RANGE)))
        return parts

    def log_prob(self, state: GraphState, t: Tensor, y: Tensor) -> Tensor:
        """``log p_t(y | G_t)`` ``(B,)`` for standardised targets ``y`` ``(B, k)`` (NaN: left out)."""
        out = self.split(self(state, t))
        total = torch.zeros(y.shape[0], dtype=torch.float32, device=y.device)
        for j, (e, part) in enumerate(zip(self.spec.entries, out)):
            v = y[:, j].to(total.device)
            have = ~torch.isnan(v)
            if not bool(have.any()):
                continue
            if e.kind == "label":
                lp = torch.log_softmax(part[0].float(), -1).gather(-1, v.nan_to_num(0).long().clamp_min(0)[:, None])[:, 0]
            else:
                mean, logvar = part[0].float(), part[1].float()
                lp = -0.5 * ((v.nan_to_num(0) - mean) ** 2 * torch.exp(-logvar) + logvar + math.log(2 * math.pi))
            total = total + torch.where(have, lp, torch.zeros_like(lp))
        return total

    def predict(self, state: GraphState, t: Tensor) -> Tensor:
        """Raw-unit predictions ``(B, k)``: the mean of continuous entries, the most likely label."""
        cols = []
        for e, part in zip(self.spec.entries, self.split(self(state, t))):
            cols.append(part[0].argmax(-1).float() if e.kind == "label" else part[0])
        return self.spec.unstandardise(torch.stack(cols, 1)).float()

    # ------------------------------------------------------------------ saving
    def config(self) -> dict[str, Any]:
        body = {k: v for k, v in self.body_config.items() if k not in ("cond_dims", "cond_classes")}
        return {"format": _FORMAT, "family": self.family, "condition": self.spec.to_dict(), "body": body,
                "max_nodes": self.max_nodes, "readout_hidden": self.readout_hidden, "card": self.card}

    def save_pretrained(self, path: str | Path) -> Path:
        """Write ``path/model.safetensors`` and ``path/config.json`` (atomic, no pickle)."""
        from ..training import save_weights

        return save_weights(path, self.state_dict(), self.config())

    @classmethod
    def from_pretrained(cls, path: str | Path, *, device: str | torch.device = "cpu") -> "NoisyGraphPredictor":
        """Load a predictor written by :meth:`save_pretrained` (sha256-verified)."""
        from ..training import load_weights

        p = Path(path)
        if not (p / "config.json").exists():
            raise FileNotFoundError(f"no noisy predictor at {p} (expected config.json and model.safetensors)")
        sd, cfg = load_weights(p)
        if cfg.get("format") != _FORMAT:
            raise CheckpointError(f"{p} does not hold a noisy graph predictor (it may be a diffusion model)")
        model = cls(cfg["family"], ConditionSpec.from_dict(cfg["condition"]), cfg["body"], max_nodes=cfg["max_nodes"],
                    readout_hidden=cfg["readout_hidden"], card=cfg.get("card"))
        try:
            model.load_state_dict(sd, strict=True)
        except RuntimeError as exc:
            raise CheckpointError(f"{p}: weights do not match config.json: {exc}") from exc
        return model.to(device).eval()



def as_predictor(predictor: Any, *, device: str | torch.device = "cpu") -> NoisyGraphPredictor:
    """``predictor`` itself if it is a :class:`NoisyGraphPredictor`, else the one saved in the folder
    it names (a ``str`` or path); anything else raises ``TypeError``."""
    if isinstance(predictor, (str, os.PathLike)):
        predictor = NoisyGraphPredictor.from_pretrained(predictor, device=device)
    if not isinstance(predictor, NoisyGraphPredictor):
        raise TypeError(f"predictor must be a NoisyGraphPredictor or the folder it was saved to, got {type(predictor).__name__}")
    return predictor

@dataclass
class PredictorGuide:
    """Predictor guidance of one batch: a :class:`NoisyGraphPredictor`, the standardised targets
    ``y`` ``(B, k)`` and the scale ``w`` (0: unguided)."""

    predictor: NoisyGraphPredictor
    y: Tensor
    scale: float

    def ctmc_log_tilt(self, process: Any):
        """``log_tilt(state, t)`` for the CTMC samplers: the first-order tilt (:mod:`.tilt`)."""
        from .tilt import first_order_log_tilt

        def lp(onehot: Any, state: GraphState, t: Tensor) -> Tensor:
            return self.predictor.log_prob(GraphState(onehot[0], onehot[1], state.node_mask), t, self.y)

        def log_tilt(state: GraphState, t: Tensor) -> list[Tensor]:
            return first_order_log_tilt(process, state, t, lp)

        return log_tilt

    def sde_log_prob(self, process: Any, node_mask: Tensor):
        """``log_prob(flat x_t, t)`` for :func:`~graphdiff.guidance.gradient.predictor_guided_model`."""
        def log_prob(x: Tensor, t: Tensor) -> Tensor:
            st = process.unpack(x, node_mask)
            if "X" not in process.components:
                st = GraphState(x.new_zeros(node_mask.shape + (0,)), st.A, node_mask)
            return self.predictor.log_prob(st, t, self.y)

        return log_prob
