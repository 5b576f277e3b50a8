""" "Test connection…" runs the seven checks for a saved tunnel and shows each result."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from app.engine.checks import Outcome
from app.services.api import Services
from app.storage.paths import AppPaths
from app.ui.check_dialog import ConnectionTestDialog
from app.ui.wizard.widgets import Mark
from tests.app.ui.conftest import DEADLINE_MS
from tests.conftest import Jumphost
from tests.support.net import TcpServer, echo_handler, free_port, tcp_server


def test_a_vendor_restricted_tunnel_passes_with_end_to_end_skipped(
    qtbot: QtBot, tk_home: AppPaths, jumphost: Jumphost, echo: TcpServer
) -> None:
    jumphost.pin(tk_home)
    dialog = ConnectionTestDialog(
        Services(tk_home), jumphost.profile(echo.port), running=lambda n: None
    )
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: len(dialog.results) == 7 and not dialog.testing, timeout=DEADLINE_MS)
    assert [dialog.results[n].status for n in range(1, 8)] == [Outcome.PASS] * 6 + [Outcome.SKIPPED]
    assert [dialog.rows[n].mark for n in range(1, 8)] == [Mark.PASS] * 6 + [Mark.SKIPPED]
    assert dialog.summary.text() == "Every check that could run passed; skipped: end to end."
    assert dialog.again.isEnabled()


def test_every_check_passes_where_the_jumphost_permits_end_to_end(
    qtbot: QtBot, tk_home: AppPaths, jumphost: Jumphost, echo: TcpServer
) -> None:
    jumphost.permit_end_to_end()
    jumphost.pin(tk_home)
    dialog = ConnectionTestDialog(
        Services(tk_home), jumphost.profile(echo.port), running=lambda n: None
    )
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: len(dialog.results) == 7 and not dialog.testing, timeout=DEADLINE_MS)
    assert {r.status for r in dialog.results.values()} == {Outcome.PASS}
    assert {row.mark for row in dialog.rows.values()} == {Mark.PASS}
    assert dialog.summary.text() == "All checks passed."


def test_a_stopped_target_shows_a_red_cross_with_its_remedy(
    qtbot: QtBot, tk_home: AppPaths, jumphost: Jumphost
) -> None:
    jumphost.pin(tk_home)
    dialog = ConnectionTestDialog(
        Services(tk_home), jumphost.profile(free_port()), running=lambda n: None
    )
    qtbot.addWidget(dialog)
    told: list[tuple[str, str, object]] = []
    dialog.tested.connect(lambda *args: told.append(args))
    qtbot.waitUntil(lambda: len(dialog.results) == 7 and not dialog.testing, timeout=DEADLINE_MS)
    assert dialog.results[6].status is Outcome.FAIL
    assert dialog.rows[6].mark is Mark.FAIL and dialog.rows[6].remedy.text().startswith("→ ")
    assert dialog.summary.text().endswith("checks failed.")
    assert told and told[-1][0] == dialog.profile.name
    assert told[-1][1].endswith("1 of 7 checks failed (6)")

    # the target comes up; Run again turns the row green
    with tcp_server(echo_handler, port=dialog.profile.target_port):
        dialog.again.click()
        qtbot.waitUntil(
            lambda: len(dialog.results) == 7 and not dialog.testing, timeout=DEADLINE_MS
        )
        assert dialog.results[6].status is Outcome.PASS


def _clipped(dialog: ConnectionTestDialog) -> list[int]:
    """The rows whose text (or remedy) is shorter than its words need at its width, or
    whose light is not level with the first line of its text."""
    bad = []
    for number, row in dialog.rows.items():
        for label in (row.text, row.remedy):
            if label.isVisible() and label.height() < label.heightForWidth(label.width()):
                bad.append(number)
        if abs(row.icon.geometry().top() - row.text.geometry().top()) > 3:
            bad.append(number)
    return bad


def test_no_result_is_clipped_and_the_lights_stay_level_when_resized(
    qtbot: QtBot, tk_home: AppPaths, jumphost: Jumphost
) -> None:
    jumphost.pin(tk_home)
    dialog = ConnectionTestDialog(
        Services(tk_home), jumphost.profile(free_port()), running=lambda n: None
    )
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    qtbot.waitUntil(lambda: len(dialog.results) == 7 and not dialog.testing, timeout=DEADLINE_MS)
    for width in (dialog.width(), 900, dialog.minimumWidth()):
        dialog.resize(width, dialog.height())
        qtbot.waitUntil(lambda: not _clipped(dialog), timeout=5_000)
