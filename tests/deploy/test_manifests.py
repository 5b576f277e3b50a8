"""The container image's Dockerfile, its headless requirements, and the docker-compose and
Kubernetes examples of docs/deploy: validated, and consistent with one another."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from app.platform.credentials import credential_name
from app.storage.store import ProfileStore
from tests.deploy import dockerfile as df
from tests.support.cli import ROOT

KUBERNETES = df.DEPLOY / "kubernetes"
MANIFESTS = sorted(KUBERNETES.glob("*.yaml"))
HEADLESS = ROOT / "build" / "docker" / "requirements-headless.txt"
QT = {"pyside6-essentials", "qasync"}  # what only the desktop app needs
# The oldest Kubernetes the examples are meant for, and the newest the validator knows.
VERSIONS = ("1.30", kubernetes_validate.latest_version())
# Every key a Compose service may have (the Compose specification's service properties):
# a misspelt key ("read-only") would otherwise pass as a plain mapping entry.
COMPOSE_SERVICE_KEYS = frozenset(
    """annotations attach blkio_config build cap_add cap_drop cgroup cgroup_parent command
    configs container_name cpu_count cpu_percent cpu_period cpu_quota cpu_rt_period
    cpu_rt_runtime cpu_shares cpus cpuset credential_spec depends_on deploy develop
    device_cgroup_rules devices dns dns_opt dns_search domainname driver_opts entrypoint
    env_file environment expose extends external_links extra_hosts gpus group_add
    healthcheck hostname image init ipc isolation labels links logging mac_address
    mem_limit mem_reservation mem_swappiness memswap_limit network_mode networks
    oom_kill_disable oom_score_adj pid pids_limit platform ports post_start pre_stop
    privileged profiles provider pull_policy read_only restart runtime scale secrets
    security_opt shm_size stdin_open stop_grace_period stop_signal storage_opt sysctls
    tmpfs tty ulimits use_api_socket user userns_mode uts volumes volumes_from
    working_dir""".split()  # noqa: SIM905 - a list of 90 names reads better as words
)


def _load(path: Path) -> dict[str, Any]:
    (document,) = list(yaml.safe_load_all(path.read_text()))
    assert isinstance(document, dict), path
    return document


def _manifest(kind: str) -> dict[str, Any]:
    (found,) = (m for m in map(_load, MANIFESTS) if m["kind"] == kind)
    return found


@pytest.fixture
def stage() -> list[df.Instruction]:
    return df.final_stage(df.instructions())


def _example_profile() -> tuple[str, dict[str, Any]]:
    text = _manifest("ConfigMap")["data"]["profiles.toml"]
    ((name, fields),) = tomllib.loads(text)["tunnels"].items()
    return name, fields


# --- the headless requirements ------------------------------------------------------------


def _requirements(lines: list[str]) -> set[tuple[str, str, str]]:
    found = set()
    for line in lines:
        text = line.split("#", 1)[0].strip()
        if text:
            wanted = Requirement(text)
            found.add((canonicalize_name(wanted.name), str(wanted.specifier), str(wanted.marker)))
    return found


def test_the_headless_requirements_are_pyprojects_without_qt() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    headless = _requirements(HEADLESS.read_text().splitlines())
    assert headless == {r for r in _requirements(declared) if r[0] not in QT}
    assert not {name for name, _, _ in headless} & QT


# --- Kubernetes ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_every_manifest_is_valid_kubernetes(path: Path, version: str) -> None:
    for document in yaml.safe_load_all(path.read_text()):
        kubernetes_validate.validate(document, version, strict=True)


def test_the_validation_is_strict() -> None:
    deployment = _manifest("Deployment")
    broken = copy.deepcopy(deployment)
    broken["spec"]["template"]["spec"]["containers"][0]["securityContext"][
        "readOnlyRootFileSystem"  # misspelt: it would quietly do nothing
    ] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)
    assert {"ConfigMap", "Deployment", "PodDisruptionBudget", "Secret"} == {
        _load(p)["kind"] for p in MANIFESTS
    }


def test_the_deployment_runs_two_hardened_agents(stage: list[df.Instruction]) -> None:
    deployment = _manifest("Deployment")
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]["spec"]
    uid, gid = df.image_user(stage)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == (
        uid,
        gid,
    )
    assert pod["automountServiceAccountToken"] is False
    containers = pod["initContainers"] + pod["containers"]
    assert len({c["image"] for c in containers}) == 1  # the init container is the image too
    for container in containers:
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False, container["name"]
        assert security["readOnlyRootFilesystem"] is True, container["name"]
        assert security["capabilities"] == {"drop": ["ALL"]}, container["name"]
        for kind in ("requests", "limits"):
            assert set(container["resources"][kind]) == {"cpu", "memory"}, container["name"]


def test_the_probes_are_the_health_command(stage: list[df.Instruction]) -> None:
    (agent,) = _manifest("Deployment")["spec"]["template"]["spec"]["containers"]
    _, healthcheck = df.healthcheck(stage)
    assert healthcheck == ["tunnelkeeper", "health"]
    assert agent["startupProbe"]["exec"]["command"] == healthcheck
    assert agent["livenessProbe"]["exec"]["command"] == healthcheck
    assert agent["readinessProbe"]["exec"]["command"] == [*healthcheck, "--ready"]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        # `health` gives a host 5 s to answer; Python starts in well under a second
        assert agent[probe]["timeoutSeconds"] >= 10, probe


def test_the_deployment_mounts_what_the_image_expects(stage: list[df.Instruction]) -> None:
    env = df.image_env(stage)
    pod = _manifest("Deployment")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    (init,) = pod["initContainers"]
    (agent,) = pod["containers"]
    mounts = {m["mountPath"]: m for m in agent["volumeMounts"]}
    # only the state folder is writable; settings, key and credentials are read-only
    writable = [path for path, m in mounts.items() if not m.get("readOnly")]
    assert writable == [env["TUNNELKEEPER_HOME"]]
    assert "emptyDir" in volumes[mounts[env["TUNNELKEEPER_HOME"]]["name"]]
    config = volumes[mounts[env["TUNNELKEEPER_CONFIG_DIR"]]["name"]]
    assert config["configMap"]["name"] == _manifest("ConfigMap")["metadata"]["name"]
    credentials = volumes[mounts[env["CREDENTIALS_DIRECTORY"]]["name"]]["secret"]
    assert credentials["optional"] is True
    # the key: the Secret only in the init container, which copies it to the profile's path
    _, profile = _example_profile()
    key_secret = _manifest("Secret")
    source, dest = init["command"][-2:]
    assert init["command"][:-2] == ["install", "-D", "-m", "0600"]
    assert dest == profile["key_path"]
    (secret_mount,) = (m for m in init["volumeMounts"] if m.get("readOnly"))
    secret = volumes[secret_mount["name"]]["secret"]
    assert secret["secretName"] == key_secret["metadata"]["name"]
    assert source == f"{secret_mount['mountPath']}/{next(iter(key_secret['stringData']))}"
    assert secret_mount["name"] not in {m["name"] for m in agent["volumeMounts"]}
    (keys_mount,) = (m for m in init["volumeMounts"] if not m.get("readOnly"))
    assert volumes[keys_mount["name"]]["emptyDir"]["medium"] == "Memory"  # never on a disk
    assert mounts[keys_mount["mountPath"]]["readOnly"] is True
    assert Path(dest).is_relative_to(keys_mount["mountPath"])


def test_the_metrics_port_is_the_one_served(stage: list[df.Instruction]) -> None:
    (agent,) = _manifest("Deployment")["spec"]["template"]["spec"]["containers"]
    assert "command" not in agent  # the image's ENTRYPOINT
    assert agent["args"][:2] == df.exec_form(df.one(stage, "CMD"))
    (port,) = agent["ports"]
    assert agent["args"][agent["args"].index("--metrics") + 1] == f"0.0.0.0:{port['containerPort']}"
    assert "--metrics-allow-remote" in agent["args"]


def test_the_disruption_budget_keeps_one_agent() -> None:
    budget = _manifest("PodDisruptionBudget")["spec"]
    deployment = _manifest("Deployment")["spec"]
    assert budget["minAvailable"] == 1
    assert budget["selector"] == deployment["selector"]
    labels = deployment["template"]["metadata"]["labels"]
    assert deployment["selector"]["matchLabels"].items() <= labels.items()


def test_the_example_profile_is_a_redundant_one_the_app_reads(tmp_path: Path) -> None:
    data = _manifest("ConfigMap")["data"]
    (tmp_path / "profiles.toml").write_text(data["profiles.toml"])
    name, fields = _example_profile()
    profile = ProfileStore(tmp_path / "profiles.toml").get(name)
    assert profile.redundant and profile.key_path == fields["key_path"]
    assert set(data) == {"profiles.toml", "known_hosts"}


# --- docker compose (structure: no offline validator of the Compose format is at hand) ----


def test_compose_runs_two_hardened_agents_of_the_image(stage: list[df.Instruction]) -> None:
    compose = _load(df.DEPLOY / "docker-compose.yml")
    env = df.image_env(stage)
    uid, gid = df.image_user(stage)
    _, healthcheck = df.healthcheck(stage)
    _, profile = _example_profile()
    services = compose["services"]
    assert sorted(services) == ["tunnelkeeper-a", "tunnelkeeper-b"]
    for name, service in services.items():
        assert set(service) <= COMPOSE_SERVICE_KEYS, name
        assert (ROOT / "docs" / "deploy" / service["build"]["context"] / "Dockerfile").samefile(
            df.DOCKERFILE
        )
        assert service["read_only"] is True
        assert service["user"] == f"{uid}:{gid}"
        assert service["cap_drop"] == ["ALL"]
        assert service["security_opt"] == ["no-new-privileges:true"]
        assert service["healthcheck"]["test"] == ["CMD", *healthcheck]
        assert not {"command", "entrypoint", "environment"} & set(service)
        (config,) = service["volumes"]
        assert (config["type"], config["target"], config["read_only"]) == (
            "bind",
            env["TUNNELKEEPER_CONFIG_DIR"],
            True,
        )
        (tmpfs,) = service["tmpfs"]
        target, _, options = tmpfs.partition(":")
        assert target == env["TUNNELKEEPER_HOME"]
        assert {"uid": str(uid), "gid": str(gid), "mode": "0700"}.items() <= dict(
            o.split("=") for o in options.split(",")
        ).items()
        (key,) = service["secrets"]
        assert key["target"] == profile["key_path"]
        assert compose["secrets"][key["source"]]["file"] == "./keys/id_ed25519"
    # the commented lines for a key's passphrase name the right credential file
    passphrase = f"{env['CREDENTIALS_DIRECTORY']}/{credential_name(profile['key_path'])}"
    assert f"target: {passphrase}\n" in (df.DEPLOY / "docker-compose.yml").read_text()


def test_the_readme_names_the_passphrase_file_the_agent_reads() -> None:
    _, profile = _example_profile()
    readme = (df.DEPLOY / "README.md").read_text()
    assert credential_name(profile["key_path"]) in readme


# --- the Dockerfile -----------------------------------------------------------------------


def test_the_image_runs_the_agent_as_a_user_with_a_health_check(
    stage: list[df.Instruction],
) -> None:
    assert df.command(stage) == ["tunnelkeeper", "run", "--all"]
    uid, gid = df.image_user(stage)
    assert uid != 0 and gid != 0
    options, healthcheck = df.healthcheck(stage)
    assert healthcheck == ["tunnelkeeper", "health"]
    assert {"interval", "timeout", "start-period", "retries"} <= set(options)
    env = df.image_env(stage)
    assert env["PATH"].startswith("/opt/tunnelkeeper/bin:")
    assert env["HOME"] == "/nonexistent"  # no home to write in
    assert df.exec_form(df.one(stage, "VOLUME")) == [env["TUNNELKEEPER_HOME"]]
    state = env["TUNNELKEEPER_HOME"]
    assert f"install -d -o {uid} -g {gid} -m 0700 {state}" in df.one(stage, "RUN")
    assert env["TUNNELKEEPER_SERVICE"] in ("user", "system")  # no desktop keychain is asked
    assert {"TUNNELKEEPER_CONFIG_DIR", "CREDENTIALS_DIRECTORY"} <= set(env)


def test_the_image_has_no_qt_and_no_source_tree(stage: list[df.Instruction]) -> None:
    found = df.instructions()
    assert [i.text.split()[0] for i in found if i.keyword == "FROM"] == ["${PYTHON_IMAGE}"] * 2
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in df.DOCKERFILE.read_text()
    runs = " ".join(i.text for i in found if i.keyword == "RUN")
    assert "-r /tmp/requirements-headless.txt" in runs
    assert "install --no-deps /tmp/wheels/tunnelkeeper-" in runs
    assert "pyside" not in runs.lower() and "qasync" not in runs.lower()
    # the final stage copies only the built environment, nothing from the checkout
    assert [i.text for i in stage if i.keyword == "COPY"] == [
        "--from=build /opt/tunnelkeeper /opt/tunnelkeeper"
    ]


def test_the_build_context_holds_what_the_build_copies_and_nothing_else() -> None:
    context = df.context_files()
    copied = [
        source
        for i in df.instructions()
        if i.keyword == "COPY" and not i.text.startswith("--from")
        for source in i.text.split()[:-1]
    ]
    for source in copied:
        assert source in context or any(f.startswith(source + "/") for f in context), source
    assert {f.split("/")[0] for f in context} == {
        "README.md", "app", "build", "pyproject.toml", "resources", "setup.py"
    }  # fmt: skip
    assert not [f for f in context if "__pycache__" in f or f.endswith((".pyc", ".pyo"))]
    assert "app/cli/health.py" in context


@pytest.mark.parametrize(
    ("path", "included"),
    [
        ("app/cli/run.py", True),
        ("app/__pycache__/x.pyc", False),
        ("build/docker/requirements-headless.txt", True),
        ("build/linux/make_deb.py", False),
        ("tests/conftest.py", False),
        (".venv/bin/python", False),
        ("id_ed25519", False),
    ],
)
def test_dockerignore_is_read_as_docker_reads_it(path: str, included: bool) -> None:
    assert df.in_context(path, df.ignore_rules()) is included
