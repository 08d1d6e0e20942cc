"""``python -m lemlist_async``: the command line; see ``lemlist_async._cli``."""

from __future__ import annotations

from ._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
