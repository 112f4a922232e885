"""The command line, through click's runner: exit codes, --json documents, human output."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from tuneops.cli import COMMANDS, cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "support_chat.jsonl"
U = {"role": "user", "content": "hi"}
A = {"role": "assistant", "content": "hello"}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def write(path: Path, lines: list[bytes]) -> str:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return str(path)


def good(n: int = 10) -> list[bytes]:
    return [orjson.dumps({"messages": [U, A]})] * n


def test_help_lists_every_command(runner: CliRunner) -> None:
    res = runner.invoke(cli, ["--help"])
    assert res.exit_code == 0
    for name in COMMANDS:
        assert name in res.output
    assert "Exit codes" in res.output


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_has_help_from_its_docstring(runner: CliRunner, name: str) -> None:
    res = runner.invoke(cli, [name, "--help"])
    assert res.exit_code == 0 and len(res.output.splitlines()) > 5


def test_validate_clean_example_exits_0(runner: CliRunner) -> None:
    res = runner.invoke(cli, ["validate", str(EXAMPLE), "--provider", "openai", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["ok"] is True and doc["errors"] == [] and doc["stats"]["examples"] == 60
    assert set(doc) == {"ok", "file", "provider", "method", "model", "errors", "warnings", "stats",
                        "rule_pack"}


def test_validate_json_lists_every_error_with_its_place(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path / "d.jsonl", [*good(10), b"{oops", orjson.dumps({"messages": [U]}),
                                        orjson.dumps({"messages": [{"role": "bot", "content": "x"}, A]})])
    res = runner.invoke(cli, ["validate", path, "-p", "openai", "--json"])
    assert res.exit_code == 1
    doc = json.loads(res.output)
    got = [(e["line"], e["path"], e["rule"]) for e in doc["errors"]]
    assert got == [
        (11, "", "jsonl.invalid_json"),
        (12, "messages", "openai.assistant.missing"),
        (13, "messages[0].role", "openai.role.unknown"),
    ]
    assert all(e["severity"] == "error" and e["message"] for e in doc["errors"])
    assert doc["stats"]["by_rule"]["openai.role.unknown"] == 1


def test_validate_human_output_groups_by_rule(runner: CliRunner, tmp_path: Path) -> None:
    bad = orjson.dumps({"messages": [{"role": "human", "content": "x"}, A]})
    path = write(tmp_path / "d.jsonl", [*good(10), bad, bad, bad])
    res = runner.invoke(cli, ["validate", path, "-p", "openai", "--max-shown", "2"])
    assert res.exit_code == 1
    assert "openai.role.unknown (3)" in res.output
    assert "line 11" in res.output and "line 12" in res.output and "line 13" not in res.output
    assert "and 1 more" in res.output


def test_validate_with_model_counts_tokens(runner: CliRunner) -> None:
    res = runner.invoke(cli, ["validate", str(EXAMPLE), "-p", "openai", "--model",
                              "gpt-4o-mini-2024-07-18", "--json"])
    stats = json.loads(res.output)["stats"]
    assert stats["tokens_total"] > stats["content_tokens"] > 0
    assert stats["token_method"].startswith("exact")


@pytest.mark.parametrize(("args", "code", "needle"), [
    (["validate", "/no/such.jsonl", "-p", "openai"], 3, "no such file"),
    (["validate", ".", "-p", "openai"], 3, "directory"),
    (["validate", str(EXAMPLE), "-p", "opnai"], 2, "did you mean 'openai'"),
    (["validate", str(EXAMPLE), "-p", "openai", "-m", "rlhf"], 2, "supports: dpo, sft"),
    (["valdate"], 2, "Did you mean 'validate'"),
])
def test_errors_are_one_line_with_their_exit_code(runner: CliRunner, args: list[str], code: int,
                                                  needle: str) -> None:
    res = runner.invoke(cli, args)
    assert res.exit_code == code
    assert needle in res.output
    assert "Traceback" not in res.output


def test_json_error_document(runner: CliRunner) -> None:
    res = runner.invoke(cli, ["validate", "/no/such.jsonl", "-p", "openai", "--json"])
    assert res.exit_code == 3
    doc = json.loads(res.stdout)
    assert doc["ok"] is False and doc["error"]["exit_code"] == 3


def test_estimate_json(runner: CliRunner) -> None:
    res = runner.invoke(cli, ["estimate", str(EXAMPLE), "-p", "openai", "--model",
                              "gpt-4o-mini-2024-07-18", "--epochs", "2", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["epochs"] == {"value": 2, "source": "given"}
    assert doc["billed_tokens"] == doc["tokens"]["dataset"] * 2
    assert doc["cost"]["min"] <= doc["cost"]["expected"] <= doc["cost"]["max"]
    assert doc["price"]["as_of"] and doc["price"]["source"].startswith("http")


def test_estimate_unknown_model(runner: CliRunner) -> None:
    res = runner.invoke(cli, ["estimate", str(EXAMPLE), "-p", "openai", "--model", "gpt-9"])
    assert res.exit_code == 2 and "no openai training price" in res.output


def test_estimate_bad_epochs(runner: CliRunner) -> None:
    res = runner.invoke(cli, ["estimate", str(EXAMPLE), "-p", "openai", "--model",
                              "gpt-4o-mini-2024-07-18", "--epochs", "many"])
    assert res.exit_code == 2 and "whole number" in res.output


def test_fix_json_and_exit_code(runner: CliRunner, tmp_path: Path) -> None:
    src = write(tmp_path / "in.jsonl", [b"\xef\xbb\xbf" + good(1)[0], b"", orjson.dumps({"messages": [U]})])
    out = tmp_path / "out.jsonl"
    res = runner.invoke(cli, ["fix", src, "-o", str(out), "--json"])
    assert res.exit_code == 1
    doc = json.loads(res.output)
    assert doc["written"] == 1 and doc["rejected"] == 1
    assert doc["repairs"]["strip_bom"]["lines"] == [1]
    assert Path(doc["rejects"]).exists()


def test_fix_refuses_the_input_as_output(runner: CliRunner, tmp_path: Path) -> None:
    src = write(tmp_path / "in.jsonl", good(1))
    res = runner.invoke(cli, ["fix", src, "-o", src])
    assert res.exit_code == 2 and "overwrite the input" in res.output


def test_rules_json_lists_every_pack_with_its_date(runner: CliRunner) -> None:
    res = runner.invoke(cli, ["rules", "--json"])
    assert res.exit_code == 0, res.output
    packs = json.loads(res.output)
    from tuneops.datasets.rules import PACKS

    assert {p["id"] for p in packs} == {f"{p}.{m}" for p, m in PACKS}
    for p in packs:
        assert p["verified"] and p["sources"] and p["rules"]


def test_debug_shows_the_traceback(runner: CliRunner) -> None:
    res = runner.invoke(cli, ["--debug", "validate", "/no/such.jsonl", "-p", "openai"])
    assert res.exit_code != 0 and res.exception is not None


def test_convert_reports_losses_and_output_validates(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "g.jsonl"
    res = runner.invoke(cli, ["convert", str(EXAMPLE), "--to", "vertex", "-o", str(out), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["examples_written"] == 60 and doc["losses"]["weights"]["examples"] == 9
    res = runner.invoke(cli, ["validate", str(out), "-p", "vertex", "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["ok"]


def test_convert_strict_refuses_and_writes_nothing(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "b.jsonl"
    res = runner.invoke(cli, ["convert", str(EXAMPLE), "--to", "bedrock", "-o", str(out),
                              "--strict", "--json"])
    assert res.exit_code == 1
    doc = json.loads(res.stdout)  # exactly one document
    assert doc["ok"] is False and "tool_calls" in doc["losses"]
    assert not out.exists()
    res = runner.invoke(cli, ["convert", str(EXAMPLE), "--to", "bedrock", "-o", str(out), "--strict"])
    assert res.exit_code == 1 and "lost tool_calls in 15 example(s)" in res.output


def test_convert_from_provider_checks_the_detected_format(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "g.jsonl"
    ok = runner.invoke(cli, ["convert", str(EXAMPLE), "--from", "openai", "--to", "mistral",
                             "-o", str(out), "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["source_format"] == "openai-chat"
    bad = runner.invoke(cli, ["convert", str(EXAMPLE), "--from", "vertex", "--to", "openai",
                              "-o", str(tmp_path / "x.jsonl")])
    assert bad.exit_code == 2 and "looks like openai-chat records, not vertex's" in bad.output
    typo = runner.invoke(cli, ["convert", str(EXAMPLE), "--from", "vertx", "--to", "openai",
                               "-o", str(tmp_path / "x.jsonl")])
    assert typo.exit_code == 2 and "did you mean 'vertex'" in typo.output
