"""Hybrid listing recommendations (content + co-visitation) trained on synthetic user interactions."""

from ml.recommender.evaluate import evaluate, evaluate_and_train, train_recommender
from ml.recommender.interactions import InteractionConfig, generate_interactions
from ml.recommender.model import LISTING_COLUMNS, ItemFeatures, Recommender

__all__ = ["LISTING_COLUMNS", "InteractionConfig", "ItemFeatures", "Recommender", "evaluate", "evaluate_and_train", "generate_interactions", "train_recommender"]
