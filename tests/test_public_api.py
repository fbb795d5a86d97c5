"""The public surface of ``dataoorts_magic``, pinned: what ``__all__`` names, what each name is,
and the old import paths users may have in their notebooks."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

import dataoorts_magic

PUBLIC = {
    "BatchResult",
    "LlamaError",
    "LlamaResponse",
    "__version__",
    "ask",
    "ask_each",
    "load_ipython_extension",
    "panel",
    "unload_ipython_extension",
}


def test_all_names_exactly_the_public_surface():
    assert set(dataoorts_magic.__all__) == PUBLIC
    assert len(dataoorts_magic.__all__) == len(PUBLIC)
    for name in PUBLIC:
        assert getattr(dataoorts_magic, name) is not None, name


def test_what_each_public_name_is():
    from dataoorts_magic.batch.result import BatchResult
    from dataoorts_magic.display.response import LlamaResponse
    from dataoorts_magic.errors import LlamaError

    assert dataoorts_magic.LlamaResponse is LlamaResponse and inspect.isclass(LlamaResponse)
    assert dataoorts_magic.BatchResult is BatchResult and inspect.isclass(BatchResult)
    assert dataoorts_magic.LlamaError is LlamaError and issubclass(LlamaError, Exception)
    for name in ("load_ipython_extension", "unload_ipython_extension"):
        assert list(inspect.signature(getattr(dataoorts_magic, name)).parameters) == ["ipython"]
    assert list(inspect.signature(dataoorts_magic.panel).parameters) == []
    ask = inspect.signature(dataoorts_magic.ask).parameters
    assert list(ask) == ["prompt", "system", "model", "chat", "schema", "params"]
    each = inspect.signature(dataoorts_magic.ask_each).parameters
    assert list(each)[:4] == ["items", "prompt", "concurrency", "schema"] and "params" in each
    assert dataoorts_magic.__version__ == "0.1.0"


def test_every_error_kind_is_a_llama_error():
    from dataoorts_magic import errors

    kinds = [c for _, c in inspect.getmembers(errors, inspect.isclass) if c.__module__ == errors.__name__]
    assert len(kinds) > 10
    assert all(issubclass(kind, dataoorts_magic.LlamaError) for kind in kinds)


def test_no_path_survives_that_no_release_had():
    """The shims for pre-layer paths are gone: the public names live at the package root."""
    import importlib

    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("dataoorts_magic.response")
    with pytest.raises(ImportError):
        exec("from dataoorts_magic.batch import BatchResult", {})
    assert dataoorts_magic.BatchResult.__module__ == "dataoorts_magic.batch.result"
    assert dataoorts_magic.LlamaResponse.__module__ == "dataoorts_magic.display.response"


def test_an_unknown_name_is_an_attribute_error():
    try:
        dataoorts_magic.NoSuchThing  # noqa: B018
    except AttributeError as err:
        assert "NoSuchThing" in str(err)
    else:
        raise AssertionError("dataoorts_magic.NoSuchThing should not exist")


def test_importing_the_package_loads_nothing_heavy():
    code = (
        "import sys, dataoorts_magic\n"
        "heavy = ('IPython', 'requests', 'markdown', 'nh3', 'pygments', 'ipywidgets', 'sqlite3', 'dataclasses')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
