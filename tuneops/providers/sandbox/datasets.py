"""How every emulator checks a training file's contents: with tuneops' own rule pack for that
vendor, the way the vendor checks them on its side (errors named by line), plus the counts its
billing needs. The result is cached on the stored file's document, per pack and model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tuneops.providers.sandbox.state import SandboxStore

__all__ = ["MAX_PROBLEMS", "cached_check", "check_dataset"]

MAX_PROBLEMS = 3  # problems quoted in an error message; the rest are counted


def check_dataset(path: Path, *, provider: str, method: str, model: str | None = None,
                  lowercase: bool = False) -> dict[str, Any]:
    """`errors` (how many), `problems` (the first few, as "Line N (path): message"; "line"/"file"
    when `lowercase`), `lines`, `examples` (valid ones) and `tokens`."""
    from tuneops.datasets.engine import ValidationOptions, validate_file
    from tuneops.datasets.findings import ERROR

    line, whole = ("line", "file") if lowercase else ("Line", "File")
    opts = ValidationOptions(provider=provider, method=method, model=model, count_tokens=True,
                             workers=1)
    with validate_file(path, opts) as report:
        problems = []
        for f in report.findings():
            if f.severity == ERROR:
                where = f"{line} {f.line}" + (f" ({f.path})" if f.path else "") if f.line else whole
                problems.append(f"{where}: {f.message}")
                if len(problems) == MAX_PROBLEMS:
                    break
        return {"errors": report.errors, "problems": problems, "lines": report.stats.lines,
                "examples": report.stats.valid_examples, "tokens": report.stats.tokens_total}


def cached_check(store: SandboxStore, kind: str, doc: dict[str, Any], key: str,
                 **check: Any) -> dict[str, Any]:
    """`check_dataset` of the file `doc` (of `kind`, its blob named by its id), once per `key`:
    the result is kept under `validations` on `doc` and, when it is stored, on the stored one."""
    cached = doc.get("validations", {}).get(key)
    if cached is not None:
        result: dict[str, Any] = cached
        return result
    result = check_dataset(store.blob_path(doc["id"]), **check)
    doc.setdefault("validations", {})[key] = result

    def remember(stored: dict[str, Any]) -> dict[str, Any]:
        stored.setdefault("validations", {})[key] = result
        return stored

    store.update(kind, doc["id"], remember)  # nothing happens when it is not stored yet
    return result
