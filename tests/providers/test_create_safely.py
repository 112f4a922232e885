"""`Provider.create_job_safely`: a create is sent again only when it is known not to have
happened; a failed look-up after an ambiguous failure never leads to a second send."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tuneops.errors import (
    InvalidRequestError,
    RateLimitedError,
    UnconfirmedCreateError,
    VendorServerError,
    VendorTimeoutError,
)
from tuneops.providers.base import Provider
from tuneops.providers.models import Job, JobSpec, UploadedFile
from tuneops.providers.retry import RetryPolicy


class Scripted(Provider):
    """Creates and list look-ups fail or succeed as scripted; records what was sent."""

    name = "scripted"
    title = "Scripted"
    methods = ("sft",)

    def __init__(self, creates: list[Exception | None], lookups: list[Exception | None],
                 *, really_created: set[int] = frozenset()) -> None:  # type: ignore[assignment]
        super().__init__(retry=RetryPolicy(sleep=lambda s: None, attempts=4))
        self.creates, self.lookups, self.really_created = creates, lookups, really_created
        self.sent = 0
        self.jobs: list[Job] = []

    def upload_file(self, path, *, progress=None) -> UploadedFile:  # type: ignore[no-untyped-def]
        raise NotImplementedError

    def _create_job_once(self, spec: JobSpec) -> Job:
        n = self.sent
        self.sent += 1
        outcome = self.creates[n] if n < len(self.creates) else None
        if outcome is None or n in self.really_created:
            self.jobs.append(Job(provider=self.name, id=f"job-{n}", status="queued",
                                 raw_status="queued", client_ref=spec.client_ref))
        if outcome is not None:
            raise outcome
        return self.jobs[-1]

    def get_job(self, job_id: str) -> Job:
        raise NotImplementedError

    def list_jobs(self, *, client_ref: str | None = None) -> Iterator[Job]:
        outcome = self.lookups.pop(0) if self.lookups else None
        if outcome is not None:
            raise outcome
        yield from self.jobs


SPEC = JobSpec(base_model="m", training_file="f", client_ref="tn-1")


def test_a_429_is_sent_again_after_waiting() -> None:
    p = Scripted([RateLimitedError("slow down", retry_after=2), None], [])
    assert p.create_job_safely(SPEC).id == "job-1" and p.sent == 2 and len(p.jobs) == 1


def test_an_ambiguous_failure_with_no_job_found_is_sent_again() -> None:
    p = Scripted([VendorTimeoutError("no answer"), None], [None])
    assert p.create_job_safely(SPEC).id == "job-1" and p.sent == 2


def test_an_ambiguous_failure_that_took_effect_is_adopted() -> None:
    p = Scripted([VendorServerError("502", status_code=502)], [None], really_created={0})
    job = p.create_job_safely(SPEC)
    assert job.id == "job-0" and p.sent == 1 and "adopted" in job.warnings[-1]


def test_a_failed_look_up_never_leads_to_a_second_create() -> None:
    p = Scripted([VendorTimeoutError("no answer")], [VendorServerError("down", status_code=503)] * 9,
                 really_created={0})
    with pytest.raises(UnconfirmedCreateError) as info:
        p.create_job_safely(SPEC)
    assert p.sent == 1 and "reconcile" in str(info.value)
    assert isinstance(info.value.__cause__, VendorServerError)


def test_a_refusal_is_raised_at_once() -> None:
    p = Scripted([InvalidRequestError("bad model", status_code=400)], [])
    with pytest.raises(InvalidRequestError):
        p.create_job_safely(SPEC)
    assert p.sent == 1
