"""The frozen app, built once per session exactly as `make dist` builds it."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.cli import ROOT

BUILD_TIMEOUT = 1200.0  # seconds: a first PyInstaller run on a slow 2-core machine


def load_script(relative: str) -> ModuleType:
    """Import one of the build scripts (they are files, not a package)."""
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and pickling look modules up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def frozen_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dist/tunnelkeeper/ from pyinstaller.spec, built into a temporary folder."""
    if not sys.platform.startswith("linux"):
        pytest.fail("the frozen-app tests build the Linux app; run them on Linux")
    out = tmp_path_factory.mktemp("pyinstaller")
    result = subprocess.run(
        [
            sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
            "--workpath", str(out / "work"), "--distpath", str(out / "dist"),
            str(ROOT / "pyinstaller.spec"),
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    folder = out / "dist" / "tunnelkeeper"
    assert (folder / "tunnelkeeper").is_file(), result.stderr[-4000:]
    return folder
