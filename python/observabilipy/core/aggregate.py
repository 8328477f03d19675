"""Totals across processes, on series ids every process sharing the file agrees on.

Each process keeps one value per series id (``Values``: dense arrays, so combining
processes is adding arrays, never matching label text). Counters and histograms add up
(a process that exited keeps its last totals, so a total never goes back). Gauges
combine by their family's ``aggregate``: ``sum``, ``max``, ``min``, ``latest`` (the most
recently changed value), or ``per_process`` (each process's value, told apart by a
``pid`` label).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import compress
from operator import add, ne
from typing import Final, NamedTuple, Protocol, cast

from observabilipy.core import gauges
from observabilipy.core.backend import native
from observabilipy.core.models import Exemplar, MetricFamily, Sample

Labels = tuple[tuple[str, str], ...]
Meta = tuple[str, str, str]  # kind, help, aggregate
Exemplars = dict[tuple[str, Labels], Exemplar]
#: A series as the catalog names it: family, sample name, labels.
Series = tuple[str, str, Labels]

_SUFFIX_ORDER: Final = {"_bucket": 0, "_count": 1, "_sum": 2}


class IdentityIndex(Protocol):
    """The Rust extension's ``SeriesIndex``: series ids found by their label tuples'
    identity."""

    def values(
        self, families: Iterable[MetricFamily], index: dict[tuple[str, Labels], int], size: int
    ) -> tuple[bytes, bytes] | None: ...


@dataclass
class Catalog:
    """Every series the file knows, by id. Ids only grow and are never reused; a gap is
    an id a transaction took and undid. Index 0 is never a series."""

    family: list[str] = field(default_factory=lambda: [""])
    sample: list[str] = field(default_factory=lambda: [""])
    labels: list[Labels] = field(default_factory=lambda: [()])
    index: dict[tuple[str, Labels], int] = field(default_factory=dict)
    ids_of: dict[str, list[int]] = field(default_factory=dict)
    #: Histograms' and summaries' ids in the order an exposition shows them, sorted
    #: when their series change rather than at every scrape.
    _in_order: dict[str, list[int]] = field(default_factory=dict, init=False, repr=False)
    #: Those ids as native 64-bit integers, for the Rust extension to read at once.
    _packed: dict[tuple[str, str], tuple[int, bytes]] = field(
        default_factory=dict, init=False, repr=False
    )
    #: The Rust extension's lookup by object identity, valid for this catalog only.
    by_identity: IdentityIndex | None = field(
        default_factory=lambda: None if native is None else native.SeriesIndex()
    )
    #: The arrays ``by_identity`` last gave, and the ``Values`` made of them.
    given: tuple[bytes, bytes, Values] | None = field(default=None, repr=False, compare=False)

    @property
    def size(self) -> int:
        """One more than the highest id: the length of a process's arrays."""
        return len(self.family)

    def add(self, series_id: int, family: str, sample: str, labels: Labels) -> None:
        """Learn a series; ids come in increasing order."""
        if series_id < self.size:
            raise ValueError(f"series id {series_id} is not beyond the catalog ({self.size})")
        gap = series_id - self.size
        self.family.extend([""] * gap)
        self.sample.extend([""] * gap)
        self.labels.extend([()] * gap)
        self.family.append(family)
        self.sample.append(sample)
        self.labels.append(labels)
        self.index[(sample, labels)] = series_id
        self.ids_of.setdefault(family, []).append(series_id)

    def ids_in_order(self, family: str, kind: str) -> list[int]:
        """The family's ids, each histogram or summary label set's series together (its
        buckets by bound, then count and sum), label sets in the order they were first
        named: as ``Registry.collect`` gives them."""
        ids = self.ids_of.get(family, [])
        if kind not in ("histogram", "summary"):
            return ids
        ordered = self._in_order.get(family)
        if ordered is None or len(ordered) != len(ids):  # ids are only ever added
            # Label sets in the order they were first named, as a registry keeps them.
            first: dict[Labels, int] = {}
            keys = {}
            for i in ids:
                label_set, rank, bound = _series_order(family, self.sample[i], self.labels[i])
                keys[i] = (first.setdefault(label_set, i), rank, bound)
            ordered = sorted(ids, key=keys.__getitem__)
            self._in_order[family] = ordered
        return ordered

    def packed_ids(self, family: str, kind: str) -> bytes:
        """``ids_in_order`` as native unsigned 64-bit integers (``array('Q')``)."""
        ids = self.ids_in_order(family, kind)
        count, packed = self._packed.get((family, kind), (-1, b""))
        if count != len(ids):
            packed = array("Q", ids).tobytes()
            self._packed[family, kind] = (len(ids), packed)
        return packed


class Values(NamedTuple):
    """One process's latest values over the catalog's ids. Arrays shorter than the
    catalog hold none of the later ids."""

    process: int  # its id in the file; sums add processes in this order
    pid: int
    live: bool  # whether its gauges count
    present: bytes  # 1 where the process has a value
    values: Sequence[float]
    changed: Sequence[float]  # when each value last changed, epoch seconds


def values_of(
    catalog: Catalog,
    families: Iterable[MetricFamily],
    previous: Values,
    now: float,
) -> Values | list[Series]:
    """``families`` as arrays over the catalog's ids (a value that differs from
    ``previous`` changed ``now``), or the series the catalog has no id for yet."""
    if native is None:
        found = series_values(families, catalog.index, catalog.size)
        return _unknown(catalog, families) if found is None else _with(previous, *found, now)
    assert catalog.by_identity is not None
    raw = catalog.by_identity.values(families, catalog.index, catalog.size)
    if raw is None:
        return _unknown(catalog, families)
    # The index gives arrays of the same bits as the last ones as those objects.
    given = catalog.given
    if given is not None and given[0] is raw[0] and given[1] is raw[1] and given[2] is previous:
        return previous
    result = _with(previous, _floats(raw[0]), raw[1], now)
    catalog.given = (raw[0], raw[1], result)
    return result


def _with(previous: Values, values: array[float], present: bytes, now: float) -> Values:
    """``previous`` with ``values`` and ``present`` (a value that differs changed
    ``now``); ``previous`` itself when every bit is the same, so a caller sees nothing
    changed without comparing (a scrape of a process whose values stand still)."""
    if present == previous.present and values.tobytes() == _bytes_of(previous.values):
        return previous
    before = (previous.changed, previous.values, previous.present)
    if native is None:
        changed = mark_changed(now, *before, values, present)
    else:
        changed = _floats(native.mark_changed(now, *before, values, present))
    return previous._replace(present=present, values=values, changed=changed)


def _bytes_of(values: Sequence[float]) -> bytes:
    return values.tobytes() if isinstance(values, array) else array("d", values).tobytes()


def series_values(
    families: Iterable[MetricFamily], index: dict[tuple[str, Labels], int], size: int
) -> tuple[array[float], bytes] | None:
    """Each sample's value at its id, and one byte per id (1 where a value is); None
    when a sample has no id below ``size``. (The Rust extension's does the same.)"""
    values = array("d", bytes(8 * size))
    present = bytearray(size)
    for family in families:
        for sample, labels, value in family.samples:
            series_id = index.get((sample, labels))
            if series_id is None or series_id >= size:
                return None
            values[series_id] = value
            present[series_id] = 1
    return values, bytes(present)


def mark_changed(
    now: float,
    changed: Sequence[float],
    before: Sequence[float],
    before_present: bytes,
    values: Sequence[float],
    present: bytes,
) -> array[float]:
    """``changed`` with ``now`` wherever ``values``/``present`` differ from
    ``before``/``before_present`` (arrays shorter than ``values`` hold zeros past their
    end). (The Rust extension's does the same.)"""
    size = len(values)
    marked = array("d", _padded(changed, size)[:size])
    before, was = _padded(before, size), _bytes_padded(before_present, size)
    for series_id in compress(range(size), map(ne, values, before)):
        marked[series_id] = now
    for series_id in compress(range(size), map(ne, present, was)):
        marked[series_id] = now
    return marked


def add_floats(
    parts: list[Sequence[float]], present: list[bytes], size: int
) -> tuple[list[float], bytes]:
    """The arrays added element by element, in order, each padded with zeros to
    ``size``, and one byte per id: 1 where any of ``present`` (bytes of 0 or 1) has a 1.
    (The Rust extension's does the same.)"""
    totals = [0.0] * size
    for part in parts:
        totals = list(map(add, totals, _padded(part, size)))
    flags = 0
    for part_present in present:  # OR as integers
        flags |= int.from_bytes(part_present[:size], "little")
    return totals, flags.to_bytes(size, "little")


def _unknown(catalog: Catalog, families: Iterable[MetricFamily]) -> list[Series]:
    index = catalog.index
    return [
        (family.name, sample, labels)
        for family in families
        for sample, labels, _ in family.samples
        if (sample, labels) not in index
    ]


def _floats(data: bytes) -> array[float]:
    values = array("d")
    values.frombytes(data)
    return values


def no_values(process: int, pid: int) -> Values:
    """A process before its first values."""
    return Values(process, pid, True, b"", array("d"), array("d"))


def add_values(catalog: Catalog, into: Values, more: Values, kinds: dict[str, str]) -> Values:
    """``into`` with ``more``'s counter and histogram values added (retiring a process
    into the totals of those that exited); gauges are not carried."""
    size = catalog.size
    values = array("d", _padded(into.values, size))
    changed = array("d", _padded(into.changed, size))
    present = bytearray(_bytes_padded(into.present, size))
    more_values, more_changed = more.values, more.changed
    family = catalog.family
    for series_id in compress(range(len(more.present)), more.present):
        if kinds.get(family[series_id], "gauge") == "gauge":
            continue
        values[series_id] = values[series_id] + more_values[series_id]
        changed[series_id] = max(changed[series_id], more_changed[series_id])
        present[series_id] = 1
    return into._replace(present=bytes(present), values=values, changed=changed)


def combine(
    local: Iterable[MetricFamily],
    local_aggregates: dict[str, str],
    processes: Iterable[Values],
    catalog: Catalog,
    remote_meta: dict[str, Meta],
    *,
    exposition: bool = False,
    exemplars: bool = True,
) -> list[MetricFamily]:
    """One family per name, this process's families first, in their order, then the
    families only other processes define. ``processes`` includes this one.

    ``exposition=True``: for an encoder only (see ``Registry.collect``); with the Rust
    backend, counters' series stay in the added arrays. ``exemplars=False``: counters'
    exemplars are not read from their cells (for text 0.0.4, which has none)."""
    meta: dict[str, Meta] = {}
    kept: dict[str, Exemplars] = {}
    for family in local:
        meta[family.name] = (family.kind, family.help, local_aggregates.get(family.name, "sum"))
        found = family.exemplars or (exemplars and _exemplars_in_cells(family.samples))
        if found:
            kept[family.name] = found
    local_names = set(meta)
    parts = sorted(processes, key=lambda part: part.process)
    totals, present = _sums(parts, catalog.size)
    live = [part for part in parts if part.live]
    for name in catalog.ids_of:
        if name not in meta and name in remote_meta:
            meta[name] = remote_meta[name]
    result = []
    gauge_sums: tuple[bytes, bytes] | None = None
    for name, family_meta in meta.items():
        ids = catalog.ids_in_order(name, family_meta[0])
        if family_meta[0] == "gauge" and (native is None or family_meta[2] != "sum"):
            samples = gauges.combined(catalog, ids, family_meta[2], live)
        elif family_meta[0] == "gauge":  # summed, as counters are, over the live processes
            assert native is not None
            gauge_sums = gauge_sums or gauges.summed(live, catalog.size)
            packed = catalog.packed_ids(name, "gauge")
            series = native.SummedSeries(packed, catalog.sample, catalog.labels, *gauge_sums)
            samples = cast("list[Sample]", series) if exposition else series.samples()
        elif isinstance(totals, bytes):
            assert native is not None
            packed = catalog.packed_ids(name, family_meta[0])
            series = native.SummedSeries(packed, catalog.sample, catalog.labels, totals, present)
            # For an encoder, the series stay in the arrays (no tuple each).
            samples = cast("list[Sample]", series) if exposition else series.samples()
        else:
            sample_names, labels = catalog.sample, catalog.labels
            samples = [(sample_names[i], labels[i], totals[i]) for i in ids if present[i]]
        if samples or name in local_names:
            result.append(_family(name, family_meta, samples, kept.get(name)))
    return result


def _exemplars_in_cells(samples: object) -> Exemplars:
    """The exemplars of counters collected for exposition (still in their cells)."""
    if native is not None and isinstance(samples, native.CounterSeries | native.HistogramSeries):
        found: Exemplars = samples.exemplars()
        return found
    return {}


def _sums(parts: list[Values], size: int) -> tuple[bytes | list[float], bytes]:
    """Each id's values added in process order (a fixed order: the same parts give the
    same total whichever process adds them), and whether any process has one."""
    values = [part.values for part in parts]
    present = [part.present for part in parts]
    if native is not None:  # as native float64 bytes, for SummedSeries
        totals, flags = native.add_floats(values, present, size)
        return totals, flags
    return add_floats(values, present, size)


def _padded(values: Sequence[float], size: int) -> Sequence[float]:
    if len(values) >= size:
        return values
    return array("d", values) + array("d", bytes(8 * (size - len(values))))


def _bytes_padded(present: bytes, size: int) -> bytes:
    return present if len(present) >= size else present + bytes(size - len(present))


def _family(
    name: str, meta: Meta, samples: list[Sample], exemplars: Exemplars | None
) -> MetricFamily:
    kind, help_text, _ = meta
    return MetricFamily(name, kind, help_text, samples, exemplars or {})


def _series_order(family: str, sample: str, labels: Labels) -> tuple[Labels, int, float]:
    """Group each label set's buckets (by bound), then its count and sum. A bucket
    without a bound that is a number (a file edited by hand) goes last."""
    suffix = sample[len(family) :]
    if suffix == "_bucket":
        return tuple(pair for pair in labels if pair[0] != "le"), 0, _bound(labels)
    return labels, _SUFFIX_ORDER.get(suffix, 3), 0.0


def _bound(labels: Labels) -> float:
    for name, text in labels:
        if name == "le":
            try:
                bound = float(text)
            except ValueError:
                break
            return math.inf if math.isnan(bound) else bound
    return math.inf
