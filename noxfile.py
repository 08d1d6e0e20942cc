"""Developer sessions. ``nox`` runs lint, typecheck and tests on every Python found.

``nox -s bench`` runs the benchmarks, ``nox -s docs`` builds the documentation;
neither is part of the default run.
"""

from __future__ import annotations

import glob
import os
import shutil

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.download_python = "never"
nox.options.sessions = ["lint", "typecheck", "tests"]

SUPPORTED = ("3.11", "3.12", "3.13")

#: arq for tests/test_task_queues.py, installed without its dependencies: every arq
#: release (0.28.0 the latest) asks for ``redis[hiredis]>=4.2,<6``, and the SDK's
#: limiter needs redis-py 8 (https://github.com/python-arq/arq/issues/454). arq runs
#: on redis-py 8 (the tests show it); its other dependency, click, is in the test extra.
ARQ = "arq>=0.28,<0.29"


def _expose_pyenv_pythons() -> None:
    # pyenv's shims only answer for the versions selected with `pyenv global`;
    # putting each installed version's own bin first lets nox find all of them.
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    dirs = []
    for version in SUPPORTED:
        found = sorted(glob.glob(os.path.join(root, "versions", f"{version}.*", "bin")))
        if found:
            dirs.append(found[-1])
    if dirs:
        os.environ["PATH"] = os.pathsep.join([*dirs, os.environ.get("PATH", "")])


_expose_pyenv_pythons()
PYTHONS = [v for v in SUPPORTED if shutil.which(f"python{v}")]


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff>=0.8")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHONS[:1])
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package, the tests and this file; pyright's type completeness.

    ``pyright --verifytypes`` checks that every name a user can reach has a declared
    type (100% is required); ``--ignoreexternal`` leaves other packages' types out.
    """
    session.install("-e", ".[test,typecheck]", "nox")
    session.install("--no-deps", ARQ)
    session.run("mypy")
    session.run("pyright", "--verifytypes", "lemlist_async", "--ignoreexternal")


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The test suite, warnings as errors (see pyproject.toml)."""
    session.install("-e", ".[test]")
    session.install("--no-deps", ARQ)
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHONS[:1])
def docs(session: nox.Session) -> None:
    """Build the documentation site into docs/_build/html; any warning fails it.

    ``-n`` makes every cross-reference count. Nothing is fetched: intersphinx reads
    the small inventories committed in docs/_inventories, checked first against the
    script that writes them. Extra arguments go to sphinx-build, e.g.
    ``nox -s docs -- -E`` for a full rebuild.
    """
    session.install("-e", ".[docs,redis]")
    session.run("python", "docs/_inventories/make_inventories.py", "--check")
    session.run(
        "sphinx-build",
        "-W",
        "--keep-going",
        "-n",
        "-b",
        "html",
        "docs",
        "docs/_build/html",
        *session.posargs,
    )


@nox.session(python=PYTHONS[:1])
def bench(session: nox.Session) -> None:
    """Benchmarks, side by side in one run; prints ratios (absolute times drift)."""
    # aiolimiter is the baseline the benchmarks compare against; the SDK does not need it.
    session.install(".[redis,postgres]", "aiolimiter>=1.2")
    session.run("python", "benchmarks/run.py", *session.posargs)
