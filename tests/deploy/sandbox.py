"""A process run the way a container runs it, without a container engine: in a mount
namespace of its own where every file system is read-only but its writable volumes, with
its volumes at the paths the image and manifests name, as a non-root user with no
capabilities, and with exactly the container's environment (needs root: unshare, setpriv)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

# mounts a container engine gives a container of its own, left as they are
_KERNEL = ("/proc", "/sys", "/dev", "/dev/pts", "/dev/mqueue")


@dataclass(frozen=True)
class Mount:
    """``source`` (a host file or folder) at ``target`` in the container."""

    target: str
    source: Path
    writable: bool = False


@dataclass
class Sandbox:
    """Where, as whom and with what the container's processes run. ``scratch`` (a folder
    of the test's) holds the overlays that make mount points where the host has none."""

    mounts: list[Mount]
    env: dict[str, str]
    uid: int
    gid: int
    scratch: Path
    groups: list[int] = field(default_factory=list)
    _overlays: dict[Path, str] = field(default_factory=dict, init=False)  # upper -> base

    def available(self) -> str | None:
        """Why this machine cannot run it, or None."""
        if os.geteuid() != 0:
            return "running a process as a container does needs root (unshare, setpriv)"
        missing = [t for t in ("unshare", "setpriv", "nsenter", "mount") if not shutil.which(t)]
        return f"missing {', '.join(missing)} (util-linux)" if missing else None

    def start(
        self, argv: list[str], out: int | IO[Any], err: int | IO[Any]
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` in a new mount namespace (its PID is the container's process)."""
        return subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
             self.script(argv)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd="/",
        )  # fmt: skip

    def run(self, argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` to its end in a namespace of its own (an init container)."""
        return subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
             self.script(argv)],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, cwd="/",
        )  # fmt: skip

    def exec_in(
        self, pid: int, argv: list[str], timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` beside process ``pid``, in its mount namespace, as the container's
        user with its environment: ``docker exec``, a HEALTHCHECK, an exec probe."""
        return subprocess.run(
            ["nsenter", f"--target={pid}", "--mount", "--", *self._as_user(argv)],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, cwd="/",
        )  # fmt: skip

    def _as_user(self, argv: list[str]) -> list[str]:
        groups = (
            [f"--groups={','.join(map(str, self.groups))}"] if self.groups else ["--clear-groups"]
        )
        return [
            "setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", *groups,
            "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--",
            "env", "-i", "-C", "/", *(f"{k}={v}" for k, v in self.env.items()), *argv,
        ]  # fmt: skip

    def script(self, argv: list[str]) -> str:
        """The shell script that builds the container's mounts, then becomes ``argv``."""
        for path in [self.scratch, *(m.source for m in self.mounts)]:
            hidden = [m.target for m in self.mounts if path.is_relative_to(m.target)]
            assert not hidden, f"{path} would be hidden by the mount at {hidden[0]}"
        lines = ["set -eu"]
        made: set[str] = set()
        overlaid: list[str] = []
        for mount in sorted(self.mounts, key=lambda m: m.target.count("/")):
            target = PurePosixPath(mount.target)
            if not _exists(target, made):
                base = _nearest_existing(target, made)
                if not any(base.is_relative_to(o) for o in overlaid):
                    assert str(base) != "/", f"{target}: no folder to make it in"
                    lines += self._overlay(str(base))
                    overlaid.append(str(base))
                parent = target if mount.source.is_dir() else target.parent
                lines.append(f"mkdir -p {shlex.quote(str(parent))}")
                if not mount.source.is_dir():
                    lines.append(f": > {shlex.quote(str(target))}")
                made |= {str(p) for p in (target, *target.parents)}
            source, where = shlex.quote(str(mount.source)), shlex.quote(str(target))
            lines.append(f"mount --bind {source} {where}")
            if not mount.writable:
                lines.append(f"mount -o remount,bind,ro {where}")
        writable = " ".join(shlex.quote(m.target) for m in self.mounts if m.writable)
        kernel = "|".join(_KERNEL)
        # every other mount read-only: the container's root file system, and the host's
        # other file systems (/tmp, /dev/shm…) in this namespace's view
        lines += [
            "awk '$6 !~ /(^|,)ro(,|$)/ {print $3, $5}' /proc/self/mountinfo |",
            "while read -r dev mp; do",
            f'  case "$mp" in {kernel}) continue;; esac',
            f'  case " {writable} " in *" $mp "*) continue;; esac',
            "  # a mount hidden under an overlay of ours is out of reach already",
            '  [ "$(stat -c %Hd:%Ld -- "$mp")" = "$dev" ] || continue',
            '  mount -o remount,bind,ro "$mp"',
            "done",
            "cd /",
            "exec " + shlex.join(self._as_user(argv)),
        ]
        return "\n".join(lines)

    def _overlay(self, base: str) -> list[str]:
        """An overlay on ``base`` (a host folder), so that mount points can be made in it
        without touching the host; made read-only with the rest."""
        folder = self.scratch / f"overlay-{len(self._overlays)}"
        upper, work = folder / "upper", folder / "work"
        upper.mkdir(parents=True)
        work.mkdir(parents=True)
        self._overlays[upper] = base
        options = f"lowerdir={base},upperdir={upper},workdir={work}"
        return [f"mount -t overlay overlay -o {shlex.quote(options)} {shlex.quote(base)}"]

    def overlay_files(self) -> list[str]:
        """What the overlays hold (paths in the container): only the mount points made."""
        found = []
        for upper, base in self._overlays.items():
            found += [str(PurePosixPath(base) / p.relative_to(upper)) for p in upper.rglob("*")]
        return sorted(found)


def _exists(path: PurePosixPath, made: set[str]) -> bool:
    return str(path) in made or os.path.lexists(path)


def _nearest_existing(path: PurePosixPath, made: set[str]) -> PurePosixPath:
    for parent in path.parents:
        if _exists(parent, made):
            return parent
    return PurePosixPath("/")
