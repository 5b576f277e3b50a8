"""Page 6: the connection test, one row per check, run off the GUI thread."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from app.core.profile import Profile, format_hostport
from app.engine.checks import DROPPED, NAMES, CheckResult, Outcome
from app.engine.route import first_dialled, hops_of
from app.errors import TunnelkeeperError
from app.services.api import Services
from app.services.hostkeys import HostKey
from app.ui import system_proxy
from app.ui.wizard import keying, trial
from app.ui.wizard.check_list import CheckList
from app.ui.wizard.draft import Draft
from app.ui.wizard.route import Page
from app.ui.wizard.task import PageTask
from app.ui.wizard.widgets import AMBER, GREEN, GREY, RED, Note, message_of

REACHABLE = 2
AUTHENTICATION = 4
END_TO_END = 7
NOT_ACCEPTED_YET = (
    "The jumphost does not accept the key yet: vendors add it some time after you paste "
    "it. Run again once they have, or save now: the tunnel then keeps trying and connects "
    "by itself as soon as they add it."
)


def key_not_accepted(results: dict[int, CheckResult]) -> bool:
    """The one failure is the jumphost refusing the key (not a dropped connection): what
    happens until the vendor adds the pasted public key, and what the tunnel retries."""
    failed = [r for _, r in sorted(results.items()) if r.status is Outcome.FAIL]
    return (
        len(failed) == 1
        and failed[0].number == AUTHENTICATION
        and failed[0].remedy != DROPPED
        and all(results.get(n) is not None and results[n].status is Outcome.PASS for n in (1, 2, 3))
    )


@dataclass(frozen=True)
class Tested:
    """What the page needs besides the checks: whether the host dialled first (the first
    jump host, else the jumphost) was dialled directly (no proxy of the tunnel's own, none
    from the system settings), the proxy the system settings name for it ("" for none),
    and that host as people read it ("the first jump host bastion.corp:22")."""

    direct: bool
    detected: str
    first: str = "the jumphost"


def first_host(profile: Profile) -> str:
    """The host a connection dials first, named for people: "the first jump host
    bastion.corp:22", else "the jumphost vendor.example:50683". Raises InvalidField."""
    where = format_hostport(*first_dialled(profile))
    return f"the first jump host {where}" if hops_of(profile) else f"the jumphost {where}"


def route_tested(profile: Profile, env: Mapping[str, str] | None = None) -> Tested:
    """The route the checks took (blocks: the system settings may run a PAC script): the
    system proxy is looked up for the host dialled first, as the engine dials it."""
    try:
        direct = system_proxy.route_now(profile, env).proxy is None
        first = first_host(profile)
    except TunnelkeeperError:
        return Tested(False, "")  # the proxy or jump hosts are wrong: check 2 says so
    return Tested(direct, system_proxy.detected(*first_dialled(profile)), first)


def test(
    services: Services,
    profile: Profile,
    load: Callable[[Profile], Any],
    running: Callable[[str], int | None],
    progress: Callable[[Any], None],
    pending: list[HostKey],
    proxy_password: str | None,
) -> Tested:
    """On a worker: every check (``trial.run_checks``), then the route they took."""
    env = system_proxy.environment_for(profile)
    trial.run_checks(services, profile, load, running, progress, pending, proxy_password, env)
    return route_tested(profile, env)


def proxy_question(tested: Tested) -> str:
    """The offer under a check 2 that failed on a direct connection, naming the host the
    proxy matters for (the first jump host when there are jump hosts)."""
    if tested.detected:
        return (
            f"Does your network use a proxy? This computer's settings name {tested.detected} "
            f"for {tested.first}: go back and choose the system settings as the proxy."
        )
    return (
        "Does your network use a proxy? Many networks only let connections out through "
        f"one. This computer's settings name none for {tested.first}: ask your network "
        "team for its address and go back to type it in."
    )


class ChecksPage(QWizardPage):
    def __init__(
        self,
        draft: Draft,
        running: Callable[[str], int | None],
        held_key: Callable[[str], Any] = lambda path: None,
    ) -> None:
        super().__init__()
        self.setObjectName("checks")
        self.draft = draft
        self._running, self._held_key = running, held_key
        self.setTitle("Test the tunnel")
        self.setSubTitle("Every step from this computer to the vendor, tried for real.")
        self._showing = True  # progress belongs to the run the rows show
        self._rerun = False  # the settings changed while a run was still going
        self._task = PageTask(self, "connection-test", self._finished, self._crashed, self._report)

        self.check_list = CheckList()
        self.check_list.column.setContentsMargins(0, 0, 4, 0)  # room for the scroll bar
        self.rows, self.results = self.check_list.rows, self.check_list.results
        scroll = QScrollArea()
        scroll.setWidget(self.check_list)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.summary = Note()
        self.again = QPushButton("&Run again")
        self.again.clicked.connect(self.run)
        self._build_key_actions()
        self._tested: Tested | None = None
        self.proxy_note = Note(AMBER)
        self.use_proxy = QPushButton("Set a &proxy…")
        self.use_proxy.setToolTip("Back to the jumphost page, to its Proxy field")
        self.use_proxy.clicked.connect(self._to_proxy)
        self.proxy_offer = QWidget()
        offer = QHBoxLayout(self.proxy_offer)
        offer.setContentsMargins(28, 0, 0, 4)
        offer.addWidget(self.proxy_note, 1)
        offer.addWidget(self.use_proxy, 0, Qt.AlignmentFlag.AlignTop)
        self.proxy_offer.hide()
        self.check_list.column.insertWidget(REACHABLE, self.proxy_offer)  # after row 2

        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.again, 0, Qt.AlignmentFlag.AlignLeft)

    def _build_key_actions(self) -> None:
        """Under the authentication row: what to do while the vendor has not added the key."""
        self.copy_key = QPushButton("&Copy public key")
        self.copy_key.setToolTip("Copy the public key again, to paste it at the vendor")
        self.copy_key.clicked.connect(self._copy_key)
        self.keep_trying = QPushButton("&Save and keep trying")
        self.keep_trying.setToolTip(
            "Save the tunnel and start it: it retries until the vendor adds the key"
        )
        self.keep_trying.clicked.connect(self._keep_trying)
        self.copied = Note(GREY)
        self.key_actions = QWidget()
        row = QHBoxLayout(self.key_actions)
        row.setContentsMargins(28, 0, 0, 4)  # under the row's text, not its icon
        row.addWidget(self.copy_key)
        row.addWidget(self.keep_trying)
        row.addWidget(self.copied, 1)
        self.key_actions.hide()
        self.check_list.column.insertWidget(AUTHENTICATION, self.key_actions)  # after row 4

    @property
    def testing(self) -> bool:
        """A test run (perhaps an earlier one) is still going."""
        return self._task.in_flight > 0

    # --- running ------------------------------------------------------------------------

    def initializePage(self) -> None:
        self.run()  # each time: any page before may have changed something

    def run(self) -> None:
        self.check_list.clear()
        self.draft.keep_trying = False
        self.key_actions.hide()
        self.proxy_offer.hide()
        self._tested = None
        self.copied.say("")
        self.again.setEnabled(False)
        self.completeChanged.emit()
        if self._task.in_flight:
            # The earlier run still holds the jumphost's port; start when it lets go.
            self._showing, self._rerun = False, True
            self.summary.say("Waiting for the earlier test to finish…", GREY)
            return
        draft = self.draft
        try:
            profile = draft.profile(draft.suggested_name())
        except TunnelkeeperError as exc:
            self._crashed(exc)
            return
        load = keying.key_loader(draft.passphrase, draft.services.keys, self._held_key)
        services, running, pending = draft.services, self._running, list(draft.pending_pins)
        typed = draft.proxy_password
        self._showing = True
        self.check_list.start()
        self.summary.say("Testing…", GREY)
        self._task.start(
            lambda progress: test(services, profile, load, running, progress, pending, typed)
        )

    def _report(self, value: Any) -> None:
        if not self._showing:
            return
        self.check_list.record(value)

    def _finished(self, value: object) -> None:
        if self._rerun:
            self._rerun = False
            self.run()
            return
        self._tested = value if isinstance(value, Tested) else None
        self.again.setEnabled(True)
        self._summarise()
        self.completeChanged.emit()

    def _crashed(self, exc: Exception) -> None:
        self.check_list.halt()
        if self._rerun:
            self._finished(None)
            return
        self.again.setEnabled(True)
        self.summary.say(f"The test could not run: {message_of(exc)}", RED)
        self.completeChanged.emit()

    def _summarise(self) -> None:
        self._offer_proxy()
        failed = self.check_list.with_outcome(Outcome.FAIL)
        skipped = self.results.get(END_TO_END)
        if key_not_accepted(self.results):
            self.copy_key.setVisible(bool(self.draft.public_line))  # the Key page read it
            self.key_actions.show()
            self.summary.say(NOT_ACCEPTED_YET, AMBER)
        elif failed:
            self.summary.say(
                f"{len(failed)} of {len(NAMES)} checks failed: fix what is shown in red "
                "(Back changes the settings), then Run again.",
                RED,
            )
        elif self.ready() and skipped is not None and skipped.status is Outcome.SKIPPED:
            self.summary.say(
                "Every check that could run passed, but the end-to-end check was skipped "
                f"(see 7), so delivery is not proven yet. You can go on; {skipped.remedy}",
                AMBER,
            )
        elif self.ready():
            self.summary.say("All checks passed.", GREEN)
        else:
            self.summary.say("The test did not finish; Run again.", RED)

    def ready(self) -> bool:
        """Checks 1 to 6 passed, and end to end passed or was skipped."""
        statuses = [self.results[n].status if n in self.results else None for n in NAMES]
        return all(s is Outcome.PASS for s in statuses[:-1]) and statuses[-1] in (
            Outcome.PASS,
            Outcome.SKIPPED,
        )

    # --- the jumphost not reached directly ---------------------------------------------

    def _offer_proxy(self) -> None:
        """Check 2 failed on a direct connection: perhaps only a proxy may go out."""
        reached = self.results.get(REACHABLE)
        tested = self._tested
        if reached is None or reached.status is not Outcome.FAIL or tested is None:
            return
        if not tested.direct:
            return  # through a proxy: check 2 names the proxy's trouble itself
        self.proxy_note.say(proxy_question(tested), AMBER)
        wizard = self.wizard()
        self.use_proxy.setEnabled(wizard is not None and Page.ENDPOINT in wizard.visitedIds())
        self.proxy_offer.show()

    def _to_proxy(self) -> None:
        wizard, tested = self.wizard(), self._tested
        if wizard is None or tested is None or self.testing:
            return
        while wizard.currentId() != Page.ENDPOINT and Page.ENDPOINT in wizard.visitedIds():
            wizard.back()
        endpoint = wizard.page(Page.ENDPOINT)
        if wizard.currentId() == Page.ENDPOINT and hasattr(endpoint, "offer_proxy"):
            endpoint.offer_proxy(tested.detected)

    # --- the key not accepted yet --------------------------------------------------------

    def _copy_key(self) -> None:
        QGuiApplication.clipboard().setText(self.draft.public_line)
        self.copied.say("The public key is on the clipboard.", GREY)

    def _keep_trying(self) -> None:
        if self.testing or not key_not_accepted(self.results):
            return
        self.draft.keep_trying = True
        self.completeChanged.emit()
        self.wizard().next()

    # --- QWizardPage --------------------------------------------------------------------

    def isComplete(self) -> bool:
        return not self.testing and (self.ready() or self.draft.keep_trying)
