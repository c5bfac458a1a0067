"""The s3:// URL rules, botocore errors in the registry's words, and the refusal of
stores without conditional writes; against fake clients, no sockets."""

import botocore.exceptions
import pytest

from trainer.errors import StorageError, StoreConfigError, StoreUnavailableError
from trainer.registry.s3_client import S3Client, S3Location


@pytest.mark.parametrize(
    ("url", "words"),
    [("s3://", "names no bucket"), ("s3:///models", "names no bucket"),
     ("s3://My_Bucket/x", "not a bucket name"), ("s3://bucket/../x", "'..'")],
)  # fmt: skip
def test_bad_s3_urls_are_bad_input(url, words):
    with pytest.raises(StoreConfigError, match=words):
        S3Location.parse(url)


def test_an_s3_url_gives_bucket_and_prefix():
    assert S3Location.parse("s3://models/a//b/") == S3Location("models", "a/b/")
    assert S3Location.parse("s3://models").prefix == ""


class _Failing:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def list_objects_v2(self, **params: object) -> dict:
        raise self.error


def _client_error(code: str, status: int) -> botocore.exceptions.ClientError:
    response = {"Error": {"Code": code, "Message": code},
                "ResponseMetadata": {"HTTPStatusCode": status}}  # fmt: skip
    return botocore.exceptions.ClientError(response, "ListObjectsV2")


@pytest.mark.parametrize(
    ("error", "kind", "words"),
    [
        (_client_error("NoSuchBucket", 404), StoreConfigError, "'b' does not exist"),
        (_client_error("InvalidAccessKeyId", 403), StoreConfigError, "credentials"),
        (_client_error("SignatureDoesNotMatch", 403), StoreConfigError, "'b'"),
        (_client_error("InternalError", 500), StoreUnavailableError, "InternalError"),
        (botocore.exceptions.NoCredentialsError(), StoreConfigError, "no AWS creden"),
        (botocore.exceptions.EndpointConnectionError(endpoint_url="http://x"),
         StoreUnavailableError, "Could not connect"),
    ],
)  # fmt: skip
def test_store_errors_name_the_bucket_and_what_failed(error, kind, words):
    client = S3Client(S3Location("b", "p/"), _Failing(error))
    with pytest.raises(kind, match=words):
        client.call("list_objects_v2", Prefix="p/")


class _IgnoresConditions:
    """A store that accepts every put, conditional or not (no conditional writes)."""

    def put_object(self, **params: object) -> dict:
        return {"ETag": '"1"'}

    def delete_objects(self, **params: object) -> dict:
        return {}


def test_a_store_without_conditional_writes_is_refused():
    client = S3Client(S3Location("b", "p/"), _IgnoresConditions())
    with pytest.raises(StorageError, match="does not support conditional writes"):
        client.check_conditional_writes()
