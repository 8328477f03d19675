"""What every benchmark module shares: prometheus_client without ``_created`` series."""

from collections.abc import Callable, Iterator
from typing import cast

import prometheus_client
import prometheus_client.metrics
import pytest

# These prometheus_client functions are untyped; give mypy their signatures.
disable_created_metrics = cast(Callable[[], None], prometheus_client.disable_created_metrics)
enable_created_metrics = cast(Callable[[], None], prometheus_client.enable_created_metrics)


@pytest.fixture(autouse=True)
def _no_created_series() -> Iterator[None]:
    """Turn off prometheus_client's ``_created`` samples, so both sides render the same
    series, then restore the setting."""
    was_on = prometheus_client.metrics._use_created
    disable_created_metrics()
    yield
    if was_on:
        enable_created_metrics()
