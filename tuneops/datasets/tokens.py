"""Training-token counts per example, as each vendor counts them, offline.

OpenAI families are counted exactly with tiktoken. tiktoken downloads its rank files on first use;
counting must work offline, so tuneops ships the o200k_base and cl100k_base files
(`tuneops/datasets/data`, see its NOTICE) and checks them against the sha256 that tiktoken itself
pins (`tiktoken_ext/openai_public.py`) before use. The encoding is built by tiktoken's own
constructor (same regex, same special tokens), so counts are tiktoken's. With the opt-in extra
`tuneops[fast]`, quicktok counts instead when it gives tiktoken's counts on a self-check at load.

Mistral models are counted with the tokenizer files that `mistral-common` ships (the `mistral`
extra); without it, Mistral counts are estimates that say how to get exact ones.

Everyone else (Gemini, Claude/Nova on Bedrock, the open models on Together and Fireworks) has no
public offline tokenizer: those counts are estimates, and say so.

Formulas (per example; "tok(x)" is the tokenizer's count of text x):
- openai-chat: sum over messages of (3 + tok(role) + tok(content) [+ 1 + tok(name)]
  [+ per tool call: 3 + tok(function name) + tok(arguments)]) + 3, plus tok(json(tools)) when the
  example declares tools. This is the chat-format accounting OpenAI documents for counting tokens;
  the content part is exact, the per-message overhead is OpenAI's published constant.
- openai-dpo: the input conversation counted as above, plus each output message.
- mistral: content tokens exact with the model's tokenizer, plus 2 control tokens per message
  ([INST]/[/INST] or the equivalent) and 1 per example (BOS).
- estimates: UTF-8 characters / 4 over every text field, rounded up (Google and others document
  "about 4 characters per token" for English).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.resources
import importlib.util
import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

import msgspec
import orjson

from tuneops.errors import TokenizerError

__all__ = [
    "SELF_CHECK_COUNTS",
    "ExampleCounter",
    "TokenCount",
    "counter_for",
    "encoding_for_model",
    "mistral_tokenizer_file",
    "openai_encoding",
    "text_counter",
    "texts_of",
]

# tiktoken_ext/openai_public.py pins these digests of the decompressed rank files.
_EXPECTED_SHA256 = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}
_LOAD_LOCK = threading.Lock()
_UNSET = msgspec.UNSET


def _bundled_ranks(name: str, expected_hash: str) -> dict[bytes, int]:
    import base64

    try:
        data_dir = importlib.resources.files("tuneops.datasets") / "data"
        blob = gzip.decompress((data_dir / f"{name}.tiktoken.gz").read_bytes())
    except (ModuleNotFoundError, FileNotFoundError, OSError, EOFError, gzip.BadGzipFile) as exc:
        raise TokenizerError(
            f"the {name} rank file shipped with tuneops is missing or unreadable",
            hint="reinstall tuneops (it ships the file in tuneops/datasets/data)",
        ) from exc
    if hashlib.sha256(blob).hexdigest() != expected_hash:
        raise TokenizerError(
            f"the bundled {name} rank file does not match tiktoken's expected sha256",
            hint="reinstall tuneops; the installed copy is corrupt or not OpenAI's",
        )
    return {
        base64.b64decode(token): int(rank)
        for token, rank in (line.split() for line in blob.splitlines() if line)
    }


@cache
def openai_encoding(name: str) -> Any:
    """A tiktoken Encoding for o200k_base or cl100k_base, built offline and hash-checked."""
    if name not in _EXPECTED_SHA256:
        raise TokenizerError(f"no bundled encoding {name!r}", hint="use o200k_base or cl100k_base")
    import tiktoken
    import tiktoken_ext.openai_public as public

    def load(_url: str, expected_hash: str | None = None) -> dict[bytes, int]:
        if expected_hash != _EXPECTED_SHA256[name]:
            raise TokenizerError(f"tiktoken expects a different {name} file than the bundled one")
        return _bundled_ranks(name, expected_hash)

    # Build with tiktoken's own constructor (regex, special tokens) with only the file source swapped.
    with _LOAD_LOCK:
        original = public.load_tiktoken_bpe
        public.load_tiktoken_bpe = load
        try:
            params = getattr(public, name)()
        finally:
            public.load_tiktoken_bpe = original
    return tiktoken.Encoding(**params)


# Strings where BPE implementations tend to disagree: contractions, digit runs, whitespace runs,
# CR/LF, combining marks, scripts without spaces, emoji sequences, special-token text, long runs.
_SELF_CHECK = (
    "", " ", "  ", "\n", "\n\n", "\r\n", " \t\n  x", "hello world", "Hello, World!",
    "I'm they'll we've DON'T it's", "1234567890 3.14159 -42 1e10", "café naïve e\u0301 Å",
    "你好，世界 机器学习", "こんにちは東京", "Привет, мир", "مرحبا بالعالم", "नमस्ते दुनिया",
    "👍🏽 👨‍👩‍👧 ❤️ 🚀", "def f(x):\n    return {\"a\": [1, 2]}  # ok", "<|endoftext|>",
    "a<|im_start|>b<|im_end|>", "[INST] hi [/INST]", "x" * 3000, " " * 500 + "y", "\u00a0\u2003z",
    "ＡＢＣ　全角", "a\u0300\u0301\u0302", "https://example.com/a?b=c&d=e#f", "\t\t\tindent",
)


# tiktoken's encode_ordinary counts of _SELF_CHECK, pinned so that the self-check needs no tiktoken
# load (0.2 s and ~150 MB); tests/datasets/test_tokens.py re-derives them from tiktoken.
SELF_CHECK_COUNTS = {
    "o200k_base": (0, 1, 1, 1, 1, 1, 3, 2, 4, 5, 15, 7, 6, 2, 4, 4, 5, 14, 18, 7, 14, 7, 375, 6, 3,
                   6, 4, 13, 3),
    "cl100k_base": (0, 1, 1, 1, 1, 1, 3, 2, 4, 10, 15, 7, 12, 4, 6, 10, 13, 23, 18, 7, 14, 7, 375,
                    6, 4, 9, 5, 13, 3),
}


@cache
def _fast_count(name: str) -> Callable[[str], int] | None:
    """quicktok's count for an encoding, if installed and identical to tiktoken on the self-check."""
    try:
        import quicktok
    except ImportError:
        return None
    try:
        fast = quicktok.get_encoding(name).count
    except Exception:
        return None
    try:
        if tuple(fast(text) for text in _SELF_CHECK) != SELF_CHECK_COUNTS[name]:
            return None
    except Exception:
        return None
    counter: Callable[[str], int] = fast
    return counter


def text_counter(name: str, engine: str = "auto") -> tuple[Callable[[str], int], str]:
    """A function counting tokens of text as tiktoken's encode_ordinary does, and its engine name.

    engine "auto" uses quicktok (several times faster, identical counts, verified against tiktoken
    each time it loads) and falls back to tiktoken; "tiktoken" forces the reference.
    """
    if engine not in ("auto", "tiktoken"):
        raise TokenizerError(f"unknown tokenizer engine {engine!r}", hint="use auto or tiktoken")
    if engine == "auto":
        fast = _fast_count(name)
        if fast is not None:
            return fast, "quicktok (verified identical to tiktoken at load)"
    encode = openai_encoding(name).encode_ordinary
    return (lambda text: len(encode(text))), "tiktoken"


def encoding_for_model(model: str | None) -> str:
    """The tiktoken encoding name an OpenAI model uses."""
    m = (model or "").removeprefix("ft:")
    if m.startswith(("gpt-4-", "gpt-3.5", "babbage-002", "davinci-002")) or m == "gpt-4":
        return "cl100k_base"
    return "o200k_base"


@dataclass(frozen=True, slots=True)
class TokenCount:
    training: int  # tokens the vendor bills for one pass over the example
    content: int  # tokens of the message contents alone


class ExampleCounter(Protocol):
    exact: bool

    def count(self, obj: dict[str, Any]) -> TokenCount: ...

    def describe(self) -> str: ...


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _part_texts(content: Any) -> Iterator[str]:
    if isinstance(content, str):
        yield content
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, dict):
                text = part.get("text")
                if isinstance(text, str):
                    yield text


def _chat_messages(obj: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every message of an OpenAI-style chat or DPO record."""
    msgs = obj.get("messages")
    if msgs is None and isinstance(obj.get("input"), dict):
        msgs = obj["input"].get("messages")
    for m in msgs if isinstance(msgs, list) else ():
        if isinstance(m, dict):
            yield m
    for key in ("preferred_output", "non_preferred_output"):
        out = obj.get(key)
        for m in out if isinstance(out, list) else ():
            if isinstance(m, dict):
                yield m


def texts_of(obj: dict[str, Any]) -> Iterator[str]:
    """Every text a tokenizer would see in a record of any known format (for estimates)."""
    if "messages" in obj or "input" in obj:
        for m in _chat_messages(obj):
            yield from _part_texts(m.get("content"))
            for call in m.get("tool_calls") or ():
                if isinstance(call, dict) and isinstance(call.get("function"), dict):
                    yield str(call["function"].get("name", ""))
                    yield str(call["function"].get("arguments", ""))
        sys_ = obj.get("system")
        if isinstance(sys_, str):
            yield sys_
        elif isinstance(sys_, list):
            yield from _part_texts(sys_)
        tools = obj.get("tools") or (obj.get("input") or {}).get("tools")
        if tools:
            yield _json(tools)
    if "contents" in obj:
        si = obj.get("systemInstruction") or obj.get("system_instruction")
        if isinstance(si, dict):
            yield from _gemini_parts(si.get("parts"))
        for c in obj["contents"] if isinstance(obj["contents"], list) else ():
            if isinstance(c, dict):
                yield from _gemini_parts(c.get("parts"))
        for comp in obj.get("completions") or ():
            if isinstance(comp, dict) and isinstance(comp.get("completion"), dict):
                yield from _gemini_parts(comp["completion"].get("parts"))
    for key in ("prompt", "completion", "text"):
        if isinstance(obj.get(key), str):
            yield obj[key]


def _gemini_parts(parts: Any) -> Iterator[str]:
    for p in parts if isinstance(parts, list) else ():
        if not isinstance(p, dict):
            continue
        if isinstance(p.get("text"), str):
            yield p["text"]
        for key in ("functionCall", "functionResponse"):
            if isinstance(p.get(key), dict):
                yield _json(p[key])


class _CachedCounter:
    """A token counter with a small cache: system prompts and names repeat across examples."""

    def __init__(self, count: Callable[[str], int], limit: int = 4096) -> None:
        self._count = count
        self._cache: dict[str, int] = {}
        self._limit = limit

    def __call__(self, text: str) -> int:
        if len(text) > 512:
            return self._count(text)
        n = self._cache.get(text)
        if n is None:
            if len(self._cache) >= self._limit:
                self._cache.clear()
            n = self._cache[text] = self._count(text)
        return n


class OpenAICounter:
    exact = True

    def __init__(self, model: str | None, engine: str = "auto") -> None:
        self.encoding = encoding_for_model(model)
        self._count, self.engine = text_counter(self.encoding, engine)
        self._tok = _CachedCounter(self._count)
        self._roles = {r: self._count(r) for r in ("system", "user", "assistant", "tool", "developer")}

    def describe(self) -> str:
        return (f"exact: {self.encoding} via {self.engine} for content; OpenAI's documented"
                " per-message overhead (3 per message, 3 per example)")

    def count_fast(self, rec: Any) -> TokenCount | None:
        """Count straight from a fast-path chat/DPO Struct (no second parse of the line)."""
        msgs = getattr(rec, "messages", None)
        extra: list[Any] = []
        tools = getattr(rec, "tools", _UNSET)
        if msgs is None:
            inp = getattr(rec, "input", None)
            if inp is None:
                return None
            msgs = inp.messages
            tools = getattr(inp, "tools", _UNSET)
            extra = [*rec.preferred_output, *rec.non_preferred_output]
        if tools is not _UNSET:
            # tool definitions are counted on their JSON as written in the file: use the dict path
            return None
        count = self._count
        roles = self._roles
        content = 0
        training = 3
        for m in (*msgs, *extra) if extra else msgs:
            role = m.role
            training += 3 + (roles.get(role) or count(role))
            c = m.content
            if c is not None:
                content += count(c)
            name = getattr(m, "name", _UNSET)
            if name is not _UNSET:
                training += 1 + count(name)
            calls = getattr(m, "tool_calls", None)
            if calls:
                for call in calls:
                    training += 3 + count(call.function.name) + count(call.function.arguments)
        return TokenCount(training + content, content)

    def count(self, obj: dict[str, Any]) -> TokenCount:
        tok = self._tok
        content = 0
        training = 3
        for m in _chat_messages(obj):
            training += 3
            role = m.get("role")
            if isinstance(role, str):
                training += tok(role)
            for text in _part_texts(m.get("content")):
                content += tok(text)
            name = m.get("name")
            if isinstance(name, str):
                training += 1 + tok(name)
            for call in m.get("tool_calls") or ():
                fn = call.get("function") if isinstance(call, dict) else None
                if isinstance(fn, dict):
                    training += 3 + tok(str(fn.get("name", ""))) + tok(str(fn.get("arguments", "")))
        tools = obj.get("tools") or (obj.get("input") or {}).get("tools")
        if tools:
            training += tok(_json(tools))
        return TokenCount(training + content, content)


# Which tokenizer file (shipped inside mistral-common) each Mistral model family uses:
# Tekken for Nemo-era and newer models, SentencePiece v3/v7 for the older ones.
# https://docs.mistral.ai/guides/tokenization/
_MISTRAL_TOKENIZERS = (
    (("mistral-large-2411", "mistral-large-latest", "pixtral-large"),
     "mistral_instruct_tokenizer_241114.model.v7"),
    (("open-mistral-7b", "open-mixtral", "mistral-small-2409", "mistral-small-2402",
      "codestral-2405", "mistral-large-2407", "mistral-large-2402"),
     "mistral_instruct_tokenizer_240323.model.v3"),
)


def mistral_tokenizer_file(model: str) -> str:
    for prefixes, filename in _MISTRAL_TOKENIZERS:
        if model.startswith(prefixes):
            return filename
    return "tekken_240911.json"


class MistralCounter:
    exact = True

    def __init__(self, model: str | None) -> None:
        from mistral_common.tokens.tokenizers.mistral import MistralTokenizer
        name = model or "open-mistral-nemo"
        filename = mistral_tokenizer_file(name)
        try:
            path = importlib.resources.files("mistral_common") / "data" / filename
            with importlib.resources.as_file(path) as local:
                tokenizer = MistralTokenizer.from_file(str(local))
        except Exception as exc:
            raise TokenizerError(
                f"cannot load mistral-common's bundled tokenizer {filename} for {name!r}",
                hint="reinstall mistral-common",
            ) from exc
        self.file = filename
        raw = tokenizer.instruct_tokenizer.tokenizer
        self.model = name
        self._tok = _CachedCounter(lambda s: len(raw.encode(s, bos=False, eos=False)))

    def describe(self) -> str:
        return (f"exact: mistral-common {self.file} for {self.model} content; 2 control tokens"
                " per message and 1 per example (estimate of the chat template)")

    def count(self, obj: dict[str, Any]) -> TokenCount:
        content = 0
        overhead = 1
        for m in _chat_messages(obj):
            overhead += 2
            for text in _part_texts(m.get("content")):
                content += self._tok(text)
            for call in m.get("tool_calls") or ():
                fn = call.get("function") if isinstance(call, dict) else None
                if isinstance(fn, dict):
                    overhead += self._tok(_json(fn))
        if obj.get("tools"):
            overhead += self._tok(_json(obj["tools"]))
        return TokenCount(content + overhead, content)


class CharEstimateCounter:
    exact = False

    def __init__(self, vendor: str, missing: tuple[str, str] | None = None) -> None:
        self.vendor = vendor
        # (package, extra): the vendor's tokenizer exists but is not installed
        self.missing = missing

    def describe(self) -> str:
        why = (f"{self.vendor}'s tokenizer ({self.missing[0]}) is not installed; for exact counts:"
               f" pip install 'tuneops[{self.missing[1]}]'" if self.missing
               else f"{self.vendor} publishes no offline tokenizer")
        return f"estimate: {why}; UTF-8 characters / 4 over every text field"

    def count(self, obj: dict[str, Any]) -> TokenCount:
        chars = sum(len(t) for t in texts_of(obj))
        n = math.ceil(chars / 4)
        return TokenCount(n, n)


def counter_for(pack: Any, model: str | None, engine: str = "auto") -> ExampleCounter:
    """The most exact counter available for a rule pack's vendor and a model."""
    provider = pack.provider
    fmt = pack.record_format
    if provider == "openai" and fmt in ("openai-chat", "openai-dpo"):
        return OpenAICounter(model, engine)
    if provider == "mistral":
        if importlib.util.find_spec("mistral_common") is not None:
            return MistralCounter(model)
        return CharEstimateCounter(provider, missing=("mistral-common", "mistral"))
    return CharEstimateCounter(provider)
