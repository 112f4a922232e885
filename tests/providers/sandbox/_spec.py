"""Vendors' published OpenAPI specs as JSON Schema validators, for checking the sandbox's responses.

The specs are `../shared/specs/openai-openapi.yaml` and `mistral-openapi.yaml` from the repository
root. PyYAML is used when it is installed; otherwise a small reader for the block-style YAML the
specs are written in extracts just the component schemas needed (descriptions and examples are
skipped, never interpreted).
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
SPEC_PATH = REPO.parent / "shared" / "specs" / "openai-openapi.yaml"
MISTRAL_SPEC_PATH = REPO.parent / "shared" / "specs" / "mistral-openapi.yaml"

_SKIP = {"description", "example", "examples", "x-oaiMeta", "title", "summary"}
_KEY = re.compile(r"""^("(?:[^"\\]|\\.)*"|'[^']*'|[^\s"'#\[\]{}-][^:#]*?|-[^\s:][^:#]*?):(?:\s+|$)(.*)$""")
_INT = re.compile(r"^-?\d+$")
_FLOAT = re.compile(r"^-?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$")


def _scalar(text: str) -> Any:
    s = text.strip()
    if s.startswith('"'):
        return json.loads(s)
    if s.startswith("'"):
        return s[1:-1].replace("''", "'")
    if " #" in s:
        s = s.split(" #", 1)[0].rstrip()
    if s in ("true", "false"):
        return s == "true"
    if s in ("null", "~", ""):
        return None
    if s.startswith("[") and s.endswith("]"):
        inner = s[1:-1].strip()
        return [_scalar(p) for p in inner.split(",")] if inner else []
    if s == "{}":
        return {}
    if _INT.match(s):
        return int(s)
    if _FLOAT.match(s):
        return float(s)
    return s


Line = tuple[int, str]


def _block(lines: list[Line], i: int, end: int) -> Any:
    if i >= end:
        return None
    indent, text = lines[i]
    if text == "-" or text.startswith("- "):
        return _sequence(lines, i, end, indent)
    return _mapping(lines, i, end, indent)


def _children_end(lines: list[Line], i: int, end: int, indent: int) -> int:
    j = i
    while j < end and lines[j][0] > indent:
        j += 1
    return j


def _mapping(lines: list[Line], i: int, end: int, indent: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    while i < end:
        ind, text = lines[i]
        if ind != indent or text.startswith("- "):
            raise ValueError(f"unexpected line in mapping: {text!r}")
        hit = _KEY.match(text)
        if hit is None:
            raise ValueError(f"not a mapping entry: {text!r}")
        key = _scalar(hit.group(1)) if hit.group(1)[0] in "\"'" else hit.group(1)
        rest = hit.group(2).strip()
        j = _children_end(lines, i + 1, end, indent)
        if j == i + 1 and not rest and j < end and lines[j][0] == indent and lines[j][1].startswith("- "):
            j = i + 1  # a sequence written at the key's own indentation
            while j < end and lines[j][0] == indent and lines[j][1].startswith("- "):
                j = _children_end(lines, j + 1, end, indent)
            value = _sequence(lines, i + 1, j, indent)
        elif key in _SKIP:
            value = None
        elif not rest:
            value = _block(lines, i + 1, j)
        elif rest[0] in "|>":
            value = " ".join(t for _, t in lines[i + 1:j])
        else:
            value = _scalar(" ".join([rest, *(t for _, t in lines[i + 1:j])]))
        if key not in _SKIP:
            out[str(key)] = value
        i = j
    return out


def _sequence(lines: list[Line], i: int, end: int, indent: int) -> list[Any]:
    out: list[Any] = []
    while i < end:
        ind, text = lines[i]
        if ind != indent or not (text == "-" or text.startswith("- ")):
            raise ValueError(f"unexpected line in sequence: {text!r}")
        item = text[2:].strip()
        j = _children_end(lines, i + 1, end, indent)
        if not item:
            out.append(_block(lines, i + 1, j))
        elif _KEY.match(item):
            sub = [(indent + 2, item), *lines[i + 1:j]]
            out.append(_mapping(sub, 0, len(sub), indent + 2))
        else:
            out.append(_scalar(" ".join([item, *(t for _, t in lines[i + 1:j])])))
        i = j
    return out


def _schema_blocks(text: str) -> dict[str, list[Line]]:
    """`components.schemas` entries as lists of (indent, text) lines, blank and comment lines out."""
    raw = text.splitlines()
    start = next(n for n, line in enumerate(raw) if line == "components:")
    start = next(n for n in range(start, len(raw)) if raw[n] == "  schemas:")
    blocks: dict[str, list[Line]] = {}
    name = None
    for line in raw[start + 1:]:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        if indent <= 2:
            break
        if indent == 4:
            name = stripped.rstrip(":").strip("\"'")
            blocks[name] = []
        elif name is not None:
            blocks[name].append((indent, stripped))
    return blocks


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = set()
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and v.startswith("#/components/schemas/"):
                found.add(v.rsplit("/", 1)[1])
            else:
                found |= _refs(v)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node)) if node else set()
    return set()


@cache
def load_schemas(names: tuple[str, ...], path: Path = SPEC_PATH) -> dict[str, Any]:
    """The named component schemas and everything they reference (of OpenAI's spec unless
    `path` names another)."""
    text = path.read_text(encoding="utf-8")
    try:
        import yaml

        return dict(yaml.safe_load(text)["components"]["schemas"])
    except ImportError:
        pass
    blocks = _schema_blocks(text)
    out: dict[str, Any] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in out:
            continue
        lines = blocks[name]
        out[name] = _block(lines, 0, len(lines)) if lines else {}
        todo.extend(_refs(out[name]) - set(out))
    return out


def _adapt(node: Any) -> Any:
    """OpenAPI 3.0 leftovers in a 3.1 document: `nullable: true` means "or null", and a boolean
    `exclusiveMinimum` / `exclusiveMaximum` qualifies `minimum` / `maximum` (JSON Schema 2020-12
    would read `true` as the number 1)."""
    if isinstance(node, dict):
        node = {k: _adapt(v) for k, v in node.items()}
        for flag, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
            if isinstance(node.get(flag), bool) and node.pop(flag) and bound in node:
                node[flag] = node.pop(bound)
        if node.pop("nullable", False) is True:
            return {"anyOf": [node, {"type": "null"}]}
        return node
    if isinstance(node, list):
        return [_adapt(v) for v in node]
    return node


RESPONSE_SCHEMAS = (
    "FineTuningJob", "FineTuningJobEvent", "FineTuningJobCheckpoint", "OpenAIFile", "Upload",
    "UploadPart", "ListPaginatedFineTuningJobsResponse", "ListFineTuningJobEventsResponse",
    "ListFineTuningJobCheckpointsResponse", "ListFilesResponse", "DeleteFileResponse", "ErrorResponse",
)


@cache
def validators() -> dict[str, Any]:
    """A jsonschema validator per response schema, with two documented adaptations (below)."""
    import jsonschema

    schemas = copy.deepcopy(load_schemas(RESPONSE_SCHEMAS))
    # 1. The spec's own example for POST /fine_tuning/jobs/{id}/pause answers "status": "paused",
    #    but FineTuningJob.status's enum was not extended: accept the documented value.
    schemas["FineTuningJob"]["properties"]["status"]["enum"].append("paused")
    # 2. ListFilesResponse requires first_id / last_id as strings; an empty page has none, and the
    #    API (like its other cursor lists, e.g. ListFineTuningJobCheckpointsResponse) sends null.
    for key in ("first_id", "last_id"):
        prop = schemas["ListFilesResponse"]["properties"][key]
        schemas["ListFilesResponse"]["properties"][key] = {"anyOf": [prop, {"type": "null"}]}
    root = {"components": {"schemas": _adapt(schemas)}}
    return {
        name: jsonschema.Draft202012Validator({**root, "$ref": f"#/components/schemas/{name}"})
        for name in RESPONSE_SCHEMAS
    }
