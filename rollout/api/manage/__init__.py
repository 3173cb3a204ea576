"""The management API (issue 20 §4): people's personal access tokens drive what they could do in
the browser — workflows, plans, phases, cohorts, thresholds, … — through the same services.

auth.py authenticates the bearer token; common.py holds what every management endpoint shares
(the write scope, Idempotency-Key, the error bodies). Each area is a module with its own Router
(`Router(auth=PersonalTokenAuth(), tags=["Management"])`), added in rollout/api/__init__.py.
"""
