"""Sphinx configuration: furo, MyST Markdown pages, autodoc with Google-style docstrings.

Built by ``nox -s docs`` as ``sphinx-build -W --keep-going -n``: warnings are
errors and every cross-reference must resolve. Nothing is fetched: there is no
intersphinx, so references to the standard library and to aiohttp that cannot
resolve are listed, one by one, in ``nitpick_ignore`` below.
"""

from __future__ import annotations

import lemlist_async

project = "lemlist-async"
author = "lemlist-async contributors"
copyright = "lemlist-async contributors"
release = lemlist_async.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
# The README is not a page of the site; tests/test_docs.py runs its examples all the same.
exclude_patterns = ["_build"]
language = "en"

# -- MyST ------------------------------------------------------------------------------
myst_heading_anchors = 3

# -- autodoc and napoleon ----------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True}
autodoc_typehints = "signature"
# FakeLemlistServer documents its arguments on __init__.
autoclass_content = "both"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_use_ivar = False
# Docstrings write `name` for a reference to another documented object.
default_role = "py:obj"
python_use_unqualified_type_names = True

# -- Nitpicky references -----------------------------------------------------------------
# Without intersphinx, types from the standard library and aiohttp have no target.
nitpick_ignore = [
    ("py:class", "aiohttp.client.ClientSession"),
    ("py:class", "redis.asyncio.client.Redis"),
    ("py:class", "collections.abc.AsyncIterable"),
    ("py:class", "collections.abc.Awaitable"),
    ("py:class", "collections.abc.Callable"),
    ("py:class", "collections.abc.Iterable"),
    ("py:class", "collections.abc.Mapping"),
    ("py:class", "collections.abc.Sequence"),
    ("py:class", "contextlib.AbstractAsyncContextManager"),
    ("py:class", "datetime.datetime"),
    ("py:class", "enum.StrEnum"),
    # RateLimitInfo's docstring names a private helper of lemlist_async._headers.
    ("py:obj", "reset_delay"),
]


# -- HTML --------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"lemlist-async {release}"
html_static_path: list[str] = []
