"""The dependency rule, checked from the source: the core imports only the standard library, and so on."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_top_level_modules(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


def test_core_imports_only_the_standard_library_and_itself() -> None:
    allowed = set(sys.stdlib_module_names) | {"restosync_core", "__future__"}
    offenders = {m: files for m, files in imported_top_level_modules("restosync_core").items() if m not in allowed}
    assert offenders == {}


def test_adapters_never_import_a_shell() -> None:
    imported = imported_top_level_modules("restosync_adapters")
    assert "restosync_http" not in imported
    assert "restosync_worker" not in imported


def test_http_and_worker_shells_never_import_each_other() -> None:
    assert "restosync_worker" not in imported_top_level_modules("restosync_http")
    assert "restosync_http" not in imported_top_level_modules("restosync_worker")


def imported_modules(package: str) -> set[str]:
    """Every module ``package`` imports, by its full dotted name."""
    found: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module)
    return found


def test_nothing_imports_the_restosync_command() -> None:
    for package in ("restosync_core", "restosync_adapters", "restosync_http", "restosync_worker"):
        assert "restosync_cli" not in imported_top_level_modules(package), package


def test_shells_import_of_the_adapters_only_the_composition_root() -> None:
    allowed = {
        "restosync_adapters.bootstrap", "restosync_adapters.settings", "restosync_adapters.logging",
        "restosync_adapters.wire_rows",  # the push format's rows: read by pushes and by reconciliation
        "restosync_adapters.prometheus",  # process-wide metrics, as logging is: counted in each shell
        "restosync_adapters.lifecycle",  # each shell stops when the `restosync run` above it dies
    }
    for shell in ("restosync_http", "restosync_worker"):
        adapters = {m for m in imported_modules(shell) if m.split(".")[0] == "restosync_adapters"}
        assert adapters <= allowed, (shell, adapters - allowed)


def test_the_checker_notices_a_forbidden_import(tmp_path: Path, monkeypatch: object) -> None:
    """A deliberate ``import psycopg`` in a core-shaped package is reported (the check can fail)."""
    package = tmp_path / "restosync_core"
    package.mkdir()
    (package / "bad.py").write_text("import psycopg\nfrom decimal import Decimal\n")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        found = imported_top_level_modules("restosync_core")
    finally:
        ROOT = saved
    assert "psycopg" in found and "decimal" in found
