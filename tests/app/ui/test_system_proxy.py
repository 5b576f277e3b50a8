"""The desktop app's `system` proxy: Qt's answer (the environment's on Linux), as the engine
reads it, and the route named after the system settings."""

from __future__ import annotations

import pytest

from app.core.profile import Profile
from app.ui import system_proxy
from app.ui.system_proxy import SystemEnvironment, merged

PROXY_VARIABLES = (
    "https_proxy",
    "HTTPS_PROXY",
    "http_proxy",
    "HTTP_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
)


@pytest.fixture(autouse=True)
def _no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def profile(proxy: str = "system") -> Profile:
    return Profile(
        name="db",
        jumphost="vendor.example",
        user="acme",
        remote_port=15432,
        target_host="127.0.0.1",
        target_port=5432,
        key_path="/k",
        ssh_port=50683,
        proxy=proxy,
    )


def test_qt_names_the_environment_proxy_on_linux(monkeypatch: pytest.MonkeyPatch) -> None:
    # Qt's system proxy on Linux is the lower-case variable (the OS settings elsewhere)
    monkeypatch.setenv("https_proxy", "http://alice:s%40cret@10.0.0.5:3128")
    assert system_proxy.ask_qt("vendor.example", 50683) == {
        "HTTPS_PROXY": "http://alice:s%40cret@10.0.0.5:3128"
    }
    monkeypatch.setenv("https_proxy", "socks5h://10.0.0.7:1080")
    assert system_proxy.ask_qt("vendor.example", 50683) == {"ALL_PROXY": "socks5h://10.0.0.7:1080"}
    monkeypatch.setenv("no_proxy", "vendor.example")
    assert system_proxy.ask_qt("vendor.example", 50683) == {}


def test_no_proxy_anywhere_is_direct() -> None:
    assert system_proxy.ask_qt("vendor.example", 50683) == {}
    route = system_proxy.route_now(profile())
    assert route.proxy is None
    assert route.why == "direct: no proxy set"
    assert system_proxy.detected("vendor.example", 50683) == ""


def test_the_route_names_the_system_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("https_proxy", "http://10.0.0.5:3128")
    route = system_proxy.route_now(profile())
    assert route.label == "via HTTP proxy 10.0.0.5:3128"
    assert route.why == "via HTTP proxy 10.0.0.5:3128 (system settings)"
    assert system_proxy.describe(profile()) == route.why
    assert system_proxy.detected("vendor.example", 50683) == "HTTP proxy 10.0.0.5:3128"


def test_a_password_the_settings_give_goes_to_the_route(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("https_proxy", "http://alice:wonder@10.0.0.5:3128")
    route = system_proxy.route_now(profile())
    assert route.password == "wonder"
    assert route.proxy is not None and route.proxy.user == "alice"


def test_upper_case_variables_still_count_when_qt_names_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Qt on Linux reads only https_proxy; the CLI and the service read both cases, and
    # so does the app: Qt's silence leaves the environment as it is.
    monkeypatch.setenv("HTTPS_PROXY", "http://10.0.0.9:3128")
    assert system_proxy.ask_qt("vendor.example", 50683) == {}
    route = system_proxy.route_now(profile())
    assert route.why == "via HTTP proxy 10.0.0.9:3128 (HTTPS_PROXY)"


def test_a_tunnel_with_its_own_proxy_or_none_ignores_the_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("https_proxy", "http://10.0.0.5:3128")
    assert system_proxy.environment_for(profile("none")) is None
    assert system_proxy.route_now(profile("none")).why == (
        "direct: the tunnel is set to use no proxy"
    )
    own = system_proxy.route_now(profile("socks5://10.0.0.7:1080"))
    assert own.why == "via SOCKS5 proxy 10.0.0.7:1080 (set for this tunnel)"


def test_a_named_proxy_replaces_every_proxy_variable() -> None:
    base = {
        "PATH": "/bin",
        "https_proxy": "http://old:1",
        "ALL_PROXY": "socks5://old:2",
        "no_proxy": "*",
    }
    assert merged({"HTTPS_PROXY": "http://new:3"}, base) == {
        "PATH": "/bin",
        "HTTPS_PROXY": "http://new:3",
        system_proxy.SOURCE_VARIABLE: "system settings",
    }
    assert merged({}, base) == base


def test_the_environment_asks_again_once_its_answer_is_old() -> None:
    asked: list[tuple[str, int]] = []
    answers = [{"HTTPS_PROXY": "http://10.0.0.5:3128"}, {}]

    def ask(host: str, port: int) -> dict[str, str]:
        asked.append((host, port))
        return answers[min(len(asked), len(answers)) - 1]

    clock = [100.0]
    env = SystemEnvironment(
        "vendor.example", 50683, base={"PATH": "/bin"}, ask=ask, clock=lambda: clock[0]
    )
    assert env.get("HTTPS_PROXY") == "http://10.0.0.5:3128"
    assert dict(env) == {
        "PATH": "/bin",
        "HTTPS_PROXY": "http://10.0.0.5:3128",
        system_proxy.SOURCE_VARIABLE: "system settings",
    }
    assert asked == [("vendor.example", 50683)]  # one answer serves one decision
    clock[0] += system_proxy.FRESH_FOR + 1
    assert env.get("HTTPS_PROXY") is None
    assert env.answer == {}
    assert len(asked) == 2
