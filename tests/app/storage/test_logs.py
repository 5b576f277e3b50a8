"""Engine log lines start with the tunnel's name; paramiko's logger is quieted in one place."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from app.storage.logs import TunnelLog, quiet_paramiko, tunnel_log


@pytest.fixture
def paramiko_level() -> Iterator[None]:
    logger = logging.getLogger("paramiko")
    level = logger.level
    yield
    logger.setLevel(level)


def test_every_line_starts_with_the_tunnel_name(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("tunnelkeeper.test-tunnel-log")
    adapter = TunnelLog(logger, "warehouse")
    with caplog.at_level(logging.INFO, logger=logger.name):
        adapter.warning("target %s refused: %s", "db:3306", "100% busy")
        adapter.info("no arguments, 100% literal")
        try:
            raise ValueError("boom")
        except ValueError:
            adapter.exception("unexpected failure")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "[warehouse] target db:3306 refused: 100% busy",
        "[warehouse] no arguments, 100% literal",
        "[warehouse] unexpected failure",
    ]
    assert caplog.records[-1].exc_info is not None
    assert {r.name for r in caplog.records} == {logger.name}


def test_without_a_tunnel_the_logger_is_as_it_is() -> None:
    logger = logging.getLogger("tunnelkeeper.test-tunnel-log")
    assert tunnel_log(logger, None) is logger
    assert isinstance(tunnel_log(logger, "db"), TunnelLog)


@pytest.mark.usefixtures("paramiko_level")
def test_paramiko_is_quiet_unless_verbose() -> None:
    quiet_paramiko()
    assert logging.getLogger("paramiko").level == logging.CRITICAL
    quiet_paramiko(verbose=True)
    assert logging.getLogger("paramiko").level == logging.DEBUG
