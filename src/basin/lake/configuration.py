"""Where the lake lives (``environments.<env>.lake`` in basin.yml)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from basin.common.types import StrictModel


class S3Options(StrictModel):
    """How to reach an S3 or S3-compatible store. Credentials are never written here:
    they come from the AWS chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/
    ``AWS_SESSION_TOKEN``, ``AWS_PROFILE`` and ``~/.aws``, or an instance/task role)."""

    endpoint_url: str | None = None
    """An S3-compatible store (MinIO, Ceph, R2, …), e.g. ``http://127.0.0.1:9000``;
    AWS's own endpoint when unset."""
    region: str | None = None
    """The bucket's region; else the AWS chain's (``AWS_REGION``, the profile), else
    ``us-east-1``."""
    url_style: Literal["vhost", "path"] = "vhost"
    """``vhost`` (bucket.host, AWS) or ``path`` (host/bucket, most self-hosted stores)."""

    @model_validator(mode="before")
    @classmethod
    def _no_credentials(cls, data: Any) -> Any:
        if isinstance(data, dict):
            keys = [k for k in data if any(w in str(k).lower() for w in ("key", "secret", "token"))]
            if keys:
                raise ValueError(
                    f"{', '.join(map(str, keys))}: credentials are not read from basin.yml; "
                    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) in the "
                    "environment, or run with an instance or task role"
                )
        return data


class LakeConfig(StrictModel):
    """Where bronze Parquet, manifests and quarantine live."""

    url: str = "lake"
    """Folder (relative to the environment's state folder) or ``s3://bucket/prefix``."""
    s3: S3Options = Field(default_factory=S3Options)
    """For an ``s3://`` lake: endpoint, region and addressing style."""

    @model_validator(mode="after")
    def _known_scheme(self) -> LakeConfig:
        if "://" in self.url and not self.url.startswith(("s3://", "file://")):
            scheme = self.url.split("://", 1)[0]
            raise ValueError(
                f"lake.url {self.url!r}: {scheme}:// is not a lake Basin can use; "
                "give a folder or s3://bucket/prefix"
            )
        if self.url.startswith("s3://") and not self.url[5:].split("/", 1)[0]:
            raise ValueError(f"lake.url {self.url!r} names no bucket: s3://bucket/prefix")
        return self
