"""The first-order CTMC rate tilt of a differentiable predictor against the exact one, on small
graphs where every one-coordinate neighbour can be enumerated: equal when ``log p_t(y | x)`` is
linear in the one-hot state, and off by exactly ``-(delta mu)^2 / 2`` for a Gaussian likelihood
around a linear regressor."""

from __future__ import annotations

import torch

from graphdiff.guidance.ctmc import GuidedX0, guided_rates
from graphdiff.guidance.tilt import first_order_log_tilt
from graphdiff.processes.ctmc import UniformCTMC
from graphdiff.processes.ctmc.graph import GraphCTMC
from graphdiff.states import GraphState

torch.manual_seed(0)
SX, SE, N = 3, 3, 4
PROC = GraphCTMC(UniformCTMC(SX), UniformCTMC(SE))
WX, WE = torch.randn(SX), torch.randn(SE)  # a regressor linear in the one-hot state


def mu(onehot) -> torch.Tensor:
    X, E = onehot
    return (X * WX).sum((1, 2)) + 0.5 * (E * WE).sum((1, 2, 3))  # each pair is stored twice


def _onehot(state: GraphState):
    parts, _ = PROC.split(state)
    return PROC.join_output([torch.nn.functional.one_hot(p, c.num_states).float() for p, c in zip(parts, PROC.components)], state)


def _graphs() -> GraphState:
    g = torch.Generator().manual_seed(1)
    nm = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=torch.bool)
    return PROC.prior_sample(nm, generator=g)


def _exact(state: GraphState, log_prob) -> list[torch.Tensor]:
    """``log p(y | x^d <- s) - log p(y | x)`` over every coordinate and class, by enumeration."""
    parts, masks = PROC.split(state)
    base = log_prob(_onehot(state), state, None)
    out = []
    for c, (p, m) in enumerate(zip(parts, masks)):
        S = PROC.components[c].num_states
        tab = torch.zeros(p.shape + (S,))
        for d in range(p.shape[1]):
            for s in range(S):
                q = [x.clone() for x in parts]
                q[c][:, d] = s
                nb = PROC.join(q, state)
                tab[:, d, s] = log_prob(_onehot(nb), nb, None) - base
        out.append(tab * m.unsqueeze(-1))
    return out


def test_first_order_tilt_is_exact_for_a_linear_log_probability():
    state = _graphs()
    lp = lambda oh, st, t: 1.7 * mu(oh)  # noqa: E731  (a classifier whose logit is linear)
    got = first_order_log_tilt(PROC, state, torch.zeros(2), lp)
    for g, e in zip(got, _exact(state, lp)):
        torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-5)
    assert got[1].shape == (2, N * (N - 1) // 2, SE)


def test_gaussian_likelihood_differs_by_the_square_of_the_change():
    state, y = _graphs(), 0.8
    lp = lambda oh, st, t: -0.5 * (y - mu(oh)) ** 2  # noqa: E731
    got = first_order_log_tilt(PROC, state, torch.zeros(2), lp)
    dmu = _exact(state, lambda oh, st, t: mu(oh))
    for g, e, d in zip(got, _exact(state, lp), dmu):
        torch.testing.assert_close(e - g, -0.5 * d**2, rtol=1e-5, atol=1e-5)


def test_the_tilt_reweights_the_rates():
    """With the linear log-probability the guided rates are ``exp(w delta) R`` exactly."""
    state, w, t = _graphs(), 2.0, 0.6
    lp = lambda oh, st, tt: mu(oh)  # noqa: E731
    tilt = first_order_log_tilt(PROC, state, torch.full((2,), t), lp)
    parts, _ = PROC.split(state)
    probs = [torch.softmax(torch.randn(p.shape + (c.num_states,)), -1) for p, c in zip(parts, PROC.components)]
    for c, x, p0, lt, ex in zip(PROC.components, parts, probs, tilt, _exact(state, lp)):
        plain = guided_rates(c, x, p0, t)
        torch.testing.assert_close(guided_rates(c, x, GuidedX0(p0, log_tilt=lt, tilt_scale=w), t),
                                   plain * torch.exp(w * ex), rtol=1e-5, atol=1e-6)
