"""Mistral and Together answers that their published OpenAPI specs allow (see
/work/shared/specs), which the adapters must read: Mistral's dry-run quote with a null or nested
price, a create answered in the quote shape, files with ``bytes: null``; Together timestamps that
are not ISO 8601. No network: respx routes (the `httpx2_mock` fixture of the pytest-httpx2
plugin, which patches httpcore2) play the vendors to providers built on a plain `httpx2.Client()`;
a request no route matches fails the test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest
import respx

from tuneops.errors import MalformedResponseError, ProviderError
from tuneops.orchestrator.submit import Orchestrator
from tuneops.providers.mistral import MistralProvider
from tuneops.providers.models import JobSpec
from tuneops.providers.retry import RetryPolicy
from tuneops.providers.together import TogetherProvider

MISTRAL = "http://mistral.test"
TOGETHER = "http://together.test"
FILE_ID = "e85980c9-409e-4a46-9304-36588f6292b0"
JOB_ID = "7ad642c1-fc6f-4ab1-9d9b-2f4c6a8d1e3b"
SPEC = JobSpec(base_model="open-mistral-7b", training_file=FILE_ID, client_ref="tn-abc2345")


def mistral() -> MistralProvider:
    # pytest-httpx2 patches httpcore2's pool, so the default transport is intercepted
    return MistralProvider(api_key="sk-test", server_url=MISTRAL,
                           retry=RetryPolicy(sleep=lambda _: None), http_client=httpx2.Client())


def together() -> TogetherProvider:
    return TogetherProvider(api_key="tgp-test", base_url=f"{TOGETHER}/v1",
                            retry=RetryPolicy(sleep=lambda _: None), http_client=httpx2.Client())


def answering(router: respx.Router, path: str, body: Any, status: int = 200,
              base: str = MISTRAL) -> respx.Route:
    """A route answering `body` on `path`, whatever the method and the query."""
    return router.route(url=f"{base}{path}").respond(status, json=body)


def sent(route: respx.Route) -> list[str]:
    return [f"{c.request.method} {c.request.url.path}?{c.request.url.query.decode()}"
            for c in route.calls]


# -- Mistral: the dry-run quote --------------------------------------------------------------

def legacy_quote(**kw: Any) -> dict[str, Any]:
    """A `LegacyJobMetadataOut`, the spec's dry-run answer."""
    return {"object": "job.metadata", "details": "", "expected_duration_seconds": 220,
            "cost": 10.0, "cost_currency": "EUR", "train_tokens_per_step": 131072,
            "train_tokens": 1310720, "data_tokens": 305375, "estimated_start_time": None,
            "deprecated": True, "epochs": 4.29, "training_steps": 10, **kw}


def test_mistral_dry_run_null_cost_is_no_quote_with_the_reason(httpx2_mock: respx.Router) -> None:
    reason = "the price of this model cannot be estimated yet"
    route = answering(httpx2_mock, "/v1/fine_tuning/jobs",
                      legacy_quote(cost=None, cost_currency=None, details=reason))
    p = mistral()
    with pytest.raises(ProviderError) as info:
        p.server_estimate(SPEC)
    assert not isinstance(info.value, MalformedResponseError)  # a legitimate answer, no price
    assert reason in info.value.message
    assert sent(route) == ["POST /v1/fine_tuning/jobs?dry_run=true"]  # a dry run: no job spawned
    # submit and `tuneops submit --quote` go on without a quote, saying why
    quote, why = Orchestrator._quote(p, SPEC)
    assert quote is None and reason in why


@pytest.mark.parametrize("answer", [
    # the price only in `metadata` (JobMetadataOut), the top-level cost null or absent
    legacy_quote(cost=None, cost_currency=None,
                 metadata={"cost": 12.5, "cost_currency": "USD", "train_tokens": 1310720}),
    {"object": "job.metadata", "details": "",
     "metadata": {"expected_duration_seconds": 220, "cost": 12.5, "cost_currency": "USD"}},
    # a job-shaped answer (the other branch of the endpoint's response schema)
    {"id": JOB_ID, "auto_start": False, "model": "open-mistral-7b", "status": "QUEUED",
     "created_at": 1716963433, "modified_at": 1716963433, "training_files": [FILE_ID],
     "hyperparameters": {"training_steps": 10}, "job_type": "completion",
     "metadata": {"cost": 12.5, "cost_currency": "USD"}},
])
def test_mistral_dry_run_reads_the_price_in_metadata(httpx2_mock: respx.Router,
                                                     answer: dict[str, Any]) -> None:
    answering(httpx2_mock, "/v1/fine_tuning/jobs", answer)
    assert mistral().server_estimate(SPEC) == (12.5, "USD")


def test_mistral_dry_run_top_level_price_still_read_and_currency_taken_from_metadata(
        httpx2_mock: respx.Router) -> None:
    route = answering(httpx2_mock, "/v1/fine_tuning/jobs", legacy_quote())
    assert mistral().server_estimate(SPEC) == (10.0, "EUR")
    route.respond(200, json=legacy_quote(cost_currency=None, metadata={"cost_currency": "EUR"}))
    assert mistral().server_estimate(SPEC) == (10.0, "EUR")
    route.respond(200, json=legacy_quote(cost_currency=None))
    with pytest.raises(ProviderError, match="no currency"):
        mistral().server_estimate(SPEC)


def test_mistral_create_answered_in_the_quote_shape_is_a_malformed_response(
        httpx2_mock: respx.Router) -> None:
    answering(httpx2_mock, "/v1/fine_tuning/jobs", legacy_quote())
    p = mistral()
    with pytest.raises(MalformedResponseError) as info:
        p.create_job_safely(SPEC)
    assert "price quote" in info.value.message and "KeyError" not in info.value.message
    assert not isinstance(info.value.__cause__, KeyError)
    assert SPEC.client_ref in info.value.hint  # reconcile can adopt it by its reference


# -- Mistral: files whose size is null -------------------------------------------------------

def file_doc(**kw: Any) -> dict[str, Any]:
    """The spec's own retrieve example (`RetrieveFileOut`), `bytes: null` included."""
    return {"id": FILE_ID, "object": "file", "bytes": None, "created_at": 1759500189,
            "filename": "example.file.jsonl", "purpose": "fine-tune", "sample_type": "instruct",
            "source": "upload", "deleted": False, "num_lines": 2,
            "mimetype": "application/jsonl", "signature": "d4821d2de1917341", **kw}


def test_mistral_file_with_null_bytes_is_still_there_and_reused(httpx2_mock: respx.Router,
                                                                tmp_path: Path) -> None:
    missing = "0f2c1a7e-0000-4000-8000-000000000000"
    route = answering(httpx2_mock, f"/v1/files/{FILE_ID}", file_doc())
    answering(httpx2_mock, f"/v1/files/{missing}", {"detail": "not found"}, status=404)
    p = mistral()
    assert p.has_file(FILE_ID) is True
    assert Orchestrator._vendor_has_file(p, FILE_ID) is True  # submit reuses the upload
    route.respond(200, json=file_doc(deleted=True))
    assert mistral().has_file(FILE_ID) is False
    assert p.has_file(missing) is False  # 404
    # the upload answer has bytes: null in the spec's example too
    upload = {k: v for k, v in file_doc().items() if k != "deleted"}
    answering(httpx2_mock, "/v1/files", upload)
    path = tmp_path / "train.jsonl"
    path.write_text('{"messages": []}\n', encoding="utf-8")
    uploaded = mistral().upload_file(path)
    assert (uploaded.id, uploaded.bytes, uploaded.filename) == (FILE_ID, None, "example.file.jsonl")


def test_mistral_file_answer_without_an_id_is_still_malformed(httpx2_mock: respx.Router) -> None:
    answering(httpx2_mock, f"/v1/files/{FILE_ID}", {"object": "file", "bytes": None})
    with pytest.raises(MalformedResponseError):
        mistral().has_file(FILE_ID)


# -- Together: timestamps that are not ISO 8601 ----------------------------------------------

def event(created_at: Any, n: int) -> dict[str, Any]:
    return {"object": "fine-tune-event", "created_at": created_at, "level": "info",
            "message": f"event {n}", "type": "job_start", "param_count": 0, "token_count": 0,
            "total_steps": 0, "wandb_url": "", "step": n, "checkpoint_path": "",
            "model_path": "", "training_offset": 0, "hash": f"h{n}"}


def test_together_one_unparseable_timestamp_costs_only_that_item_its_time(
        httpx2_mock: respx.Router) -> None:
    docs = {
        "/v1/fine-tunes/ft-1/events": {"data": [
            event("2023-05-17T17:35:45.123Z", 0), event("last Tuesday", 1),
            event("2023-05-17T18:00:00Z", 2)]},
        "/v1/fine-tunes/ft-1/checkpoints": {"data": [
            {"step": 4, "created_at": "2023-05-17T18:40:00Z", "path": "s3://x/4",
             "checkpoint_type": "intermediate"},
            {"step": 2, "created_at": "not a time", "path": "s3://x/2",
             "checkpoint_type": "intermediate"}]},
        "/v1/fine-tunes": {"data": [
            {"id": "ft-1", "status": "completed", "created_at": "2023-05-17T17:35:45Z",
             "updated_at": "??", "suffix": "tuneops--tn-aaa2345"},
            {"id": "ft-2", "status": "running", "created_at": "17/05/2023 17:35",
             "started_at": "soon", "suffix": "tuneops--tn-bbb2345"}]},
    }
    for path, doc in docs.items():
        answering(httpx2_mock, path, doc, base=TOGETHER)

    p = together()
    events = list(p.list_events("ft-1"))
    assert [e.message for e in events] == ["event 0", "event 1", "event 2"]
    assert events[0].created_at is not None and events[2].created_at is not None
    assert events[1].created_at is None and events[1].data["created_at_raw"] == "last Tuesday"
    checkpoints = list(p.list_checkpoints("ft-1"))
    assert [c.step for c in checkpoints] == [4, 2]
    assert checkpoints[0].created_at is not None and checkpoints[1].created_at is None
    jobs = {j.id: j for j in p.list_jobs()}
    assert set(jobs) == {"ft-1", "ft-2"}
    assert jobs["ft-1"].created_at is not None and jobs["ft-1"].finished_at is None
    assert jobs["ft-2"].created_at is None and jobs["ft-2"].started_at is None
    assert jobs["ft-2"].raw["created_at"] == "17/05/2023 17:35"  # the text stays in raw
