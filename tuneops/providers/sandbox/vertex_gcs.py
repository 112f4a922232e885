"""A fake Cloud Storage JSON API: what google-cloud-storage sends to store a training file and to
check that one exists, nothing more.

- ``GET /storage/v1/b/{bucket}``: bucket metadata.
- ``GET /storage/v1/b/{bucket}/o/{object}``: object metadata (``blob.exists()``), or the bytes
  with ``alt=media`` (also under ``/download/storage/v1``, where the client downloads).
- ``POST /upload/storage/v1/b/{bucket}/o?uploadType=media|multipart|resumable`` and, for a
  resumable session, ``PUT`` of chunks with ``Content-Range`` (308 until the last one).

Reference: https://cloud.google.com/storage/docs/json_api/v1/objects/insert and
https://cloud.google.com/storage/docs/performing-resumable-uploads. Preconditions
(``ifGenerationMatch``) are honoured: 0 means "only if no live object has this name".
Buckets exist when named in `BUCKETS` (the sandbox's own), so a typo in a bucket name fails here
as it would on Google's side.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime
from email.message import Message
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

import orjson

from tuneops.providers.sandbox.app import ApiError, Router, SandboxRequest, SandboxResponse

if TYPE_CHECKING:
    from tuneops.providers.sandbox.vertex_api import VertexApi

__all__ = ["BUCKETS", "KIND_OBJECT", "KIND_SESSION", "VertexStorage", "crc32c_b64", "object_blob"]

BUCKETS = frozenset({"tuneops-sandbox"})
KIND_OBJECT = "vertex.gcs_object"
KIND_SESSION = "vertex.gcs_upload_session"
_RANGE = re.compile(r"bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)")


def crc32c_b64(data: bytes) -> str:
    """CRC32C (Castagnoli) of `data`, big-endian and base64-encoded, as the JSON API reports it."""
    import google_crc32c  # a dependency of google-cloud-storage, which this API serves

    return base64.b64encode(int(google_crc32c.value(data)).to_bytes(4, "big")).decode()


def object_blob(bucket: str, name: str) -> str:
    return "gcs-" + hashlib.sha256(f"{bucket}/{name}".encode()).hexdigest()[:40]


def _rfc3339(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _gcs_error(status: int, message: str) -> ApiError:
    return ApiError(status, message, type="storage", code={
        400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 412: "FAILED_PRECONDITION"}.get(status))


class VertexStorage:
    def __init__(self, api: VertexApi) -> None:
        self.api = api
        self.sandbox = api.sandbox
        self.store = api.store

    def register(self, r: Router) -> None:
        r.route("GET", "/storage/v1/b/{bucket}")(self.get_bucket)
        r.route("GET", "/storage/v1/b/{bucket}/o/{obj}")(self.get_object)
        r.route("GET", "/download/storage/v1/b/{bucket}/o/{obj}")(self.get_object)
        r.route("POST", "/upload/storage/v1/b/{bucket}/o")(self.insert)
        r.route("PUT", "/upload/storage/v1/b/{bucket}/o")(self.put_chunk)

    # -- reads -------------------------------------------------------------------------------

    def _bucket(self, bucket: str) -> str:
        if bucket not in BUCKETS:
            raise _gcs_error(404, "The specified bucket does not exist.")
        return bucket

    def get_bucket(self, req: SandboxRequest, bucket: str) -> SandboxResponse:
        self._bucket(bucket)
        created = _rfc3339(1_700_000_000)
        return SandboxResponse.json(200, {
            "kind": "storage#bucket", "id": bucket, "name": bucket, "projectNumber": "0",
            "metageneration": "1", "location": "US-CENTRAL1", "storageClass": "STANDARD",
            "locationType": "region", "timeCreated": created, "updated": created,
            "etag": "CAE=", "selfLink": f"https://www.googleapis.com/storage/v1/b/{bucket}"})

    def object_doc(self, bucket: str, name: str) -> dict[str, Any] | None:
        return self.store.get(KIND_OBJECT, f"{bucket}/{name}")

    def get_object(self, req: SandboxRequest, bucket: str, obj: str) -> SandboxResponse:
        self._bucket(bucket)
        name = unquote(obj)
        doc = self.object_doc(bucket, name)
        if doc is None:
            raise _gcs_error(404, f"No such object: {bucket}/{name}")
        if req.arg("alt") == "media":
            return SandboxResponse(200, self.store.read_blob(doc["blob"]),
                                   {"content-type": doc["contentType"]})
        return SandboxResponse.json(200, self._resource(doc))

    @staticmethod
    def _resource(doc: dict[str, Any]) -> dict[str, Any]:
        bucket, name, gen = doc["bucket"], doc["name"], doc["generation"]
        link = f"https://www.googleapis.com/storage/v1/b/{bucket}/o/{quote(name, safe='')}"
        # No mediaLink: it would name Google's host, and clients without one download through
        # their own api_endpoint (this sandbox), as they should here.
        return {"kind": "storage#object", "id": f"{bucket}/{name}/{gen}", "selfLink": link,
                "name": name, "bucket": bucket,
                "generation": str(gen), "metageneration": "1", "contentType": doc["contentType"],
                "storageClass": "STANDARD", "size": str(doc["size"]), "md5Hash": doc["md5Hash"],
                "crc32c": doc["crc32c"], "etag": doc["etag"], "timeCreated": doc["timeCreated"],
                "updated": doc["timeCreated"], "timeStorageClassUpdated": doc["timeCreated"]}

    # -- writes ------------------------------------------------------------------------------

    def _check_precondition(self, req: SandboxRequest, bucket: str, name: str) -> None:
        want = req.arg("ifGenerationMatch")
        if want is None:
            return
        doc = self.object_doc(bucket, name)
        live = 0 if doc is None else int(doc["generation"])
        if int(want) != live:
            raise _gcs_error(412, "At least one of the pre-conditions you specified did not hold.")

    def _store(self, req: SandboxRequest, bucket: str, name: str, data: bytes,
               content_type: str | None, crc32c: str | None) -> SandboxResponse:
        if not name:
            raise _gcs_error(400, "Required parameter: name")
        actual = crc32c_b64(data)
        if crc32c is not None and crc32c != actual:
            raise _gcs_error(400, f"Provided CRC32C \"{crc32c}\" doesn't match calculated CRC32C"
                             f" \"{actual}\".")
        self._check_precondition(req, bucket, name)
        blob = object_blob(bucket, name)
        self.store.write_blob(blob, [data])
        now = self.sandbox.now()
        generation = int(now * 1_000_000)
        doc = {"bucket": bucket, "name": name, "generation": generation, "size": len(data),
               "contentType": content_type or "application/octet-stream", "blob": blob,
               "md5Hash": base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode(),
               "crc32c": actual, "etag": base64.b64encode(generation.to_bytes(8, "big")).decode(),
               "timeCreated": _rfc3339(now)}
        with self.store.tx() as t:
            # the precondition again, inside the write: two racing creates, one wins
            live = t.get(KIND_OBJECT, f"{bucket}/{name}")
            if req.arg("ifGenerationMatch") == "0" and live is not None:
                raise _gcs_error(412, "At least one of the pre-conditions you specified did not hold.")
            t.put(KIND_OBJECT, f"{bucket}/{name}", doc)
        return SandboxResponse.json(200, self._resource(doc))

    def insert(self, req: SandboxRequest, bucket: str) -> SandboxResponse:
        self._bucket(bucket)
        kind = req.arg("uploadType")
        if kind == "media":
            return self._store(req, bucket, req.arg("name") or "", req.body,
                               req.header("content-type"), None)
        if kind == "multipart":
            meta, data, content_type = _multipart_related(req)
            return self._store(req, bucket, str(meta.get("name") or req.arg("name") or ""), data,
                               meta.get("contentType") or content_type, meta.get("crc32c"))
        if kind == "resumable":
            return self._start_session(req, bucket)
        raise _gcs_error(400, f"Invalid upload type: {kind!r} (media, multipart or resumable)")

    def _start_session(self, req: SandboxRequest, bucket: str) -> SandboxResponse:
        meta = _json(req.body) if req.body else {}
        name = str(meta.get("name") or req.arg("name") or "")
        if not name:
            raise _gcs_error(400, "Required parameter: name")
        self._check_precondition(req, bucket, name)
        upload_id = self.sandbox.new_id("ADPyc", 40)
        total = req.header("x-upload-content-length")
        self.store.insert(KIND_SESSION, upload_id, {
            "id": upload_id, "bucket": bucket, "name": name, "received": 0,
            "total": int(total) if total else None, "crc32c": meta.get("crc32c"),
            "contentType": meta.get("contentType") or req.header("x-upload-content-type"),
            "query": [[k, v] for k, v in req.query if k == "ifGenerationMatch"]})
        host = req.header("host") or "sandbox.tuneops"
        location = (f"http://{host}/vertex/upload/storage/v1/b/{bucket}/o?uploadType=resumable"
                    f"&upload_id={upload_id}")
        return SandboxResponse(200, b"", {"location": location, "x-guploader-uploadid": upload_id})

    def put_chunk(self, req: SandboxRequest, bucket: str) -> SandboxResponse:
        upload_id = req.arg("upload_id") or ""
        session = self.store.get(KIND_SESSION, upload_id)
        if session is None or session["bucket"] != bucket:
            raise _gcs_error(404, f"No such upload session: {upload_id}")
        blob = "gcsup-" + hashlib.sha256(upload_id.encode()).hexdigest()[:40]
        received = session["received"]
        m = _RANGE.fullmatch((req.header("content-range") or f"bytes */{received}").strip())
        if m is None:
            raise _gcs_error(400, "Invalid Content-Range header")
        start, end, total = m.group(1), m.group(2), m.group(3)
        if start is not None:
            if int(start) != received:
                raise _gcs_error(400, f"Chunk starts at byte {start}; {received} bytes were received")
            if int(end) - int(start) + 1 != len(req.body):
                raise _gcs_error(400, "Content-Range does not match the body's length")
            prior = self.store.read_blob(blob) if received else b""
            self.store.write_blob(blob, [prior, req.body])
            received += len(req.body)
            self.store.update(KIND_SESSION, upload_id, lambda d: {**d, "received": received})
        if total != "*" and received == int(total):
            data = self.store.read_blob(blob) if received else b""
            query = SandboxRequest("PUT", "", [(k, v) for k, v in session["query"]])
            response = self._store(query, bucket, session["name"], data, session["contentType"],
                                   session["crc32c"])
            self.store.delete(KIND_SESSION, upload_id)
            self.store.delete_blob(blob)
            return response
        headers = {"range": f"bytes=0-{received - 1}"} if received else {}
        return SandboxResponse(308, b"", headers)


def _json(body: bytes) -> dict[str, Any]:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise _gcs_error(400, "Parse Error: the metadata is not valid JSON") from None
    if not isinstance(doc, dict):
        raise _gcs_error(400, "Parse Error: the metadata is not a JSON object")
    return doc


def _multipart_related(req: SandboxRequest) -> tuple[dict[str, Any], bytes, str | None]:
    """(metadata, media, media content type) of a multipart/related upload body (RFC 2387)."""
    msg = Message()
    msg["content-type"] = req.header("content-type") or ""
    boundary = msg.get_param("boundary")
    if msg.get_content_type() != "multipart/related" or not isinstance(boundary, str):
        raise _gcs_error(400, "A multipart upload needs a multipart/related body")
    parts = []
    for chunk in req.body.split(b"--" + boundary.encode("latin-1"))[1:]:
        if chunk.startswith(b"--"):
            break
        head, sep, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            raise _gcs_error(400, "A multipart part has no header block")
        ctype = None
        for line in head.decode("latin-1").split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() == "content-type":
                ctype = value.strip()
        parts.append((ctype, data.removesuffix(b"\r\n")))
    if len(parts) != 2:
        raise _gcs_error(400, f"A multipart upload has 2 parts (metadata, media), not {len(parts)}")
    return _json(parts[0][1]), parts[1][1], parts[1][0]
