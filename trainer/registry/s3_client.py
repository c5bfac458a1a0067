"""Talking to an S3-compatible store: the s3:// URL, the boto3 client, its errors.

Kept apart from the storage logic (`trainer.registry.s3`) so that every request goes
through one place that turns botocore's exceptions into the registry's own (bad
location or credentials: StoreConfigError; unreachable: StoreUnavailableError; absent:
FileNotFoundError), with the bucket named. Imported only for s3:// registries.
"""

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.config
import botocore.exceptions

from trainer.errors import StorageError, StoreConfigError, StoreUnavailableError
from trainer.registry.storage import SCHEME

# the codes a store answers for a key or bucket that is not there
_ABSENT = {"404", "NoSuchKey", "NotFound"}
_DENIED = {
    "403",
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
    "AllAccessDisabled",
}
# stores without conditional writes refuse the header, or say they do not know it
_UNSUPPORTED = {"501", "NotImplemented", "InvalidArgument"}


class PreconditionFailed(Exception):
    """A conditional write lost: the key exists (If-None-Match) or moved (If-Match)."""


@dataclass(frozen=True)
class S3Location:
    """`s3://BUCKET/PREFIX`: the bucket, and the prefix every key starts with."""

    bucket: str
    prefix: str  # "" or ending in "/"

    @classmethod
    def parse(cls, url: str) -> "S3Location":
        if not url.startswith(SCHEME):
            raise StoreConfigError(f"{url!r} is not an s3:// URL")
        bucket, _, prefix = url[len(SCHEME) :].partition("/")
        if not bucket:
            raise StoreConfigError(
                f"{url!r} names no bucket: use s3://BUCKET or s3://BUCKET/PREFIX"
            )
        # S3's own rule for bucket names (3-63 of a-z 0-9 . -), which keeps URLs
        # such as s3://My_Bucket from failing later with a less clear error
        if not (3 <= len(bucket) <= 63) or not all(
            c.islower() or c.isdigit() or c in ".-" for c in bucket
        ):
            raise StoreConfigError(
                f"{url!r}: bucket {bucket!r} is not a bucket name (3 to 63 "
                "lowercase letters, digits, '.' or '-')"
            )
        parts = [p for p in prefix.split("/") if p]
        if any(p in (".", "..") for p in parts):
            raise StoreConfigError(f"{url!r}: '.' and '..' are not prefix parts")
        return cls(bucket, "".join(f"{p}/" for p in parts))

    @property
    def url(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.prefix}".rstrip("/")


class S3Client:
    """One bucket's requests, counted by operation (the poll-cost figures)."""

    def __init__(self, location: S3Location, client: Any = None) -> None:
        self.location = location
        self._client = client if client is not None else _new_client()
        self.requests: Counter[str] = Counter()
        self._count_lock = threading.Lock()

    def call(self, operation: str, **params: Any) -> dict:
        """One request; errors become the registry's (see the module docstring)."""
        with self._count_lock:
            self.requests[operation] += 1
        with self.translated(operation, params.get("Key")):
            request = getattr(self._client, operation)
            return request(Bucket=self.location.bucket, **params)

    def get(self, key: str, **params: Any) -> tuple[bytes, str]:
        """An object's bytes and ETag; FileNotFoundError if absent."""
        response = self.call("get_object", Key=key, **params)
        with self.translated("get_object", key):
            return response["Body"].read(), response["ETag"]

    def keys(self, prefix: str, delimiter: str | None = None) -> Iterator[dict]:
        """Every object under `prefix` (and, with a delimiter, its common prefixes as
        `{"Prefix": ...}`), page by page: 1,000 keys a request."""
        params: dict[str, Any] = {"Prefix": prefix}
        if delimiter:
            params["Delimiter"] = delimiter
        while True:
            page = self.call("list_objects_v2", **params)
            yield from page.get("CommonPrefixes", ())
            yield from page.get("Contents", ())
            if not page.get("IsTruncated"):
                return
            params["ContinuationToken"] = page["NextContinuationToken"]

    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):  # DeleteObjects takes 1,000 at most
            batch = keys[start : start + 1000]
            response = self.call(
                "delete_objects",
                Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
            )
            if response.get("Errors"):
                error = response["Errors"][0]
                raise StorageError(
                    f"{self.location.url}: cannot delete {error.get('Key')!r}: "
                    f"{error.get('Code')} {error.get('Message', '')}".rstrip()
                )

    def check_conditional_writes(self) -> None:
        """Refuse a store that ignores If-None-Match / If-Match on PutObject.

        Without them two publishers could take one version number and an alias
        change could overwrite another's: publishing there is refused, not risked.
        Three small writes and a delete under PREFIX/.probe/.
        """
        key = f"{self.location.prefix}.probe/{uuid.uuid4().hex}"
        try:
            try:
                self.call("put_object", Key=key, Body=b"1", IfNoneMatch="*")
                self.call("put_object", Key=key, Body=b"2", IfNoneMatch="*")
            except PreconditionFailed:
                pass
            else:
                raise self._no_conditional_writes("If-None-Match: * was ignored")
            try:
                self.call("put_object", Key=key, Body=b"3", IfMatch='"0"')
            except PreconditionFailed:
                return
            raise self._no_conditional_writes("If-Match with a stale ETag was ignored")
        except StoreUnavailableError as exc:
            if getattr(exc, "unsupported", False):
                raise self._no_conditional_writes(str(exc)) from None
            raise
        finally:
            try:
                self.delete([key])
            except StorageError:
                pass  # a probe key left behind is harmless; the error above counts

    def _no_conditional_writes(self, what: str) -> StorageError:
        return StorageError(
            f"{self.location.url}: this store does not support conditional writes "
            f"({what}); the registry needs If-None-Match and If-Match on PutObject "
            "so that two publishers never share a version number: refusing to write"
        )

    @contextmanager
    def translated(self, operation: str, key: str | None) -> Iterator[None]:
        bucket = self.location.bucket
        where = self.location.url if key is None else f"{SCHEME}{bucket}/{key}"
        try:
            yield
        except botocore.exceptions.ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode"))
            message = error.get("Message") or code
            if code in ("PreconditionFailed", "412") or status == "412":
                raise PreconditionFailed(key) from None
            if code == "NoSuchBucket" or (key is None and status == "404"):
                raise StoreConfigError(
                    f"{self.location.url}: bucket {bucket!r} does not exist"
                ) from None
            if code in _ABSENT or status == "404":
                raise FileNotFoundError(where) from None
            if code in _DENIED or status == "403":
                raise StoreConfigError(
                    f"{self.location.url}: the store refused the credentials for "
                    f"bucket {bucket!r} ({code}: {message}); check AWS_ACCESS_KEY_ID, "
                    "AWS_SECRET_ACCESS_KEY or AWS_PROFILE"
                ) from None
            failure = StoreUnavailableError(
                f"{where}: {operation} failed ({code or status}: {message})"
            )
            failure.unsupported = code in _UNSUPPORTED or status == "501"
            raise failure from None
        except botocore.exceptions.NoCredentialsError:
            raise StoreConfigError(
                f"{self.location.url}: no AWS credentials found for bucket {bucket!r} "
                "(set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)"
            ) from None
        except botocore.exceptions.BotoCoreError as exc:
            # endpoint unreachable, timeouts, a connection closed mid-body
            raise StoreUnavailableError(
                f"{self.location.url}: {operation} failed for bucket {bucket!r}: "
                f"{exc}{self._what_to_check(exc)}"
            ) from None

    def _what_to_check(self, exc: Exception) -> str:
        """For a store that cannot be reached: the endpoint tried and what sets it."""
        unreachable = (
            botocore.exceptions.ConnectionError,
            botocore.exceptions.ReadTimeoutError,
        )
        if not isinstance(exc, unreachable):
            return ""
        endpoint = getattr(getattr(self._client, "meta", None), "endpoint_url", None)
        return (
            f"; check that the store at {endpoint or 'its endpoint'} is running and "
            "reachable from here, and AWS_ENDPOINT_URL (or the profile's endpoint_url; "
            "unset for AWS S3)"
        )


def _new_client() -> Any:
    """A client configured by the standard AWS settings (env, profile, endpoint).

    Short timeouts: a poll thread or a CLI waiting a minute on a dead endpoint helps
    nobody; the standard retry mode retries throttling and 5xx three times.
    """
    config = botocore.config.Config(
        connect_timeout=5, read_timeout=30, retries={"mode": "standard"}
    )
    return boto3.session.Session().client("s3", config=config)
