"""A Teams or Slack webhook URL is a credential: once the app's monitoring is configured, sending
to it writes no log record that holds it, even with the root logger at INFO (as the Functions
worker sets it, forwarding every record to the host and Application Insights)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from dq_core.actions.chat import run_chat
from dq_core.libraries.actions import ChatAction
from monitoring import telemetry
from monitoring.logging_context import LOGGER
from tests.action_servers import action_context, http_receiver

TOKEN = "XoXbSeCrEtWebhookToken42"  # noqa: S105 - a made-up webhook token


@pytest.fixture
def quieted() -> Iterator[None]:
    """The loggers as a fresh worker process has them; afterwards, as they were."""
    levels = {name: logging.getLogger(name).level for name in (*telemetry.QUIETED_LOGGERS, LOGGER)}
    handlers = list(logging.getLogger(LOGGER).handlers)
    try:
        for name in telemetry.QUIETED_LOGGERS:
            logging.getLogger(name).setLevel(logging.NOTSET)
        yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        dq = logging.getLogger(LOGGER)
        for handler in [h for h in dq.handlers if h not in handlers]:  # configure_monitoring's
            dq.removeHandler(handler)


def _send(tmp_path: Path, url: str) -> str:
    ctx = action_context(tmp_path, secrets={"slack-url": url})
    action = ChatAction.model_validate(
        {"id": "slack", "type": "slack", "webhook_url": "secret://slack-url", "backoff_seconds": 0.01}
    )
    outcome = run_chat(action, ctx)
    assert outcome.status == "delivered", outcome.detail
    return outcome.detail


@pytest.mark.usefixtures("quieted")
def test_the_webhook_url_is_not_logged_once_monitoring_is_configured(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with http_receiver() as receiver, caplog.at_level(logging.INFO):
        url = f"{receiver.url}/services/T000/B000/{TOKEN}"
        _send(tmp_path / "before", url)
        assert TOKEN in caplog.text, "without the app's configuration httpx logs the URL (what this test guards)"
        caplog.clear()

        telemetry.configure_monitoring()
        detail = _send(tmp_path / "after", url)
    assert TOKEN not in caplog.text
    assert TOKEN not in detail
    assert len(receiver.requests) == 2
