"""Structured logs: the context fields on every record, JSON lines, human text, the CLI's choice."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator

import pytest

from app.settings import LogFormat, get_settings
from monitoring.logging_context import (
    FIELDS,
    LOGGER,
    configure_cli_logging,
    configure_logging,
    current_context,
    log_context,
)


@pytest.fixture
def dq_logger() -> Iterator[logging.Logger]:
    """The ``dq`` logger, restored after the test (handlers, level)."""
    logger = logging.getLogger(LOGGER)
    handlers, level = list(logger.handlers), logger.level
    yield logger
    logger.handlers[:] = handlers
    logger.setLevel(level)


def test_json_lines_carry_the_context_fields(dq_logger: logging.Logger) -> None:
    stream = io.StringIO()
    configure_logging(LogFormat.JSON, stream=stream)
    context = {
        "tenant": "contoso",
        "environment": "dev",
        "run_id": "r-1",
        "job_id": "customers_daily",
        "stage": "validate",
        "correlation_id": "c-9",
        "action_id": "data_team_webhook",
    }
    assert set(context) == set(FIELDS)
    with log_context(**context):
        logging.getLogger("dq.stages").info("validated %d rules", 12, extra={"rules": 12})
    logging.getLogger("dq.stages").warning("outside any run")
    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert {k: inside[k] for k in FIELDS} == context
    assert inside["message"] == "validated 12 rules" and inside["rules"] == 12
    assert inside["level"] == "INFO" and inside["logger"] == "dq.stages" and inside["timestamp"]
    assert not set(FIELDS) & set(outside) and outside["level"] == "WARNING"


def test_contexts_nest_and_come_back(dq_logger: logging.Logger) -> None:
    with log_context(tenant="contoso", run_id="r-1"):
        with log_context(stage="ingest", action_id=None):
            assert dict(current_context()) == {"tenant": "contoso", "run_id": "r-1", "stage": "ingest"}
        assert dict(current_context()) == {"tenant": "contoso", "run_id": "r-1"}
    assert dict(current_context()) == {}
    with pytest.raises(ValueError, match="unknown log context fields"), log_context(tennant="typo"):
        pass


def test_threads_do_not_share_a_context(dq_logger: logging.Logger) -> None:
    stream = io.StringIO()
    configure_logging(LogFormat.JSON, stream=stream)
    barrier = threading.Barrier(2)

    def work(tenant: str) -> None:
        with log_context(tenant=tenant, run_id=f"run-{tenant}"):
            barrier.wait()  # both contexts are set at the same time
            logging.getLogger("dq.x").info("from %s", tenant)

    threads = [threading.Thread(target=work, args=(t,)) for t in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert sorted((line["tenant"], line["run_id"], line["message"]) for line in lines) == [
        ("a", "run-a", "from a"),
        ("b", "run-b", "from b"),
    ]


def test_text_format_is_human_and_configuring_twice_keeps_one_handler(dq_logger: logging.Logger) -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging(LogFormat.TEXT, stream=first)
    configure_logging(LogFormat.TEXT, level=logging.WARNING, stream=second)
    with log_context(tenant="contoso", stage="ingest"):
        logging.getLogger("dq.ingest").warning("delimiter guessed")
        logging.getLogger("dq.ingest").info("not shown at WARNING")
    assert first.getvalue() == ""
    assert second.getvalue() == "WARNING dq.ingest: delimiter guessed [tenant=contoso stage=ingest]\n"


def test_the_cli_stays_quiet_in_text_format_and_writes_json_when_asked(
    dq_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    get_settings.cache_clear()
    monkeypatch.delenv("DQ_LOG_FORMAT", raising=False)
    try:
        assert configure_cli_logging() is None  # stderr is for the CLI's own one-line messages
        debug = configure_cli_logging(debug=True)
        assert debug is not None and debug.level == logging.DEBUG
        monkeypatch.setenv("DQ_LOG_FORMAT", "json")
        get_settings.cache_clear()
        handler = configure_cli_logging()
        assert handler is not None and handler.level == logging.INFO
        assert type(handler.formatter).__name__ == "JsonFormatter"
        assert sum(h is handler for h in dq_logger.handlers) == 1 and debug not in dq_logger.handlers
    finally:
        get_settings.cache_clear()
