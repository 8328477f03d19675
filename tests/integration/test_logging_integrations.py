"""stdlib logging and structlog feeding the same engine."""

import json
import logging
from collections.abc import MutableMapping
from typing import Any

import structlog

import observabilipy as obs


def test_stdlib_records_land_with_level_extra_and_traceback():
    """A LoggingHandler turns records into entries: message, level, logger, extra, exception."""
    with obs.Engine() as engine:
        logger = logging.getLogger("shop.checkout")
        handler = obs.LoggingHandler(engine)
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        try:
            logger.info("paid %s", "order-7", extra={"order_id": 7})
            logger.log(25, "between info and warning")
            try:
                raise KeyError("card")
            except KeyError:
                logger.exception("failed")
        finally:
            logger.removeHandler(handler)
        assert engine.flush()
        rows = engine.read_logs()
    assert [(r.level, r.message, r.logger) for r in rows] == [
        ("info", "paid order-7", "shop.checkout"),
        ("info", "between info and warning", "shop.checkout"),
        ("error", "failed", "shop.checkout"),
    ]
    assert rows[0].attributes == {"order_id": 7}
    assert "KeyError: 'card'" in rows[2].attributes["exception"]


def test_structlog_events_land_and_pass_on_unchanged():
    """A StructlogProcessor records each event and hands the same dict to the next step."""
    passed_on: list[dict[str, object]] = []

    def keep(_: object, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        passed_on.append(dict(event))
        return event

    with obs.Engine() as engine:
        log = structlog.wrap_logger(
            structlog.ReturnLogger(),
            processors=[
                structlog.processors.add_log_level,
                obs.StructlogProcessor(engine),
                keep,
            ],
        ).bind(logger="api")
        log.info("paid", order_id=7)
        log.warning("slow", seconds=2.5)
        assert engine.flush()
        rows = engine.read_logs()
    assert [(r.level, r.message, r.logger, r.attributes) for r in rows] == [
        ("info", "paid", "api", {"order_id": 7}),
        ("warning", "slow", "api", {"seconds": 2.5}),
    ]
    assert passed_on[0] == {"logger": "api", "order_id": 7, "event": "paid", "level": "info"}


def test_capture_logging_routes_stdlib_logging_in_one_line(tmp_path):
    """engine.capture_logging("INFO"): records from any logger land, debug does not;
    calling it again adds no second handler; closing the engine takes it away."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        with obs.Engine(tmp_path / "a.db") as engine:
            handler = engine.capture_logging("INFO")
            assert engine.capture_logging("INFO") is handler
            logging.getLogger("shop.payments").info("paid %s", 7)
            logging.getLogger("shop.payments").debug("not kept")
            with obs.bind(request_id="r1"):
                logging.getLogger("shop").warning("slow")
            assert engine.flush()
            rows = engine.read_logs()
        assert [(r.level, r.message, r.logger, r.attributes) for r in rows] == [
            ("info", "paid 7", "shop.payments", {}),
            ("warning", "slow", "shop", {"request_id": "r1"}),
        ]
        assert handler not in root.handlers  # the closed engine is no longer fed
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def test_capture_structlog_keeps_the_renderer_and_the_logger_name(tmp_path):
    """engine.capture_structlog(): events land with the name given to get_logger, and
    the configured renderer still renders them, unchanged."""
    rendered: list[str] = []

    class Collect:
        def msg(self, message: str) -> None:
            rendered.append(message)

        info = warning = msg

    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.JSONRenderer()],
        logger_factory=lambda *args: Collect(),
        cache_logger_on_first_use=False,
    )
    try:
        with obs.Engine(tmp_path / "s.db") as engine:
            engine.capture_structlog()
            engine.capture_structlog()  # once is enough
            structlog.get_logger("payments").info("paid", order_id=7)
            assert engine.flush()
            rows = engine.read_logs()
        assert [(r.level, r.message, r.logger, r.attributes) for r in rows] == [
            ("info", "paid", "payments", {"order_id": 7})
        ]
        assert json.loads(rendered[0]) == {"event": "paid", "order_id": 7, "level": "info"}
    finally:
        structlog.reset_defaults()
