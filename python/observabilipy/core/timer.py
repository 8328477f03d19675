"""Blocks and calls measured for an instrument: the time they take, the exceptions
leaving them, how many run at once."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from time import perf_counter
from types import TracebackType
from typing import Any, ParamSpec, Self, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class _Around:
    """A context manager (sync and async) and decorator running ``_enter`` before a
    block or call and ``_exit`` after it, whether it returned or raised; exceptions
    always propagate. A decorated call runs in a copy of its own (``_fresh``), so
    concurrent calls never share state."""

    __slots__ = ()

    def _enter(self) -> None:
        raise NotImplementedError

    def _exit(self, exc: BaseException | None) -> None:
        raise NotImplementedError

    def _fresh(self) -> _Around:
        return self

    def __enter__(self) -> Self:
        self._enter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._exit(exc)

    async def __aenter__(self) -> Self:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._exit(exc)

    def __call__(self, func: Callable[P, R]) -> Callable[P, R]:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def around_async(*args: Any, **kwargs: Any) -> Any:
                with self._fresh():
                    return await func(*args, **kwargs)

            return around_async  # type: ignore[return-value]

        @functools.wraps(func)
        def around(*args: P.args, **kwargs: P.kwargs) -> R:
            with self._fresh():
                return func(*args, **kwargs)

        return around


class Timer(_Around):
    """Records the seconds a block or call took (``histogram.time()``, ``gauge.time()``)."""

    __slots__ = ("_record", "_start")

    def __init__(self, record: Callable[[float], None]) -> None:
        self._record = record
        self._start = 0.0

    def _enter(self) -> None:
        self._start = perf_counter()

    def _exit(self, exc: BaseException | None) -> None:
        self._record(perf_counter() - self._start)

    def _fresh(self) -> Timer:
        return Timer(self._record)


class ExceptionCounter(_Around):
    """Counts the exceptions of ``kinds`` leaving a block or call (prometheus_client's
    ``count_exceptions``)."""

    __slots__ = ("_inc", "_kinds")

    def __init__(
        self,
        inc: Callable[[], None],
        kinds: type[BaseException] | tuple[type[BaseException], ...] = Exception,
    ) -> None:
        self._inc, self._kinds = inc, kinds

    def _enter(self) -> None:
        pass

    def _exit(self, exc: BaseException | None) -> None:
        if exc is not None and isinstance(exc, self._kinds):
            self._inc()


class InProgress(_Around):
    """Counts the blocks or calls running now, up on entry and down on exit
    (prometheus_client's ``track_inprogress``)."""

    __slots__ = ("_dec", "_inc")

    def __init__(self, inc: Callable[[], None], dec: Callable[[], None]) -> None:
        self._inc, self._dec = inc, dec

    def _enter(self) -> None:
        self._inc()

    def _exit(self, exc: BaseException | None) -> None:
        self._dec()
