"""Evaluation: full-ranking metrics and simple recommenders used as checks and baselines."""
