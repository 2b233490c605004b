"""Datasets to record as run inputs (`trackwire.log_input(dataset, context="training")`), as
MLflow's `mlflow.data.from_pandas` / `from_numpy` make them: a name, a content digest, where
the data came from, its schema and a profile (row counts)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from trackwire.v1 import entities_pb2 as ent

_DIGEST_ROWS = 10_000


@dataclass
class Dataset:
    name: str
    digest: str
    source_type: str
    source: str
    schema: str
    profile: str

    def to_proto(self) -> ent.Dataset:
        return ent.Dataset(
            name=self.name,
            digest=self.digest,
            source_type=self.source_type,
            source=self.source,
            schema=self.schema,
            profile=self.profile,
        )


def _source(source: str | None) -> tuple[str, str]:
    if source is None:
        return "code", json.dumps({})
    kind = "local" if "://" not in source else source.split("://", 1)[0]
    return kind, json.dumps({"uri": source})


def _digest(parts: list[bytes]) -> str:
    """A short digest of the content (of its first rows, for big data, as MLflow does)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.hexdigest()[:8]


def from_pandas(
    df: Any, source: str | None = None, targets: str | None = None, name: str | None = None
) -> Dataset:
    import pandas as pd

    head = df.head(_DIGEST_ROWS)
    digest = _digest([pd.util.hash_pandas_object(head, index=False).values.tobytes()])
    columns = [{"name": str(c), "type": str(t)} for c, t in df.dtypes.items()]
    schema = {"mlflow_colspec": columns}
    if targets is not None:
        schema["targets"] = targets  # type: ignore[assignment]
    source_type, source_json = _source(source)
    return Dataset(
        name=name or "dataset",
        digest=digest,
        source_type=source_type,
        source=source_json,
        schema=json.dumps(schema),
        profile=json.dumps({"num_rows": len(df), "num_elements": int(df.size)}),
    )


def from_numpy(
    features: Any, source: str | None = None, targets: Any = None, name: str | None = None
) -> Dataset:
    import numpy as np

    arrays = {"features": np.asarray(features)}
    if targets is not None:
        arrays["targets"] = np.asarray(targets)
    digest = _digest([a[:_DIGEST_ROWS].tobytes() for a in arrays.values()])
    schema = {k: {"dtype": str(a.dtype), "shape": list(a.shape)} for k, a in arrays.items()}
    profile = {f"{k}_shape": list(a.shape) for k, a in arrays.items()}
    source_type, source_json = _source(source)
    return Dataset(
        name=name or "dataset",
        digest=digest,
        source_type=source_type,
        source=source_json,
        schema=json.dumps({"mlflow_tensorspec": schema}),
        profile=json.dumps(profile),
    )
