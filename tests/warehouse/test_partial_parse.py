"""dbt runs inside the step's process and parses the project once per process and data dir, whatever the window."""

import json
import shutil

import dagster as dg

from autolist_assets import dbt_in_process, paths
from autolist_assets.assets.warehouse import build_dbt_assets, build_partitioned_dbt_assets
from autolist_assets.definitions import defs
from autolist_assets.resources import AutoListDbtCliResource

SKIPPED = "Nothing changed, skipping partial parsing."
PARSED = "Unable to do partial parsing"


def _size(log) -> int:
    return log.stat().st_size if log.exists() else 0


def _grown(log, before: int) -> str:
    """What dbt appended to a log since it was `before` bytes long (dbt rotates its logs at 10 MB)."""
    text = log.read_bytes() if log.exists() else b""
    return (text[before:] if len(text) >= before else text).decode()


def _run(instance, assets, parse_log, build_log, **kwargs) -> tuple[str, str]:
    """Materialize; returns what the parse and the build logged meanwhile."""
    sizes = [_size(log) for log in (parse_log, build_log)]
    result = dg.materialize([assets], resources=defs.resources, instance=instance, **kwargs)
    assert result.success
    return _grown(parse_log, sizes[0]), _grown(build_log, sizes[1])


def test_one_parse_per_process_serves_every_window(in_pipeline_dir, tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    shutil.copytree(in_pipeline_dir.data_dir, data_dir, ignore=shutil.ignore_patterns("dbt_parse"))
    monkeypatch.setenv("AUTOLIST_DATA_DIR", str(data_dir))
    marts, partitioned = build_dbt_assets(), build_partitioned_dbt_assets()
    parse_log = data_dir / "dbt_parse" / "dbt.log"
    marts_log = paths.DBT_PROJECT_DIR / "target" / marts.op.name / "dbt.log"
    partitioned_log = paths.DBT_PROJECT_DIR / "target" / partitioned.op.name / "dbt.log"
    day, other_day = (f"{d.isoformat()}|avito" for d in in_pipeline_dir.window)
    dbt_in_process._manifests.clear()
    with dg.instance_for_test() as instance:
        # a new data dir starts from the parse state `make manifest` left, whatever its warehouse path: dbt
        # re-reads at most the files changed since, never the whole project
        parse, build = _run(instance, marts, parse_log, marts_log)
        assert PARSED not in parse and "Completed successfully" in build
        assert (data_dir / "dbt_parse" / "partial_parse.msgpack").stat().st_size > 100_000
        # the same process, other windows: no parse at all, and each build filters its own days
        for key in (day, other_day):
            parse, build = _run(instance, partitioned, parse_log, partitioned_log, partition_key=key)
            assert parse == ""
            assert f"between cast('{key[:10]}' as date) and cast('{key[:10]}' as date)" in build
        # a new process finds the partial-parse state the first one left in the data dir
        dbt_in_process._manifests.clear()
        parse, _ = _run(instance, marts, parse_log, marts_log)
        assert SKIPPED in parse and PARSED not in parse


def test_the_subprocess_fallback_builds_the_same_window(in_pipeline_dir, tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    shutil.copytree(in_pipeline_dir.data_dir, data_dir, ignore=shutil.ignore_patterns("dbt_parse"))
    monkeypatch.setenv("AUTOLIST_DATA_DIR", str(data_dir))
    partitioned = build_partitioned_dbt_assets()
    log = paths.DBT_PROJECT_DIR / "target" / partitioned.op.name / "dbt.log"
    key = f"{in_pipeline_dir.window[0].isoformat()}|moteur"
    dbt = defs.resources["dbt"]
    subprocess_dbt = AutoListDbtCliResource(project_dir=dbt.project_dir, profiles_dir=dbt.profiles_dir,
                                            dbt_executable=dbt.dbt_executable, in_process=False)
    with dg.instance_for_test() as instance:
        before = _size(log)
        result = dg.materialize([partitioned], resources={**defs.resources, "dbt": subprocess_dbt}, instance=instance,
                                partition_key=key)
    assert result.success
    # a `dbt` process of its own parsed the project, with the window vars, and filtered the staging tests by them
    assert not (data_dir / "dbt_parse").exists()
    build = _grown(log, before)
    assert PARSED in build
    assert f"where scrape_date between cast('{key[:10]}' as date) and cast('{key[:10]}' as date)) dbt_subquery" in build


def test_a_failing_command_ends_with_its_error_and_a_nonzero_code(isolated_data_dir):
    target = isolated_data_dir / "target_bad"
    dbt = dbt_in_process.InProcessDbt(
        ["dbt", "build", "--select", "model_that_does_not_exist", "--no-such-flag"],
        env={"DBT_PROJECT_DIR": str(paths.DBT_PROJECT_DIR), "DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(target)},
    )
    errors = [json.loads(line)["info"]["msg"] for line in dbt.stdout if json.loads(line)["info"]["level"] == "error"]
    assert dbt.wait() == 2
    assert any("--no-such-flag" in message for message in errors)
