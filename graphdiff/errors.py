"""Typed errors raised by graphdiff. Every public entry point raises one of these (or a plain
``ValueError`` / ``TypeError`` subclass) with a message that says what to do."""

from __future__ import annotations


class GraphdiffError(Exception):
    """Base class of every graphdiff-specific error."""


class MissingDependencyError(GraphdiffError, ImportError):
    """An optional dependency is missing; the message names the pip extra to install."""


class DataNotFoundError(GraphdiffError, FileNotFoundError):
    """A dataset file is missing and cannot be downloaded; the message says where to put it."""


class ChecksumError(GraphdiffError, ValueError):
    """A file's sha256 does not match its dataset card."""


class CheckpointError(GraphdiffError, ValueError):
    """A checkpoint is missing, truncated, tampered with or of the wrong format."""


class InvalidGraphError(GraphdiffError, ValueError):
    """A graph or GraphState violates the contract (shape, symmetry, mask, size)."""


class VocabularyError(GraphdiffError, ValueError):
    """A molecule contains atoms outside the model's atom vocabulary."""


class TrainingDivergedError(GraphdiffError, FloatingPointError):
    """NaN / Inf in the loss or gradients; the message names the step."""


def unknown_name(kind: str, name: object, valid: "list[str] | tuple[str, ...]") -> ValueError:
    """The standard error for a wrong name: lists the valid choices."""
    return ValueError(_unknown_message(kind, name, valid))


def _unknown_message(kind: str, name: object, valid: "list[str] | tuple[str, ...]") -> str:
    return f"unknown {kind} {name!r}; valid choices: {', '.join(sorted(map(str, valid)))}"


class UnknownNameError(GraphdiffError, ValueError, KeyError):
    """A name missing from a :class:`graphdiff.registry.Registry`: a ``ValueError`` with the
    standard message (see :func:`unknown_name`), and a ``KeyError`` for the mapping protocol."""

    def __init__(self, kind: str, name: object, valid: "list[str] | tuple[str, ...]") -> None:
        super().__init__(_unknown_message(kind, name, valid))
        self.kind, self.name, self.valid = kind, name, tuple(valid)

    def __str__(self) -> str:
        return str(self.args[0])
