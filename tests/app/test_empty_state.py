"""Before any snapshot is published, the app explains how to get data instead of failing."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_market_page_without_a_snapshot_shows_the_empty_state(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOLIST_DATA_DIR", str(tmp_path))
    app = AppTest.from_file(str(REPO_ROOT / "streamlit_app" / "app.py"), default_timeout=30).run()
    assert not app.exception
    assert "make demo" in app.info[0].value
    assert not app.metric
