from collections.abc import Iterator

import pytest

from rollout.services import webhook_outbox as outbox
from tests.rollout.services.webhook_receiver import Receiver
from tests.waiting import PATIENCE


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    # The receiver is a thread of this process: on a loaded machine it may take longer than the
    # product's few seconds to answer, and these tests are not about that limit.
    monkeypatch.setattr(outbox, "TIMEOUT_SECONDS", PATIENCE)
    server = Receiver()
    yield server
    server.close()
