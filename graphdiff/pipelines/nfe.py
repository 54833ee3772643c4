"""Network-call budgets: the most sampler steps whose network calls per graph fit in a budget."""

from __future__ import annotations

from typing import Any, Mapping

import torch

__all__ = ["count_steps_for_nfe"]


def count_steps_for_nfe(pipe: Any, nfe: int, *, sampler: str, options: Mapping[str, Any]) -> int:
    """The most steps of ``sampler`` (with ``options``) whose network calls per graph fit in
    ``nfe``, counted by dry runs of ``pipe.sample_batch`` on one single-node graph."""
    mask = torch.ones(1, 1, dtype=torch.bool, device=pipe.device)
    was_training = pipe.network.training
    pipe.network.eval()

    def calls(steps: int) -> int:
        g = torch.Generator(device=pipe.device).manual_seed(0)
        return int(pipe.sample_batch(mask, steps=steps, sampler=sampler, generator=g, options=options)[1])

    try:
        with torch.no_grad():
            c1, c2, c3 = calls(1), calls(2), calls(3)
            per_step, offset = c3 - c2, c2 - 2 * (c3 - c2)
            if per_step <= 0:
                raise ValueError(f"sampler {sampler!r} chooses its own number of steps; nfe cannot set it "
                                 f"(give steps, or pick another sampler)")
            if nfe < c1:
                raise ValueError(f"nfe={nfe} is below one step of sampler {sampler!r} ({c1} network calls)")
            steps = max(1, (nfe - offset) // per_step)
            if c2 - c1 != per_step:  # not linear in steps (none of ours): count the calls down from the estimate
                while steps > 1 and calls(steps) > nfe:
                    steps -= 1
    finally:
        pipe.network.train(was_training)
    return int(steps)
