"""A small deterministic demo market shared by the source tests."""

import pytest
from demo_truth import TODAY

from demo_market import Faults, Market, MarketConfig


@pytest.fixture(scope="session")
def market() -> Market:
    return Market(MarketConfig(seed=42, today=TODAY, avito_per_day=30, moteur_per_day=12, history_days=10,
                               faults=Faults.off()))
