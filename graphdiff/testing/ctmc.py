"""Common conformance tests every CTMC rate family passes: a family's test class (named
``Test...``) subclasses :class:`CTMCConformance` and implements ``make_process``.

Checks, on the family's small state space and in float64: rate rows sum to zero with non-negative
off-diagonal rates; transition rows are distributions; Chapman-Kolmogorov
``P(r -> t) = P(r -> s) P(s -> t)``; the closed-form transition against the matrix exponential of
the integrated rate (quadrature of :meth:`rate`); the stationary law is a distribution with
``pi Q = 0``; the posterior is normalised and equals Bayes' rule computed here from the
transitions; the marginal is the ``x0`` row of ``P(0 -> t)``; the config round trip.
"""

from __future__ import annotations

import json

import pytest
import torch

__all__ = ["CTMCConformance"]

_TIMES = (0.1, 0.35, 0.6, 0.9)


class CTMCConformance:
    #: tolerances of the quadrature check and of the exact identities
    quad_tol = 1e-4
    tol = 1e-8

    def make_process(self):
        raise NotImplementedError

    # ---------------------------------------------------------------- rates
    @pytest.mark.parametrize("t", _TIMES)
    def test_rate_rows_sum_to_zero(self, t):
        Q = self.make_process().rate(torch.tensor(t, dtype=torch.float64))
        S = Q.shape[-1]
        assert Q.shape == (S, S)
        torch.testing.assert_close(Q.sum(-1), torch.zeros(S, dtype=Q.dtype), atol=self.tol, rtol=0)
        off = Q[~torch.eye(S, dtype=torch.bool)]
        assert (off >= -self.tol).all(), "off-diagonal rates must be >= 0"

    def test_stationary_is_invariant(self):
        p = self.make_process()
        pi = p.stationary(torch.float64)
        assert (pi >= 0).all() and abs(float(pi.sum()) - 1) < self.tol
        torch.testing.assert_close(pi @ p.rate(torch.tensor(0.5, dtype=torch.float64)), torch.zeros_like(pi),
                                   atol=self.tol, rtol=0)

    # ---------------------------------------------------------------- transitions
    @pytest.mark.parametrize("s,t", [(0.0, 0.3), (0.2, 0.7), (0.5, 0.95)])
    def test_transition_rows_are_distributions(self, s, t):
        P = self.make_process().transition(torch.tensor(s, dtype=torch.float64), torch.tensor(t, dtype=torch.float64))
        assert (P >= -self.tol).all()
        torch.testing.assert_close(P.sum(-1), torch.ones(P.shape[0], dtype=P.dtype), atol=self.tol, rtol=0)

    def test_chapman_kolmogorov(self):
        p = self.make_process()
        r, s, t = (torch.tensor(v, dtype=torch.float64) for v in (0.1, 0.45, 0.8))
        torch.testing.assert_close(p.transition(r, s) @ p.transition(s, t), p.transition(r, t), atol=self.tol, rtol=0)
        torch.testing.assert_close(p.transition(s, s), torch.eye(p.num_states, dtype=torch.float64), atol=self.tol, rtol=0)

    @pytest.mark.parametrize("s,t", [(0.0, 0.4), (0.3, 0.9)])
    def test_transition_is_exp_of_integrated_rate(self, s, t):
        """``P(s -> t) = expm(int_s^t Q(u) du)`` (the rate matrices commute), the integral by
        Simpson's rule on a fine grid of :meth:`rate`."""
        p = self.make_process()
        u = torch.linspace(s, t, 401, dtype=torch.float64)
        Q = torch.stack([p.rate(v) for v in u])
        w = torch.ones(u.numel(), dtype=torch.float64)
        w[1:-1:2], w[2:-1:2] = 4.0, 2.0
        integral = (w[:, None, None] * Q).sum(0) * (t - s) / (3 * (u.numel() - 1))
        torch.testing.assert_close(p.transition(torch.tensor(s, dtype=torch.float64), torch.tensor(t, dtype=torch.float64)),
                                   torch.linalg.matrix_exp(integral), atol=self.quad_tol, rtol=0)

    def test_marginal_is_the_x0_row(self):
        p = self.make_process()
        x0 = torch.arange(p.num_classes).repeat(2, 1)  # (2, K)
        t = torch.tensor([0.3, 0.8], dtype=torch.float64)
        m = p.marginal(x0, t)
        for b in range(2):
            P = p.transition(torch.tensor(0.0, dtype=torch.float64), t[b])
            torch.testing.assert_close(m[b].double(), P[x0[b]], atol=1e-6, rtol=0)

    # ---------------------------------------------------------------- posterior
    def test_posterior_matches_bayes(self):
        """``p(x_s | x_t) = sum_x0 p(x0 | x_t) P(0->s)[x0, x_s] P(s->t)[x_s, x_t] / P(0->t)[x0, x_t]``,
        normalised, for every ``x_t`` and a random ``p(x0 | x_t)``."""
        p = self.make_process()
        K, S = p.num_classes, p.num_states
        g = torch.Generator().manual_seed(0)
        s, t = 0.3, 0.7
        xt = torch.arange(S)[None, :]  # (1, S): every state
        x0_probs = torch.softmax(torch.randn(1, S, K, generator=g, dtype=torch.float64), -1)
        post = p.posterior(xt, x0_probs, s, t)[0]  # (S, S)
        torch.testing.assert_close(post.sum(-1), torch.ones(S, dtype=post.dtype), atol=1e-6, rtol=0)
        T = lambda a, b: p.transition(torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64))  # noqa: E731
        P0s, Pst, P0t = T(0.0, s), T(s, t), T(0.0, t)
        for x in range(S):
            w = torch.zeros(S, dtype=torch.float64)
            p0 = p.pad_probs(x0_probs[0, x])
            for x0 in range(S):
                if P0t[x0, x] > 0:
                    w += p0[x0] * P0s[x0] * Pst[:, x] / P0t[x0, x]
            if float(w.sum()) > 0:
                torch.testing.assert_close(post[x].double(), w / w.sum(), atol=1e-6, rtol=0)

    # ---------------------------------------------------------------- saving
    def test_config_round_trip(self):
        from ..processes.registry import process_from_config
        from . import assert_configs_close

        p = self.make_process()
        q = process_from_config(json.loads(json.dumps(p.config())))
        assert type(q) is type(p)
        assert_configs_close(q.config(), p.config())
        t = torch.tensor(0.4, dtype=torch.float64)
        torch.testing.assert_close(q.rate(t), p.rate(t))
