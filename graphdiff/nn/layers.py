"""Building blocks shared by the graph networks: time embeddings, masked MLPs, masked softmax and
pooling, global conditioning, and a graph-transformer layer that updates node, edge and global
channels (after DiGress's ``XEyTransformerLayer``, Vignac et al. 2023, Sec. 4 / App. B.1).

Shapes: node channels ``h`` ``(B, N, dx)``, edge channels ``e`` ``(B, N, N, de)``, global
channels ``y`` ``(B, dy)``, ``node_mask`` ``(B, N)`` bool. Every layer keeps padded nodes and
pairs at zero and never lets them influence real ones (masked softmax over real keys only,
masked pooling), so outputs are permutation-equivariant and padding-invariant.
"""

from __future__ import annotations

import math
from typing import Mapping

import torch
from torch import Tensor, nn

from ..errors import unknown_name
from ..states import pair_mask

__all__ = [
    "ACTIVATIONS",
    "TIME_EMBEDDINGS",
    "activation",
    "SinusoidalTimeEmbedding",
    "GaussianFourierTimeEmbedding",
    "time_embedding",
    "MLP",
    "masked_softmax",
    "masked_node_pool",
    "masked_edge_pool",
    "GlobalConditioning",
    "ConditionFiLM",
    "GraphTransformerLayer",
    "batch_time",
]

ACTIVATIONS = ("relu", "silu", "gelu", "tanh")
TIME_EMBEDDINGS = ("sinusoidal", "fourier")


def activation(name: str) -> nn.Module:
    """An activation module by name (one of :data:`ACTIVATIONS`)."""
    if name == "relu":
        return nn.ReLU()
    if name == "silu":
        return nn.SiLU()
    if name == "gelu":
        return nn.GELU()
    if name == "tanh":
        return nn.Tanh()
    raise unknown_name("activation", name, ACTIVATIONS)


# ---------------------------------------------------------------------------- time embeddings
class SinusoidalTimeEmbedding(nn.Module):
    """Transformer sinusoidal embedding of ``scale * t`` (DDPM, Ho et al. 2020; Vaswani et al.
    2017, Sec. 3.5): ``[sin(scale t w_i), cos(scale t w_i)]`` with ``w_i = max_period^(-i/half)``.

    ``t`` ``(B,)`` in ``[0, 1]`` -> ``(B, dim)``."""

    def __init__(self, dim: int, scale: float = 1000.0, max_period: float = 10000.0) -> None:
        super().__init__()
        if dim < 2:
            raise ValueError(f"time embedding dim must be >= 2, got {dim}")
        self.dim, self.scale = dim, float(scale)
        half = dim // 2
        freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float64) / max(half - 1, 1))
        self.register_buffer("freqs", freqs.float(), persistent=False)

    def forward(self, t: Tensor) -> Tensor:
        args = (t.to(self.freqs.dtype) * self.scale)[:, None] * self.freqs[None]
        emb = torch.cat([torch.sin(args), torch.cos(args)], -1)
        if self.dim % 2:
            emb = nn.functional.pad(emb, (0, 1))
        return emb


class GaussianFourierTimeEmbedding(nn.Module):
    """Random Fourier features ``[sin(2 pi t W), cos(2 pi t W)]``, ``W ~ N(0, sigma^2)`` fixed
    (Tancik et al. 2020; score_sde's ``GaussianFourierProjection``, Song et al. 2021).

    ``W`` is a persistent buffer drawn from a fixed seed, so it is saved in checkpoints.
    ``t`` ``(B,)`` -> ``(B, dim)``."""

    def __init__(self, dim: int, sigma: float = 16.0, seed: int = 0) -> None:
        super().__init__()
        if dim < 2 or dim % 2:
            raise ValueError(f"Fourier time embedding dim must be even and >= 2, got {dim}")
        g = torch.Generator().manual_seed(seed)
        self.register_buffer("W", torch.randn(dim // 2, generator=g) * sigma)

    def forward(self, t: Tensor) -> Tensor:
        args = 2 * math.pi * t.to(self.W.dtype)[:, None] * self.W[None]
        return torch.cat([torch.sin(args), torch.cos(args)], -1)


def time_embedding(name: str, dim: int) -> nn.Module:
    """``"sinusoidal"`` (:class:`SinusoidalTimeEmbedding`) or ``"fourier"``
    (:class:`GaussianFourierTimeEmbedding`)."""
    if name == "sinusoidal":
        return SinusoidalTimeEmbedding(dim)
    if name == "fourier":
        return GaussianFourierTimeEmbedding(dim)
    raise unknown_name("time embedding", name, TIME_EMBEDDINGS)


# ------------------------------------------------------------------------------------ MLPs
class MLP(nn.Module):
    """``Linear -> act -> ... -> Linear`` over the last dimension; ``forward(x, mask)`` zeroes the
    output where ``mask`` (broadcast over the last dimension) is False.

    ``num_layers`` counts linear layers (>= 1); ``act_last`` applies the activation at the end."""

    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int, num_layers: int = 2, act: str = "silu",
                 dropout: float = 0.0, act_last: bool = False) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        dims = [in_dim] + [hidden_dim] * (num_layers - 1) + [out_dim]
        mods: list[nn.Module] = []
        for i in range(num_layers):
            mods.append(nn.Linear(dims[i], dims[i + 1]))
            if i < num_layers - 1 or act_last:
                mods.append(activation(act))
                if dropout and i < num_layers - 1:
                    mods.append(nn.Dropout(dropout))
        self.net = nn.Sequential(*mods)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        out = self.net(x)
        if mask is not None:
            out = out * mask.unsqueeze(-1).to(out.dtype)
        return out


# --------------------------------------------------------------------------- masked ops
def masked_softmax(logits: Tensor, mask: Tensor, dim: int) -> Tensor:
    """Softmax over ``dim`` restricted to ``mask`` (broadcastable to ``logits``); masked entries
    get probability 0, and a slice with no valid entry gives all zeros (no NaN)."""
    mask = mask.expand_as(logits)
    x = logits.masked_fill(~mask, torch.finfo(logits.dtype).min)
    return torch.softmax(x, dim) * mask.to(logits.dtype)


def masked_node_pool(h: Tensor, node_mask: Tensor) -> Tensor:
    """Masked mean and max over real nodes: ``(B, N, d)`` -> ``(B, 2d)`` (zeros for empty graphs)."""
    m = node_mask.unsqueeze(-1)
    cnt = m.sum(1).clamp_min(1).to(h.dtype)
    mean = (h * m.to(h.dtype)).sum(1) / cnt
    mx = h.masked_fill(~m, torch.finfo(h.dtype).min).amax(1)
    mx = torch.where(m.any(1), mx, torch.zeros_like(mx))
    return torch.cat([mean, mx], -1)


def masked_edge_pool(e: Tensor, pair_mask: Tensor) -> Tensor:
    """Masked mean and max over real pairs ``pair_mask`` ``(B, N, N)``: ``(B, N, N, d)`` -> ``(B, 2d)``."""
    B, N, _, d = e.shape
    return masked_node_pool(e.reshape(B, N * N, d), pair_mask.reshape(B, N * N))


class GlobalConditioning(nn.Module):
    """Global input vector: an MLP of the time embedding plus an embedding of the condition ``y``,
    concatenated with graph-level features.

    The condition has named entries: continuous ones in ``cond_dims`` (``{"logp": 1, "qed": 1}``,
    given as ``(B,)`` or ``(B, d)`` floats) and class labels in ``cond_classes`` (``{"label": 10}``,
    given as ``(B,)`` integers in ``[0, K)``). **Any entry may be missing**: a name left out of
    ``cond``, a row of NaN (continuous) or a label ``< 0`` marks it absent for that graph, and the
    all-absent condition is the null condition of classifier-free guidance (Ho & Salimans 2022).
    Each continuous entry enters as ``[m * y, m]`` with its present-mask ``m``; each label through
    an embedding table whose extra row ``K`` is the learned null label. An MLP maps the
    concatenation to the width of the time features and is *added* to them; its last layer starts
    at zero, so a network with a newly added condition computes exactly what it did without one
    (fine-tuning an unconditional model into a conditional one, ControlNet-style zero init).

    ``forward(t (B,), graph_features (B, Fg), cond: {name: tensor}) -> (B, out_dim)`` with
    ``out_dim = time_hidden + Fg``. Unknown names raise ``ValueError`` listing the valid ones.

    ``film=True`` (a conditional network only) adds a second route: ``film_mlp``, an MLP of the same
    condition input to a ``(B, film_dim)`` embedding (``film_dim = time_hidden``; *not* zero at init)
    that :class:`ConditionFiLM` projects, per transformer layer, into a scale and shift of the node
    and edge channels. :meth:`features` returns it next to the global vector."""

    def __init__(self, time_embedding_name: str, time_dim: int, time_hidden: int, graph_feature_dim: int,
                 cond_dims: Mapping[str, int] | None = None, act: str = "silu",
                 cond_classes: Mapping[str, int] | None = None, film: bool = False) -> None:
        super().__init__()
        self.embed = time_embedding(time_embedding_name, time_dim)
        self.time_mlp = MLP(time_dim, time_hidden, time_hidden, 2, act)
        self.cond_dims = {str(k): int(v) for k, v in sorted((cond_dims or {}).items())}
        self.cond_classes = {str(k): int(v) for k, v in sorted((cond_classes or {}).items())}
        for k, v in self.cond_dims.items():
            if v < 1:
                raise ValueError(f"conditioning {k!r} must have dim >= 1, got {v}")
        for k, v in self.cond_classes.items():
            if v < 1:
                raise ValueError(f"class conditioning {k!r} must have >= 1 classes, got {v}")
        both = set(self.cond_dims) & set(self.cond_classes)
        if both:
            raise ValueError(f"conditioning names {sorted(both)} are both continuous and class labels")
        self.out_dim = time_hidden + graph_feature_dim
        if self.names:
            label_dim = time_hidden
            self.label_embeddings = nn.ModuleDict({k: nn.Embedding(v + 1, label_dim) for k, v in self.cond_classes.items()})
            in_dim = sum(d + 1 for d in self.cond_dims.values()) + label_dim * len(self.cond_classes)
            self.cond_mlp = MLP(in_dim, time_hidden, time_hidden, 2, act)
            last = self.cond_mlp.net[-1]
            assert isinstance(last, nn.Linear)
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
        self.film_dim = time_hidden if (film and self.names) else 0
        if self.film_dim:
            self.film_mlp = MLP(in_dim, time_hidden, time_hidden, 2, act, act_last=True)

    @property
    def names(self) -> list[str]:
        """Every conditioning name (continuous, then labels)."""
        return list(self.cond_dims) + list(self.cond_classes)

    def input_columns(self) -> dict[str, slice]:
        """Where each entry sits in :meth:`condition_input` (the condition MLPs' input): ``dim + 1``
        columns per continuous entry (``[m * y, m]``), then a label embedding per label."""
        out, i = {}, 0
        for name, dim in self.cond_dims.items():
            out[name] = slice(i, i + dim + 1)
            i += dim + 1
        for name in self.cond_classes:
            width = self.label_embeddings[name].embedding_dim
            out[name] = slice(i, i + width)
            i += width
        return out

    def carry_input_weight(self, old: "GlobalConditioning", weight: Tensor) -> Tensor:
        """``old``'s first-layer weight of a condition MLP (``(out, old input)``) laid out for this
        module's input, which holds every entry of ``old`` (same widths) and possibly new ones: each
        old entry's columns move to its place here, a new entry's columns are zero. The input is
        a sum over columns, so the layer computes exactly what it did (for any value of a new
        entry) until the new columns are trained: how a conditional model gains new condition
        entries on top of trained weights."""
        have, want = old.input_columns(), self.input_columns()
        gone = [n for n in have if n not in want or (have[n].stop - have[n].start) != (want[n].stop - want[n].start)]
        if gone:
            raise ValueError(f"cannot carry the condition input over: entries {gone} are missing or change width")
        out = weight.new_zeros(weight.shape[0], sum(s.stop - s.start for s in want.values()))
        for name, cols in have.items():
            out[:, want[name]] = weight[:, cols]
        return out

    def condition_input(self, cond: Mapping[str, Tensor], batch_size: int, dtype: torch.dtype,
                        device: torch.device) -> Tensor:
        """The condition MLPs' input: ``[m * y, m]`` per continuous entry, label embeddings."""
        unknown = set(cond) - set(self.names)
        if unknown:
            raise unknown_name("conditioning", sorted(unknown)[0], self.names or ["<none: the network is unconditional>"])
        B, parts = batch_size, []
        for name, dim in self.cond_dims.items():
            if name in cond and cond[name] is not None:
                c = torch.as_tensor(cond[name], device=device).to(dtype)
                if c.numel() == dim and c.dim() <= 1 and B != 1:
                    c = c.reshape(1, dim).expand(B, dim)  # one value for the whole batch
                if c.numel() != B * dim:
                    raise ValueError(f"conditioning {name!r} must be (B,) or (B, {dim}) with B={B}, got {tuple(c.shape)}")
                c = c.reshape(B, dim)
                present = ~torch.isnan(c).any(-1, keepdim=True)
                c = torch.where(present, c, torch.zeros((), dtype=dtype, device=device))
            else:
                c = torch.zeros(B, dim, dtype=dtype, device=device)
                present = torch.zeros(B, 1, dtype=torch.bool, device=device)
            parts += [c, present.to(dtype)]
        for name, k in self.cond_classes.items():
            if name in cond and cond[name] is not None:
                lab = torch.as_tensor(cond[name], device=device)
                if lab.is_floating_point():
                    lab = torch.where(torch.isnan(lab), torch.full_like(lab, -1), lab)
                lab = lab.long().reshape(-1)
                if lab.numel() == 1 and B != 1:
                    lab = lab.expand(B)
                if lab.numel() != B:
                    raise ValueError(f"label {name!r} must be (B,) with B={B}, got {tuple(lab.shape)}")
                if bool((lab >= k).any()):
                    raise ValueError(f"label {name!r} must lie in [0, {k}) (or < 0 for absent), got {int(lab.max())}")
                lab = torch.where(lab < 0, torch.full_like(lab, k), lab)
            else:
                lab = torch.full((B,), k, dtype=torch.long, device=device)
            parts.append(self.label_embeddings[name](lab).to(dtype))
        return torch.cat(parts, -1)

    def features(self, t: Tensor, graph_features: Tensor, cond: Mapping[str, Tensor]) -> tuple[Tensor, Tensor | None]:
        """``(global input (B, out_dim), FiLM embedding (B, film_dim) or None without film)``."""
        h = self.time_mlp(self.embed(t)).to(graph_features.dtype)
        c = None
        if self.names:
            inp = self.condition_input(cond, t.shape[0], graph_features.dtype, t.device)
            h = h + self.cond_mlp(inp)
            if self.film_dim:
                c = self.film_mlp(inp)
        elif cond:
            unknown = sorted(cond)
            raise unknown_name("conditioning", unknown[0], ["<none: the network is unconditional>"])
        return torch.cat([h, graph_features], -1), c

    def forward(self, t: Tensor, graph_features: Tensor, cond: Mapping[str, Tensor]) -> Tensor:
        return self.features(t, graph_features, cond)[0]


class ConditionFiLM(nn.Module):
    """Per-layer conditioning of a graph-transformer stack (FiLM, Perez et al. 2018): layer ``i``
    gets its own linear map of the condition embedding ``c`` ``(B, cond_dim)`` (from
    :class:`GlobalConditioning` with ``film=True``) to a scale and shift of the node channels
    ``h <- h (1 + s_x) + b_x`` and of the edge channels ``e <- e (1 + s_e) + b_e``, applied to the
    layer's input and kept at zero at padding. Every map starts at zero, so a network given this
    path computes exactly what it did without it (it can be added to a trained conditional model).

    The scale and shift are per graph, so symmetry of ``e`` and permutation equivariance hold."""

    def __init__(self, cond_dim: int, node_dim: int, edge_dim: int, depth: int) -> None:
        super().__init__()
        self.node_dim, self.edge_dim = node_dim, edge_dim
        self.proj = nn.ModuleList(nn.Linear(cond_dim, 2 * (node_dim + edge_dim)) for _ in range(depth))
        for lin in self.proj:
            nn.init.zeros_(lin.weight)
            nn.init.zeros_(lin.bias)

    def forward(self, i: int, c: Tensor, h: Tensor, e: Tensor, xm: Tensor, pm: Tensor) -> tuple[Tensor, Tensor]:
        """Layer ``i``'s FiLM of ``h`` ``(B, N, dx)`` and ``e`` ``(B, N, N, de)``; ``xm`` ``(B, N, 1)`` and
        ``pm`` ``(B, N, N, 1)`` are the float node and pair masks."""
        dx, de = self.node_dim, self.edge_dim
        sx, bx, se, be = self.proj[i](c).to(h.dtype).split([dx, dx, de, de], -1)
        h = torch.addcmul(bx[:, None] * xm, h, 1 + sx[:, None])
        e = torch.addcmul(be[:, None, None] * pm, e, 1 + se[:, None, None])
        return h, e


# ------------------------------------------------------------------------ transformer layer
class GraphTransformerLayer(nn.Module):
    """One graph-transformer layer over node, edge and global channels (DiGress-style).

    1. Pair scores ``S_ij = (q_i * k_j) / sqrt(d_head)`` per feature, modulated by the edge
       channels with FiLM: ``S_ij <- S_ij (1 + W_m e_ij) + W_a e_ij`` (DiGress eq. in App. B.1).
    2. Edge update: ``e_ij' = W_e FiLM_y(S_ij)``.
    3. Attention: per-head logits ``sum_d S_ijd``, softmax over real keys ``j`` only; messages
       ``v_j + W_v e_ij`` (edge-aware values, GRIT); node update ``W_x FiLM_y(sum_j a_ij m_ij)``.
    4. Global update from ``y`` and masked mean/max pools of nodes and edges (skipped, returning
       ``y`` unchanged, when ``update_global=False``: the last layer of a stack).
    5. Residual + LayerNorm, then a feed-forward block with residual + LayerNorm, per channel type.

    ``forward(h (B,N,dx), e (B,N,N,de), y (B,dy), node_mask (B,N)) -> (h, e, y)`` same shapes.
    """

    def __init__(self, node_dim: int, edge_dim: int, global_dim: int, heads: int, ff_mult: int = 2,
                 dropout: float = 0.0, act: str = "silu", layer_norm_eps: float = 1e-5,
                 update_global: bool = True) -> None:
        super().__init__()
        if node_dim % heads:
            raise ValueError(f"node_dim={node_dim} must be divisible by heads={heads}")
        dx, de, dy = node_dim, edge_dim, global_dim
        self.heads, self.d_head = heads, dx // heads
        self.qkv = nn.Linear(dx, 3 * dx)
        self.e_proj = nn.Linear(de, 3 * dx)  # FiLM multiplier, FiLM shift, value term
        self.y_film_e = nn.Linear(dy, 2 * dx)
        self.y_film_x = nn.Linear(dy, 2 * dx)
        self.e_out = nn.Linear(dx, de)
        self.x_out = nn.Linear(dx, dx)
        self.ff_x = MLP(dx, ff_mult * dx, dx, 2, act, dropout)
        self.ff_e = MLP(de, ff_mult * de, de, 2, act, dropout)
        self.norm_x1, self.norm_x2 = nn.LayerNorm(dx, eps=layer_norm_eps), nn.LayerNorm(dx, eps=layer_norm_eps)
        self.norm_e1, self.norm_e2 = nn.LayerNorm(de, eps=layer_norm_eps), nn.LayerNorm(de, eps=layer_norm_eps)
        self.update_global = update_global
        if update_global:  # the last layer of a stack has no use for a new y
            self.y_self = nn.Linear(dy, dy)
            self.x_to_y = nn.Linear(2 * dx, dy)
            self.e_to_y = nn.Linear(2 * de, dy)
            self.y_out = MLP(dy, dy, dy, 2, act)
            self.ff_y = MLP(dy, ff_mult * dy, dy, 2, act, dropout)
            self.norm_y1, self.norm_y2 = nn.LayerNorm(dy, eps=layer_norm_eps), nn.LayerNorm(dy, eps=layer_norm_eps)
        self.drop = nn.Dropout(dropout)

    def forward(self, h: Tensor, e: Tensor, y: Tensor, node_mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """The maths of the class docstring, arranged so that few tensors of pair size
        ``(B, N, N, dx)`` are made: per-pair work dominates the cost on CPU. Every rearrangement
        is exact (linearity), so the parameters and outputs are those of the literal formula
        (``tests/test_nn_layers.py`` checks it against a line-by-line reference):

        * ``S (1 + W_m e) + W_a e`` is one ``addcmul`` with the ``+ 1`` folded into the bias;
        * ``W_e FiLM_y(S) = S @ (W_e diag(1 + y_m))^T + W_e y_a + b`` is one batched GEMM with a
          per-graph weight, instead of a pair-size FiLM pass before the linear layer;
        * ``sum_j a_ij (W_v e_ij + b_v) = W_v (sum_j a_ij e_ij) + b_v sum_j a_ij`` per head: the
          value term is applied to the attention-pooled edge channels, at node size, so the
          pair-size value tensor is never made.
        """
        B, N, dx = h.shape
        H, dh = self.heads, self.d_head
        de = e.shape[-1]
        xm = node_mask.unsqueeze(-1).to(h.dtype)  # (B, N, 1)
        pmask = pair_mask(node_mask, diagonal=True)  # (B, N, N), diagonal kept
        pm = pmask.unsqueeze(-1).to(h.dtype)

        q, k, v = (self.qkv(h) * xm).chunk(3, -1)
        q = (q * (1.0 / math.sqrt(dh))).reshape(B, N, H, dh)
        k, v = k.reshape(B, N, H, dh), v.reshape(B, N, H, dh)
        S = q[:, :, None] * k[:, None, :]  # (B, N, N, H, dh)
        # FiLM of the scores by the edges, S (1 + W_m e) + W_a e; entries at padded pairs are finite
        # and never reach a real output
        W, b = self.e_proj.weight, self.e_proj.bias
        film_bias = torch.cat([b[:dx] + 1.0, b[dx:2 * dx]])
        e_mul1, e_add = nn.functional.linear(e, W[:2 * dx], film_bias).chunk(2, -1)
        S = torch.addcmul(e_add.reshape(B, N, N, H, dh), S, e_mul1.reshape(B, N, N, H, dh))

        # edge update W_e FiLM_y(S) as one batched GEMM with the FiLM scale folded into the weight
        ym, ya = self.y_film_e(y).chunk(2, -1)
        w_e = self.e_out.weight.unsqueeze(0) * (1 + ym).unsqueeze(1)  # (B, de, dx)
        shift = nn.functional.linear(ya, self.e_out.weight, self.e_out.bias)  # (B, de)
        e_new = torch.baddbmm(shift.unsqueeze(1), S.reshape(B, N * N, dx), w_e.transpose(1, 2))
        e_new = e_new.reshape(B, N, N, de) * pm

        # attention over real keys j; messages v_j + W_v e_ij + b_v, the edge term pooled first
        attn = masked_softmax(S.sum(-1), node_mask[:, None, :, None], dim=2)  # (B, N, N, H)
        e_pool = torch.matmul(attn.transpose(2, 3), e)  # (B, N, H, de): sum_j a_ijh e_ij
        w_v = W[2 * dx:].reshape(H, dh, de)
        agg = (torch.einsum("bijh,bjhd->bihd", attn, v) + torch.einsum("bihc,hdc->bihd", e_pool, w_v)
               + attn.sum(2).unsqueeze(-1) * b[2 * dx:].reshape(H, dh))
        ym, ya = self.y_film_x(y).chunk(2, -1)
        h_new = self.x_out(torch.addcmul(ya[:, None], agg.reshape(B, N, dx), 1 + ym[:, None])) * xm

        if self.update_global:  # global update from masked pools of the layer input
            y_new = self.y_self(y) + self.x_to_y(masked_node_pool(h, node_mask)) + self.e_to_y(masked_edge_pool(e, pmask))
            y = self.norm_y1(y + self.drop(self.y_out(y_new)))
            y = self.norm_y2(y + self.drop(self.ff_y(y)))

        h = self.norm_x1(h + self.drop(h_new))
        h = self.norm_x2(h + self.drop(self.ff_x(h))) * xm
        e = self.norm_e1(e + self.drop(e_new))
        e = self.norm_e2(e + self.drop(self.ff_e(e))) * pm
        return h, e, y


def batch_time(t: Tensor | float, batch_size: int, device: torch.device | None = None) -> Tensor:
    """Normalise ``t`` (a float, a scalar tensor, ``(B,)`` or ``(B, 1)``) to a float ``(B,)`` tensor."""
    t = torch.as_tensor(t, device=device)
    if not t.is_floating_point():
        t = t.to(torch.get_default_dtype())
    if t.dim() == 0:
        t = t.expand(batch_size)
    t = t.reshape(-1)
    if t.shape[0] != batch_size:
        raise ValueError(f"t must be a scalar or have shape (B,) with B={batch_size}, got {t.shape[0]} values")
    return t
