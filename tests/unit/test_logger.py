"""The logger facade: entries with level, logger name, attributes and tracebacks."""

import pytest

from observabilipy import InMemoryLogStorage, LogEntry, Logger


def make_logger(**kwargs):
    storage = InMemoryLogStorage()
    return Logger("checkout", storage.write, clock=lambda: 1700000000.5, **kwargs), storage


def test_info_records_message_attributes_and_logger_name():
    """log.info("paid", order_id=7) stores one entry with everything given."""
    log, storage = make_logger()
    log.info("paid", order_id=7, amount=9.5)
    assert storage.read() == [
        LogEntry(1700000000.5, "info", "paid", {"order_id": 7, "amount": 9.5}, "checkout")
    ]


def test_every_level_method_records_its_canonical_level():
    """debug/info/warning/warn/error/critical/log record the matching lowercase level."""
    log, storage = make_logger()
    log.debug("d")
    log.info("i")
    log.warning("w")
    log.warn("w2")
    log.error("e")
    log.critical("c")
    log.log("FATAL", "f")
    log.log(30, "n")
    assert [(e.level, e.message) for e in storage.read()] == [
        ("debug", "d"),
        ("info", "i"),
        ("warning", "w"),
        ("warning", "w2"),
        ("error", "e"),
        ("critical", "c"),
        ("critical", "f"),
        ("warning", "n"),
    ]


def test_entries_below_the_minimum_level_are_skipped():
    """A logger at warning drops debug and info but keeps the rest."""
    log, storage = make_logger(level="WARN")
    log.debug("d")
    log.info("i")
    log.log("info", "i2")
    log.warning("w")
    log.exception("e")
    assert [e.message for e in storage.read()] == ["w", "e"]


def test_exception_captures_the_traceback():
    """exception() inside an except block stores the formatted traceback at error level."""
    log, storage = make_logger()
    try:
        raise RuntimeError("card declined")
    except RuntimeError:
        log.exception("payment failed", order_id=7)
    [entry] = storage.read()
    assert entry.level == "error"
    assert entry.attributes["order_id"] == 7
    assert entry.attributes["exception"].startswith("Traceback (most recent call last):")
    assert entry.attributes["exception"].endswith("RuntimeError: card declined")


def test_exception_outside_an_except_block_adds_no_traceback():
    """exception() with no exception being handled records a plain error."""
    log, storage = make_logger()
    log.exception("odd")
    assert storage.read()[0].attributes == {}


def test_bind_adds_attributes_to_a_child_only():
    """bind() returns a child whose entries carry the bound attributes; call attributes win."""
    log, storage = make_logger()
    child = log.bind(request_id="r1", user="a")
    child.info("one", user="b")
    log.info("two")
    grandchild = child.bind(step=2)
    grandchild.info("three")
    assert [e.attributes for e in storage.read()] == [
        {"request_id": "r1", "user": "b"},
        {},
        {"request_id": "r1", "user": "a", "step": 2},
    ]


def test_non_text_messages_are_turned_into_text():
    """A non-str message is stored as str(message), as stdlib logging would print it."""
    log, storage = make_logger()
    log.info(ValueError("bad"))
    assert storage.read()[0].message == "bad"


def test_bad_logger_name_and_level_are_refused():
    """A non-str logger name is a TypeError; an unknown level a ValueError."""
    with pytest.raises(TypeError, match="logger name"):
        Logger(3, print)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="loud"):
        Logger("x", print, level="loud")


def test_stdlib_style_arguments_are_formatted_as_logging_does():
    """Positional arguments fill %-placeholders; a single mapping fills %(name)s ones."""
    log, storage = make_logger()
    log.info("took %.1f s for %d items", 1.25, 3)
    log.info("%(who)s paid %(amount)s", {"who": "ann", "amount": 9})
    log.info("%d%%", 50)
    assert [e.message for e in storage.read()] == ["took 1.2 s for 3 items", "ann paid 9", "50%"]


def test_arguments_that_do_not_fit_are_kept_beside_the_message():
    """Where logging would print a traceback and lose the record, the entry keeps the
    message as given and the arguments' text as the ``args`` attribute."""
    log, storage = make_logger()
    log.info("no placeholders", 1, None)
    log.info("%d", "not a number")
    assert [(e.message, e.attributes) for e in storage.read()] == [
        ("no placeholders", {"args": ["1", "None"]}),
        ("%d", {"args": ["not a number"]}),
    ]


def test_a_message_whose_str_raises_is_stored_as_a_placeholder():
    """The call returns normally; the message names the type that could not be printed."""

    class Broken:
        def __str__(self):
            raise RuntimeError("no")

    log, storage = make_logger()
    log.warning(Broken())
    log.log("nonsense", "unknown level")
    assert [(e.level, e.message, e.attributes) for e in storage.read()] == [
        ("warning", "<unprintable Broken>", {}),
        ("info", "unknown level", {"level": "nonsense"}),
    ]


def test_a_logger_in_a_reference_cycle_is_collected():
    """An object a logger's context holds, that holds the logger, goes with it: the
    cyclic collector sees what a logger refers to (on either backend)."""
    import gc
    import weakref

    class Holder:
        log: Logger

    holder = Holder()
    holder.log = Logger("x", print, context={"holder": holder})
    gone = weakref.ref(holder)
    del holder
    gc.collect()
    assert gone() is None


def test_a_copied_logger_records_into_the_same_sink_with_its_own_context():
    """``copy.copy`` and ``copy.deepcopy`` give a logger on the same sink, level and
    clock (as copies of stdlib loggers are the logger itself); the deep copy's context
    is copied too, so changing one never changes the other."""
    import copy

    tags = ["a"]
    log, storage = make_logger(level="warning", context={"tags": tags})
    shallow, deep = copy.copy(log), copy.deepcopy(log)
    assert shallow is not log
    tags.append("b")
    shallow.info("skipped: below the level")
    shallow.warning("shallow")
    deep.error("deep", k=1)
    assert storage.read() == [
        LogEntry(1700000000.5, "warning", "shallow", {"tags": ["a", "b"]}, "checkout"),
        LogEntry(1700000000.5, "error", "deep", {"tags": ["a"], "k": 1}, "checkout"),
    ]
