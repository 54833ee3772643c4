"""The samplers' registries and what each sampler states about itself.

Two registries, one per state kind: :data:`SAMPLERS` (continuous states: score or velocity
models, used by :func:`graphdiff.samplers.sample` and the continuous pipeline) and
:data:`CTMC_SAMPLERS` (categorical states: x0-logit denoisers, used by the discrete pipeline).
A sampler is registered by one line next to its function::

    @register_sampler("euler_maruyama", cost=1)
    def sample_euler_maruyama(process, score_fn, x, *, steps, generator=None, mask=None, ...): ...

and states how many network calls a run makes (:class:`StepCost`), so call budgets are computed
(:func:`steps_for_nfe`) rather than counted by dry runs. A registered entry is a
:class:`SamplerSpec`, which is also callable like the function it wraps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..registry import Registry

__all__ = ["SAMPLERS", "CTMC_SAMPLERS", "SamplerSpec", "StepCost", "register_sampler", "steps_for_nfe"]


@dataclass(frozen=True)
class StepCost:
    """Network calls of a run of ``steps`` steps: ``per_step * steps + extra`` (``extra`` < 0 when
    a step is cheaper, e.g. a last step without its correctors)."""

    per_step: int
    extra: int = 0

    def calls(self, steps: int) -> int:
        return self.per_step * int(steps) + self.extra


@dataclass(frozen=True)
class SamplerSpec:
    """A registered sampler.

    Attributes:
        name: its canonical name.
        run: ``run(process, model_fn, x, *, steps, generator, mask, callback, return_trajectory,
            **options)`` (continuous) or ``run(process, denoiser, x, *, steps, generator, **options)``
            (CTMC) -> an output with ``samples`` and ``nfe``.
        consumes: what the model predicts for it: ``"score"``, ``"velocity"`` or ``"x0_logits"``.
        cost: ``cost(**options) -> StepCost`` for the given options, ``None`` when the sampler
            chooses its own number of steps (adaptive); raises ``ValueError`` for invalid options.
    """

    name: str
    run: Callable[..., Any]
    consumes: str
    cost: Callable[..., "StepCost | None"]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.run(*args, **kwargs)


#: continuous samplers by name (score or velocity models)
SAMPLERS: Registry[SamplerSpec] = Registry("sampler")
#: CTMC samplers by name (x0-logit denoisers)
CTMC_SAMPLERS: Registry[SamplerSpec] = Registry("sampler")


def _constant(per_step: int) -> Callable[..., StepCost]:
    def cost(**options: Any) -> StepCost:
        return StepCost(per_step)

    return cost


def register_sampler(name: str, *, cost: "int | Callable[..., StepCost | None]", consumes: str = "score",
                     aliases: tuple[str, ...] = (), registry: Registry[SamplerSpec] | None = None,
                     replace: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: register the sampler function it decorates (returned unchanged) under ``name``.

    ``cost``: network calls per step (an int), or ``cost(**options) -> StepCost | None``.
    ``consumes``: ``"score"`` / ``"velocity"`` go to :data:`SAMPLERS`, ``"x0_logits"`` to
    :data:`CTMC_SAMPLERS` (unless ``registry`` is given)."""
    cost_fn = _constant(cost) if isinstance(cost, int) else cost
    reg = registry if registry is not None else (CTMC_SAMPLERS if consumes == "x0_logits" else SAMPLERS)

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        reg.register(name, SamplerSpec(name, fn, consumes, cost_fn), aliases=aliases, replace=replace, consumes=consumes)
        return fn

    return deco


def steps_for_nfe(spec: SamplerSpec, nfe: int, *, label: str | None = None, **options: Any) -> int:
    """The most steps of sampler ``spec`` (with ``options``) whose network calls fit in ``nfe``.
    Raises ``ValueError`` for samplers that choose their own steps and for budgets below one step
    (naming the sampler ``label``, default its canonical name)."""
    name = label or spec.name
    cost = spec.cost(**options)
    if cost is None:
        raise ValueError(f"sampler {name!r} chooses its own number of steps; nfe cannot set it "
                         f"(give steps, or pick another sampler)")
    one = cost.calls(1)
    if nfe < one:
        raise ValueError(f"nfe={nfe} is below one step of sampler {name!r} ({one} network calls)")
    return max(1, (int(nfe) - cost.extra) // cost.per_step)
