"""deploy/: the Kubernetes manifests validate, the Dockerfile and compose file refer only to what exists.

No container engine or cluster runs here, so these check what can be checked offline:
kubernetes-validate (schemas bundled in the package) for Kubernetes 1.34, dockerfile-parse for
the Dockerfile, and every path, command and make target the files name.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from dockerfile_parse import DockerfileParser

from assistant.config import ROOT

DEPLOY = ROOT / "deploy"
KUBERNETES_VERSION = "1.34.0"
MANIFESTS = sorted((DEPLOY / "k8s").glob("*.yaml"))


def _documents(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def _assistant_invocations(command: list[str]) -> list[list[str]]:
    """Each `assistant ...` call inside a command (exec form, or a shell string with `&&` chains)."""
    words = shlex.split(command[0]) if len(command) == 1 else command
    calls: list[list[str]] = []
    current: list[str] | None = None
    separators = ("&&", "||", ";", "\\")
    for previous, word in zip(["&&", *words], words, strict=False):
        if word == "assistant" and previous in separators:  # a command, not e.g. `useradd ... assistant`
            current = []
            calls.append(current)
        elif word in separators:
            current = None
        elif current is not None:
            current.append(word)
    return calls


def _assert_cli_call_exists(call: list[str], helps: dict[str, str]) -> None:
    """The subcommand exists (its --help exits 0) and knows every --option the call passes."""
    names = [w for w in call if not w.startswith("-")]
    words = names[:2] if names and names[0] in ("index", "model", "corpus") else names[:1]
    assert words, f"`assistant {' '.join(call)}` names no command"
    key = " ".join(words)
    if key not in helps:
        result = subprocess.run(
            [sys.executable, "-m", "assistant.cli", *words, "--help"], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, f"`assistant {key}` does not exist: {result.stderr}"
        helps[key] = result.stdout
    for option in (w for w in call if w.startswith("--")):
        assert option in helps[key], f"`assistant {key}` has no option {option}"


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_kubernetes_manifests_validate(path: Path) -> None:
    for document in _documents(path):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_kubernetes_validate_rejects_a_broken_manifest() -> None:
    """The check bites: a probe port of the wrong type is refused."""
    deployment = _documents(DEPLOY / "k8s" / "deployment.yaml")[0]
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"] = ["http"]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_the_deployment_probes_drains_and_has_the_required_companions() -> None:
    kinds = {doc["kind"]: doc for path in MANIFESTS for doc in _documents(path)}
    assert {"Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"} <= set(kinds)
    assert kinds["HorizontalPodAutoscaler"]["apiVersion"] == "autoscaling/v2"
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["requests"]["memory"] and container["resources"]["limits"]["memory"]
    assert container["lifecycle"]["preStop"]
    graceful = float(container["args"][container["args"].index("--graceful-timeout") + 1])
    assert pod["terminationGracePeriodSeconds"] > graceful + 5  # preStop sleep + drain fit before SIGKILL
    assert kinds["Deployment"]["spec"]["selector"]["matchLabels"] == kinds["Service"]["spec"]["selector"]
    helps: dict[str, str] = {}
    calls = [
        call
        for spec in (container, pod["initContainers"][0], kinds["Job"]["spec"]["template"]["spec"]["containers"][0])
        for call in _assistant_invocations(spec.get("command", []) + spec.get("args", []))
    ]
    assert len(calls) == 3, calls
    for call in calls:
        _assert_cli_call_exists(call, helps)


def test_the_dockerfile_parses_and_everything_it_copies_and_runs_exists() -> None:
    parser = DockerfileParser(path=str(DEPLOY / "Dockerfile"))
    assert parser.baseimage == "python:3.11-slim"
    instructions = parser.structure
    users = [i["value"] for i in instructions if i["instruction"] == "USER"]
    assert users and users[-1] not in ("root", "0"), "the container must not run as root"
    assert any(i["instruction"] == "HEALTHCHECK" and "/readyz" in i["value"] for i in instructions)
    helps: dict[str, str] = {}
    calls = []
    for instruction in instructions:
        if instruction["instruction"] == "COPY":
            *sources, _ = instruction["value"].split()
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
        if instruction["instruction"] in ("RUN", "CMD"):
            value = instruction["value"]
            command = yaml.safe_load(value) if value.startswith("[") else [value]
            calls += _assistant_invocations(command)
    assert [c[:2] for c in calls] == [["model", "install"], ["index", "build"], ["serve", "--host"]], calls
    for call in calls:
        _assert_cli_call_exists(call, helps)
    pins = re.findall(r"torch==([\d.]+)", (DEPLOY / "Dockerfile").read_text(encoding="utf-8"))
    assert pins and set(pins) == set(re.findall(r'"torch==([\d.]+)"', (ROOT / "pyproject.toml").read_text()))
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8")
    for source in ("assistant", "api", "corpus", "eval", "pyproject.toml"):
        assert f"!{source}" in ignore, source


def test_compose_parses_and_refers_only_to_files_that_exist() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"nginx", "postgres", "replica1", "replica2"} <= set(services)
    build = services["replica1"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).is_file()
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name}: {source} does not exist"
            else:
                assert source in compose["volumes"], f"{name}: named volume {source} is not declared"
    for replica in ("replica1", "replica2"):
        env = services[replica]["environment"]
        assert env["ASSISTANT_DATABASE_URL"].startswith("postgresql")
        assert "index:/app/index" in services[replica]["volumes"]
    upstreams = re.findall(r"^\s*server\s+([\w.-]+):\d+", (DEPLOY / "nginx.conf").read_text(), re.MULTILINE)
    assert sorted(upstreams) == ["replica1", "replica2"]
