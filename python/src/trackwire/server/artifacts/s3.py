"""Artifacts in an S3-compatible object store (AWS S3, MinIO, Ceph, moto...).

Uploads stream through multipart upload in fixed-size parts, so memory stays at one
part whatever the file size; downloads stream the object body in chunks.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from trackwire.errors import NotFound
from trackwire.v1 import entities_pb2 as pb

# S3 needs parts of at least 5 MiB (except the last one).
PART_SIZE = 8 * 1024 * 1024


def s3_client():
    """A boto3 client; the endpoint comes from MLFLOW_S3_ENDPOINT_URL or AWS_ENDPOINT_URL."""
    import boto3

    endpoint = os.environ.get("MLFLOW_S3_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL")
    return boto3.client("s3", endpoint_url=endpoint or None)


class S3ArtifactRepository:
    """The artifacts below one key prefix (a run's artifact root) of a bucket."""

    def __init__(self, client, bucket: str, prefix: str):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def _key(self, relative: str) -> str:
        return f"{self.prefix}/{relative}" if relative else self.prefix

    def list(self, relative: str) -> list[pb.FileInfo]:
        base = self._key(relative) + "/"
        infos = []
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=base, Delimiter="/"
        )
        for page in pages:
            for common in page.get("CommonPrefixes", []):
                name = common["Prefix"][len(base) :].rstrip("/")
                infos.append(pb.FileInfo(path=_join(relative, name), is_dir=True))
            for item in page.get("Contents", []):
                name = item["Key"][len(base) :]
                infos.append(pb.FileInfo(path=_join(relative, name), file_size=item["Size"]))
        return sorted(infos, key=lambda info: info.path)

    def write(self, relative: str, chunks: Iterable[bytes]) -> pb.FileInfo:
        key = self._key(relative)
        parts: list[dict] = []
        buffer, size, upload_id = bytearray(), 0, None
        try:
            for chunk in chunks:
                buffer += chunk
                size += len(chunk)
                while len(buffer) >= PART_SIZE:
                    if upload_id is None:
                        upload_id = self.client.create_multipart_upload(
                            Bucket=self.bucket, Key=key
                        )["UploadId"]
                    parts.append(
                        self._upload_part(key, upload_id, len(parts) + 1, buffer[:PART_SIZE])
                    )
                    del buffer[:PART_SIZE]
            if upload_id is None:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=bytes(buffer))
            else:
                if buffer:
                    parts.append(self._upload_part(key, upload_id, len(parts) + 1, buffer))
                self.client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                )
        except BaseException:
            if upload_id is not None:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            raise
        return pb.FileInfo(path=relative, is_dir=False, file_size=size)

    def _upload_part(self, key: str, upload_id: str, number: int, data) -> dict:
        response = self.client.upload_part(
            Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=bytes(data)
        )
        return {"PartNumber": number, "ETag": response["ETag"]}

    def read(self, relative: str, chunk_size: int) -> Iterator[bytes]:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(relative))["Body"]
        except self.client.exceptions.NoSuchKey:
            raise NotFound(f"No artifact at path {relative!r}.") from None

        def chunks() -> Iterator[bytes]:
            with body:
                yield from body.iter_chunks(chunk_size)

        return chunks()

    def delete(self, relative: str) -> None:
        key = self._key(relative)
        keys = [
            item["Key"]
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=key
            )
            for item in page.get("Contents", [])
            if item["Key"] == key or item["Key"].startswith(key + "/")
        ]
        if not keys:
            raise NotFound(f"No artifact at path {relative!r}.")
        for start in range(0, len(keys), 1000):
            self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": k} for k in keys[start : start + 1000]]},
            )


def _join(relative: str, name: str) -> str:
    return f"{relative}/{name}" if relative else name
