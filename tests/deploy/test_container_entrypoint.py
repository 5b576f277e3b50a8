"""The image's command, run as its containers would run it (no container engine here): the
image built by the Dockerfile's own RUN lines, then `tunnelkeeper run --all` with the image's
environment, as its user, every file system read-only but the state folder, the settings
and the key mounted where docker-compose.yml and the Kubernetes Deployment put them, against
the real sshd (the two Compose services: one active, one standing by, then taking over);
the HEALTHCHECK and probes run beside them as `docker exec` and the kubelet run them."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import tomli_w
import yaml

from app.platform.credentials import credential_name
from app.storage.paths import AppPaths
from tests.conftest import Jumphost
from tests.deploy import dockerfile as df
from tests.deploy.sandbox import Mount, Sandbox
from tests.deploy.volumes import empty_dir, kubelet_volume, snapshot, write
from tests.support.cli import ROOT
from tests.support.metrics import scrape, value
from tests.support.net import TcpServer, free_port, recv_exact

pytestmark = [pytest.mark.integration, pytest.mark.slow]

KUBERNETES = df.DEPLOY / "kubernetes"
DEADLINE = 90.0  # seconds for the agent to start, connect or notice the jumphost went
BUILD_TIMEOUT = 600.0  # one RUN line: pip downloading the dependencies on a slow link
# the base image's /usr/local/bin: `python` (here the system's 3.11) and `pip`
PIP = f'#!/bin/sh\nexec {ROOT / ".venv" / "bin" / "python"} -m pip "$@"\n'
SYSTEM_PYTHON = Path("/usr/bin/python3")


@dataclass(frozen=True)
class Image:
    """The built image: its files (as mounts over the host's) and its final stage."""

    layers: list[Mount]
    stage: list[df.Instruction]

    @property
    def env(self) -> dict[str, str]:
        return df.image_env(self.stage)

    @property
    def user(self) -> tuple[int, int]:
        return df.image_user(self.stage)


@pytest.fixture(scope="module")
def work() -> Iterator[Path]:
    """A folder other users can enter (pytest's own is root's alone), removed at the end;
    not in /tmp, which the image's build mounts a folder of its own over."""
    folder = Path(tempfile.mkdtemp(prefix="tk-container-", dir="/var/tmp"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def image(work: Path) -> Image:
    """The Dockerfile's build stage run line by line (COPY from the .dockerignore'd context,
    each RUN as root in a sandbox), then its /opt/tunnelkeeper is the image's."""
    if not SYSTEM_PYTHON.is_file():
        pytest.fail("the image is built with the system's python3 (apt install python3-venv)")
    found = df.instructions()
    build = [i for i in found if i.stage == 0]
    base = work / "usr-local-bin"
    base.mkdir()
    (base / "python").symlink_to(SYSTEM_PYTHON)
    (base / "pip").write_text(PIP)
    (base / "pip").chmod(0o755)
    written = ("/opt/tunnelkeeper", "/usr/src/tunnelkeeper", "/tmp")  # by COPY and RUN
    folders = {t: work / t.strip("/").replace("/", "-") for t in written}
    for folder in folders.values():
        folder.mkdir()
    mounts = [Mount("/usr/local/bin", base), *(Mount(t, f, True) for t, f in folders.items())]
    sandbox = Sandbox(mounts, df.image_env(build), 0, 0, work / "build-overlays")
    skip = sandbox.available()
    if skip:
        pytest.fail(skip)
    context = df.context_files()
    for instruction in build:
        if instruction.keyword == "COPY":
            _copy(instruction.text, context, folders)
        elif instruction.keyword == "RUN":
            done = sandbox.run(["sh", "-c", instruction.text], timeout=BUILD_TIMEOUT)
            assert done.returncode == 0, f"RUN {instruction.text}\n{done.stdout}{done.stderr}"
    assert not list((folders["/opt/tunnelkeeper"]).rglob("PySide6*")), "Qt in the image"
    layers = [
        Mount("/usr/local/bin", base),
        Mount("/opt/tunnelkeeper", folders["/opt/tunnelkeeper"]),
    ]
    return Image(layers, df.final_stage(found))


def _copy(text: str, context: set[str], folders: dict[str, Path]) -> None:
    """``COPY SRC… DEST`` from the build context into the folder mounted at DEST."""
    *sources, dest = text.split()
    target = next(folders[t] / Path(dest).relative_to(t) for t in folders if dest.startswith(t))
    for source in sources:
        inside = sorted(f for f in context if f.startswith(source + "/"))
        if inside:  # a folder: its contents into DEST
            pairs = [(f, target / Path(f).relative_to(source)) for f in inside]
        else:
            assert source in context, f"COPY {source}: not in the build context"
            pairs = [(source, target / source if dest.endswith("/") else target)]
        for name, copy in pairs:
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy)


# --- the settings and the key, as the docs say to make them ------------------------------


def _settings(host: Jumphost, target_port: int) -> dict[str, bytes]:
    """profiles.toml (the ConfigMap's example, pointed at the test's jumphost and target)
    and known_hosts (the jumphost's key pinned, as `tunnelkeeper trust` does)."""
    example = yaml.safe_load((KUBERNETES / "configmap.yaml").read_text())["data"]
    profiles = tomllib.loads(example["profiles.toml"])
    for fields in profiles["tunnels"].values():
        fields.update(
            jumphost="127.0.0.1", ssh_port=host.port, user=host.sshd.user,
            remote_port=host.remote_port, target_host="127.0.0.1", target_port=target_port,
        )  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch:
        paths = AppPaths(Path(scratch), Path(scratch), Path(scratch), Path(scratch))
        host.pin(paths)
        known_hosts = paths.known_hosts_file.read_bytes()
    return {"profiles.toml": tomli_w.dumps(profiles).encode(), "known_hosts": known_hosts}


def _tunnel_and_key() -> tuple[str, str]:
    example = yaml.safe_load((KUBERNETES / "configmap.yaml").read_text())["data"]
    ((name, fields),) = tomllib.loads(example["profiles.toml"])["tunnels"].items()
    return name, fields["key_path"]


# --- a running container ------------------------------------------------------------------


@dataclass
class Container:
    """The agent's process in its sandbox, its standard error in a file."""

    sandbox: Sandbox
    proc: subprocess.Popen[bytes]
    log: Path

    def exec(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        result = self.sandbox.exec_in(self.proc.pid, argv)
        assert "Traceback" not in result.stderr, result.stderr
        return result

    def until(self, argv: list[str], code: int, said: str = "") -> subprocess.CompletedProcess[str]:
        """``argv`` run beside the agent until it exits ``code`` having said ``said``."""
        deadline = time.monotonic() + DEADLINE
        while True:
            assert self.proc.poll() is None, f"the agent ended:\n{self.said()}"
            result = self.exec(argv)
            if result.returncode == code and said in result.stdout + result.stderr:
                return result
            assert time.monotonic() < deadline, (
                f"{argv} still {result.returncode}: {result.stdout}{result.stderr}\n{self.said()}"
            )
            time.sleep(0.5)

    def stop(self, grace: float) -> int:
        """SIGTERM, as `docker stop` and the kubelet send it; the exit code within ``grace``
        seconds (else SIGKILL, and the test fails)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            pytest.fail(f"the agent did not end within {grace} s of SIGTERM:\n{self.said()}")

    def said(self) -> str:
        return self.log.read_text(errors="replace")


def _start(sandbox: Sandbox, argv: list[str], folder: Path) -> Container:
    log = folder / "agent.log"
    with open(log, "wb") as err:
        proc = sandbox.start(argv, subprocess.DEVNULL, err)
    return Container(sandbox, proc, log)


def _carries_data(host: Jumphost) -> None:
    with socket.create_connection(("127.0.0.1", host.remote_port), timeout=30) as conn:
        conn.sendall(b"through the container")
        assert recv_exact(conn, 21) == b"through the container"


def _wrote_only_its_state(
    container: Container, state: Path, uid: int, before: Any, after: Any
) -> None:
    said = container.said()
    for sign in ("Traceback", "Read-only file system", "Permission denied"):
        assert sign not in said, said
    assert after == before  # the settings, the key, the passphrase: untouched
    written = list(state.rglob("*"))
    assert {p.relative_to(state).as_posix() for p in written} >= {
        "history.sqlite3",
        "logs/tunnelkeeper.log",
    }
    assert {p.lstat().st_uid for p in written} == {uid}, "a file of another user in the state"
    # the root file system: nothing but the mount points made for the volumes
    targets = {m.target for m in container.sandbox.mounts}
    made = targets | {str(p) for t in targets for p in PurePosixPath(t).parents}
    assert set(container.sandbox.overlay_files()) <= made


# --- docker compose (and `docker run`): the image's own command and HEALTHCHECK ------------


def test_the_compose_services_stand_in_for_each_other_read_only(
    image: Image, work: Path, jumphost: Jumphost, echo: TcpServer
) -> None:
    folder = work / "compose"
    compose = yaml.safe_load((df.DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    name, key_path = _tunnel_and_key()
    _, health = df.healthcheck(image.stage)
    ready = [*health, "--ready"]
    credentials = image.env["CREDENTIALS_DIRECTORY"]

    # ./config as README.md makes it: root's here, and only readable (mode 0555 / 0444)
    config = folder / "config"
    for file_name, data in _settings(jumphost, echo.port).items():
        write(config / file_name, data, 0o444)
    config.chmod(0o555)
    # the key file secret, encrypted this time: its passphrase as the credential file
    # the commented lines of docker-compose.yml mount
    uid, gid = image.user
    key = folder / "keys" / "id_ed25519"
    write(key, jumphost.key.read_bytes(), 0o600)
    subprocess.run(["ssh-keygen", "-q", "-p", "-P", "", "-N", "s3cret", "-f", str(key)], check=True)
    os.chown(key, uid, gid)
    passphrase = write(folder / "keys" / "passphrase", b"s3cret", 0o400, uid, gid)
    before = snapshot(config, key.parent)

    agents: dict[str, tuple[Container, Path]] = {}
    try:
        for service_name, service in services.items():
            assert not {"command", "entrypoint", "environment"} & set(service)
            assert tuple(int(n) for n in service["user"].split(":")) == image.user
            assert service["healthcheck"]["test"] == ["CMD", *health]
            (bind,) = service["volumes"]
            (secret,) = service["secrets"]
            assert secret["target"] == key_path
            # the tmpfs: uid, gid and mode as its options say
            (tmpfs,) = service["tmpfs"]
            state_target, _, options = tmpfs.partition(":")
            tmpfs_options = dict(o.split("=") for o in options.split(","))
            state = folder / service_name / "state"
            state.mkdir(parents=True)
            os.chown(state, int(tmpfs_options["uid"]), int(tmpfs_options["gid"]))
            state.chmod(int(tmpfs_options["mode"], 8))
            mounts = [
                *image.layers,
                Mount(bind["target"], config, writable=not bind["read_only"]),
                Mount(state_target, state, writable=True),
                Mount(secret["target"], key),
                Mount(f"{credentials}/{credential_name(key_path)}", passphrase),
            ]
            sandbox = Sandbox(mounts, image.env, uid, gid, folder / service_name / "overlays")
            agent = _start(sandbox, df.command(image.stage), folder / service_name)
            agents[service_name] = (agent, state)

        # both alive and ready: one carries the tunnel, the other stands by
        for agent, _ in agents.values():
            agent.until(health, 0)
        states = {n: _state(a, ready, name) for n, (a, _) in agents.items()}
        assert sorted(states.values()) == ["connected", "standby"], states
        _carries_data(jumphost)
        active = next(n for n, state in states.items() if state == "connected")
        (standby,) = set(agents) - {active}
        assert agents[active][0].stop(_seconds(services[active]["stop_grace_period"])) == 0
        survivor = agents[standby][0]
        survivor.until(ready, 0, f"ready: {name} is connected.")  # it took over
        _carries_data(jumphost)

        jumphost.sshd.stop()
        down = survivor.until(ready, 1, f"tunnelkeeper: not ready: {name} (")
        assert len(down.stderr.splitlines()) == 1
        assert survivor.exec(health).returncode == 0  # alive all along: no restart
    finally:
        codes = {
            n: a.stop(_seconds(services[n]["stop_grace_period"])) for n, (a, _) in agents.items()
        }
    assert set(codes.values()) == {0}, {n: a.said() for n, (a, _) in agents.items()}
    for agent, state in agents.values():
        _wrote_only_its_state(agent, state, uid, before, snapshot(config, key.parent))


def _state(agent: Container, ready: list[str], name: str) -> str:
    """The tunnel's state once ``agent`` is ready (connected or standing by)."""
    agent.until(ready, 0)
    said = json.loads(agent.exec([*ready, "--json"]).stdout)
    (tunnel,) = said["tunnels"]
    assert tunnel["tunnel"] == name
    return str(tunnel["state"])


def _seconds(text: str) -> float:
    assert text.endswith("s"), text
    return float(text[:-1])


# --- Kubernetes: the Deployment's init container, command, mounts and probes --------------


def test_the_kubernetes_pod_runs_the_tunnel_and_answers_its_probes(
    image: Image, work: Path, jumphost: Jumphost, echo: TcpServer
) -> None:
    folder = work / "kubernetes"
    pod = yaml.safe_load((KUBERNETES / "deployment.yaml").read_text())["spec"]["template"]["spec"]
    security = pod["securityContext"]
    uid, gid, fs_group = security["runAsUser"], security["runAsGroup"], security["fsGroup"]
    assert (uid, gid) == image.user
    name, key_path = _tunnel_and_key()
    secret_key = jumphost.key.read_bytes()

    hosts: dict[str, Path] = {}
    for volume in pod["volumes"]:
        where = folder / "volumes" / volume["name"]
        if "configMap" in volume:
            hosts[volume["name"]] = kubelet_volume(
                where, _settings(jumphost, echo.port), 0o644, fs_group
            )
        elif "secret" in volume:
            secret = volume["secret"]
            files = {"id_ed25519": secret_key} if secret["secretName"] == "tunnelkeeper-key" else {}
            assert files or secret.get("optional"), secret  # the credentials: none needed
            hosts[volume["name"]] = kubelet_volume(where, files, secret["defaultMode"], fs_group)
        else:
            assert "emptyDir" in volume, volume
            hosts[volume["name"]] = empty_dir(where, fs_group)

    def sandbox(container: dict[str, Any], name: str) -> Sandbox:
        mounts = [
            Mount(m["mountPath"], hosts[m["name"]], writable=not m.get("readOnly", False))
            for m in container["volumeMounts"]
        ]
        env = image.env | {e["name"]: e["value"] for e in container.get("env", [])}
        return Sandbox([*image.layers, *mounts], env, uid, gid, folder / name, [fs_group])

    (init,) = pod["initContainers"]
    copied = sandbox(init, "init").run(init["command"] + init.get("args", []))
    assert copied.returncode == 0, copied.stderr
    (agent,) = pod["containers"]
    assert "command" not in agent  # the image's ENTRYPOINT, with the Deployment's args
    args = list(agent["args"])
    (metrics,) = agent["ports"]
    port = free_port()  # 9464 could be taken on a shared test machine: the one change
    listen = args.index(f"0.0.0.0:{metrics['containerPort']}")
    args[listen] = f"0.0.0.0:{port}"
    entry = df.exec_form(df.one(image.stage, "ENTRYPOINT"))
    main = sandbox(agent, "agent")
    inputs = [hosts[v["name"]] for v in pod["volumes"] if "emptyDir" not in v]
    before = snapshot(*inputs)
    home = image.env["TUNNELKEEPER_HOME"]
    (state_mount,) = (m for m in agent["volumeMounts"] if m["mountPath"] == home)
    assert not state_mount.get("readOnly")
    state = hosts[state_mount["name"]]

    container = _start(main, entry + args, folder)
    try:
        container.until(agent["startupProbe"]["exec"]["command"], 0)
        live, ready = (agent[p]["exec"]["command"] for p in ("livenessProbe", "readinessProbe"))
        container.until(ready, 0, f"ready: {name} is connected.")
        _carries_data(jumphost)
        samples = scrape(f"http://127.0.0.1:{port}/metrics")
        assert value(samples, "tunnelkeeper_tunnel_up", tunnel=name) == 1
        jumphost.sshd.stop()
        container.until(ready, 1, f"tunnelkeeper: not ready: {name} (")
        assert container.exec(live).returncode == 0  # not restarted for the vendor's outage
    finally:
        code = container.stop(grace=pod["terminationGracePeriodSeconds"])
    assert code == 0, container.said()
    _wrote_only_its_state(container, state, uid, before, snapshot(*inputs))
    # the init container's copy of the key: the agent's own, mode 0600
    (out,) = (m for m in init["volumeMounts"] if not m.get("readOnly"))
    copy = hosts[out["name"]] / Path(key_path).relative_to(out["mountPath"])
    info = copy.stat()
    assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (uid, 0o600)
    assert copy.read_bytes() == secret_key
