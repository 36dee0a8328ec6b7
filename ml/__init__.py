"""Plain-Python machine learning for AutoList: the price model (ml.price) and the recommender (ml.recommender)."""

import os

# OpenMP threads (LightGBM, XGBoost, scikit-learn's histogram boosting) spin while they wait for work by default.
# On a small machine shared with other processes (the pipeline's own dbt and DuckDB, a demo server, other jobs)
# the spinning threads take the cores the working ones need: training 600 rounds on 8,000 rows took 23 s
# instead of 4 s at a load of 8. Waiting passively costs little when the machine is idle. Set before any of
# those libraries loads the OpenMP runtime, which reads it once; an explicit setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
