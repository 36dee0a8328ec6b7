"""AutoList's read-only REST API (FastAPI): the serving snapshot, estimate() and the recommender over HTTP."""
