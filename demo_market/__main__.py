"""Run the demo marketplace in the foreground: `python -m demo_market --avito-port 8765 --moteur-port 8766`."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import sys
import threading

from demo_market.market import Faults, Market, MarketConfig
from demo_market.server import DemoMarketServer


def main(argv: list[str] | None = None) -> int:
    """Parse options, serve until SIGINT/SIGTERM, then shut down cleanly."""
    parser = argparse.ArgumentParser(prog="python -m demo_market", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--avito-port", type=int, default=8765)
    parser.add_argument("--moteur-port", type=int, default=8766)
    parser.add_argument("--seed", type=int, default=int(os.environ.get("DEMO_SEED", "42")))
    parser.add_argument("--today", type=dt.date.fromisoformat, default=os.environ.get("DEMO_TODAY") or None,
                        help="simulated current day YYYY-MM-DD (default: today's UTC date)")
    parser.add_argument("--history-days", type=int, default=MarketConfig.history_days)
    parser.add_argument("--avito-per-day", type=int, default=MarketConfig.avito_per_day)
    parser.add_argument("--moteur-per-day", type=int, default=MarketConfig.moteur_per_day)
    parser.add_argument("--clean", action="store_true", default=os.environ.get("DEMO_CLEAN") == "1",
                        help="switch every fault off (default: as messy as the real sites)")
    args = parser.parse_args(argv)
    config = MarketConfig(seed=args.seed, today=args.today, history_days=args.history_days,
                          avito_per_day=args.avito_per_day, moteur_per_day=args.moteur_per_day,
                          faults=Faults.off() if args.clean else Faults.realistic())
    stop_requested = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop_requested.set())

    with DemoMarketServer(Market(config), host=args.host, avito_port=args.avito_port,
                          moteur_port=args.moteur_port) as server:
        print(f"avito  {server.avito_url}", flush=True)
        print(f"moteur {server.moteur_url}", flush=True)
        print(f"seed={config.seed} today={server.market.today.isoformat()} faults={'off' if args.clean else 'realistic'}"
              " (Ctrl-C to stop)", flush=True)
        while not stop_requested.wait(timeout=1.0):
            pass
    print("demo market stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
