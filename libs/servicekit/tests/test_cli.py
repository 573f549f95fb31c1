"""A service's ``python -m`` entry runs the one command asked for and always closes its container."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from hazina_servicekit.cli import service_main


@dataclass
class Settings:
    log_level: str = "INFO"
    log_json: bool = False
    port: int = 1


@dataclass
class Container:
    command: str
    ran: list[str] = field(default_factory=list)
    closed: bool = False

    def close(self) -> None:
        self.closed = True


def _run(argv: list[str], built: list[Container], *, fail: bool = False) -> int:
    def rebuild(container: Container) -> None:
        container.ran.append("rebuild")
        if fail:
            raise RuntimeError("the rebuild failed")

    def build(settings: Settings, command: str) -> Container:
        built.append(Container(command))
        return built[-1]

    return service_main(
        argv,
        name="example",
        settings=Settings,
        build=build,
        http_app=lambda _container: pytest.fail("no HTTP app is asked for"),
        commands={"rebuild": rebuild},
    )


def test_a_command_runs_once_on_a_container_built_for_it_then_closed() -> None:
    built: list[Container] = []
    assert _run(["rebuild"], built) == 0
    [container] = built
    assert (container.command, container.ran, container.closed) == ("rebuild", ["rebuild"], True)


def test_the_container_is_closed_when_the_command_fails() -> None:
    built: list[Container] = []
    with pytest.raises(RuntimeError, match="rebuild failed"):
        _run(["rebuild"], built, fail=True)
    assert built[0].closed


def test_an_unknown_command_builds_nothing() -> None:
    built: list[Container] = []
    with pytest.raises(SystemExit) as exit_:
        _run(["sweep"], built)
    assert exit_.value.code == 2 and built == []
