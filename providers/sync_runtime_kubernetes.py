"""The sync runtime applied to a Kubernetes cluster: ``kubectl apply`` of the rendered manifests, ``kubectl rollout
status``; kubectl runs through ``run_command``, which tests replace."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from providers.base import ProviderError, Written
from providers.sync_runtime_inputs import KubernetesInputs, SyncRuntimeInputs

KUBECTL_INSTALL = "install kubectl (https://kubernetes.io/docs/tasks/tools/) and put it on PATH"


def run_command(argv: Sequence[str], *, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)


def which(program: str) -> str | None:
    return shutil.which(program)


class KubernetesTarget:
    def __init__(self, inputs: SyncRuntimeInputs) -> None:
        self.inputs = inputs
        self.k8s = inputs.kubernetes or KubernetesInputs()
        self.dir = Path(inputs.work_dir)

    def id(self) -> str:
        return f"kubernetes:{self.k8s.namespace}/{self.inputs.name}"

    def kubectl(self) -> list[str]:
        kubectl = which("kubectl")
        if kubectl is None:
            raise ProviderError(f"{self._name()}: kubectl is not on PATH: {KUBECTL_INSTALL}")
        if not self.k8s.kubeconfig:
            raise ProviderError(
                f"{self._name()}: no kubeconfig. Set it with `pulumi config set presence-sync:kubeconfig <path>` "
                "(the cluster to deploy the runtime to)"
            )
        if not Path(self.k8s.kubeconfig).is_file():
            raise ProviderError(
                f"{self._name()}: kubeconfig {self.k8s.kubeconfig} does not exist; fix presence-sync:kubeconfig"
            )
        argv = [kubectl, "--kubeconfig", self.k8s.kubeconfig]
        if self.k8s.context:
            argv += ["--context", self.k8s.context]
        return argv

    def plan(self) -> list[list[str]]:
        """The kubectl commands a deploy runs, in order (after the rendered files are written)."""
        kubectl = self.kubectl()
        rendered = self.inputs.rendered()
        files = [arg for path in rendered.manifests() for arg in ("-f", str(self.dir / path))]
        namespace = ["--namespace", self.k8s.namespace]
        return [
            [*kubectl, "apply", *files],
            [*kubectl, *namespace, "get", "secret", f"{self.inputs.name}-credentials", "-o", "name"],
            [
                *kubectl,
                *namespace,
                "rollout",
                "status",
                f"deployment/{self.inputs.name}",
                f"--timeout={self.k8s.rollout_timeout_seconds}s",
            ],
        ]

    def deploy(self) -> Written:
        commands = self.plan()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.inputs.rendered().write(self.dir)
        apply, secret, rollout = commands
        self._run(apply, "applying the manifests")
        if run_command(secret).returncode != 0:
            raise ProviderError(
                f"{self._name()}: the Secret {self.inputs.name}-credentials does not exist in namespace "
                f"{self.k8s.namespace}. Create it from your secret store "
                f"(see {self.dir / 'kubernetes/credentials.template.yaml'} "
                "for the variables and a kubectl command), then run `pulumi up` again"
            )
        self._run(rollout, "waiting for the rollout", timeout=self.k8s.rollout_timeout_seconds + 30)
        return Written(self.id())

    def read(self) -> dict[str, Any] | None:
        argv = [
            *self.kubectl(),
            "--namespace",
            self.k8s.namespace,
            "get",
            f"deployment/{self.inputs.name}",
            "-o",
            "json",
            "--ignore-not-found",
        ]
        result = self._run(argv, "reading the Deployment")
        if not result.stdout.strip():
            return None
        deployment = json.loads(result.stdout)
        status = deployment.get("status") or {}
        annotations = (((deployment.get("spec") or {}).get("template") or {}).get("metadata") or {}).get(
            "annotations"
        ) or {}
        expected = self._expected_config_digest()
        live = annotations.get("presence-sync/config-digest")
        return {
            "running": int(status.get("availableReplicas") or 0) >= 1,
            # A Deployment edited by hand to another config shows as a changed digest: `up` re-applies.
            "digest": self.inputs.rendered().digest if live == expected else f"live config {live}",
        }

    def delete(self) -> None:
        kubectl = self.kubectl()
        rendered = self.inputs.rendered()
        self.dir.mkdir(parents=True, exist_ok=True)
        rendered.write(self.dir)
        files = [
            arg
            for path in reversed(rendered.manifests())
            if not path.endswith("namespace.yaml")
            for arg in ("-f", str(self.dir / path))
        ]
        self._run([*kubectl, "delete", "--ignore-not-found", "--wait=true", *files], "deleting")

    def _expected_config_digest(self) -> str | None:
        import yaml

        text = self.inputs.rendered().files["kubernetes/deployment.yaml"]
        deployment = next(yaml.safe_load_all(text))
        return str(deployment["spec"]["template"]["metadata"]["annotations"]["presence-sync/config-digest"])

    def _run(self, argv: list[str], doing: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        try:
            result = run_command(argv, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ProviderError(f"{self._name()}: {doing} timed out after {timeout:g} s") from None
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise ProviderError(f"{self._name()}: {doing} failed: {' '.join(detail[-3:]) or result.returncode}")
        return result

    def _name(self) -> str:
        return f"sync runtime {self.inputs.name} (kubernetes: {self.k8s.namespace})"


# -- helpers ------------------------------------------------------------------------------------------------
