"""`trackwire.autolog()`: autologging for every supported library that is installed:
scikit-learn, XGBoost, LightGBM, Keras, Hugging Face transformers and PyTorch Lightning (each
also on its own: `trackwire.sklearn.autolog()`, ..., `trackwire.pytorch.autolog()`).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging

log = logging.getLogger("trackwire")

# MLflow's flavour name -> the libraries it works with, any one of them (the trackwire module
# has the flavour's name; "pytorch" is MLflow's name for its Lightning autologging).
FLAVORS = {
    "sklearn": ("sklearn",),
    "xgboost": ("xgboost",),
    "lightgbm": ("lightgbm",),
    "keras": ("keras",),
    "transformers": ("transformers",),
    "pytorch": ("lightning", "pytorch_lightning"),
}


def autolog(
    disable: bool = False, silent: bool = False, exclude_flavors: list[str] | None = None
) -> None:
    """Turns autologging on (or off) for each supported library that is installed, except
    those named in `exclude_flavors` (MLflow's flavour names, e.g. "sklearn")."""
    installed = [
        flavor
        for flavor, libraries in FLAVORS.items()
        if flavor not in (exclude_flavors or ())
        and any(importlib.util.find_spec(library) is not None for library in libraries)
    ]
    for flavor in installed:
        try:
            integration = importlib.import_module(f"trackwire.{flavor}")
            integration.autolog(disable=disable, silent=silent)
        except Exception as e:  # installed but unusable here (no Keras backend, no torch, ...)
            if not silent:
                log.warning("trackwire: %s autologging is off: %s", flavor, e)
    if not installed and not (silent or disable):
        log.warning("trackwire: autolog found none of %s installed", ", ".join(FLAVORS))
