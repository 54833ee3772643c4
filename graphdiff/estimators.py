"""scikit-learn-style generators for people who never want a config file.

>>> gen = MoleculeGenerator(family="discrete", steps=2000).fit(smiles)   # doctest: +SKIP
>>> samples = gen.generate(1000)                                          # doctest: +SKIP
>>> samples.smiles[:3], samples.summary()                                 # doctest: +SKIP

:class:`MoleculeGenerator` learns from SMILES strings (atom types and charges read from the data),
:class:`GraphGenerator` from ``networkx`` graphs or PyTorch Geometric ``Data`` objects. Both are thin
wrappers over the pipelines (:class:`~graphdiff.pipelines.GraphDiffusionPipeline`): ``fit`` builds
one with ``create`` and trains it with its ``fit``; the trained pipeline is ``generator.pipeline_``
(save it with ``save_pretrained``, sample it with its full set of options).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Sequence

__all__ = ["MoleculeGenerator", "GraphGenerator"]


class _Generator:
    """What both generators share: hyperparameters as attributes, ``fit`` -> self, ``generate``."""

    _what = "graphs"

    def __init__(
        self,
        family: str = "discrete",
        *,
        steps: int = 1000,
        batch_size: int = 256,
        lr: float = 2e-4,
        ema_decay: float = 0.999,
        seed: int = 0,
        device: str = "auto",
        network: dict[str, Any] | None = None,
        process: dict[str, Any] | None = None,
        progress: bool = True,
    ) -> None:
        from .pipelines import PIPELINES

        PIPELINES.canonical(family)  # an unknown family: the standard "valid choices" error now, not at fit
        self.family = family
        self.steps = steps
        self.batch_size = batch_size
        self.lr = lr
        self.ema_decay = ema_decay
        self.seed = seed
        self.device = device
        self.network = network
        self.process = process
        self.progress = progress
        self.pipeline_: Any = None

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments (as scikit-learn's ``get_params``)."""
        keys = ("family", "steps", "batch_size", "lr", "ema_decay", "seed", "device", "network", "process", "progress")
        return {k: getattr(self, k) for k in keys}

    def _fit_state(self, state: Any, vocabulary: Any, name: str) -> None:
        import torch

        from .pipelines import pipeline_class

        torch.manual_seed(int(self.seed))  # the same initial weights for the same seed
        pipe = pipeline_class(self.family).create(train_state=state, vocabulary=vocabulary, dataset=name,
                                                  network=dict(self.network or {}), process=dict(self.process or {}))
        pipe.fit(state, steps=self.steps, batch_size=self.batch_size, lr=self.lr, ema_decay=self.ema_decay,
                 seed=self.seed, device=self.device, progress=self.progress)
        self.pipeline_ = pipe

    def _pipe(self) -> Any:
        if self.pipeline_ is None:
            raise ValueError(f"this {type(self).__name__} is not fitted yet: call .fit(...) first")
        return self.pipeline_

    def generate(self, n: int, *, seed: int = 0, steps: int | None = None, **sample_kwargs: Any) -> Any:
        """``n`` new samples (:class:`~graphdiff.pipelines.MoleculeSamples` / ``GraphSamples``);
        ``steps`` and the other keyword arguments go to the pipeline's ``sample``."""
        return self._pipe().sample(n, seed=seed, steps=steps, **sample_kwargs)

    def save(self, path: str | Path) -> Path:
        """Write the trained model (safetensors + JSON card); load it with ``graphdiff.load_pretrained(path)``."""
        return self._pipe().save_pretrained(path)

    def __repr__(self) -> str:
        fitted = "fitted" if self.pipeline_ is not None else "not fitted"
        return f"{type(self).__name__}(family={self.family!r}, steps={self.steps}, device={self.device!r}) [{fitted}]"


class MoleculeGenerator(_Generator):
    """Learn to generate molecules like a list of SMILES.

    ``family``: ``"discrete"`` (CTMC on atom / bond types, the default) or ``"continuous"`` (SDE).
    ``steps`` training updates of ``batch_size`` molecules at learning rate ``lr``; ``network`` /
    ``process`` are keyword arguments of the family's network and process (defaults: the family's).
    ``device="auto"`` trains on CUDA when PyTorch sees a GPU.

    ``fit(smiles)`` reads the atom types and charges from the data; SMILES RDKit cannot parse are
    skipped, counted and warned about. ``generate(n)`` returns
    :class:`~graphdiff.pipelines.MoleculeSamples` (``.smiles``, ``.summary()``, ``.to_dataframe()``).
    """

    def fit(self, smiles: Sequence[str], *, name: str = "custom") -> "MoleculeGenerator":
        """Train on ``smiles`` (a list of SMILES strings); returns ``self``."""
        from .data.molecules import AtomVocabulary, smiles_to_state

        if isinstance(smiles, (str, bytes)):
            raise TypeError("fit expects a list of SMILES strings, not one string; wrap it in a list: [smiles]")
        smiles = list(smiles)
        try:
            vocabulary = AtomVocabulary.from_smiles(smiles, name=name)
        except ValueError:
            raise ValueError(f"none of the {len(smiles)} SMILES can be parsed by RDKit") from None
        enc = smiles_to_state(smiles, vocabulary, warn=False)
        if enc.n_invalid_smiles:
            warnings.warn(f"skipped {enc.n_invalid_smiles} of {enc.n_input} SMILES that RDKit cannot parse",
                          stacklevel=2)
        self._fit_state(enc.state, vocabulary, name)
        return self


class GraphGenerator(_Generator):
    """Learn to generate graphs like a list of ``networkx`` graphs or PyTorch Geometric ``Data``.

    Same arguments as :class:`MoleculeGenerator`. Integer node attributes ``"x"`` (networkx) or an
    integer ``x`` (PyG) become node classes. ``generate(n)`` returns
    :class:`~graphdiff.pipelines.GraphSamples` (``.graphs`` as networkx, ``.to_dataframe()``).
    """

    def fit(self, graphs: Sequence[Any], *, name: str = "custom") -> "GraphGenerator":
        """Train on ``graphs``; returns ``self``."""
        from .states import GraphState

        graphs = list(graphs)
        if not graphs:
            raise ValueError("fit needs at least one graph")
        self._fit_state(GraphState.from_networkx(graphs), None, name)
        return self
