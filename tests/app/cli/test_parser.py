"""`run`'s own parser: the same answers as the full one, without the other commands' modules."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from app.cli.output import EXIT_CONFIG
from app.cli.parser import build_parser

RUN_LINES = [
    ["run", "db"],
    ["run", "db", "warehouse", "--events", "json", "-v"],
    ["run", "--all", "--metrics", "127.0.0.1:9101"],
    ["run", "--all", "--metrics", "0.0.0.0:9101", "--metrics-allow-remote"],
]


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:  # argparse keeps its subparsers only here
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser = action.choices[name]
            return found
    raise AssertionError(f"no {name} command")


@pytest.mark.parametrize("argv", RUN_LINES)
def test_run_alone_reads_a_command_line_as_the_full_parser_does(argv: list[str]) -> None:
    assert build_parser("run").parse_args(argv) == build_parser().parse_args(argv)


def test_run_alone_has_the_same_help() -> None:
    alone = _subparser(build_parser("run"), "run").format_help()
    assert alone == _subparser(build_parser(), "run").format_help()
    assert "--events" in alone and "--metrics" in alone


@pytest.mark.parametrize("argv", [["run", "--al"], ["run", "--bogus"], ["run", "--events", "x"]])
def test_run_alone_refuses_what_the_full_parser_refuses(argv: list[str]) -> None:
    for parser in (build_parser("run"), build_parser()):
        with pytest.raises(SystemExit) as caught:
            parser.parse_args(argv)
        assert caught.value.code == EXIT_CONFIG


def test_run_alone_imports_no_other_commands_module() -> None:
    probe = (
        "import json, sys; from app.cli.parser import build_parser; build_parser('run'); "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('app.cli.'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = json.loads(done.stdout)
    assert "app.cli.service" not in loaded and "app.cli.alerts" not in loaded, loaded
    full = subprocess.run(
        [sys.executable, "-c", probe.replace("build_parser('run')", "build_parser()")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "app.cli.service" in json.loads(full.stdout)  # the probe can tell
