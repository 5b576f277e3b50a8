"""The Qt binding keeps Python's reference counts straight (PySide6 6.12.0 on 3.11 did not)."""

from __future__ import annotations

import gc
import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QCheckBox
from pytestqt.qtbot import QtBot

CALLS = 2000


class _Emitter(QObject):
    fired = Signal(object)


def test_void_calls_and_emits_do_not_drop_references_to_none_or_true(qtbot: QtBot) -> None:
    emitter, box = _Emitter(), QCheckBox()
    qtbot.addWidget(box)
    emitter.fired.connect(lambda _value: None)
    gc.collect()
    before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(CALLS):
        box.setChecked(True)
        emitter.fired.emit(1)
    gc.collect()
    after = sys.getrefcount(None), sys.getrefcount(True)
    # a broken binding loses one reference per call (2000 here); allow noise from the
    # interpreter itself. On 3.12+ the counts are immortal and do not move at all.
    assert after[0] - before[0] > -CALLS // 4, f"None lost {before[0] - after[0]} references"
    assert after[1] - before[1] > -CALLS // 4, f"True lost {before[1] - after[1]} references"
