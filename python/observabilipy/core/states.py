"""prometheus_client's ``Info`` and ``Enum``: facts and states exposed as gauges.

An info is one series ``<name>_info`` valued 1, its labels the facts (a version, a
build); an enum is one series per state, labelled with the state, 1 for the current one
and 0 for the others. Both are gauges, as prometheus_client writes them in the text
format, combined across processes by ``latest``: the facts or state the most recent
process reported.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence

from observabilipy.core.instruments import Gauge

#: Defines the gauge behind an info or enum: (name, help, label names) -> gauge.
DefineGauge = Callable[[str, str, Sequence[str]], Gauge]


class Info:
    """Facts about the process (``info({"version": "1.2"})``), as ``<name>_info 1``.

    The facts' names are fixed by the first call; a later call with other names is
    refused, naming both.
    """

    def __init__(self, name: str, documentation: str, define: DefineGauge) -> None:
        self.name = f"{name}_info"
        self._documentation = documentation
        self._define = define
        self._gauge: Gauge | None = None
        self._lock = threading.Lock()

    def info(self, facts: Mapping[str, str]) -> None:
        """Replace the facts this info reports."""
        names = tuple(facts)
        with self._lock:
            gauge = self._gauge
            if gauge is None:
                gauge = self._gauge = self._define(self.name, self._documentation, names)
            if gauge.labelnames != names:
                raise ValueError(
                    f"info {self.name!r} reports facts {list(gauge.labelnames)}, got {list(names)}"
                )
            gauge.clear()
            gauge.labels(*(facts[name] for name in names)).set(1)


class Enum:
    """Which of ``states`` something is in (``state("running")``): one series per
    state, labelled ``<name>="<state>"``, 1 for the current state and 0 for the rest."""

    def __init__(self, gauge: Gauge, states: Sequence[str]) -> None:
        self.name = gauge.name
        self.states = check_states(gauge.name, states)
        self._gauge = gauge
        self._lock = threading.Lock()
        if not gauge.children():  # defined anew: in the first state (as prometheus_client)
            self.state(self.states[0])

    def state(self, state: str) -> None:
        """Make ``state`` the current one."""
        if state not in self.states:
            raise ValueError(f"enum {self.name!r} has states {list(self.states)}, got {state!r}")
        with self._lock:
            for each in self.states:
                self._gauge.labels(each).set(1 if each == state else 0)


def check_states(name: str, states: Sequence[str]) -> tuple[str, ...]:
    """An enum's states: at least one, distinct, text."""
    if isinstance(states, str) or not states or len(set(states)) != len(states):
        raise ValueError(f"enum {name!r} needs a list of distinct states, got {states!r}")
    if not all(isinstance(state, str) for state in states):
        raise TypeError(f"enum {name!r} states must be str, got {list(states)!r}")
    return tuple(states)
