"""`make bench`: speed figures measured against baselines in the same run (see bench/run.py)."""
