"""Marks by component, from where a test lives: ``uv run pytest -m django`` runs the
Django tests, ``-m "not e2e"`` leaves out the ones that start servers."""

import pytest

from tests.receiver import receiver  # noqa: F401 - the real HTTP receiver fixture

#: Test file name (or folder) -> the components it tests.
COMPONENTS = {
    "e2e": ("e2e",),
    "test_asgi_app": ("asgi",),
    "test_asgi_hostile": ("asgi",),
    "test_metric_history": ("asgi", "wsgi", "storage"),
    "test_asgi_middleware": ("asgi",),
    "test_wsgi": ("wsgi",),
    "test_django": ("django",),
    "test_logging_integrations": ("logging",),
    "test_encoder_parity": ("encoding",),
    "test_encoder_refusals": ("encoding",),
    "test_exposition_counter_series": ("encoding",),
    "test_exposition_encoding": ("encoding",),
    "test_exposition_validators": ("encoding",),
    "test_floats": ("encoding",),
    "test_gzip_parts": ("encoding",),
    "test_ndjson_encoding": ("encoding",),
    "test_negotiation": ("encoding",),
    "test_console_format": ("encoding",),
    "test_sqlite_ndjson": ("storage", "encoding"),
    "test_memory_storage": ("storage",),
    "test_engine_basics": ("storage",),
    "test_engine_faults": ("storage",),
    "test_engine_overflow": ("storage",),
    "test_engine_poison": ("storage",),
    "test_engine_processes": ("storage",),
    "test_engine_retention": ("storage",),
    "test_health": ("storage",),
    "test_outbox": ("storage",),
    "test_outbox_processes": ("storage",),
    "test_file_sink": ("storage",),
    "test_totals_monotonic": ("storage",),
    "test_cli_logs": ("cli",),
    "test_cli_args": ("cli",),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = item.path.parts
        if "benchmarks" in parts:
            continue
        marks = COMPONENTS.get("e2e" if "e2e" in parts else item.path.stem, ("core",))
        for mark in marks:
            item.add_marker(getattr(pytest.mark, mark))
