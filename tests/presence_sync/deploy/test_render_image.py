"""The runtime image the render describes: digest-pinned base, the runtime-only lock with hashes, nothing else.

Complements test_render.py (golden files): these are the supply-chain properties, stated once, so that a golden
update cannot quietly drop one of them.
"""

from __future__ import annotations

import ast
import fnmatch
import importlib.metadata
import re
import sys
from pathlib import Path

import pytest

from presence_sync.deploy.render import DEFAULT_BASE_IMAGE, RenderOptions, content_tag, render

ROOT = Path(__file__).resolve().parents[3]
CONFIG = {"version": 1}
DIGEST = re.compile(r"^FROM [^\s@]+@sha256:[0-9a-f]{64}$", re.MULTILINE)
OURS = {"runtime", "presence_sync", "sandbox", "providers", "resources", "engine", "bench"}


def dockerfile(**options: str) -> str:
    return render(CONFIG, RenderOptions(**options)).files["Dockerfile"]  # type: ignore[arg-type]


def instructions(text: str) -> list[str]:
    joined = text.replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_the_base_image_is_pinned_by_digest() -> None:
    froms = [line for line in instructions(dockerfile()) if line.startswith("FROM ")]
    assert len(froms) == 1 and DIGEST.match(froms[0]), froms
    pinned = "python:3.12-slim@sha256:" + "0123456789abcdef" * 4
    assert f"FROM {pinned}\n" in dockerfile(base_image=pinned)


@pytest.mark.parametrize(
    "base",
    ["python:3.12-slim", "python:3.11-slim@sha256:" + "A" * 64, "python:3.11-slim@sha256:abc", "@sha256:" + "a" * 64],
)
def test_a_base_image_without_a_valid_digest_is_refused(base: str) -> None:
    with pytest.raises(Exception, match="not pinned by digest"):
        dockerfile(base_image=base)


def test_dependencies_come_only_from_the_runtime_lock_with_hashes() -> None:
    lines = instructions(dockerfile())
    installs = [line for line in lines if re.search(r"\bpip3? install\b", line)]
    assert len(installs) == 1, installs
    words = installs[0].split()
    assert "--require-hashes" in words and "--no-deps" in words and "--only-binary=:all:" in words
    assert words[words.index("--requirement") + 1] == "requirements-runtime.lock"
    assert "COPY requirements-runtime.lock ./" in lines
    assert not any(line.startswith(("RUN pip install .", "RUN pip install --no-deps .")) for line in lines)


def test_what_the_dockerfile_copies_exists_and_is_not_ignored() -> None:
    rendered = render(CONFIG, RenderOptions())
    ignored = [p for p in rendered.files[".dockerignore"].splitlines() if p and not p.startswith("#")]
    assert rendered.files["Dockerfile.dockerignore"] == rendered.files[".dockerignore"]
    for line in instructions(rendered.files["Dockerfile"]):
        if line.startswith("COPY "):
            source = line.split()[1]
            assert (ROOT / source).exists(), source
            assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), source


@pytest.mark.parametrize(
    "image", ["presence-sync-runtime:latest", "registry.example.com:5000/ps", "ps", "registry.example.com/ps:"]
)
def test_a_moving_image_reference_is_refused(image: str) -> None:
    with pytest.raises(ValueError, match="moving reference"):
        RenderOptions(image=image)


@pytest.mark.parametrize(
    "image",
    [
        "registry.example.com/ps:1.4.2",
        "registry.example.com:5000/ps:3f9c2ab",
        "ps@sha256:" + "0a" * 32,
        "registry.example.com/ps:latest@sha256:" + "0a" * 32,
    ],
)
def test_an_immutable_image_reference_is_accepted_and_is_the_build_hint(image: str) -> None:
    text = dockerfile(image=image)
    if "@sha256:" not in image:
        assert f"-t {image} ." in text


def test_no_image_given_is_a_content_tag_of_what_goes_into_the_image(tmp_path: Path) -> None:
    image = RenderOptions().image
    assert image is not None and re.fullmatch(r"presence-sync-runtime:[0-9a-f]{12}", image), image
    assert f"-t {image} ." in dockerfile()
    # Over the Dockerfile template, the runtime lock and the two source folders: any change there, another tag.
    (tmp_path / "presence_sync" / "deploy" / "templates").mkdir(parents=True)
    (tmp_path / "presence_sync" / "deploy" / "templates" / "Dockerfile.j2").write_text("FROM x\n")
    (tmp_path / "requirements-runtime.lock").write_text("requests==2.32.3\n")
    (tmp_path / "runtime").mkdir()
    (tmp_path / "presence_sync" / "a.py").write_text("A = 1\n")
    first = content_tag.__wrapped__(tmp_path)
    (tmp_path / "presence_sync" / "__pycache__").mkdir()
    (tmp_path / "presence_sync" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"cache")
    assert content_tag.__wrapped__(tmp_path) == first, "caches are not what the image is built from"
    (tmp_path / "presence_sync" / "a.py").write_text("A = 2\n")
    assert content_tag.__wrapped__(tmp_path) != first
    assert re.fullmatch(r"[0-9a-f]{12}", first)


@pytest.mark.parametrize("base", ["python:3.11-slim", "python@sha256:" + "0a" * 31, "py thon@sha256:" + "0a" * 32])
def test_the_options_refuse_a_base_image_not_pinned_by_digest(base: str) -> None:
    with pytest.raises(ValueError, match="not pinned by digest"):
        RenderOptions(base_image=base)
    assert DEFAULT_BASE_IMAGE.startswith("python:3.11-slim@sha256:")
    assert RenderOptions().base_image == DEFAULT_BASE_IMAGE


def runtime_imports() -> set[str]:
    """Top-level third-party modules that `python -m runtime` can import, following our own modules (also
    imports inside functions) from runtime/__main__.py."""
    seen: set[str] = set()
    third_party: set[str] = set()
    todo = ["runtime.__main__"]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        base = ROOT.joinpath(*module.split("."))
        source = base / "__init__.py" if (base / "__init__.py").exists() else base.with_suffix(".py")
        if not source.exists():
            continue  # `from package import name` where name is not a module
        parts = module.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
        package = module if source.name == "__init__.py" else module.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(source.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(anchor + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                names = [target] + [f"{target}.{alias.name}" for alias in node.names]
            for name in names:
                top = name.split(".")[0]
                if top in OURS:
                    todo.append(name)
                elif top and top not in sys.stdlib_module_names and top != "__future__":
                    third_party.add(top)
    return third_party


def test_the_runtime_lock_holds_everything_the_runtime_imports() -> None:
    lock = (ROOT / "requirements-runtime.lock").read_text()
    locked = {m.group(1).lower() for m in re.finditer(r"^([A-Za-z0-9_.-]+)==", lock, re.MULTILINE)}
    distributions = importlib.metadata.packages_distributions()
    imports = runtime_imports()
    assert {"requests", "pydantic", "prometheus_client"} <= imports, imports  # the walk really walks
    for module in sorted(imports):
        names = {d.lower().replace("_", "-") for d in distributions.get(module, [])}
        assert names & locked, f"`python -m runtime` imports {module} ({names or 'unknown'}), not in the runtime lock"
