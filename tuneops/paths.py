"""Where tuneops keeps its state: `TUNEOPS_HOME`, else the platform's user data directory."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["state_dir"]


def state_dir() -> Path:
    """tuneops' state directory (not created here)."""
    home = os.environ.get("TUNEOPS_HOME")
    if home:
        return Path(home).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("tuneops", appauthor=False))
