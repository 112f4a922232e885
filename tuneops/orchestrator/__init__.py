"""Reserved for the orchestrator layer (see the README's roadmap); nothing is exported yet."""

from __future__ import annotations

__all__: list[str] = []
