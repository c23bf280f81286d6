"""Nested tuples and NamedTuples of arrays (parameters, optimiser states): walked leaf by leaf.

None is an empty subtree, as in JAX (an optimiser state's unused field: no leaf)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["tree_leaves", "tree_map"]


def tree_leaves(tree: Any) -> list[Any]:
    """The leaves of nested tuples and NamedTuples, in order (as :func:`tree_map` visits them)."""
    if isinstance(tree, tuple):
        return [leaf for child in tree for leaf in tree_leaves(child)]
    return [] if tree is None else [tree]


def tree_map(f: Callable[..., Any], tree: Any, *rest: Any) -> Any:
    """``f`` on every leaf of nested tuples and NamedTuples (and the matching leaves of
    ``rest``, trees of the same structure), in a tree of the same structure."""
    if isinstance(tree, tuple):
        mapped = [tree_map(f, *children) for children in zip(tree, *rest, strict=True)]
        return type(tree)(*mapped) if hasattr(tree, "_fields") else tuple(mapped)
    return None if tree is None else f(tree, *rest)
