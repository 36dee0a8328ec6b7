"""A separate process that materializes partitions, as a launched run would: to be killed, starved of disk, or run
side by side with others on one Dagster instance.

    python -m reliability.worker raw --avito-url URL --moteur-url URL --warehouse PATH [--min-interval S] SITE|DAY...
    python -m reliability.worker backfill --avito-url URL --moteur-url URL [--dbt] SITE|DAY...

`raw` prints "ERROR <message>" and exits 1 when a run fails; `backfill` runs each partition as its own run on the
instance in DAGSTER_HOME (its concurrency pools apply) and prints one JSON line per run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def _key(text: str):
    import dagster as dg

    source, day = text.split("|")
    return dg.MultiPartitionKey({"date": day, "source": source})


def _error(result) -> str:
    failures = result.get_step_failure_events() if hasattr(result, "get_step_failure_events") else []
    for event in failures:
        error = event.event_specific_data.error
        # the first error below Dagster's own wrappers is the one the asset raised for people to read
        while error is not None and error.cls_name and error.cls_name.startswith("Dagster") and error.cause:
            error = error.cause
        if error is not None:
            return error.message.strip()
    return "run failed"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reliability.worker")
    parser.add_argument("command", choices=["raw", "backfill"])
    parser.add_argument("--avito-url", required=True)
    parser.add_argument("--moteur-url", required=True)
    parser.add_argument("--warehouse", default="")
    parser.add_argument("--min-interval", type=float, default=None)
    parser.add_argument("--dbt", action="store_true", help="also build the partitioned dbt models in each run")
    parser.add_argument("partitions", nargs="+")
    args = parser.parse_args(argv)

    import dagster as dg

    from autolist_assets.assets.raw import raw_listings
    from autolist_assets.assets.warehouse import build_partitioned_dbt_assets
    from autolist_assets.resources import Marketplace, Warehouse, build_resources

    resources = {"warehouse": Warehouse(path=args.warehouse),
                 "marketplace": Marketplace(avito_url=args.avito_url, moteur_url=args.moteur_url),
                 "dbt": build_resources()["dbt"]}
    assets = [raw_listings, *([build_partitioned_dbt_assets()] if args.dbt else [])]
    config = {"ops": {"raw_listings": {"config": {"min_interval_s": args.min_interval}}}}
    instance = dg.DagsterInstance.get() if args.command == "backfill" else None
    status = 0
    for text in args.partitions:
        started = time.time()
        run_id = None
        try:
            result = dg.materialize(assets, partition_key=_key(text), resources=resources, run_config=config,
                                    instance=instance, raise_on_error=False)
            ok, message, run_id = result.success, "" if result.success else _error(result), result.run_id
        except Exception as error:  # a run that cannot even start is a failure of that run, reported like one
            ok, message = False, f"{type(error).__name__}: {error}"
        if args.command == "backfill":
            print(json.dumps({"partition": text, "run_id": run_id, "success": ok, "error": message[:500],
                              "started": started,
                              "ended": time.time()}), flush=True)
        elif not ok:
            print(f"ERROR {message}", flush=True)
        status = status or (0 if ok else 1)
    return status


if __name__ == "__main__":
    sys.exit(main())
