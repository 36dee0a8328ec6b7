"""A real headless Chromium opens every page of the running app: each renders its data with no error shown."""

from PIL import Image

from streamlit_app.browser_check import PAGES, estimator_latency_ms, free_port, streamlit_server, visit_pages


def test_every_page_renders_without_errors_in_a_real_browser(pipeline, tmp_path):
    with streamlit_server(free_port(), env={"AUTOLIST_DATA_DIR": str(pipeline.data_dir)}) as url:
        errors = visit_pages(url, tmp_path)
        timings = estimator_latency_ms(url, submissions=2)
    assert errors == {page: [] for page in PAGES}
    for page in PAGES:
        with Image.open(tmp_path / f"{page}.png") as shot:
            colours = len(set(shot.convert("RGB").resize((140, 180)).getdata()))
        assert colours > 50, f"{page} screenshot looks blank"  # a loading skeleton has a handful of colours
    assert len(timings) == 2 and all(t > 0 for t in timings)
