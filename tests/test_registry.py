"""The registry helper behind every name -> thing table: registration (call and decorator),
aliases, views by fact, lazy "module:attr" targets, and the standard unknown-name error."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from graphdiff.errors import UnknownNameError
from graphdiff.registry import Registry


def test_register_call_decorator_aliases_and_mapping():
    reg: Registry = Registry("widget")
    reg.register("a", 1, kind="x")

    @reg.register("b", aliases=("bee",), kind="y")
    def b():
        return 2

    assert list(reg) == ["a", "b"] and len(reg) == 2
    assert reg["a"] == 1 and reg["bee"] is b and reg.get("b") is b
    assert "bee" in reg and "c" not in reg and reg.get("c", None) is None
    assert reg.canonical("bee") == "b" and reg.all_names() == ["a", "b", "bee"]
    assert reg.names(kind="y") == ["b"] and reg.meta("bee", "kind") == "y"
    assert dict(reg.items()) == {"a": 1, "b": b}


def test_unknown_name_error_lists_every_accepted_name():
    reg: Registry = Registry("widget")
    reg.register("alpha", 1, aliases=("al",))
    with pytest.raises(ValueError, match=r"unknown widget 'alfa'; valid choices: al, alpha") as err:
        reg["alfa"]
    assert isinstance(err.value, KeyError) and isinstance(err.value, UnknownNameError)
    assert str(err.value) == "unknown widget 'alfa'; valid choices: al, alpha"


def test_taken_names_replace_and_unregister():
    reg: Registry = Registry("widget")
    reg.register("a", 1, aliases=("x",))
    reg.register("b", 2)
    with pytest.raises(ValueError, match="already registered"):
        reg.register("x", 3)
    reg.register("a", 10, replace=True)  # keeps its place, drops its old aliases
    assert list(reg) == ["a", "b"] and reg["a"] == 10 and "x" not in reg
    reg.unregister("b")
    assert list(reg) == ["a"]


def test_views_follow_the_parent_and_lazy_targets_load_once():
    reg: Registry = Registry("process")
    view = reg.view("SDE", kind="sde")
    reg.register("vp", "graphdiff.processes.sde.vp:VPSDE", kind="sde")
    reg.register("u", 0, kind="ctmc")
    from graphdiff.processes.sde.vp import VPSDE

    assert list(view) == ["vp"] and view["vp"] is VPSDE
    with pytest.raises(ValueError, match="unknown SDE 'u'; valid choices: vp"):
        view.get("u")
    with pytest.raises(TypeError):
        view.register("ve", 1)


@given(st.lists(st.text(st.characters(categories=("Ll",)), min_size=1, max_size=6), min_size=1, max_size=8, unique=True))
def test_every_registered_name_resolves_to_its_target(names):
    reg: Registry = Registry("thing")
    for i, n in enumerate(names):
        reg.register(n, i)
    assert list(reg) == names
    assert all(reg[n] == i for i, n in enumerate(names))
