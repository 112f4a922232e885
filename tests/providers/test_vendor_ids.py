"""A vendor answer whose job id is missing, null or empty is unreadable, not a job called "None"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tuneops.errors import MalformedResponseError
from tuneops.providers.mistral import job_from_mistral
from tuneops.providers.openai import job_from_openai
from tuneops.providers.together import job_from_together
from tuneops.providers.vertex import job_from_vertex

CASES: list[tuple[Callable[[dict[str, Any]], Any], str, dict[str, Any]]] = [
    (job_from_openai, "id", {"status": "running", "model": "gpt-4o-mini-2024-07-18"}),
    (job_from_mistral, "id", {"status": "RUNNING", "model": "open-mistral-7b"}),
    (job_from_together, "id", {"status": "running", "model": "m"}),
    (job_from_vertex, "name", {"state": "JOB_STATE_RUNNING", "baseModel": "gemini-2.5-flash"}),
]


@pytest.mark.parametrize("bad", [None, "", "   ", [], {"x": 1}, True])
@pytest.mark.parametrize(("translate", "key", "rest"), CASES,
                         ids=[c[0].__name__ for c in CASES])
def test_a_job_without_a_usable_id_is_a_malformed_answer(
        translate: Callable[[dict[str, Any]], Any], key: str, rest: dict[str, Any], bad: Any) -> None:
    with pytest.raises(MalformedResponseError) as info:
        translate({key: bad, **rest})
    assert info.value.__cause__ is not None
