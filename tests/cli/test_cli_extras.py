"""Without an optional extra, commands and backends say which extra to install (ML501), never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

_BLOCK = "import sys\nfor m in {mods!r}: sys.modules[m] = None\n"


def _run(block: tuple[str, ...], code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _BLOCK.format(mods=block) + code], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("command", "blocked", "extra"),
    [
        (["serve"], ("fastapi",), "medlens[server]"),
        (["segment", ".", "-p", "lungs", "--out", "out"], ("numpy",), "medlens[imaging]"),
    ],
)
def test_command_without_its_extra_names_the_extra(command: list[str], blocked: tuple[str, ...], extra: str) -> None:
    proc = _run(blocked, f"from medlens.cli import main\nsys.argv = ['medlens', *{command!r}]\nmain()")
    assert proc.returncode == 2
    assert "ML501" in proc.stderr
    assert extra in proc.stderr
    assert "Traceback" not in proc.stderr


def test_llm_client_without_httpx_is_ml501() -> None:
    proc = _run(
        ("httpx",),
        "from medlens.core.errors import MissingDependencyError\n"
        "try:\n    import medlens.llm.client\nexcept MissingDependencyError as exc:\n    print(exc.code, exc)\n",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ML501")
    assert "medlens[llm]" in proc.stdout


def test_llm_backend_without_httpx_names_the_extra(tmp_path) -> None:
    config = tmp_path / "llm.toml"
    config.write_text(
        '[task_options."notes.extract".endpoint]\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\nlocality = "local"\n'
    )
    argv = ["medlens", "run", "--config", str(config), "--backend", "notes.extract=llm", "--out", str(tmp_path / "o")]
    proc = _run(("httpx",), f"from medlens.cli import main\nsys.argv = {argv!r}\nmain()")
    assert proc.returncode == 2
    assert "medlens[llm]" in proc.stderr
    assert "Traceback" not in proc.stderr
