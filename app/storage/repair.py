"""`tunnelkeeper repair`: check every file the app keeps and move broken ones aside."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.core import knownhosts
from app.errors import CorruptConfigFile
from app.storage import fileio, hostkeys, runstate
from app.storage.paths import AppPaths
from app.storage.store import ProfileStore
from app.ui import settings


@dataclass(frozen=True)
class Finding:
    """One file we own: fine (``problem`` None) or the sentence saying why it is not."""

    path: Path
    problem: str | None
    fine: str  # what to print when it is fine, after the path ("" prints nothing)
    question: str  # asked before moving it aside
    after: str  # what moving it aside means, after "Moved to NEW;"
    move: Callable[[], Path]


def _checked(path: Path, check: Callable[[], str | None]) -> str | None:
    """The check's sentence; anything it raises becomes the sentence (repair never crashes)."""
    try:
        return check()
    except CorruptConfigFile as exc:
        return str(exc)
    except Exception as exc:  # RecursionError, MemoryError, OSError, a bug: still a report
        return str(CorruptConfigFile(str(path), f"{type(exc).__name__}: {exc}"))


def _present(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return True  # there, but not even its details can be read: the check says why


def _profiles(paths: AppPaths) -> Finding:
    store = ProfileStore(paths.profiles_file)
    count: list[int] = []

    def check() -> str | None:
        count.append(len(store.load()))
        return None

    problem = _checked(store.path, check)
    return Finding(
        store.path,
        problem,
        f"is fine ({count[0] if count else 0} tunnels)",
        "Move the file aside (kept, renamed) and start with no tunnels? [y/N] ",
        "Tunnelkeeper starts with no tunnels",
        store.move_aside,
    )


def _known_hosts(paths: AppPaths) -> Finding:
    path = paths.known_hosts_file
    summary: list[str] = []

    def check() -> str | None:
        parsed = knownhosts.parse(hostkeys.read_text(path))
        text = f"is fine ({len(parsed.entries)} host keys"
        if parsed.problems:
            first = parsed.problems[0]
            text += (
                f"; {len(parsed.problems)} lines are skipped, the first is line "
                f"{first.line_number}: {first.reason}"
            )
        summary.append(text + ")")
        return None

    problem = _checked(path, check)
    return Finding(
        path,
        problem,
        summary[0] if summary and _present(path) else "",
        "Move the file aside (kept, renamed) and trust no host key until "
        "`tunnelkeeper trust` is run again? [y/N] ",
        "no host key is trusted now: run `tunnelkeeper trust NAME` again for each tunnel",
        lambda: fileio.move_aside(path),
    )


def _settings(paths: AppPaths) -> Finding:
    path = paths.config_dir / settings.FILE_NAME

    def check() -> str | None:
        why = settings.read_settings(path)[1]
        return None if why is None else str(CorruptConfigFile(str(path), why))

    return Finding(
        path,
        _checked(path, check),
        "is fine" if _present(path) else "",
        "Move the file aside (kept, renamed) and start from default settings? [y/N] ",
        "the desktop app starts from default settings",
        lambda: fileio.move_aside(path),
    )


def _run_state(path: Path) -> Finding:
    def check() -> str | None:
        why = runstate.problem_of(path)
        return None if why is None else str(CorruptConfigFile(str(path), why))

    return Finding(
        path,
        _checked(path, check),
        "",
        "Move the file aside (kept, renamed)? A running tunnel writes a new one. [y/N] ",
        "`tunnelkeeper status` no longer reads it",
        lambda: fileio.move_aside(path),
    )


def survey(paths: AppPaths) -> list[Finding]:
    """Every file the app keeps and reads back, checked without changing anything."""
    found = [_profiles(paths), _known_hosts(paths), _settings(paths)]
    found += [_run_state(path) for path in runstate.state_files(paths.runtime_dir)]
    return found
