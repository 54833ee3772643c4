"""The pretrained models shipped inside the package (``graphdiff/pretrained/<name>/``: a
``model.safetensors`` and a ``config.json`` card), and the one-call molecule generator."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

import torch

from ..errors import unknown_name
from .base import GraphDiffusionPipeline, MoleculeSamples

__all__ = ["PRETRAINED_DIR", "list_pretrained", "load_pretrained", "generate_molecules", "measured", "aliases_of", "resolve"]

PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"

# short names -> the shipped model they stand for (first one present wins)
ALIASES: dict[str, tuple[str, ...]] = {
    "qm9": ("qm9_ctmc", "qm9_sde"),
    "qm9_conditional": ("qm9_cond",),
    "community_small": ("community_small_sde",),
    "ego_small": ("ego_small_sde",),
    "zinc250k": ("zinc250k_ctmc",),
}


def _installed() -> dict[str, Path]:
    if not PRETRAINED_DIR.is_dir():
        return {}
    return {p.name: p for p in sorted(PRETRAINED_DIR.iterdir()) if (p / "config.json").is_file() and (p / "model.safetensors").is_file()}


def list_pretrained(details: bool = False) -> list[Any]:
    """Names of the bundled models (with ``details=True``: one dict per model from its card)."""
    models = _installed()
    if not details:
        return list(models)
    out = []
    for name, path in models.items():
        card = json.loads((path / "config.json").read_text()).get("card", {})
        out.append({"name": name, "family": card.get("family", ""), "dataset": card.get("dataset", ""),
                    "summary": card.get("summary", ""), "measured": measured(card), "metrics": card.get("metrics", {}),
                    "aliases": aliases_of(name),
                    "path": str(path)})
    return out


def measured(card: Mapping[str, Any]) -> str:
    """One line of a card's measured quality at its default sampler, with the protocol's counts:
    ``"99.4% valid w/o correction, FCD 0.175, NSPDK 0.0004; pc, 49 network calls, 10,000 samples"``
    for molecule models (with the single-fragment fraction after validity where the card records it),
    ``"MMD degree 0.019 / clustering 0.088 / orbit 0.009; dpm_solver_sde, 50 network calls, 20 graphs x
    10 seeds"`` for graph models; ``"not measured"`` without metrics."""
    m = card.get("metrics") or {}
    if m.get("values"):
        v = m["values"]
        parts = []
        if v.get("validity_wo_correction") is not None:
            parts.append(f"{100 * v['validity_wo_correction']:.1f}% valid w/o correction")
        if v.get("single_fragment") is not None:  # samples in one piece before the largest fragment is kept
            parts.append(f"{100 * v['single_fragment']:.1f}% single fragment")
        parts += [f"{k.upper()} {v[k]:{f}}" for k, f in (("fcd", ".3g"), ("nspdk", ".2g")) if v.get(k) is not None]
        if v.get("vun") is not None:
            parts.append(f"V.U.N. {100 * v['vun']:.1f}%")
        parts += [f"{k} {v[k]:.3g}" for k in ("degree", "clustering", "orbit") if v.get(k) is not None]
        how = f"{m.get('sampler', '?')}, {m.get('nfe', '?')} network calls, {m.get('n_samples', '?'):,} samples"
        return ", ".join(parts) + "; " + how
    if m.get("rows"):
        sampling = card.get("sampling", {})
        rows = m["rows"]
        row = next((r for r in rows if r.get("sampler") == sampling.get("sampler") and r.get("steps") == sampling.get("steps")),
                   rows[0])
        stats = " / ".join(f"{k} {row[k]:.3f}" for k in ("degree", "clustering", "orbit") if k in row)
        return (f"MMD {stats}; {row.get('sampler')}, {row.get('nfe')} network calls, {m.get('n_generated', '?')} graphs"
                f" x {row.get('seeds', 1)} seeds")
    return "not measured"


def _looks_like_path(name: str) -> bool:
    return name.startswith((".", "~")) or "/" in name or (os.sep != "/" and os.sep in name) or Path(name).is_absolute()


def _family(path: Path) -> str | None:
    return json.loads((path / "config.json").read_text()).get("card", {}).get("family")


def aliases_of(model: str) -> list[str]:
    """How a bundled model can be named besides its own name: ``"qm9"`` (what :func:`load_pretrained`
    and ``graphdiff sample --model`` resolve) or ``"qm9 (ContinuousGraphDiffusion)"`` (what resolves
    to it within its family only, e.g. ``ContinuousGraphDiffusion.from_pretrained("qm9")``)."""
    from .base import PIPELINES

    models = _installed()
    out = []
    for alias, candidates in ALIASES.items():
        present = [c for c in candidates if c in models]
        if model not in present:
            continue
        if present[0] == model:
            out.append(alias)
        else:
            fam = _family(models[model])
            same = [c for c in present if _family(models[c]) == fam]
            if same and same[0] == model:
                klass = PIPELINES.get(fam).__name__ if fam in PIPELINES else fam
                out.append(f"{alias} ({klass})")
    return out


def resolve(name: str, *, family: str | None = None) -> Path:
    """Path of a bundled model by name or alias, or of a folder written by ``save_pretrained``.

    The rule for a name that could be both: **a bundled name or alias always means the bundled
    model**, even when a folder of that name exists in the working directory; write the folder as a
    path (``./qm9``, ``runs/qm9``, an absolute path) to load it. Anything with a path separator, or
    starting with ``.`` or ``~``, is a path and never a bundled name. A bare name that is not
    bundled is a folder if one exists.

    ``family`` (``"discrete"`` / ``"continuous"``) resolves an alias within that family, as
    ``ContinuousGraphDiffusion.from_pretrained("qm9")`` does (``qm9_sde``, where ``load_pretrained("qm9")``
    gives ``qm9_ctmc``)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"a model is a bundled name or a folder, got {name!r}")
    models = _installed()
    if not _looks_like_path(name):
        if name in models:
            return models[name]
        present = [c for c in ALIASES.get(name, ()) if c in models]
        for candidate in present:
            if family is None or _family(models[candidate]) == family:
                return models[candidate]
        if present and not Path(name).is_dir():
            same = [m for m in models if _family(models[m]) == family]
            raise ValueError(f"no bundled {family} model for {name!r} (it names {', '.join(present)}); bundled {family} "
                             f"models: {', '.join(same) or 'none'}")
    p = Path(name).expanduser()
    if p.is_dir():
        return p
    valid = list(models) + [a for a, c in ALIASES.items() if any(x in models for x in c)]
    if not valid:
        raise FileNotFoundError(f"no pretrained model {name!r}: this installation bundles no models, and {name!r} is not a folder")
    raise unknown_name("pretrained model (or a folder written by save_pretrained)", name, valid)


def load_pretrained(name: str = "qm9", *, device: str | torch.device = "cpu") -> GraphDiffusionPipeline:
    """Load a bundled model (see :func:`list_pretrained`) or a ``save_pretrained`` folder."""
    return GraphDiffusionPipeline.from_pretrained(resolve(name), device=device)


def generate_molecules(
    n: int = 1000,
    model: str = "qm9",
    *,
    steps: int | None = None,
    sampler: str | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    batch_size: int = 512,
    progress: bool = False,
    precision: str = "auto",
    sampler_options: Mapping[str, Any] | None = None,
    nfe: int | None = None,
    sort_sizes: bool = True,
    threads: int | str | None = "auto",
    condition: Mapping[str, Any] | None = None,
    guidance_scale: float | None = None,
    scaffold: Any = None,
    predictor: Any = None,
    predictor_scale: float | None = None,
    candidates: int = 1,
) -> MoleculeSamples:
    """Generate ``n`` molecules with a pretrained model, offline.

    Returns :class:`MoleculeSamples`: ``len()`` is ``n``; ``.molecules`` holds RDKit ``Mol`` objects
    (``None`` where a sample could not be made a valid molecule), ``.smiles`` canonical SMILES, and
    ``.report`` the decoding counts. Decoding follows the model card's ``sampling.decode`` protocol
    (default ``"gdss"``: +1 formal charge on N/O/S over valence by one, valency correction, largest
    fragment); ``report.n_valid_without_correction`` counts samples that were valid before any
    correction and each result in ``report.results`` says whether it was ``corrected``.
    ``precision="bfloat16"`` runs the network in bfloat16: faster on CPUs with bf16 instructions
    and on GPUs (see :data:`graphdiff.pipelines.precision.PRECISIONS`); the default ``"auto"`` takes
    it where the hardware has them (AVX512-BF16 / AMX, :func:`graphdiff.hardware.auto_precision`)
    and float32 elsewhere, so samples of a seed depend on the machine unless you name the precision.
    ``sort_sizes`` (default on) samples in batches of similar sizes and returns the molecules in draw
    order. ``threads="auto"`` runs torch on the cores free right now
    (:func:`graphdiff.hardware.auto_threads`; your ``OMP_NUM_THREADS`` wins), an int sets the count
    for this call, ``None`` leaves torch's setting. ``sampler_options`` override
    the card's options of the sampler, e.g. ``{"temperature": 0.8}`` for a continuous model
    (higher validity, lower diversity: see the model's card and BENCHMARKS.md). ``nfe`` sets a
    budget of network calls per molecule instead of ``steps`` (a predictor-corrector step makes
    several calls).

    Steering: ``condition={"logp": 1.5, "qed": 0.6}`` targets properties with a conditional model
    (``model="qm9_cond"``; its card lists the properties and their training ranges) under
    classifier-free guidance ``guidance_scale`` (0 unconditional, 1 conditional, larger steers
    harder; default: the card's); ``scaffold="c1ccncc1"`` (any molecule model) makes every sample
    contain that substructure; ``predictor`` (a noisy-graph property predictor of this model, or its
    folder; :func:`graphdiff.guidance.predictor_training.train_predictor`) steers any model towards
    the ``condition`` entries it predicts, scaled by ``predictor_scale``. The samples then carry
    ``targets`` and achieved ``properties``. ``candidates=k`` (with a property ``condition``) is
    best-of-k selection: ``k`` candidates per molecule, the one whose RDKit properties lie nearest
    the targets kept (valid without correction first); it costs ``k`` times the network calls and
    is a selection step after the model (:mod:`graphdiff.guidance.selection`)."""
    pipe = load_pretrained(model, device=device)
    if pipe.vocabulary is None:
        raise ValueError(f"model {model!r} generates plain graphs, not molecules; use load_pretrained({model!r}).sample(n)")
    from ..hardware import auto_threads, torch_threads

    if threads == "auto":
        threads = auto_threads()
    elif threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be 'auto', a positive int or None, got {threads!r}")
    with torch_threads(threads):
        out = pipe.sample(n, steps=steps, sampler=sampler, seed=seed, batch_size=batch_size, progress=progress,
                          precision=precision, sampler_options=sampler_options, nfe=nfe, sort_sizes=sort_sizes,
                          condition=condition, guidance_scale=guidance_scale, scaffold=scaffold,
                          predictor=predictor, predictor_scale=predictor_scale, candidates=candidates)
    assert isinstance(out, MoleculeSamples)
    return out
