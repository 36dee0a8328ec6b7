"""Price intelligence: features, training, conformal ranges, deal ratings, explanations and a registry.

Plain Python with no Dagster imports; autolist_assets/assets/ml.py wraps it.
"""
