"""The OpenFeature Remote Evaluation Protocol (OFREP v0.3.0, open-feature/protocol), so any
OpenFeature SDK with an OFREP provider asks Rollout for a person's mode (issue 19 section 1).

* `POST /ofrep/v1/evaluate/flags/{key}` — one flag: the workflow's slug is the flag key, the
  context's `targetingKey` the person (email or external id). value = variant = live/shadow/off.
* `POST /ofrep/v1/evaluate/flags` — bulk: the token's workflow's flag, with a strong ETag.

`answers` builds the bodies (reasons, metadata, errors, ETags), `views` serves them, `openapi`
lists both paths in the API's OpenAPI document. Mounted at the standard's own URLs by config/urls.
"""
