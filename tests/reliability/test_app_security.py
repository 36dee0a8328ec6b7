"""Scraped text never reaches the app as live HTML, hostile filter values stay data, and no secret is committed."""

import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from autolist_assets import paths
from reliability.corpus import INJECTIONS, SQL_STRINGS
from streamlit_app import data

REPO_ROOT = Path(__file__).resolve().parents[2]
APP = str(REPO_ROOT / "streamlit_app" / "app.py")
SCRIPT = "<script>alert('xss')</script>"
IMAGE = "<img src=x onerror=alert(1)>"
LINK = "[clique ici](javascript:alert(1))"


@pytest.fixture
def hostile_snapshot(in_pipeline_dir, tmp_path, monkeypatch):
    """The pipeline's snapshot with hostile titles, a hostile model, and every active listing rated."""
    shutil.copy(paths.serving_path(), tmp_path / "serving.duckdb")
    con = duckdb.connect(str(tmp_path / "serving.duckdb"))
    con.execute("update listings set deal_rating = 'good' where still_active and price_dh is not null")
    keys = [r[0] for r in con.execute(
        "select listing_key from listings where still_active and price_dh <= 400000 and model_year >= 2012 "
        "order by listing_key limit 3").fetchall()]
    for key, title in zip(keys, (SCRIPT, IMAGE, LINK)):
        # rated best, so the page's first 200 rows surely hold them
        con.execute("update listings set title = ?, deal_rating = 'great' where listing_key = ?",
                    [f"Dacia Logan {title}", key])
    brand, model = con.execute("select brand, model from prices_by_model_year_city order by listings desc limit 1"
                               ).fetchone()
    hostile_model = f"{model} {IMAGE} {LINK}"
    con.execute("update prices_by_model_year_city set model = ? where brand = ? and model = ?",
                [hostile_model, brand, model])
    con.execute("update listings set model = ? where brand = ? and model = ?", [hostile_model, brand, model])
    con.close()
    monkeypatch.setenv("AUTOLIST_DATA_DIR", str(tmp_path))
    return {"brand": brand, "model": hostile_model}


def _lets_html_through(app: AppTest) -> list:
    """Elements that would render HTML: markdown or captions with unsafe_allow_html, and st.html blocks.
    (Headings and alerts have no such switch: they never render HTML.)"""
    flagged = [e for e in [*app.markdown, *app.caption] if e.proto.allow_html]
    return flagged + list(app.get("html"))


def test_injected_titles_are_shown_as_text_never_as_html(hostile_snapshot):
    app = AppTest.from_file(APP, default_timeout=60).run()
    app.switch_page("app_pages/deals.py").run()
    assert not app.exception, app.exception
    titles = set(app.dataframe[0].value["title"])
    # the payloads reach the table as plain strings (a data grid never interprets them)...
    assert {f"Dacia Logan {SCRIPT}", f"Dacia Logan {IMAGE}", f"Dacia Logan {LINK}"} <= titles
    # ...and no element on the page lets HTML through
    assert _lets_html_through(app) == []


def test_a_hostile_model_name_is_escaped_in_markdown_headings(hostile_snapshot):
    app = AppTest.from_file(APP, default_timeout=60).run()
    app.switch_page("app_pages/model_explorer.py").run()
    app.selectbox(key="brand").select(hostile_snapshot["brand"]).run()
    app.selectbox(key="model").select(hostile_snapshot["model"]).run()
    assert not app.exception, app.exception
    heading = app.subheader[0]
    assert _lets_html_through(app) == []
    # every markup character is escaped, so the heading prints the payload instead of rendering it
    assert not re.search(r"(?<!\\)<img", heading.value) and "](javascript" not in heading.value
    assert heading.value.startswith(data.md_escape(hostile_snapshot["brand"]))
    assert "\\<img src=x onerror=alert\\(1\\)\\>" in heading.value
    assert len(app.dataframe[0].value) > 0  # the query found the hostile model: it is data, not code


HOSTILE = [*SQL_STRINGS, *INJECTIONS, "'", '"', "\\", "%", "_", "--", ";", "\x00", "Casablanca' OR '1'='1"]


def test_hostile_filter_values_are_bound_parameters_matching_nothing(in_pipeline_dir):
    before = data.query("select count(*) as n from listings")["n"][0]
    tables_before = data.tables()
    for value in HOSTILE:
        deals = data.query(data.DEALS, (10_000_000, 1900, value, value, "", "", "", "", "", 200))
        assert deals is not None and deals.empty, value  # no brand is called that: nothing matches, nothing breaks
        assert data.query(data.MODELS_OF_BRAND, (value,)).empty
        assert data.query(data.PRICE_BY_YEAR_CITY, (value, value)).empty
        assert data.query(data.LISTING_CHOICES, (value,)).empty
        assert data.query(data.USER_RECOMMENDATIONS, (value,)).empty
    # the same filters with a real value still find rows, so the empty answers above mean something
    brand = data.query(data.BRANDS)["brand"][0]
    assert not data.query(data.MODELS_OF_BRAND, (brand,)).empty
    assert data.query("select count(*) as n from listings")["n"][0] == before
    assert data.tables() == tables_before


def test_the_app_builds_no_sql_from_user_input():
    # every query the pages run is a constant of data.py with ? placeholders; pages never format SQL
    for page in (REPO_ROOT / "streamlit_app" / "app_pages").glob("*.py"):
        text = page.read_text()
        assert not re.search(r"query\(\s*f[\"']", text), page.name
        assert "duckdb" not in text, page.name
    text = (REPO_ROOT / "streamlit_app" / "data.py").read_text()
    assert not re.search(r"execute\(\s*f[\"']", text)


def _tracked_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    return [REPO_ROOT / name for name in names.splitlines() if (REPO_ROOT / name).is_file()]


SECRET_PATTERNS = [
    re.compile(r"AUTOLIST_PII_SALT\s*[=:]\s*['\"]?[A-Za-z0-9+/]{8,}"),
    re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH )?PRIVATE KEY-----"),
    re.compile(r"(?i)(?:api[_-]?key|secret|password|token)\s*[=:]\s*['\"][A-Za-z0-9_\-]{16,}['\"]"),
    re.compile(r"AKIA[0-9A-Z]{16}"),
    re.compile(r"gh[pousr]_[A-Za-z0-9]{36}"),
]


def test_no_secret_or_salt_is_committed():
    tracked = _tracked_files()
    assert tracked
    names = {p.name for p in tracked}
    assert ".pii_salt" not in names and "secrets.toml" not in names and ".env" not in names
    offenders = []
    for path in tracked:
        if path.suffix in (".png", ".jpg", ".gz", ".lock", ".duckdb") or path.stat().st_size > 2_000_000:
            continue
        text = path.read_text(errors="ignore")
        offenders += [f"{path.relative_to(REPO_ROOT)}: {p.pattern}" for p in SECRET_PATTERNS if p.search(text)]
    assert offenders == []
    ignored = (REPO_ROOT / ".gitignore").read_text()
    assert "/data/" in ignored and ".streamlit/secrets.toml" in ignored


def test_without_a_salt_in_the_environment_a_private_one_is_made_outside_the_repo(tmp_path, monkeypatch):
    monkeypatch.delenv("AUTOLIST_PII_SALT", raising=False)
    monkeypatch.setenv("AUTOLIST_DATA_DIR", str(tmp_path))
    salt = paths.pii_salt()
    salt_file = tmp_path / ".pii_salt"
    assert len(salt) == 32 and salt_file.read_text() == salt
    assert salt_file.stat().st_mode & 0o077 == 0  # readable by its owner only
    assert paths.pii_salt() == salt  # stable across runs of one installation
    monkeypatch.setenv("AUTOLIST_DATA_DIR", str(tmp_path / "other"))
    assert paths.pii_salt() != salt  # and never a shared, guessable constant
