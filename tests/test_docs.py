"""The docs site: every page is in the navigation and exists, the model-cards page is generated
from every bundled card, and links out of docs/ become repository paths (``make docs`` builds the
site with ``mkdocs build --strict``)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import SimpleNamespace

import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _nav_files(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [f for item in node for f in _nav_files(item)]
    if isinstance(node, dict):
        return [f for v in node.values() for f in _nav_files(v)]
    return []


def _hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_nav_entry_exists():
    cfg = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    assert cfg["strict"] is True
    nav = _nav_files(cfg["nav"])
    assert all((DOCS / f).is_file() for f in nav), [f for f in nav if not (DOCS / f).is_file()]
    for page in ("getting-started.md", "walkthrough.md", "concepts.md", "models.md", "protocols.md", "scaling.md",
                 "api/pipelines.md"):
        assert page in nav


def test_model_cards_page_lists_every_bundled_model():
    names = sorted(p.parent.name for p in (ROOT / "graphdiff" / "pretrained").glob("*/config.json"))
    text = _hooks()._model_cards()
    assert re.findall(r"^### `(\w+)`", text, re.M) == names
    if "qm9_sde" in names:
        assert "`qm9 (ContinuousGraphDiffusion)`" in text


def test_links_out_of_docs_become_repository_paths():
    hooks = _hooks()
    page = SimpleNamespace(file=SimpleNamespace(src_uri="protocols.md"))
    md = "see [the page](../BENCHMARKS.md) and [cards](models.md#x) and [api](../docs/x.md)"
    out = hooks.on_page_markdown(md, page, {"repo_url": ""}, None)
    assert "the page (`BENCHMARKS.md`)" in out and "[cards](models.md#x)" in out
    out = hooks.on_page_markdown(md, page, {"repo_url": "https://example.org/g/"}, None)
    assert "[the page](https://example.org/g/blob/main/BENCHMARKS.md)" in out
    nested = SimpleNamespace(file=SimpleNamespace(src_uri="api/data.md"))
    assert hooks.on_page_markdown("[p](../protocols.md)", nested, {}, None) == "[p](../protocols.md)"  # inside docs/


def test_readme_is_a_short_front_door_whose_links_exist():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 120
    assert 'pip install "graphdiff-ml' in text and "make test" in text and "make demo" in text
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text)
    assert links and all((ROOT / link).exists() for link in links if "://" not in link), links
