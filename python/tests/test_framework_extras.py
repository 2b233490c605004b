"""The framework integrations on PyTorch are extras: without them installed, their modules
say which extra to install (their own tests run in `make test-frameworks`)."""

from __future__ import annotations

import importlib
import importlib.util
from importlib.metadata import metadata

import pytest


def test_the_extras_are_declared():
    assert {"transformers", "lightning"} <= set(metadata("trackwire").get_all("Provides-Extra"))


@pytest.mark.parametrize(
    ("module", "libraries", "extra"),
    [
        ("trackwire.transformers", ["transformers"], "transformers"),
        ("trackwire.pytorch", ["lightning", "pytorch_lightning"], "lightning"),
    ],
)
def test_a_missing_framework_names_its_extra(module, libraries, extra):
    if any(importlib.util.find_spec(library) for library in libraries):
        pytest.skip(f"{libraries[0]} is installed here")
    with pytest.raises(ImportError, match=rf"pip install 'trackwire\[{extra}\]'"):
        importlib.import_module(module)


def test_framework_modules_load_on_first_use_as_mlflows_do():
    import trackwire as mlflow

    assert mlflow.sklearn is importlib.import_module("trackwire.sklearn")
    assert callable(mlflow.sklearn.autolog)
    with pytest.raises(AttributeError):
        mlflow.no_such_flavour  # noqa: B018
