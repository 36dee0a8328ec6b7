"""Local stand-in for avito.ma and moteur.ma: a deterministic market served in the sites' own page formats."""

from demo_market.market import Faults, Listing, Market, MarketConfig
from demo_market.server import DemoMarketServer

__all__ = ["DemoMarketServer", "Faults", "Listing", "Market", "MarketConfig"]
