"""The API's resources, one module each, all sending through the client's one pipeline."""

from __future__ import annotations

from .activities import Activities
from .campaigns import Campaigns
from .hooks import Hooks
from .leads import Leads
from .team import TeamResource
from .unsubscribes import Unsubscribes

__all__ = ["Activities", "Campaigns", "Hooks", "Leads", "TeamResource", "Unsubscribes"]
