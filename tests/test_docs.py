"""The docs cannot drift from the code: every example in README.md and in the site's pages
(``docs/**/*.md``) runs, and every relative link there leads to a file and heading that exist.

Examples are the fenced blocks of a page, run in order, in one namespace per page, in an
empty working folder:

- ```` ```python ```` blocks are executed (pytest's warnings-as-errors apply);
- ```` ```console ```` blocks run their ``$ portnet ...`` and ``$ python -m portnet...``
  commands (``\\`` continues a line), which must exit with 0; other commands (``pip``,
  ``nox``) and the output lines are shown, not run.

Words after the language are tags: a backend name (``python torch``) marks a block that
needs that backend; the page then runs once without such blocks and once per backend with
them, each run needing its backend (deselected where it cannot run, as every test here:
tests/conftest.py).  ``notest`` marks a block that cannot run on a test machine (a remote
cluster's address); it is still compiled, and each page's count of them is reported as a
skip with its reason.  An unknown tag is an error.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from portnet.backends import TABLE

from .conftest import needs

ROOT = Path(__file__).resolve().parents[1]
PAGES = [
    ROOT / "README.md",
    *sorted(p for p in (ROOT / "docs").rglob("*.md") if "_build" not in p.parts),
]
RUN = {"python", "console"}
TAGS = {"notest", *TABLE}
FENCE = re.compile(r"^(\s*)(`{3,})\s*([^`\s]*)(.*)$")


@dataclass(frozen=True)
class Block:
    """One fenced block of a page: its language, tags, text and first line's number."""

    language: str
    tags: frozenset[str]
    text: str
    line: int


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of ``path``, dedented to their fence's indentation."""
    found, lines, k = [], path.read_text(encoding="utf-8").splitlines(), 0
    while k < len(lines):
        start = FENCE.match(lines[k])
        k += 1
        if not start:
            continue
        indent, ticks, language, rest = start.groups()
        body = []
        while k < len(lines) and not re.match(rf"^\s*{ticks}\s*$", lines[k]):
            body.append(lines[k][len(indent) :] if lines[k].startswith(indent) else lines[k])
            k += 1
        k += 1
        tags = frozenset(rest.split())
        if language in RUN and (unknown := tags - TAGS):
            raise ValueError(f"{path}:{k - len(body) - 1}: unknown tags {sorted(unknown)}")
        found.append(Block(language, tags, "\n".join(body) + "\n", k - len(body) - 1))
    return found


def _runs() -> list:
    """One run per page and per backend its blocks need (with that backend's blocks)."""
    params = []
    for path in PAGES:
        runnable = [b for b in blocks(path) if b.language in RUN]
        if not runnable:
            continue
        name = path.relative_to(ROOT).as_posix()
        params.append(pytest.param(path, None, id=name))
        for backend in sorted({t for b in runnable for t in b.tags if t in TABLE}):
            params.append(pytest.param(path, backend, id=f"{name}-{backend}", marks=needs(backend)))
    return params


def _untested() -> list:
    """Every block marked ``notest``, by page and line."""
    return [
        pytest.param(path, block, id=f"{path.relative_to(ROOT).as_posix()}:{block.line}")
        for path in PAGES
        for block in blocks(path)
        if block.language in RUN and "notest" in block.tags
    ]


def _commands(text: str) -> list[list[str]]:
    """The ``$ portnet`` / ``$ python -m portnet`` commands of a console block, as argv."""
    joined = re.sub(r"\\\n\s*", " ", text)
    argvs = []
    for line in joined.splitlines():
        if not line.startswith("$ "):
            continue
        argv = shlex.split(line[2:], comments=True)
        if argv[:1] == ["portnet"]:
            argvs.append([sys.executable, "-m", "portnet", *argv[1:]])
        elif argv[:3] == ["python", "-m", "portnet"] or (
            argv[:2] == ["python", "-m"] and argv[2].startswith("portnet.")
        ):
            argvs.append([sys.executable, *argv[1:]])
    return argvs


def _run(block: Block, path: Path, namespace: dict) -> None:
    where = f"{path.relative_to(ROOT)}:{block.line}"
    if block.language == "python":  # compiled at the page's line numbers, for tracebacks
        exec(compile("\n" * block.line + block.text, str(path), "exec"), namespace)
        return
    for argv in _commands(block.text):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, (
            f"{where}: {shlex.join(argv[2:])} exited {done.returncode}:\n{done.stderr}"
        )


@pytest.mark.parametrize(("path", "backend"), _runs())
def test_examples_run(path: Path, backend: str | None, tmp_path, monkeypatch) -> None:
    """The page's examples, in order: the plain ones, and those needing ``backend``."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PORTNET_BACKEND", raising=False)
    namespace: dict = {"__name__": "__docs__"}
    for block in blocks(path):
        wanted = {t for t in block.tags if t in TABLE}
        if block.language in RUN and "notest" not in block.tags and wanted <= {backend}:
            _run(block, path, namespace)


@pytest.mark.parametrize(("path", "block"), _untested())
def test_untested_examples_compile(path: Path, block: Block) -> None:
    """A block marked ``notest`` is at least valid Python (or lists commands) and is
    reported as not run."""
    if block.language == "python":
        compile(block.text, f"{path}:{block.line}", "exec")
    pytest.skip(f"{path.name}:{block.line} is marked notest: compiled, not run here")


#: a Markdown link or image, ``[text](target)``, the target without a title
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def anchors(path: Path) -> set[str]:
    """GitHub's (and MyST's) anchors of the headings of ``path``."""
    found: set[str] = set()
    outside = True
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            outside = not outside
        if outside and (heading := re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)):
            text = re.sub(r"[`*_]|<[^>]+>", "", heading.group(1)).strip().lower()
            slug = re.sub(r"[^\w\- ]", "", text).replace(" ", "-")
            found.add(
                slug
                if slug not in found
                else next(f"{slug}-{n}" for n in range(1, 99) if f"{slug}-{n}" not in found)
            )
    return found


def _links(path: Path) -> list[tuple[int, str]]:
    """(line, target) of every relative link of ``path``, outside code blocks."""
    found, outside = [], True
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if FENCE.match(line):
            outside = not outside
            continue
        if outside:
            code_free = re.sub(r"`[^`]*`", "", line)
            found += [(number, t) for t in LINK.findall(code_free) if not re.match(r"[a-z]+:", t)]
    return found


@pytest.mark.parametrize("path", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_relative_links_resolve(path: Path) -> None:
    """Every relative link leads to a file that exists and, with ``#anchor``, to a heading
    of that file (links to the web are not checked: the test machines have no network)."""
    broken = []
    for number, target in _links(path):
        file, _, anchor = target.partition("#")
        goal = (path.parent / file).resolve() if file else path
        if not goal.exists():
            broken.append(f"line {number}: {target} (no such file)")
        elif anchor and goal.suffix == ".md" and anchor not in anchors(goal):
            broken.append(f"line {number}: {target} (no heading #{anchor} in {goal.name})")
    assert not broken, f"{path.relative_to(ROOT)}: " + "; ".join(broken)
