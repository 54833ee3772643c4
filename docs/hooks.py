"""mkdocs hooks: the model-cards page is generated from the bundled cards
(``graphdiff/pretrained/*/config.json``), and links from a page to a repository file outside
``docs/`` (``../BENCHMARKS.md``, ``../benchmarks/...``) become code-host links when ``repo_url`` is
set in mkdocs.yml, else the path as code, so ``mkdocs build --strict`` checks every link that stays
inside the site."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_LINK = re.compile(r"\[([^\]]+)\]\((\.\./[^)#\s]+)(#[^)]*)?\)")


def _model_cards() -> str:
    import sys

    sys.path.insert(0, str(ROOT))
    from graphdiff.pipelines.pretrained import aliases_of, measured

    out = []
    for cfg in sorted((ROOT / "graphdiff" / "pretrained").glob("*/config.json")):
        card = json.loads(cfg.read_text()).get("card", {})
        name = cfg.parent.name
        training = card.get("training", {})
        sampling = card.get("sampling", {})
        aliases = ", ".join(f"`{a}`" for a in aliases_of(name)) or "none"
        out += [f"### `{name}`", "",
                card.get("summary", ""), "",
                "| | |", "|---|---|",
                f"| family | {card.get('family', '')} (`{card.get('pipeline', '')}`) |",
                f"| also called | {aliases} |",
                f"| data | {card.get('dataset', '')} ({training.get('train_graphs', '?')} training graphs) |",
                f"| default sampler | `{sampling.get('sampler', '?')}`, {sampling.get('steps', '?')} steps |",
                f"| measured | {measured(card)} |",
                f"| training | {training.get('steps', '?')} steps, batch {training.get('batch_size', '?')}, "
                f"{training.get('seconds', '?')} s on {training.get('device', '?')}"
                + (f", {training['processes']} processes" if training.get("processes") else "") + " |",
                "", f"The whole card: `graphdiff/pretrained/{name}/config.json` (`graphdiff models --json`).", ""]
    return "\n".join(out)


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ANN001 - mkdocs' hook signature
    if "<!-- model-cards -->" in markdown:
        markdown = markdown.replace("<!-- model-cards -->", _model_cards())
    repo = (config.get("repo_url") or "").rstrip("/")

    def fix(m: re.Match) -> str:
        text, target, anchor = m.group(1), m.group(2), m.group(3) or ""
        rel = (Path(page.file.src_uri).parent / target).as_posix()
        parts = []
        for seg in rel.split("/"):
            if seg == "..":
                if parts:
                    parts.pop()
                else:
                    parts.append("..")
            elif seg not in ("", "."):
                parts.append(seg)
        if parts and parts[0] == "..":  # outside docs/: a repository file
            path = "/".join(parts[1:])
            return f"[{text}]({repo}/blob/main/{path}{anchor})" if repo else f"{text} (`{path}`)"
        return m.group(0)

    return _LINK.sub(fix, markdown)
