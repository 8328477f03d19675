"""Fields bound to the current context (a request, a task) that every log entry carries.

``obs.bind(user="ann")`` adds ``user`` to each entry logged afterwards in the same
context: the same asyncio task, or the same thread, and the tasks and threads that
copy it (``asyncio.create_task``, Starlette's and asgiref's thread hops). Used as a
context manager it undoes itself on exit; request middleware binds ``request_id`` so.
An entry's own attributes win over bound ones, and ``Logger.bind`` fields over both.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar, Token
from types import MappingProxyType, TracebackType
from typing import Any, Final

_EMPTY: Final[Mapping[str, Any]] = MappingProxyType({})
#: The fields bound in this context; never mutated, replaced whole.
FIELDS: Final[ContextVar[Mapping[str, Any]]] = ContextVar("observabilipy_fields", default=_EMPTY)


class Binding:
    """Fields bound by ``bind``; as a context manager, unbound again on exit."""

    __slots__ = ("_token",)

    def __init__(self, token: Token[Mapping[str, Any]]) -> None:
        self._token = token

    def __enter__(self) -> Binding:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.unbind()

    def unbind(self) -> None:
        """Restore the fields bound before this binding."""
        FIELDS.reset(self._token)


def bind(**fields: Any) -> Binding:
    """Add ``fields`` to every log entry recorded from now on in this context."""
    return Binding(FIELDS.set(MappingProxyType({**FIELDS.get(), **fields})))


def bound() -> Mapping[str, Any]:
    """The fields bound in this context."""
    return FIELDS.get()
