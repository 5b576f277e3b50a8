"""Profile `tunnelkeeper run`'s data path with py-spy while bulk data flows one way.

    .venv/bin/python bench/profile_path.py --direction v2t --bulk 1073741824 [--native]
    .venv/bin/python bench/profile_path.py --round-trips 20000 [--perf | --openssh]

Prints the client's CPU seconds per GiB and py-spy's top functions (own time); the
flame graph's raw data is left in the work folder. Needs `py-spy` (pip install py-spy).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.clients import TUNNELKEEPER, openssh_same  # noqa: E402
from bench.procstat import cpu_seconds  # noqa: E402
from bench.run import start_world  # noqa: E402
from bench.traffic import (  # noqa: E402
    bulk_to_target,
    bulk_to_vendor,
    percentile,
    round_trips,
)

GIB = 1 << 30


def main() -> int:
    args = _arguments()
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    work = Path(tempfile.mkdtemp(prefix="tk-profile-"))
    setup = start_world(argparse.Namespace(bulk=args.bulk), work)
    try:
        client = openssh_same("aes128-gcm@openssh.com", None) if args.openssh else TUNNELKEEPER
        with client.start(setup) as (_ready, pid):
            raw = work / "profile.txt"
            recorder = None
            command: list[str] = []
            if args.perf:
                command = ["perf", "record", "-F", "999", "-g", "-p", str(pid), "-o", str(raw)]
            elif not (args.no_spy or args.openssh):
                command = [spy, "record", "--pid", str(pid), "--format", "raw", "-o", str(raw),
                           "--rate", "250", "--threads"]  # fmt: skip
                if args.native:
                    command.append("--native")
            if command:
                recorder = subprocess.Popen(
                    command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
                )
                time.sleep(1.0)
            before = cpu_seconds(pid)
            if args.round_trips:
                times = round_trips(setup.remote_port, args.round_trips)
            else:
                move = bulk_to_target if args.direction == "v2t" else bulk_to_vendor
                rate = move(setup.remote_port, args.bulk)
            used = cpu_seconds(pid) - before
            if recorder is not None:
                recorder.send_signal(2)
                recorder.wait(30)
        if args.round_trips:
            print(
                f"round trips: p50 {percentile(times, 0.5):.0f} µs, p99 "
                f"{percentile(times, 0.99):.0f} µs, {1e6 * used / args.round_trips:.1f} CPU µs each"
            )
        else:
            print(f"{args.direction}: {rate:.0f} MB/s, {used / (args.bulk / GIB):.3f} CPU s/GiB")
        if args.perf and raw.exists():
            report = ["perf", "report", "-i", str(raw), "--no-children", "--stdio",
                      "--sort", "dso,sym", "-g", "none", "--percent-limit", "0.7"]  # fmt: skip
            print(subprocess.run(report, capture_output=True, text=True, check=False).stdout)
        elif recorder is not None and raw.exists():
            _top(raw, args.top)
            print(f"raw stacks: {raw}")
    finally:
        setup.target.close()
        setup.sshd.stop()
    return 0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--direction", choices=("v2t", "t2v"), default="v2t")
    parser.add_argument("--bulk", type=int, default=GIB)
    parser.add_argument("--native", action="store_true", help="py-spy --native")
    parser.add_argument("--no-spy", action="store_true", help="CPU per GiB only")
    parser.add_argument("--perf", action="store_true", help="Linux perf (kernel too), not py-spy")
    parser.add_argument(
        "--round-trips", type=int, default=0, help="64-byte echoes instead of bulk data"
    )
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument(
        "--openssh", action="store_true", help="OpenSSH with aes128-gcm instead (no py-spy)"
    )
    return parser.parse_args()


def _top(raw: Path, count: int) -> None:
    """Own time (leaf frames) and inclusive time per function from py-spy's raw output."""
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if not stack or not samples.isdigit():
            continue
        n = int(samples)
        frames = stack.split(";")
        if "(idle)" in stack:
            continue
        total += n
        own[frames[-1]] = own.get(frames[-1], 0) + n
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + n
    print(f"busy samples: {total}")
    print("own time:")
    for frame, n in sorted(own.items(), key=lambda kv: -kv[1])[:count]:
        print(f"  {100 * n / total:5.1f}%  {frame[:150]}")
    print("inclusive:")
    for frame, n in sorted(inclusive.items(), key=lambda kv: -kv[1])[:count]:
        print(f"  {100 * n / total:5.1f}%  {frame[:150]}")


if __name__ == "__main__":
    raise SystemExit(main())
