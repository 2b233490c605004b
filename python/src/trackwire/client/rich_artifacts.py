"""Artifacts made from Python objects: text, dicts, figures, images and tables, in the formats
MLflow's tooling reads (a table is pandas' "split" JSON; a step-indexed image is a PNG plus a
WebP thumbnail under `images/`, and the tags `mlflow.loggedArtifacts` / `mlflow.loggedImages`
say they are there).

Each function takes the `TrackingClient` to log through; the client's methods of the same
names call them.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from trackwire import errors

if TYPE_CHECKING:
    import pandas

    from trackwire.client.tracking import TrackingClient

LOGGED_ARTIFACTS_TAG = "mlflow.loggedArtifacts"
LOGGED_IMAGES_TAG = "mlflow.loggedImages"
THUMBNAIL_SIZE = 256
_IMAGE_KEY = re.compile(r"^[a-zA-Z0-9_\-./ ]+$")
# Characters MLflow's table tooling cannot take in a table's file name.
_TABLE_FILE_FORBIDDEN = set("\"',:[]{}")


def log_text(client: TrackingClient, run_id: str, text: str, artifact_file: str) -> None:
    """Saves `text` as the artifact `artifact_file` (a path in the run, e.g. "notes/a.txt")."""
    _log_bytes(client, run_id, artifact_file, text.encode("utf-8"))


def log_dict(
    client: TrackingClient, run_id: str, dictionary: Mapping[str, Any], artifact_file: str
) -> None:
    """Saves a dict as JSON, or as YAML when `artifact_file` ends with .yaml or .yml."""
    if artifact_file.endswith((".yaml", ".yml")):
        import yaml

        content = yaml.safe_dump(dict(dictionary), sort_keys=False, default_flow_style=False)
    else:
        content = json.dumps(dictionary, indent=2)
    _log_bytes(client, run_id, artifact_file, content.encode("utf-8"))


def log_figure(
    client: TrackingClient,
    run_id: str,
    figure: Any,
    artifact_file: str,
    *,
    save_kwargs: Mapping[str, Any] | None = None,
) -> None:
    """Saves a matplotlib or plotly figure; the file's extension picks the format (plotly:
    .html and .json without extra packages, images through kaleido)."""
    with _staged(artifact_file) as local:
        _save_figure(figure, local, dict(save_kwargs or {}))
        _upload_staged(client, run_id, artifact_file, local)


def log_image(
    client: TrackingClient,
    run_id: str,
    image: Any,
    artifact_file: str | None = None,
    key: str | None = None,
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool | None = None,
) -> None:
    """Saves a numpy array or PIL image: as `artifact_file`, or, with `key`, as one step
    of an image series (MLflow's `images/<key>+step+<n>+timestamp+<ms>+<uuid>.png` with a
    WebP thumbnail), which the UI pages through by step."""
    if (artifact_file is None) == (key is None):
        raise TypeError("log_image needs exactly one of artifact_file and key")
    pil = to_pil_image(image)
    if artifact_file is not None:
        with _staged(artifact_file) as local:
            pil.save(local)
            _upload_staged(client, run_id, artifact_file, local)
        return
    assert key is not None
    if not _IMAGE_KEY.match(key):
        raise errors.InvalidArgument(
            f"image key {key!r} may only contain letters, digits, '_', '-', '.', ' ' and '/'"
        )
    millis = timestamp or int(time.time() * 1000)
    stem = f"images/{key.replace('/', '~')}+step+{step or 0}+timestamp+{millis}+{uuid.uuid4()}"
    for path, picture in ((f"{stem}.png", pil), (f"{stem}+compressed.webp", thumbnail(pil))):
        with _staged(path) as local:
            picture.save(local)
            _upload_staged(client, run_id, path, local)
    client.set_tag(run_id, LOGGED_IMAGES_TAG, "true")


def log_table(
    client: TrackingClient,
    run_id: str,
    data: pandas.DataFrame | Mapping[str, Any],
    artifact_file: str,
) -> None:
    """Saves a table as pandas' "split" JSON (`{"columns": [...], "data": [[...]]}`); a table
    logged again to the same file is appended to it, as in MLflow."""
    import pandas as pd

    if _TABLE_FILE_FORBIDDEN & set(artifact_file):
        raise errors.InvalidArgument(
            f"table file {artifact_file!r} may not contain any of "
            + "".join(sorted(_TABLE_FILE_FORBIDDEN))
        )
    if not artifact_file.endswith(".json"):
        raise errors.InvalidArgument(f"table file {artifact_file!r} must end with .json")
    frame = _as_frame(data)
    existing = _read_table_if_present(client, run_id, artifact_file)
    if existing is not None:
        frame = pd.concat([existing, frame], ignore_index=True)
    with _staged(artifact_file) as local:
        frame.to_json(local, orient="split", index=False, date_format="iso")
        _upload_staged(client, run_id, artifact_file, local)
    tags = client.get_run(run_id).data.tags
    current = tags.get(LOGGED_ARTIFACTS_TAG) if isinstance(tags, Mapping) else None
    if current is None and not isinstance(tags, Mapping):  # protobuf run data
        current = next((t.value for t in tags if t.key == LOGGED_ARTIFACTS_TAG), None)
    logged = json.loads(current or "[]")
    entry = {"path": artifact_file, "type": "table"}
    if entry not in logged:
        client.set_tag(run_id, LOGGED_ARTIFACTS_TAG, json.dumps(logged + [entry]))


def load_table(
    client: TrackingClient,
    experiment_id: str,
    artifact_file: str,
    run_ids: Iterable[str] | None = None,
    extra_columns: Iterable[str] | None = None,
) -> pandas.DataFrame:
    """The table `artifact_file` of every given run (every run of the experiment that logged
    it, by default) concatenated; `extra_columns` such as "run_id" are added per row."""
    import pandas as pd

    if run_ids is None:
        pattern = json.dumps({"path": artifact_file, "type": "table"})
        runs = client.search_runs(
            [experiment_id], f"tags.`{LOGGED_ARTIFACTS_TAG}` LIKE '%{_like(pattern)}%'"
        )
        run_ids = [r.info.run_id for r in runs]
    frames = []
    for run_id in run_ids:
        frame = _read_table_if_present(client, run_id, artifact_file)
        if frame is None:
            continue
        for column in extra_columns or ():
            if column != "run_id":
                raise errors.InvalidArgument(f"unsupported extra column {column!r}")
            frame[column] = run_id
        frames.append(frame)
    if not frames:
        raise errors.NotFound(
            f"no run of experiment {experiment_id} has the table {artifact_file!r}"
        )
    return pd.concat(frames, ignore_index=True)


def _read_table_if_present(
    client: TrackingClient, run_id: str, artifact_file: str
) -> pandas.DataFrame | None:
    parent = posixpath.dirname(artifact_file)
    if artifact_file not in {f.path for f in client.list_artifacts(run_id, parent or None)}:
        return None
    with tempfile.TemporaryDirectory(prefix="trackwire-") as tmp:
        return read_table(client.download_artifacts(run_id, artifact_file, tmp))


def _log_bytes(client: TrackingClient, run_id: str, artifact_file: str, content: bytes) -> None:
    with _staged(artifact_file) as local:
        local.write_bytes(content)
        _upload_staged(client, run_id, artifact_file, local)


def _upload_staged(client: TrackingClient, run_id: str, artifact_file: str, local: Path) -> None:
    parent = str(PurePosixPath(artifact_file).parent)
    client.log_artifact(run_id, local, None if parent == "." else parent)


@contextmanager
def _staged(artifact_file: str) -> Iterator[Path]:
    """A temporary local file named like the artifact, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="trackwire-") as tmp:
        yield Path(tmp, PurePosixPath(artifact_file).name)


def _like(text: str) -> str:
    """`text` inside a single-quoted filter string."""
    return text.replace("'", "\\'")


def _as_frame(data: Any) -> pandas.DataFrame:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, Mapping):
        try:
            return pd.DataFrame(dict(data))
        except ValueError:  # all scalars: one row
            return pd.DataFrame([dict(data)])
    raise errors.InvalidArgument("a table is a pandas.DataFrame or a dict of columns")


def read_table(local_path: str | os.PathLike) -> pandas.DataFrame:
    """A table file written by `log_table` (or MLflow's), as a DataFrame."""
    import pandas as pd

    with open(local_path, encoding="utf-8") as f:
        content = json.load(f)
    return pd.DataFrame(content["data"], columns=content["columns"])


def to_pil_image(image: Any):
    """A PIL image from a PIL image or a numpy array: HxW (grey), HxWx3 (RGB) or HxWx4 (RGBA);
    integers in 0..255, floats in 0..1."""
    from PIL import Image

    if isinstance(image, Image.Image):
        return image
    import numpy as np

    if not isinstance(image, np.ndarray):
        raise TypeError(
            f"an image is a numpy.ndarray or PIL.Image.Image, not {type(image).__name__}"
        )
    array = image
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ValueError(f"an image array is HxW, HxWx3 or HxWx4, not {array.shape}")
    if np.issubdtype(array.dtype, np.integer):
        if array.min() < 0 or array.max() > 255:
            raise ValueError("integer pixel values must lie in 0..255")
    elif np.issubdtype(array.dtype, np.floating):
        if array.min() < 0 or array.max() > 1:
            raise ValueError("floating-point pixel values must lie in 0..1")
        array = array * 255
    else:
        raise TypeError(f"unsupported pixel type {array.dtype}")
    return Image.fromarray(array.astype(np.uint8))


def thumbnail(image):
    """The image scaled to fit a THUMBNAIL_SIZE square, aspect ratio kept."""
    width, height = image.size
    scale = THUMBNAIL_SIZE / max(width, height)
    return image.resize((max(1, int(width * scale)), max(1, int(height * scale))))


def _save_figure(figure: Any, local: Path, save_kwargs: dict[str, Any]) -> None:
    module = type(figure).__module__
    if module.startswith("matplotlib"):
        figure.savefig(local, **save_kwargs)
    elif module.startswith("plotly"):
        if local.suffix == ".html":
            figure.write_html(local, **{"include_plotlyjs": "cdn", **save_kwargs})
        elif local.suffix == ".json":
            local.write_text(figure.to_json(), encoding="utf-8")
        else:
            figure.write_image(local, **save_kwargs)
    else:
        raise TypeError(
            f"log_figure takes a matplotlib or plotly figure, not {type(figure).__name__}"
        )
