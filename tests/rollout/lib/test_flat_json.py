import json

from rollout.lib.flat_json import flat_json


def test_flat_json_is_json_dumps_and_tells_values_of_equal_hash_apart():
    for value in (
        {"model_version": "2026-09", "channel": "email"},
        {"flag": True},
        {"flag": 1},
        {"flag": 1.0},
        {"flag": None, "zoë": "naïve · “quoted”"},
        {},
    ):
        for _ in range(2):  # the second time from memory
            assert flat_json(value) == json.dumps(value)
    assert flat_json({"flag": True}) == '{"flag": true}'
    assert flat_json({"flag": 1}) == '{"flag": 1}'


def test_flat_json_encodes_a_nested_object_afresh():
    value = {"nested": {"a": [1, 2]}}
    assert flat_json(value) == json.dumps(value)
    value["nested"]["a"].append(3)
    assert flat_json(value) == json.dumps(value)
