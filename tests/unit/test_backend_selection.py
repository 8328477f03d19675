"""Which encoders load: Rust when built, pure Python otherwise or when asked."""

import os
import subprocess
import sys
import textwrap
from importlib.abc import MetaPathFinder

import pytest

from observabilipy import encoders
from observabilipy.core.backend import NATIVE_MODULE
from observabilipy.encoders import PYTHON, load


def test_expected_backend_is_the_one_loaded():
    """When CI names the backend it expects (OBSERVABILIPY_EXPECT_BACKEND), that one loaded."""
    expected = os.environ.get("OBSERVABILIPY_EXPECT_BACKEND")
    if expected is None:
        pytest.skip("OBSERVABILIPY_EXPECT_BACKEND is not set")
    assert encoders.backend == expected


def test_public_functions_are_the_loaded_backends():
    """The module's encoders are those of the backend it names."""
    chosen = load(os.environ)
    assert encoders.backend == chosen.backend
    assert encoders.encode_text is chosen.encode_text
    assert encoders.encode_openmetrics is chosen.encode_openmetrics
    assert encoders.encode_log_rows is chosen.encode_log_rows


def test_auto_prefers_rust_when_built():
    """Without the variable, empty, or set to auto, the extension's encoders are used."""
    pytest.importorskip(NATIVE_MODULE)
    assert load({}).backend == "rust"
    assert load({"OBSERVABILIPY_BACKEND": ""}).backend == "rust"
    assert load({"OBSERVABILIPY_BACKEND": "auto"}).backend == "rust"


def test_python_is_used_when_asked_even_if_rust_is_built():
    """OBSERVABILIPY_BACKEND=python gives the pure-Python encoders."""
    assert load({"OBSERVABILIPY_BACKEND": "python"}) is PYTHON


def test_unknown_choice_is_refused_naming_the_variable():
    """A value other than auto, rust or python raises ValueError naming the variable."""
    with pytest.raises(ValueError, match="OBSERVABILIPY_BACKEND must be auto, rust or python"):
        load({"OBSERVABILIPY_BACKEND": "Rust"})


def test_missing_extension_falls_back_or_fails_loudly(monkeypatch):
    """Without the extension, auto falls back to Python; rust raises ImportError saying why."""
    monkeypatch.setitem(sys.modules, NATIVE_MODULE, None)  # import now fails as if absent
    assert load({}) is PYTHON
    with pytest.raises(ImportError, match="OBSERVABILIPY_BACKEND=rust") as raised:
        load({"OBSERVABILIPY_BACKEND": "rust"})
    assert raised.value.name == NATIVE_MODULE


class _Broken(MetaPathFinder):
    def __init__(self, error: ImportError) -> None:
        self.error = error

    def find_spec(self, fullname, path, target=None):
        if fullname == NATIVE_MODULE:
            raise self.error
        return None


@pytest.mark.parametrize(
    "error",
    [ImportError("undefined symbol: PyFoo"), ModuleNotFoundError("x", name="some_dependency")],
)
def test_broken_extension_is_not_hidden(monkeypatch, error):
    """An extension that is there but fails to import raises, rather than falling back."""
    monkeypatch.delitem(sys.modules, NATIVE_MODULE, raising=False)
    monkeypatch.setattr(sys, "meta_path", [_Broken(error), *sys.meta_path])
    with pytest.raises(ImportError) as raised:
        load({})
    assert raised.value is error


def test_package_imports_and_encodes_without_the_extension():
    """With the extension absent, the package imports and encodes through pure Python."""
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules[{NATIVE_MODULE!r}] = None
        import observabilipy
        from observabilipy import MetricFamily, encoders
        assert encoders.backend == "python", encoders.backend
        family = MetricFamily("up", "gauge", "", [("up", (), 1.0)])
        sys.stdout.buffer.write(encoders.encode_openmetrics([family]))
        """
    )
    environ = {k: v for k, v in os.environ.items() if k != "OBSERVABILIPY_BACKEND"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, env=environ, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == b"# TYPE up gauge\nup 1\n# EOF\n"
