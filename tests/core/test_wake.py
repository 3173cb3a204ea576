"""core.wake: tasks are woken by name after commit; a broker outage is logged once and loses
nothing; every name the code passes is a registered task."""

import ast
import logging
from pathlib import Path

import pytest
from celery import current_app
from django.conf import settings
from django.test import TestCase
from kombu.exceptions import OperationalError

from core import wake as wake_module
from core.wake import wake
from rollout import tasks

SOURCE_ROOTS = ("core", "rollout", "accounts")


def _wake_calls() -> list[tuple[str, int, ast.expr]]:
    """(file, line, first argument) of every wake(...) call in the project's code."""
    calls = []
    base = Path(settings.BASE_DIR)
    for root in SOURCE_ROOTS:
        for path in (base / root).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id == "wake"
                ):
                    calls.append((str(path.relative_to(base)), node.lineno, node.args[0]))
    return calls


def test_every_name_passed_to_wake_is_a_registered_task():
    calls = _wake_calls()
    assert len(calls) >= 6  # the six wake-ups the services make today, at least
    for where, line, name in calls:
        # A literal, so this test sees every name the code can pass.
        assert isinstance(name, ast.Constant) and isinstance(name.value, str), (where, line)
        assert name.value in current_app.tasks, f"{where}:{line} wakes unknown {name.value!r}"


@pytest.fixture(autouse=True)
def _broker_answers():
    wake_module._state.broker_down = False
    yield
    wake_module._state.broker_down = False


def test_the_task_runs_only_after_commit(db, monkeypatch):
    ran = []
    monkeypatch.setattr(tasks.send_webhooks, "delay", lambda *a: ran.append(a))

    with TestCase.captureOnCommitCallbacks(execute=True) as callbacks:
        wake("rollout.tasks.send_webhooks")
        assert ran == []  # not before the transaction commits
    assert len(callbacks) == 1
    assert ran == [()]


def test_ids_are_passed_on(db, monkeypatch):
    ran = []
    monkeypatch.setattr(tasks.evaluate_workflow, "delay", lambda *a: ran.append(a))

    with TestCase.captureOnCommitCallbacks(execute=True):
        wake("rollout.tasks.evaluate_workflow", 42)
    assert ran == [(42,)]


@pytest.mark.parametrize(
    "error", [OperationalError("redis down"), ConnectionRefusedError("no broker")]
)
def test_a_broker_outage_is_logged_once_until_the_broker_answers(db, monkeypatch, caplog, error):
    def down(*args):
        raise error

    monkeypatch.setattr(tasks.send_webhooks, "delay", down)
    caplog.set_level(logging.INFO, logger="core.wake")
    with TestCase.captureOnCommitCallbacks(execute=True):
        wake("rollout.tasks.send_webhooks")
        wake("rollout.tasks.send_webhooks")
        wake("rollout.tasks.send_webhooks")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "rollout.tasks.send_webhooks" in warnings[0].getMessage()
    assert "sweep" in warnings[0].getMessage()

    monkeypatch.setattr(tasks.send_webhooks, "delay", lambda *a: None)
    with TestCase.captureOnCommitCallbacks(execute=True):
        wake("rollout.tasks.send_webhooks")
    assert [r.levelno for r in caplog.records].count(logging.INFO) == 1  # "answers again"


def test_a_bug_in_an_eager_task_is_not_mistaken_for_an_outage(db, monkeypatch):
    def bug(*args):
        raise ZeroDivisionError

    monkeypatch.setattr(tasks.send_webhooks, "delay", bug)
    with pytest.raises(ZeroDivisionError), TestCase.captureOnCommitCallbacks(execute=True):
        wake("rollout.tasks.send_webhooks")


def test_an_unknown_task_name_fails_loudly(db):
    with pytest.raises(KeyError), TestCase.captureOnCommitCallbacks(execute=True):
        wake("rollout.tasks.no_such_task")
