"""Fuzz the networks (wrong dtypes, NaN features, inconsistent masks, zero nodes, oversize graphs),
the checkpoint / weights loaders (random bytes, truncation, tampering), ``from_pretrained`` on
garbage folders, and the graph metrics (empty / edgeless graphs, self-loops)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import networkx as nx
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from graphdiff.metrics.graph import graph_metrics
from graphdiff.metrics.vun import vun_metrics
from graphdiff.nn import GraphScoreNetwork, GraphTransformerDenoiser
from graphdiff.states import GraphState
from graphdiff.training import load_checkpoint, load_weights, save_checkpoint, save_weights

from ._harness import classify, fuzz_settings

_TINY = dict(K=2, hidden=8, edge_hidden=4, global_hidden=4, depth=1, heads=2, ff_mult=1)


@pytest.fixture(scope="module")
def nets():
    torch.manual_seed(0)
    score = GraphScoreNetwork(num_node_features=2, **_TINY).eval()
    den = GraphTransformerDenoiser(num_node_classes=3, num_edge_classes=2, **_TINY).eval()
    return score, den


_VAL = [0.0, 1.0, float("nan"), float("inf"), -1e30]


@st.composite
def net_inputs(draw):
    B = draw(st.integers(0, 3))
    N = draw(st.sampled_from([0, 1, 2, 3, 5]))
    seed = draw(st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    n = torch.randint(0, N + 1, (B,), generator=g)
    mask = torch.arange(N)[None] < n[:, None]
    kind = draw(st.sampled_from(["ok", "ok", "ok", "mask_holes", "mask_long", "mask_shape", "x_dtype", "a_dtype",
                                 "x_width", "a_shape", "t_shape", "t_nan", "asym"]))
    pad_val = draw(st.sampled_from(_VAL))
    real_val = draw(st.sampled_from([None, None, None] + _VAL[2:]))
    return B, N, seed, mask, kind, pad_val, real_val


def _perturb(X, A, mask, t, kind, g):
    B, N = mask.shape
    if kind == "mask_holes":
        mask = torch.randint(0, 2, (B, N), generator=g).bool()
    elif kind == "mask_long":
        mask = mask.long()
    elif kind == "mask_shape":
        mask = torch.ones(B, N + 1, dtype=torch.bool)
    elif kind == "x_dtype":
        X = X.double() if X.is_floating_point() else X.float()
    elif kind == "a_dtype":
        A = A.long() if A.is_floating_point() else A.float()
    elif kind == "x_width":
        X = torch.zeros(B, N, 4)
    elif kind == "a_shape":
        A = torch.zeros(B, N + 1, N + 1)
    elif kind == "t_shape":
        t = torch.rand(B + 2)
    elif kind == "t_nan":
        t = torch.full((B,), float("nan"))
    elif kind == "asym":
        A = A.clone()
        if N > 1:
            A[:, 0, 1] = A[:, 0, 1] + 1
    return X, A, mask, t


class ShapeMismatch(Exception):
    """The network accepted inconsistent inputs and returned outputs of another shape."""


def _call(net, state, t, x_shape, a_shape):
    out = net(state, t)
    if out.X.shape[:2] != x_shape[:2] or out.A.shape[:3] != a_shape[:3]:
        raise ShapeMismatch(f"inputs X {tuple(x_shape)} / A {tuple(a_shape)} / mask {tuple(state.node_mask.shape)} "
                            f"gave X {tuple(out.X.shape)} / A {tuple(out.A.shape)}")
    return out


_NET_BUGS: tuple = ()  # the input-check bugs found here are fixed; a regression now fails the test


def _check_padding_ignored(net, state, t, out, pad_val):
    """Values at padded positions carry no meaning: output at real nodes / pairs is unchanged when
    they hold ``pad_val`` (NaN / Inf / huge) instead of zeros."""
    m = state.node_mask
    if not (m.dtype == torch.bool and (~m).any() and out.X.shape[:2] == m.shape):
        return
    pm = m[:, :, None] & m[:, None, :]
    X2, A2 = state.X.clone(), state.A.clone()
    if X2.is_floating_point():
        X2[~m] = pad_val
    if A2.is_floating_point():
        A2[~pm] = pad_val if A2.dim() == 3 else pad_val
    out2 = net(GraphState(X2, A2, m), t)
    assert torch.allclose(out.X[m], out2.X[m], equal_nan=True, atol=1e-5), "padded node values leaked into real nodes"


@fuzz_settings(250)
@given(net_inputs())
def test_score_network(nets, inp):
    """GraphScoreNetwork: a same-shaped output (finite for finite real inputs) or a typed error;
    values at padded positions never leak into real outputs."""
    net = nets[0]
    B, N, seed, mask, kind, pad_val, real_val = inp
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(B, N, 2, generator=g)
    A = torch.rand(B, N, N, generator=g)
    A = (A + A.transpose(1, 2)) * (1 - torch.eye(N))
    if real_val is not None and B and N and mask.any():
        X[mask] = real_val
    X, A, mask, t = _perturb(X, A, mask, torch.rand(B, generator=g), kind, g)
    state = GraphState(X, A, mask)
    with torch.no_grad():
        out = classify("nn.GraphScoreNetwork", lambda: _call(net, state, t, X.shape, A.shape), known=_NET_BUGS)
        if out is None:
            return
        assert out.X.shape == X.shape and out.A.shape == A.shape
        if kind == "ok" and real_val is None:
            assert torch.isfinite(out.X).all() and torch.isfinite(out.A).all()
            classify("nn.GraphScoreNetwork(padding)", lambda: _check_padding_ignored(net, state, t, out, pad_val),
                     known=())


@fuzz_settings(250)
@given(net_inputs())
def test_denoiser(nets, inp):
    """GraphTransformerDenoiser: logits of shape (B, N, Cx) / (B, N, N, Ce) or a typed error."""
    net = nets[1]
    B, N, seed, mask, kind, pad_val, real_val = inp
    g = torch.Generator().manual_seed(seed)
    hi = 5 if real_val is not None else 3  # out-of-range classes sometimes
    X = torch.randint(0, hi, (B, N), generator=g)
    A = torch.randint(0, 2, (B, N, N), generator=g)
    A = torch.triu(A, 1) + torch.triu(A, 1).transpose(1, 2)
    X, A, mask, t = _perturb(X, A, mask, torch.rand(B, generator=g), kind, g)
    state = GraphState(X, A, mask)
    with torch.no_grad():
        out = classify("nn.GraphTransformerDenoiser", lambda: _call(net, state, t, X.shape, A.shape), known=_NET_BUGS)
    if out is None:
        return
    assert out.X.shape == (*X.shape[:2], 3) and out.A.shape == (*A.shape[:3], 2)
    if kind == "ok" and hi == 3:
        assert torch.isfinite(out.X).all() and torch.isfinite(out.A).all()


# --------------------------------------------------------------------------- checkpoints
_SD = {"w": torch.arange(6, dtype=torch.float32).view(2, 3), "b": torch.zeros(3)}


def _mutate(data: bytes, how: str, pos: int, byte: int, blob: bytes) -> bytes:
    if how == "truncate":
        return data[: pos % (len(data) + 1)]
    if how == "flip" and data:
        i = pos % len(data)
        return data[:i] + bytes([data[i] ^ (byte or 1)]) + data[i + 1:]
    if how == "random":
        return blob
    if how == "append":
        return data + blob
    if how == "empty":
        return b""
    return data


_JSON_EDITS = st.sampled_from([None, ("sha256", "0" * 64), ("card", "ab"), ("weights_file", ""), ("sha256", 5), ("weights_file", "../x.safetensors"),
                               ("weights_file", "missing.safetensors"), ("format", "pickle"), ("card", [1]),
                               ("tensor_file", "/etc/passwd"), ("state", None), ("step", "x"), ("schema_version", "a"),
                               ("record_sha256", "bad"), ("state", {"model": {"w": "__tensor__:nope"}})])


@pytest.mark.slow
@fuzz_settings(250)
@given(st.sampled_from(["config.json", "model.safetensors"]), st.sampled_from(["truncate", "flip", "random", "append", "empty", "none"]),
       st.integers(0, 10**6), st.integers(0, 255), st.binary(max_size=64), _JSON_EDITS)
def test_load_weights_tampered(target, how, pos, byte, blob, edit):
    """load_weights on a damaged weights folder returns the saved tensors unchanged or raises
    CheckpointError; never anything else, never different tensors."""
    with tempfile.TemporaryDirectory() as d:
        save_weights(d, _SD, {"arch": "tiny"})
        p = Path(d) / target
        p.write_bytes(_mutate(p.read_bytes(), how, pos, byte, blob))
        if edit is not None and target == "model.safetensors":
            cfg = Path(d) / "config.json"
            obj = json.loads(cfg.read_text())
            obj[edit[0]] = edit[1]
            cfg.write_text(json.dumps(obj))
        out = classify("training.load_weights", lambda: load_weights(d),
                       known=())
        if out is not None:
            sd, card = out
            assert set(sd) == set(_SD) and all(torch.equal(sd[k], _SD[k]) for k in _SD)


@fuzz_settings(150)
@given(st.sampled_from(["last.json", "tensors"]), st.sampled_from(["truncate", "flip", "random", "append", "empty", "none"]),
       st.integers(0, 10**6), st.integers(0, 255), st.binary(max_size=64), _JSON_EDITS)
def test_load_checkpoint_tampered(target, how, pos, byte, blob, edit):
    """load_checkpoint on a damaged checkpoint restores the saved weights exactly or raises CheckpointError."""
    with tempfile.TemporaryDirectory() as d:
        torch.manual_seed(1)
        model = torch.nn.Linear(3, 2)
        ref = {k: v.clone() for k, v in model.state_dict().items()}
        save_checkpoint(d, model=model, step=3, extra={"epoch": 1}, rng=False)
        p = Path(d) / "last.json" if target == "last.json" else next(Path(d).glob("tensors-*.safetensors"))
        p.write_bytes(_mutate(p.read_bytes(), how, pos, byte, blob))
        if edit is not None and target == "tensors":
            rec = Path(d) / "last.json"
            obj = json.loads(rec.read_text())
            obj[edit[0]] = edit[1]
            rec.write_text(json.dumps(obj))
        fresh = torch.nn.Linear(3, 2)
        out = classify("training.load_checkpoint", lambda: load_checkpoint(d, model=fresh),
                       known=())
        if out is not None:
            assert out["step"] == 3
            assert all(torch.equal(fresh.state_dict()[k], ref[k]) for k in ref)


@fuzz_settings(150)
@given(st.dictionaries(st.sampled_from(["config.json", "model.safetensors", "last.json", "junk.bin"]),
                       st.one_of(st.binary(max_size=40), st.sampled_from([b"{}", b"[]", b'{"format": "graphdiff-weights"}', b"null"])),
                       max_size=3),
       st.booleans())
def test_from_pretrained_garbage(files, as_file):
    """GraphDiffusionPipeline.from_pretrained on a garbage folder (or a file): typed error."""
    from graphdiff.pipelines import GraphDiffusionPipeline

    with tempfile.TemporaryDirectory() as d:
        for name, data in files.items():
            (Path(d) / name).write_bytes(data)
        target = Path(d) / "config.json" if as_file else Path(d)
        if as_file and not target.exists():
            target.write_bytes(b"x")
        classify("pipelines.from_pretrained", lambda: GraphDiffusionPipeline.from_pretrained(target))


# --------------------------------------------------------------------------- graph metrics
@st.composite
def small_graphs(draw, allow_loops=True):
    n = draw(st.integers(0, 6))
    g = nx.Graph()
    g.add_nodes_from(range(n))
    if n:
        for _ in range(draw(st.integers(0, 8))):
            u, v = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
            if u != v or allow_loops:
                g.add_edge(u, v)
    return g


_LISTS = st.lists(small_graphs(), min_size=0, max_size=4)


@fuzz_settings(60)
@given(_LISTS, _LISTS, st.sampled_from(["gdss", "spectre"]), st.sampled_from(["drop", "include"]),
       st.sampled_from(["keep", "gdss"]), st.sampled_from([("degree",), ("clustering",), ("spectral",), ("degree", "clustering")]))
def test_graph_metrics(ref, gen, protocol, empty, isolated, stats):
    """MMD^2 values are finite and >= -1e-9, NaN only when a side has no graph left, or a typed error."""
    out = classify("metrics.graph_metrics", lambda: graph_metrics(ref, gen, protocol=protocol, metrics=stats, empty=empty, isolated=isolated),
                   known=(("self-loop-metrics", Exception, "self"),))
    if out is None:
        return
    for k in stats:
        v = out[k]
        assert v != v or v >= -1e-9, (k, v)


@fuzz_settings(300)
@given(st.lists(small_graphs(), max_size=5), st.lists(small_graphs(allow_loops=False), max_size=3),
       st.sampled_from(["planar", "tree", "sbm"]))
def test_vun_metrics(gen, train, validity):
    """valid / unique / novel fractions in [0, 1]; every graph counted; or a typed error."""
    out = classify("metrics.vun_metrics", lambda: vun_metrics(gen, train, validity=validity))
    if out is None:
        return
    for k in ("valid", "unique", "novel", "vun"):
        v = getattr(out, k)
        assert v != v or 0.0 <= v <= 1.0, (k, v)
