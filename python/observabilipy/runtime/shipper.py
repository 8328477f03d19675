"""The shipping thread: one per engine, shipping every exporter's rows from the file
and pushing the metric totals to the metrics exporters.

Each log exporter ships in bounded batches (rows and bytes) while it holds its lease;
each metrics exporter pushes the totals every ``interval`` seconds while it holds its
own (``<name>#metrics``, a lease without rows). A failure is counted, said once on
stderr, and retried with exponential backoff and jitter (or after the pause a receiver
asked for), never raised to anyone; what a receiver refuses for good is counted and
skipped. ``stop`` ships what is left (bounded by time), pushes the totals a last time
and hands the leases back. Its figures go to ``/metrics`` by lane (the exporter's name,
``#metrics`` added for the totals); ``problems`` says when one has been failing too
long, for ``/healthz``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

import apsw

from observabilipy.core.models import MetricFamily
from observabilipy.core.ports import Exporter, MetricsExporter, Rejected, RetryLater
from observabilipy.core.registry import Registry
from observabilipy.runtime.outbox import Outbox, ReadIds, Shipping
from observabilipy.runtime.stderr import say

AnyExporter = Exporter | MetricsExporter
METRICS: Final = "#metrics"  # the metrics lane's name: the exporter's, and this


def ships_rows(exporter: object) -> bool:
    return callable(getattr(exporter, "send", None))


def pushes_totals(exporter: object) -> bool:
    return callable(getattr(exporter, "push", None))


def check_exporters(exporters: Sequence[AnyExporter]) -> None:
    """Refuse, naming it, anything that is not an exporter, and two with one name."""
    names: set[str] = set()
    for exporter in exporters:
        name = getattr(exporter, "name", None)
        if (
            not isinstance(name, str)
            or not name
            or not (ships_rows(exporter) or pushes_totals(exporter))
        ):
            raise TypeError(
                f"exporters must have a non-empty str name and a send(batch) or "
                f"push(families) method, got {exporter!r}"
            )
        interval = getattr(exporter, "interval", 1.0) if pushes_totals(exporter) else 1.0
        if not isinstance(interval, int | float) or not interval > 0:
            raise ValueError(f"exporter {name!r} interval must be > 0 seconds, got {interval!r}")
        if name in names:
            raise ValueError(f"two exporters are named {name!r}: each needs a name of its own")
        names.add(name)


class _Lane:
    """One exporter's rows, or its totals: its outbox (the lease, and the cursor for
    rows), its failures, when it may try next."""

    def __init__(self, exporter: Any, outbox: Outbox, interval: float, totals: bool) -> None:
        self.exporter = exporter
        self.outbox = outbox
        self.name = outbox.name
        self.interval = interval
        self.totals = totals
        self.failures = 0
        self.failing: str | None = None
        self.failing_since = 0.0  # time.monotonic() of the first failure in a row
        self.next_try = 0.0
        self.said = False
        self.said_rejected = False


class Shipper:
    """Ships ``exporters`` from the file ``connect`` opens, rows read through ``read``,
    totals through ``collect``."""

    def __init__(
        self,
        exporters: Sequence[AnyExporter],
        shipping: Shipping,
        registry: Registry,
        connect: Callable[[], apsw.Connection],
        read: ReadIds,
        newest: Callable[[], int],
        collect: Callable[[], list[MetricFamily]],
    ) -> None:
        self.shipping = shipping
        self._newest = newest
        self._collect = collect
        self._connection = connect()
        self._lanes: list[_Lane] = []
        for exporter in exporters:
            if ships_rows(exporter):
                outbox = Outbox(exporter.name, self._connection, read, shipping, clock=time.time)
                self._lanes.append(_Lane(exporter, outbox, shipping.interval, totals=False))
            if pushes_totals(exporter):
                name = exporter.name + METRICS
                outbox = Outbox(name, self._connection, read, shipping, clock=time.time, rows=False)
                interval = float(getattr(exporter, "interval", shipping.interval))
                self._lanes.append(_Lane(exporter, outbox, interval, totals=True))
        labels = ["exporter"]
        self._sent = registry.counter(
            "observabilipy_export_sent_total",
            "Log rows (or metric samples, for #metrics) shipped and acknowledged",
            labels,
        )
        self._failures = registry.counter(
            "observabilipy_export_failed_total", "Failed attempts to ship a batch", labels
        )
        self._rejected = registry.counter(
            "observabilipy_export_rejected_total",
            "Log rows a receiver refused for good (a 4xx answer), skipped",
            labels,
        )
        self._lag = registry.gauge(
            "observabilipy_export_lag_entries",
            "Log ids stored but not shipped yet",
            labels,
            aggregate="max",
        )
        self._success = registry.gauge(
            "observabilipy_export_last_success_timestamp_seconds",
            "When a batch was last acknowledged (epoch seconds)",
            labels,
            aggregate="max",
        )
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="observabilipy-shipper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def cursors(self) -> dict[str, int]:
        """Each log exporter's cursor as last seen in the file."""
        return {lane.name: lane.outbox.cursor for lane in self._lanes if not lane.totals}

    def wait_for(self, target: int, timeout: float | None) -> bool:
        """Wait until every exporter's cursor reaches ``target`` (shipped by this
        process or another); False after ``timeout`` seconds or once stopped."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while min(self.cursors().values(), default=target) < target:
            if not self._thread.is_alive() or (deadline and time.monotonic() >= deadline):
                return False
            self._wake.set()
            time.sleep(0.01)
        return True

    def stop(self) -> None:
        """Ship what is left (at most ``close_timeout`` seconds), hand the leases back,
        close the exporters; safe to call twice."""
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(self.shipping.close_timeout + 10.0)
        for lane in self._lanes:
            with contextlib.suppress(apsw.Error):  # else the lease runs out by itself
                lane.outbox.release()
        for exporter in {id(lane.exporter): lane.exporter for lane in self._lanes}.values():
            try:
                exporter.close()
            except Exception as error:
                say(f"exporter {exporter.name!r} failed to close: {error}")
        with contextlib.suppress(apsw.Error):
            self._connection.close()

    def problems(self) -> list[str]:
        """Exporters failing for longer than ``unhealthy_after`` seconds, in words."""
        now = time.monotonic()
        return [
            f"exporter {lane.name!r} has been failing for "
            f"{now - lane.failing_since:.0f} s: {lane.failing}"
            for lane in self._lanes
            if lane.failing is not None
            and now - lane.failing_since >= self.shipping.unhealthy_after
        ]

    # -- the thread --------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stopping:
            now = time.monotonic()
            for lane in self._lanes:
                if now >= lane.next_try and not self._stopping:
                    self._step(lane, time.monotonic() + self.shipping.interval)
            due = min((lane.next_try for lane in self._lanes), default=now + 1.0)
            self._wake.wait(max(0.0, min(due - time.monotonic(), self.shipping.interval)))
            self._wake.clear()
        deadline = time.monotonic() + self.shipping.close_timeout
        for lane in self._lanes:  # the final ship: what the writer committed at close
            if time.monotonic() < deadline:
                self._step(lane, deadline)

    def _step(self, lane: _Lane, until: float) -> None:
        """One turn of a lane: ship batches while rows wait (until ``until``), or push
        the totals; then come back after its interval (or the backoff, or the pause the
        receiver asked for, after a failure)."""
        more = False
        try:
            if lane.outbox.claim():
                more = self._push(lane) if lane.totals else self._ship(lane, until)
        except RetryLater as pause:
            self._failed(lane, pause)
            lane.next_try = time.monotonic() + pause.seconds  # the receiver's own pause
            return
        except Exception as error:  # whatever the exporter or the file raised
            self._failed(lane, error)
            return
        finally:
            if not lane.totals:
                with contextlib.suppress(apsw.Error):
                    lag = max(0, self._newest() - lane.outbox.cursor)
                    self._lag.labels(lane.name).set(lag)
        lane.next_try = time.monotonic() + (0.0 if more else lane.interval)

    def _ship(self, lane: _Lane, until: float) -> bool:
        """Batches while rows wait; whether some are still waiting at ``until``."""
        outbox = lane.outbox
        while (batch := outbox.next_batch()) is not None:
            sent = self._deliver(lane, batch.rows, lambda: lane.exporter.send(batch))
            if not outbox.acknowledge(batch):
                return False  # another shipper took over: it goes on from the file
            self._shipped(lane, sent)
            if time.monotonic() >= until:
                return True  # a backlog: the other exporters' turn, then on
        return False

    def _push(self, lane: _Lane) -> bool:
        """The totals, once."""
        families = self._collect()
        samples = sum(len(family.samples) for family in families)
        self._shipped(lane, self._deliver(lane, samples, lambda: lane.exporter.push(families)))
        return False

    def _shipped(self, lane: _Lane, count: int) -> None:
        self._sent.labels(lane.name).inc(count)
        self._success.labels(lane.name).set(time.time())
        self._succeeded(lane)

    def _deliver(self, lane: _Lane, count: int, call: Callable[[], None]) -> int:
        """Make the call; the rows (or samples) the receiver took: none when it refused
        them for good (counted, said once, and skipped: sending them again cannot help)."""
        if not count:
            return 0
        try:
            call()
        except Rejected as refusal:
            self._rejected.labels(lane.name).inc(count)
            if not lane.said_rejected:
                lane.said_rejected = True
                what = "samples" if lane.totals else "rows"
                say(
                    f"exporter {lane.name!r}: the receiver refused {count} {what} for good "
                    f"({refusal}); they are skipped and counted in "
                    "observabilipy_export_rejected_total"
                )
            return 0
        return count

    def _succeeded(self, lane: _Lane) -> None:
        if lane.failing is not None:
            lane.failing, lane.failures = None, 0
            if lane.said:
                lane.said = False
                say(f"exporter {lane.name!r} is shipping again")

    def _failed(self, lane: _Lane, error: BaseException) -> None:
        now = time.monotonic()
        if lane.failing is None:
            lane.failing_since = now
        lane.failing = f"{type(error).__name__}: {error}"
        lane.failures += 1
        lane.next_try = now + self.shipping.backoff(lane.failures)
        self._failures.labels(lane.name).inc()
        if not lane.said:
            lane.said = True
            say(
                f"exporter {lane.name!r} cannot ship: {lane.failing}; it is retried (rows "
                "are kept in the file), failures are counted in "
                "observabilipy_export_failed_total"
            )
