"""Sampling straight to a file, in chunks: flat memory, nothing lost to a kill, exact resume.

:func:`sample_to_file` samples ``n`` graphs ``chunk_size`` at a time. Each finished chunk is saved
at once, atomically (temporary file + rename), as a safetensors file of its dense state in a
``<out>.parts/`` folder next to the output, with a ``manifest.json`` of the run's settings. When
every chunk is there, they are streamed one at a time through the writer of the output's suffix
(:mod:`graphdiff.outputs`) into ``<out>`` (atomic too), and the parts folder is removed. Memory
holds one chunk, whatever ``n`` (except the ``.pt`` writer, which keeps its list until it closes).

A killed run leaves its finished chunks; the same call with ``resume=True`` (``graphdiff sample
--resume``) checks that the settings match the manifest and samples only the missing chunks.
Chunk ``i`` is sampled with its own seed, derived from ``(seed, i)``, so a resumed run writes
exactly the samples the uninterrupted run would have. This means a seed gives other samples here
than ``pipe.sample(n, seed=seed)`` in one piece (and than ``graphdiff sample`` before chunked
writing, December 2026).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch

from .._io import write_bytes_atomic
from ..states import GraphState
from .checks import check_count, check_sampler_options

__all__ = ["sample_to_file", "chunk_seed", "StreamResult", "parts_dir"]

_FORMAT = "graphdiff-sample-parts/1"


def chunk_seed(seed: int, index: int) -> int:
    """The seed of chunk ``index`` of a run seeded ``seed`` (63 bits of sha256 of ``"seed:index"``)."""
    return int.from_bytes(hashlib.sha256(f"{int(seed)}:{int(index)}".encode()).digest()[:8], "little") >> 1


def parts_dir(out: str | os.PathLike) -> Path:
    """The folder that holds a run's finished chunks while it is under way: ``<out>.parts``."""
    p = Path(out)
    return p.with_name(p.name + ".parts")


@dataclass
class StreamResult:
    """What :func:`sample_to_file` wrote: ``n`` samples at ``path`` (``n_valid`` molecules valid,
    ``None`` for graph models), ``nfe_per_graph`` network calls per graph, ``seconds`` of sampling
    in this call, and how many of ``chunks`` were found finished from an earlier run."""

    path: Path
    n: int
    chunks: int
    resumed_chunks: int
    nfe_per_graph: int
    seconds: float
    n_valid: int | None = None
    n_valid_without_correction: int | None = None

    def summary(self) -> str:
        from .results import validity_text

        what = "graphs" if self.n_valid is None else "molecules"
        valid = "" if self.n_valid is None else ", " + validity_text(
            self.n, self.n_valid, n_valid_without_correction=self.n_valid_without_correction)
        resumed = f", {self.resumed_chunks} of {self.chunks} chunks from the earlier run" if self.resumed_chunks else ""
        return (f"{self.n} {what}{valid}, {self.nfe_per_graph} network calls per graph, {self.seconds:.1f} s "
                f"in {self.chunks} chunk{'s' if self.chunks != 1 else ''}{resumed}")


def _model_id(pipe: Any) -> str:
    h = hashlib.sha256(json.dumps(pipe.to_card(), sort_keys=True, default=str).encode())
    for k, v in sorted(pipe.network.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _save_chunk(path: Path, state: GraphState, meta: Mapping[str, Any]) -> None:
    from safetensors.torch import save

    blob = save({"X": state.X.contiguous(), "A": state.A.contiguous(), "node_mask": state.node_mask.contiguous()},
                metadata={k: json.dumps(v) for k, v in meta.items()})
    write_bytes_atomic(path, blob)


def _load_chunk(path: Path, size: int) -> tuple[GraphState, dict] | None:
    """A finished chunk of ``size`` graphs, or ``None`` when the file is missing or unreadable
    (then the chunk is sampled again)."""
    from safetensors import safe_open

    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = {k: json.loads(v) for k, v in (f.metadata() or {}).items()}
            state = GraphState(f.get_tensor("X"), f.get_tensor("A"), f.get_tensor("node_mask"))
    except Exception:  # noqa: BLE001 - any unreadable part is sampled again
        return None
    if state.node_mask.shape[0] != size:
        return None
    return state, meta


def dry_run(pipe: Any, *, steps: int | None, sampler: str, options: Mapping[str, Any]) -> None:
    """One step of the sampler on a one-node graph (a fraction of a second), so an unknown sampler
    or option is refused before anything is written."""
    mask = torch.ones(1, 1, dtype=torch.bool, device=pipe.device)
    was_training = pipe.network.training
    pipe.network.eval()
    try:
        with torch.no_grad():
            pipe.sample_batch(mask, steps=1 if steps is None else min(steps, 1), sampler=sampler,
                              generator=torch.Generator(device=pipe.device).manual_seed(0),
                              options={**pipe.sampler_options(sampler), **dict(options)})
    finally:
        pipe.network.train(was_training)


def sample_to_file(
    pipe: Any,
    n: int,
    out: str | os.PathLike,
    *,
    chunk_size: int = 1000,
    resume: bool = False,
    seed: int = 0,
    steps: int | None = None,
    sampler: str | None = None,
    nfe: int | None = None,
    batch_size: int = 512,
    nproc: int = 1,
    precision: str = "float32",
    sampler_options: Mapping[str, Any] | None = None,
    sort_sizes: bool = True,
    progress: bool = False,
    **sample_kwargs: Any,
) -> StreamResult:
    """Sample ``n`` graphs with ``pipe`` into ``out`` (format by suffix, see
    :mod:`graphdiff.outputs`), ``chunk_size`` at a time; see the module docstring for the parts
    folder, ``resume`` and the per-chunk seeds. Everything is checked before the first chunk: the
    numbers, the output's suffix and that its folder is writable, and (with ``resume``) that the
    manifest matches. Other keyword arguments (``condition``, ``guidance_scale``, ...) go to
    ``pipe.sample`` for every chunk and are part of the manifest. Raises ``ValueError`` with what to do when a parts folder exists without
    ``resume``, or with other settings."""
    from ..outputs import check_output

    n = check_count(n, "n", minimum=1)
    chunk_size = check_count(chunk_size, "chunk_size")
    seed = check_count(seed, "seed", minimum=0)
    molecules = pipe.vocabulary is not None
    out = check_output(out, molecules=molecules)
    sampler = pipe.resolve_sampler(sampler, scaffold=sample_kwargs.get("scaffold") is not None)
    if nfe is not None:
        if steps is not None:
            raise ValueError("give steps or nfe (a budget of network calls), not both")
        steps = pipe.steps_for_nfe(check_count(nfe, "nfe"), sampler=sampler, sampler_options=sampler_options)
    if steps is not None:
        steps = check_count(steps, "steps")
    options = dict(sampler_options or {})
    check_sampler_options({**pipe.sampler_options(sampler), **options})
    dry_run(pipe, steps=steps, sampler=sampler, options=options)  # a bad sampler name or option fails here
    manifest = {"format": _FORMAT, "n": n, "chunk_size": chunk_size, "seed": seed, "steps": steps, "sampler": sampler,
                "precision": precision, "options": options, "sort_sizes": bool(sort_sizes), "model": _model_id(pipe),
                "sample_kwargs": json.loads(json.dumps(sample_kwargs, sort_keys=True, default=str)),
                "output": out.name}
    parts = parts_dir(out)
    mpath = parts / "manifest.json"
    if parts.exists():
        if not resume:
            raise ValueError(f"{parts} holds the finished chunks of an earlier run to {out.name}: pass --resume "
                             f"(resume=True) to continue it, or delete that folder to start over")
        try:
            old = json.loads(mpath.read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot resume: {mpath} is missing or unreadable ({exc}); delete {parts} to start over") from exc
        diff = [k for k in manifest if old.get(k) != manifest[k]]
        if diff:
            raise ValueError("cannot resume: the earlier run into " + str(out) + " used other settings ("
                             + "; ".join(f"{k}: {old.get(k)!r} then, {manifest[k]!r} now" for k in diff if k != "model")
                             + ("; another model" if "model" in diff else "") + f"); delete {parts} to start over")
    else:
        parts.mkdir(parents=True)
        mpath.write_text(json.dumps(manifest, indent=1))

    try:
        return _run(pipe, n, out, parts, chunk_size=chunk_size, seed=seed, steps=steps, sampler=sampler,
                    batch_size=batch_size, nproc=nproc, precision=precision, options=options, sort_sizes=sort_sizes,
                    progress=progress, molecules=molecules, sample_kwargs=sample_kwargs)
    except BaseException:
        if parts.is_dir() and not any(parts.glob("chunk-*.safetensors")):
            shutil.rmtree(parts, ignore_errors=True)  # nothing finished: leave nothing behind
        raise


def _run(pipe: Any, n: int, out: Path, parts: Path, *, chunk_size: int, seed: int, steps: int | None, sampler: str,
         batch_size: int, nproc: int, precision: str, options: dict, sort_sizes: bool, progress: bool,
         molecules: bool, sample_kwargs: Mapping[str, Any]) -> StreamResult:
    from ..outputs import open_writer

    n_chunks = math.ceil(n / chunk_size)
    sizes = [min(chunk_size, n - i * chunk_size) for i in range(n_chunks)]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, desc=f"sampling to {out.name} ({sampler})", unit="graph")
    t0 = time.perf_counter()
    resumed, nfe_per_graph = 0, 0
    for i, size in enumerate(sizes):
        path = parts / f"chunk-{i:06d}.safetensors"
        done = _load_chunk(path, size)
        if done is not None:
            resumed += 1
            nfe_per_graph = max(nfe_per_graph, int(done[1].get("nfe_per_graph", 0)))
        else:
            res = pipe.sample(size, steps=steps, sampler=sampler, seed=chunk_seed(seed, i), batch_size=batch_size,
                              nproc=nproc, precision=precision, sampler_options=options, sort_sizes=sort_sizes,
                              **sample_kwargs)
            st = res.state
            _save_chunk(path, GraphState(st.X, st.A, st.node_mask),
                        {"index": i, "seed": chunk_seed(seed, i), "nfe": res.nfe, "nfe_per_graph": res.nfe_per_graph,
                         "seconds": round(res.seconds, 3)})
            nfe_per_graph = max(nfe_per_graph, int(res.nfe_per_graph))
            del res, st
        if bar is not None:
            bar.update(size)
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - t0

    writer = open_writer(out, molecules=molecules)
    n_valid = n_raw = 0
    try:
        for i, size in enumerate(sizes):
            loaded = _load_chunk(parts / f"chunk-{i:06d}.safetensors", size)
            if loaded is None:
                raise ValueError(f"chunk {i} in {parts} vanished while writing {out}; rerun with --resume")
            samples = pipe._wrap(loaded[0], nfe=0, seconds=0.0, info={})
            writer.write(samples)
            if molecules:
                n_valid += len(samples.valid_smiles)
                n_raw += samples.report.n_valid_without_correction if samples.report is not None else 0
            del samples, loaded
    except BaseException:
        writer.abort()
        raise
    writer.close()
    shutil.rmtree(parts, ignore_errors=True)
    return StreamResult(out, n, n_chunks, resumed, nfe_per_graph, seconds, n_valid if molecules else None,
                        n_raw if molecules else None)
