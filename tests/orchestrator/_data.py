"""What the orchestrator tests submit: the shipped example and a real base model id."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "support_chat.jsonl"
MODEL = "gpt-4o-mini-2024-07-18"
