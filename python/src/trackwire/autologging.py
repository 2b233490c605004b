"""`trackwire.autolog()`: autologging for every supported library that is installed.

Today that is scikit-learn (`trackwire.sklearn`). Framework callbacks for Hugging Face
transformers, PyTorch Lightning, Keras, XGBoost and LightGBM are not written yet.
"""

from __future__ import annotations

import importlib.util
import logging

log = logging.getLogger("trackwire")


def autolog(
    disable: bool = False, silent: bool = False, exclude_flavors: list[str] | None = None
) -> None:
    """Turns autologging on (or off) for each supported library that is installed, except
    those named in `exclude_flavors` (MLflow's flavour names, e.g. "sklearn")."""
    if "sklearn" in (exclude_flavors or ()):
        return
    if importlib.util.find_spec("sklearn") is not None:
        from trackwire import sklearn

        sklearn.autolog(disable=disable, silent=silent)
    elif not silent and not disable:
        log.warning("trackwire: autolog found no supported library (scikit-learn) installed")
