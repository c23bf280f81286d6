"""Sphinx configuration: the site's pages are Markdown (MyST), the API from the numpydoc
docstrings, the pictures drawn at build time by portnet's own code (``plot`` directive)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the checkout's portnet, also when it is not installed
os.environ.setdefault("MPLBACKEND", "Agg")

import portnet  # noqa: E402

project = "portnet"
author = "portnet developers"
copyright = "2026, portnet developers"
release = version = portnet.__version__

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "matplotlib.sphinxext.plot_directive",
    "sphinxarg.ext",  # the command line's option reference, from its argparse parser
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
# docs/ also holds the benchmark reports and design notes the site links to; what is not
# part of the site is left out here
exclude_patterns = ["_build", "requirements.txt"]

myst_enable_extensions = ["colon_fence", "dollarmath", "deflist"]
myst_heading_anchors = 3
smartquotes_action = "qe"  # quotes and ellipses; "--flag" in help texts stays two hyphens

# every reference to portnet's own objects must resolve; others (numpy, typing, ...) are
# not checked: the build has no network for intersphinx inventories
nitpicky = True
nitpick_ignore_regex = [(r"py:.*", r"(?!portnet\b).*")]

autodoc_typehints = "none"  # the numpydoc sections give the types
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_xref_param_type = False

plot_include_source = False  # a page shows the code of a picture where it means to
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 110)]
plot_rcparams = {"figure.figsize": (6.4, 4.2)}

html_theme = "pydata_sphinx_theme"
html_title = f"portnet {version}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_static_path: list[str] = []
