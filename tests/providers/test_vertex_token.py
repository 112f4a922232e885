"""TUNEOPS_VERTEX_ACCESS_TOKEN: a plain OAuth access token for the Vertex adapter, instead of
Application Default Credentials. It is sent as a bearer token, reported by `credentials_status`
without being shown, and redacted from everything tuneops shows. No network: an httpx2
MockTransport plays Vertex AI."""

from __future__ import annotations

import json
from pathlib import Path

import google.auth
import google.auth.exceptions
import httpx2
import pytest
from google.auth.credentials import AnonymousCredentials
from google.oauth2.credentials import Credentials

from tuneops.errors import AuthError, MissingCredentialsError
from tuneops.providers.vertex import TOKEN_ENV, VertexProvider
from tuneops.redaction import REDACTED, known_secrets, redact

TOKEN = "ya29.a0-test-access-token-0123456789abcdefABCDEF"
_ENV = ("GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION", "GEMINI_API_KEY", "GOOGLE_API_KEY",
        "GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_GENAI_USE_ENTERPRISE", "TUNEOPS_VERTEX_BUCKET",
        "GOOGLE_APPLICATION_CREDENTIALS", "STORAGE_EMULATOR_HOST", "GOOGLE_VERTEX_BASE_URL",
        "TUNEOPS_SANDBOX_FAULTS", TOKEN_ENV)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TUNEOPS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))  # no ADC file
    monkeypatch.chdir(tmp_path)

    def no_adc(*args: object, **kwargs: object) -> None:
        raise google.auth.exceptions.DefaultCredentialsError(  # type: ignore[no-untyped-call]
            "no ADC here")

    monkeypatch.setattr(google.auth, "default", no_adc)


def _provider(handler: object) -> VertexProvider:
    return VertexProvider(project="p", location="us-central1", http_client=httpx2.Client(
        transport=httpx2.MockTransport(handler)))  # type: ignore[arg-type]


def test_status_reports_the_token_without_showing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    where, hint = VertexProvider.credentials_status()
    assert where is None and TOKEN_ENV in hint  # how to set one is part of the advice
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "my-project")
    where, hint = VertexProvider.credentials_status()
    assert where == f"env:{TOKEN_ENV} (project my-project)" and hint == ""
    assert TOKEN in known_secrets()


def test_no_credentials_at_all_names_the_token_variable() -> None:
    with pytest.raises(MissingCredentialsError) as info:
        VertexProvider(project="p", location="us-central1")
    assert TOKEN_ENV in info.value.hint


def test_the_token_is_sent_as_a_bearer_and_redacted_everywhere(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, f"  {TOKEN}\n")  # as pasted from `gcloud auth print-access-token`
    seen: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.headers.get("authorization", ""))
        # a server that repeats what it was sent, as some do
        return httpx2.Response(401, json={"error": {
            "code": 401, "status": "UNAUTHENTICATED",
            "message": f"Request had invalid authentication credentials: {TOKEN}"}})

    p = _provider(handler)  # no ADC: the token alone is enough
    assert isinstance(p._credentials, Credentials) and p._credentials.token == TOKEN
    assert TOKEN not in repr(p) and TOKEN not in str(vars(p))
    with pytest.raises(AuthError) as info:
        p.get_job("123")
    assert seen and all(h == f"Bearer {TOKEN}" for h in seen)
    err = info.value
    shown = " ".join([str(err), err.message, err.hint, json.dumps(err.body, default=str)])
    assert TOKEN not in shown and REDACTED in err.message
    assert TOKEN_ENV in err.hint and "expired" in err.hint
    # the SDK exception it is chained from is scrubbed too (a --debug traceback prints it)
    assert TOKEN not in str(err.__cause__)
    assert redact(f"token={TOKEN[:20]}") == f"token={REDACTED}"  # a truncated echo as well
    p.close()


def test_an_explicit_token_wins_over_adc(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []

    def adc(*args: object, **kwargs: object) -> tuple[object, str]:
        calls.append(args)
        return object(), "adc"

    monkeypatch.setattr(google.auth, "default", adc)
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    p = _provider(lambda request: httpx2.Response(500))
    assert calls == [] and p._credentials.token == TOKEN
    p.close()


def test_storage_keeps_the_emulators_anonymous_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """google-cloud-storage talks to STORAGE_EMULATOR_HOST anonymously: the adapter does not hand
    it the token (nor ADC), and does not move it off the emulator."""
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://127.0.0.1:9/vertex")
    p = _provider(lambda request: httpx2.Response(500))
    gcs = p.storage()
    assert isinstance(gcs._credentials, AnonymousCredentials)
    assert gcs._connection.API_BASE_URL == "http://127.0.0.1:9/vertex"
    p.close()

    monkeypatch.delenv("STORAGE_EMULATOR_HOST")
    p = _provider(lambda request: httpx2.Response(500))
    gcs = p.storage()
    assert gcs._credentials is p._credentials  # the real service gets the token
    assert gcs._connection.API_BASE_URL == "https://storage.googleapis.com"
    p.close()
