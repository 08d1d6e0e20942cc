"""The API's resources, one module each, all sending through the client's one pipeline."""

from __future__ import annotations

from .campaigns import Campaigns

__all__ = ["Campaigns"]
