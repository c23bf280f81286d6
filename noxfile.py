"""nox sessions: ``tests`` (one session parametrized over backends) and ``lint``.

``nox -s tests`` runs the whole test suite once per backend, each in its own environment
holding NumPy plus that backend (pins in ``backends/<name>.txt``); tests of backends that
are not installed in a session are skipped with the reason printed.
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "virtualenv"  # pip: see DEVELOPERS.md on torch
nox.options.sessions = ["lint", "tests"]

BACKENDS = ["numpy", "jax", "torch", "array_api_strict"]


@nox.session
@nox.parametrize("backend", BACKENDS, ids=BACKENDS)
def tests(session: nox.Session, backend: str) -> None:
    """The test suite with NumPy and one other backend installed."""
    session.install("-r", f"backends/{backend}.txt")
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
