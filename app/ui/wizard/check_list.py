"""The connection test's seven rows and the results behind them, for the wizard and the tray."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.engine.checks import NAMES, CheckResult, Outcome
from app.ui.wizard.widgets import CheckRow, Mark, show_result


class CheckList(QWidget):
    """One row per check, top to bottom; ``results`` holds what the current run reported."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows = {number: CheckRow(number, name) for number, name in NAMES.items()}
        self.results: dict[int, CheckResult] = {}
        self.column = QVBoxLayout(self)
        self.column.setContentsMargins(0, 0, 0, 0)
        self.column.setSpacing(4)
        for row in self.rows.values():
            self.column.addWidget(row)
        self.column.addStretch(1)

    def clear(self) -> None:
        """Forget the last run: no results, every row pending."""
        self.results.clear()  # in place: the dialog or page showing the rows holds it too
        for row in self.rows.values():
            row.show_state(Mark.PENDING)

    def start(self) -> None:
        """A run begins with the first check."""
        self.rows[1].show_state(Mark.RUNNING)

    def record(self, result: CheckResult) -> None:
        """One check finished; the next one (checks run in order) is now running."""
        self.results[result.number] = result
        show_result(self.rows, result)

    def halt(self) -> None:
        """The run stopped early: the check it was on goes back to pending."""
        for row in self.rows.values():
            if row.mark is Mark.RUNNING:
                row.show_state(Mark.PENDING)

    def with_outcome(self, outcome: Outcome) -> list[CheckResult]:
        """The results of this run that came out as ``outcome``, in check order."""
        return [r for _, r in sorted(self.results.items()) if r.status is outcome]
