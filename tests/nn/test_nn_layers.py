"""Building blocks: embeddings, masked ops, conditioning and the transformer layer."""

from __future__ import annotations

import math

import pytest
import torch

from graphdiff.nn.layers import (
    MLP,
    GaussianFourierTimeEmbedding,
    GlobalConditioning,
    GraphTransformerLayer,
    SinusoidalTimeEmbedding,
    activation,
    batch_time,
    masked_edge_pool,
    masked_node_pool,
    masked_softmax,
    time_embedding,
)
from graphdiff.states import GraphState
from graphdiff.testing import assert_permutation_equivariant, random_graph_state

D = torch.float64


def test_sinusoidal_embedding_values():
    emb = SinusoidalTimeEmbedding(8, scale=1000.0)
    out = emb(torch.tensor([0.0, 0.5]))
    assert out.shape == (2, 8)
    torch.testing.assert_close(out[0], torch.tensor([0, 0, 0, 0, 1, 1, 1, 1.0]))
    # first frequency is 1: sin(500)
    assert math.isclose(out[1, 0].item(), math.sin(500.0), abs_tol=1e-4)
    assert SinusoidalTimeEmbedding(7)(torch.rand(3)).shape == (3, 7)


def test_fourier_embedding_is_fixed_and_saved():
    a, b = GaussianFourierTimeEmbedding(16), GaussianFourierTimeEmbedding(16)
    t = torch.rand(5)
    torch.testing.assert_close(a(t), b(t))
    assert "W" in a.state_dict()
    assert not any(p.requires_grad for p in a.parameters())
    out = a(t)
    torch.testing.assert_close(out[:, :8] ** 2 + out[:, 8:] ** 2, torch.ones(5, 8))


def test_unknown_names_list_choices():
    with pytest.raises(ValueError, match="fourier, sinusoidal"):
        time_embedding("learned", 8)
    with pytest.raises(ValueError, match="relu"):
        activation("swishy")


def test_masked_softmax_and_empty_rows():
    logits = torch.randn(2, 4)
    mask = torch.tensor([[True, True, False, False], [False] * 4])
    p = masked_softmax(logits, mask, -1)
    torch.testing.assert_close(p[0, :2], torch.softmax(logits[0, :2], -1))
    assert p[0, 2:].abs().sum() == 0 and p[1].abs().sum() == 0 and torch.isfinite(p).all()


def test_masked_pools_by_hand():
    h = torch.tensor([[[1.0, -1.0], [3.0, 5.0], [100.0, 100.0]]])
    nm = torch.tensor([[True, True, False]])
    torch.testing.assert_close(masked_node_pool(h, nm), torch.tensor([[2.0, 2.0, 3.0, 5.0]]))
    assert masked_node_pool(h, torch.zeros(1, 3, dtype=torch.bool)).abs().sum() == 0
    e = torch.arange(9.0).reshape(1, 3, 3, 1)
    pm = nm[:, :, None] & nm[:, None, :]
    torch.testing.assert_close(masked_edge_pool(e, pm), torch.tensor([[2.0, 4.0]]))  # entries 0, 1, 3, 4


def test_mlp_mask():
    mlp = MLP(3, 8, 2)
    x = torch.randn(2, 4, 3)
    m = torch.tensor([[True, True, False, False], [True, False, False, False]])
    out = mlp(x, m)
    assert out[~m].abs().sum() == 0 and out[m].abs().sum() > 0


def test_global_conditioning_checks_names():
    gc = GlobalConditioning("sinusoidal", 16, 8, 3, {"qed": 1, "logp": 2})
    t = torch.rand(4)
    out = gc(t, torch.zeros(4, 3), {"qed": torch.rand(4), "logp": torch.rand(4, 2)})
    assert out.shape == (4, gc.out_dim) and gc.out_dim == 8 + 3
    with pytest.raises(ValueError, match="unknown conditioning"):
        gc(t, torch.zeros(4, 3), {"qed": torch.rand(4), "logp": torch.rand(4, 2), "sas": torch.rand(4)})
    with pytest.raises(ValueError):
        gc(t, torch.zeros(4, 3), {"qed": torch.rand(4, 2), "logp": torch.rand(4, 2)})
    with pytest.raises(ValueError, match=r"must lie in \[0, 3\)"):
        GlobalConditioning("sinusoidal", 16, 8, 3, cond_classes={"c": 3})(t, torch.zeros(4, 3), {"c": torch.full((4,), 3)})
    with pytest.raises(ValueError, match="unknown conditioning"):
        GlobalConditioning("sinusoidal", 16, 8, 3)(t, torch.zeros(4, 3), {"qed": torch.rand(4)})


def _trained_like(gc: GlobalConditioning) -> GlobalConditioning:
    torch.manual_seed(3)
    for p in gc.parameters():  # the zero-initialised last layer would hide every difference
        torch.nn.init.normal_(p, std=0.5)
    return gc


def test_global_conditioning_missing_entries_are_the_null_condition():
    gc = _trained_like(GlobalConditioning("sinusoidal", 16, 8, 3, {"qed": 1, "logp": 2}, cond_classes={"c": 4}))
    t, g = torch.rand(5), torch.randn(5, 3)
    q, lp, c = torch.rand(5), torch.randn(5, 2), torch.randint(0, 4, (5,))
    null = gc(t, g, {})
    # absent by omission, by NaN rows and by label -1 are the same null condition
    torch.testing.assert_close(gc(t, g, {"qed": torch.full((5,), float("nan")), "c": torch.full((5,), -1)}), null)
    full = gc(t, g, {"qed": q, "logp": lp, "c": c})
    assert not torch.allclose(full, null)
    # per-graph missing entries: rows with NaN equal the rows computed without that entry
    q_part = q.clone()
    q_part[::2] = float("nan")
    mixed = gc(t, g, {"qed": q_part, "logp": lp, "c": c})
    no_q = gc(t, g, {"logp": lp, "c": c})
    torch.testing.assert_close(mixed[::2], no_q[::2])
    torch.testing.assert_close(mixed[1::2], full[1::2])
    # a missing entry is not the same as the value 0
    assert not torch.allclose(gc(t, g, {"qed": torch.zeros(5)}), null)
    # one value for the whole batch
    torch.testing.assert_close(gc(t, g, {"qed": torch.tensor(0.3)}), gc(t, g, {"qed": torch.full((5,), 0.3)}))


def test_global_conditioning_starts_as_the_unconditional_network():
    torch.manual_seed(0)
    plain = GlobalConditioning("sinusoidal", 16, 8, 3)
    cond = GlobalConditioning("sinusoidal", 16, 8, 3, {"qed": 1}, cond_classes={"c": 2})
    missing, unexpected = cond.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and missing and all(k.startswith(("cond_mlp.", "label_embeddings.")) for k in missing)
    t, g = torch.rand(4), torch.randn(4, 3)
    want = plain(t, g, {})
    for c in ({}, {"qed": torch.randn(4)}, {"qed": torch.randn(4), "c": torch.tensor([0, 1, 1, 0])}):
        torch.testing.assert_close(cond(t, g, c), want)


def test_batch_time():
    assert batch_time(0.3, 4).shape == (4,)
    assert batch_time(torch.rand(4, 1), 4).shape == (4,)
    with pytest.raises(ValueError):
        batch_time(torch.rand(3), 4)


def _layer_and_inputs():
    torch.manual_seed(0)
    layer = GraphTransformerLayer(16, 8, 6, heads=4).double()
    s = random_graph_state(4, 7, 16, p=0.5, generator=torch.Generator().manual_seed(5))
    e = torch.randn(4, 7, 7, 8, dtype=D)
    e = (e + e.transpose(1, 2)) * (s.node_mask[:, :, None] & s.node_mask[:, None, :]).unsqueeze(-1)
    y = torch.randn(4, 6, dtype=D)
    return layer, GraphState(s.X.to(D), e, s.node_mask), y


def test_transformer_layer_equivariant_and_global_invariant():
    layer, s, y = _layer_and_inputs()

    def fn(st):
        h, e, _ = layer(st.X, st.A, y, st.node_mask)
        return h, e

    assert_permutation_equivariant(fn, s, atol=1e-10)

    def gfn(st):  # global output broadcast to nodes must be invariant
        _, _, yo = layer(st.X, st.A, y, st.node_mask)
        return yo[:, None].expand(-1, st.max_nodes, -1)

    assert_permutation_equivariant(gfn, s, atol=1e-10)


def test_transformer_layer_ignores_padding():
    layer, s, y = _layer_and_inputs()
    h0, e0, y0 = layer(s.X, s.A, y, s.node_mask)
    nm = s.node_mask
    pm = nm[:, :, None] & nm[:, None, :]
    X = torch.where(nm[..., None], s.X, torch.randn_like(s.X) * 50)
    E = torch.where(pm[..., None], s.A, torch.randn_like(s.A) * 50)
    h1, e1, y1 = layer(X, E, y, nm)
    torch.testing.assert_close(h1[nm], h0[nm])
    torch.testing.assert_close(e1[pm], e0[pm])
    torch.testing.assert_close(y1, y0)
    assert h1[~nm].abs().sum() == 0 and e1[~pm].abs().sum() == 0


def _literal_layer(layer: GraphTransformerLayer, h, e, y, node_mask):
    """The layer's class docstring written out term by term, with no rearrangement: the
    reference the (restructured, faster) forward must equal."""
    B, N, dx = h.shape
    H, dh = layer.heads, layer.d_head
    xm = node_mask.unsqueeze(-1).to(h.dtype)
    pmask = node_mask[:, :, None] & node_mask[:, None, :]
    pm = pmask.unsqueeze(-1).to(h.dtype)
    q, k, v = (layer.qkv(h) * xm).chunk(3, -1)
    q = (q / math.sqrt(dh)).reshape(B, N, H, dh)
    k, v = k.reshape(B, N, H, dh), v.reshape(B, N, H, dh)
    S = q[:, :, None] * k[:, None, :]
    e_mul, e_add, e_val = (t.reshape(B, N, N, H, dh) for t in layer.e_proj(e).chunk(3, -1))
    S = S * (1 + e_mul) + e_add
    ym, ya = layer.y_film_e(y).chunk(2, -1)
    e_new = layer.e_out(S.reshape(B, N, N, dx) * (1 + ym[:, None, None]) + ya[:, None, None]) * pm
    attn = masked_softmax(S.sum(-1), node_mask[:, None, :, None], dim=2)
    msg = v[:, None, :] + e_val  # (B, i, j, H, dh): v_j + W_v e_ij
    agg = (attn.unsqueeze(-1) * msg).sum(2)
    ym, ya = layer.y_film_x(y).chunk(2, -1)
    h_new = layer.x_out(agg.reshape(B, N, dx) * (1 + ym[:, None]) + ya[:, None]) * xm
    if layer.update_global:
        y_new = layer.y_self(y) + layer.x_to_y(masked_node_pool(h, node_mask)) + layer.e_to_y(masked_edge_pool(e, pmask))
        y = layer.norm_y1(y + layer.y_out(y_new))
        y = layer.norm_y2(y + layer.ff_y(y))
    h = layer.norm_x1(h + h_new)
    h = layer.norm_x2(h + layer.ff_x(h)) * xm
    e = layer.norm_e1(e + e_new)
    e = layer.norm_e2(e + layer.ff_e(e)) * pm
    return h, e, y


@pytest.mark.parametrize("update_global", [True, False])
def test_transformer_layer_equals_literal_formula(update_global):
    """The forward's exact rearrangements (folded FiLM, per-graph GEMM, pooled value term) change
    nothing but rounding."""
    torch.manual_seed(1)
    layer = GraphTransformerLayer(16, 8, 6, heads=4, update_global=update_global).double()
    for prm in layer.parameters():  # non-trivial biases and FiLM terms everywhere
        torch.nn.init.normal_(prm, std=0.5)
    _, s, y = _layer_and_inputs()
    got = layer(s.X, s.A, y, s.node_mask)
    want = _literal_layer(layer, s.X, s.A, y, s.node_mask)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-10)


def test_heads_must_divide():
    with pytest.raises(ValueError):
        GraphTransformerLayer(10, 4, 4, heads=3)
