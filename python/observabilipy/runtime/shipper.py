"""The shipping thread: one per engine, shipping every exporter's rows from the file.

Each exporter ships in bounded batches (rows and bytes) while it holds its lease; a
failure is counted, said once on stderr, and retried with exponential backoff and
jitter, never raised to anyone. ``stop`` ships what is left (bounded by time) and hands
the leases back. Its figures go to ``/metrics`` by exporter; ``problems`` says when one
has been failing too long, for ``/healthz``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence

import apsw

from observabilipy.core.ports import Batch, Exporter, Rejected, RetryLater
from observabilipy.core.registry import Registry
from observabilipy.runtime.outbox import Outbox, ReadIds, Shipping
from observabilipy.runtime.stderr import say


def check_exporters(exporters: Sequence[Exporter]) -> None:
    """Refuse, naming it, anything that is not an exporter, and two with one name."""
    names: set[str] = set()
    for exporter in exporters:
        name = getattr(exporter, "name", None)
        if not isinstance(name, str) or not name or not callable(getattr(exporter, "send", None)):
            raise TypeError(
                f"exporters must have a non-empty str name and a send(batch) method, "
                f"got {exporter!r}"
            )
        if name in names:
            raise ValueError(f"two exporters are named {name!r}: each needs a name of its own")
        names.add(name)


class _Lane:
    """One exporter: its outbox, its failures, when it may try next."""

    def __init__(self, exporter: Exporter, outbox: Outbox) -> None:
        self.exporter = exporter
        self.outbox = outbox
        self.failures = 0
        self.failing: str | None = None
        self.failing_since = 0.0  # time.monotonic() of the first failure in a row
        self.next_try = 0.0
        self.said = False
        self.said_rejected = False


class Shipper:
    """Ships ``exporters`` from the file ``connect`` opens, rows read through ``read``."""

    def __init__(
        self,
        exporters: Sequence[Exporter],
        shipping: Shipping,
        registry: Registry,
        connect: Callable[[], apsw.Connection],
        read: ReadIds,
        newest: Callable[[], int],
    ) -> None:
        self.shipping = shipping
        self._newest = newest
        self._connection = connect()
        self._lanes = [
            _Lane(
                exporter,
                Outbox(exporter.name, self._connection, read, shipping, clock=time.time),
            )
            for exporter in exporters
        ]
        labels = ["exporter"]
        self._sent = registry.counter(
            "observabilipy_export_sent_total", "Log rows shipped and acknowledged", labels
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
        """Each exporter's cursor as last seen in the file."""
        return {lane.exporter.name: lane.outbox.cursor for lane in self._lanes}

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
            try:
                lane.exporter.close()
            except Exception as error:
                say(f"exporter {lane.exporter.name!r} failed to close: {error}")
        with contextlib.suppress(apsw.Error):
            self._connection.close()

    def problems(self) -> list[str]:
        """Exporters failing for longer than ``unhealthy_after`` seconds, in words."""
        now = time.monotonic()
        return [
            f"exporter {lane.exporter.name!r} has been failing for "
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
        """Ship batches for one exporter while rows wait, until ``until``; then come
        back after ``interval`` (or the backoff, after a failure)."""
        name = lane.exporter.name
        outbox = lane.outbox
        more = False
        try:
            if outbox.claim():
                while (batch := outbox.next_batch()) is not None:
                    sent = self._send(lane, batch)
                    if not outbox.acknowledge(batch):
                        break  # another shipper took over: it goes on from the file
                    self._sent.labels(name).inc(sent)
                    self._success.labels(name).set(time.time())
                    self._succeeded(lane)
                    if time.monotonic() >= until:
                        more = True  # a backlog: the other exporters' turn, then on
                        break
        except RetryLater as pause:
            self._failed(lane, pause)
            lane.next_try = time.monotonic() + pause.seconds  # the receiver's own pause
            return
        except Exception as error:  # whatever the exporter or the file raised
            self._failed(lane, error)
            return
        finally:
            with contextlib.suppress(apsw.Error):
                self._lag.labels(name).set(max(0, self._newest() - outbox.cursor))
        lane.next_try = time.monotonic() + (0.0 if more else self.shipping.interval)

    def _send(self, lane: _Lane, batch: Batch) -> int:
        """Send one batch; the rows the receiver took (none when it refused them for
        good: counted, said once, and skipped, since sending them again cannot help)."""
        if not batch.rows:
            return 0
        try:
            lane.exporter.send(batch)
        except Rejected as refusal:
            self._rejected.labels(lane.exporter.name).inc(batch.rows)
            if not lane.said_rejected:
                lane.said_rejected = True
                say(
                    f"exporter {lane.exporter.name!r}: the receiver refused {batch.rows} rows "
                    f"for good ({refusal}); they are skipped and counted in "
                    "observabilipy_export_rejected_total"
                )
            return 0
        return batch.rows

    def _succeeded(self, lane: _Lane) -> None:
        if lane.failing is not None:
            lane.failing, lane.failures = None, 0
            if lane.said:
                lane.said = False
                say(f"exporter {lane.exporter.name!r} is shipping again")

    def _failed(self, lane: _Lane, error: BaseException) -> None:
        now = time.monotonic()
        if lane.failing is None:
            lane.failing_since = now
        lane.failing = f"{type(error).__name__}: {error}"
        lane.failures += 1
        lane.next_try = now + self.shipping.backoff(lane.failures)
        self._failures.labels(lane.exporter.name).inc()
        if not lane.said:
            lane.said = True
            say(
                f"exporter {lane.exporter.name!r} cannot ship: {lane.failing}; rows are "
                "kept in the file and retried, failures are counted in "
                "observabilipy_export_failed_total"
            )
