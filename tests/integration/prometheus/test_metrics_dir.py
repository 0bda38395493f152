"""``restosync run``'s metrics directory: one for all its children, emptied at start, removed if it made it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from restosync_cli import shared_metrics_dir


@pytest.fixture(autouse=True)
def _environment_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("METRICS_DIR", raising=False)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)


def test_without_metrics_dir_run_makes_a_temporary_one_for_its_children_and_removes_it() -> None:
    with shared_metrics_dir(None) as path:
        assert Path(path).is_dir() and not any(Path(path).iterdir())
        assert os.environ["METRICS_DIR"] == os.environ["PROMETHEUS_MULTIPROC_DIR"] == path
        (Path(path) / "counter_4242.db").write_bytes(b"\0" * 8)
    assert not Path(path).exists()


def test_a_configured_metrics_dir_loses_an_earlier_runs_counts_and_stays(tmp_path: Path) -> None:
    configured = tmp_path / "metrics"
    configured.mkdir()
    (configured / "counter_1234.db").write_bytes(b"\0" * 8)
    (configured / "histogram_1234.db").write_bytes(b"\0" * 8)
    (configured / "README").write_text("not ours: kept")
    with shared_metrics_dir(str(configured)) as path:
        assert path == str(configured)
        assert sorted(p.name for p in configured.iterdir()) == ["README"]
        assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(configured)
    assert configured.is_dir()


def test_a_configured_metrics_dir_that_does_not_exist_yet_is_made(tmp_path: Path) -> None:
    with shared_metrics_dir(str(tmp_path / "a" / "b")) as path:
        assert Path(path).is_dir()
