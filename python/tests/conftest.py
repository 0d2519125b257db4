"""Fixtures of the Python binding's tests: the test broker and topics filled with librdkafka.

`cargo xtask test` builds the module into the test virtualenv, starts a broker and sets
TRUTHOUND_TEST_BROKER; these tests never skip without it.
"""

from __future__ import annotations

import itertools
import json
import os
from typing import Callable, Iterable, List, Optional, Tuple

import pytest

_counter = itertools.count()


@pytest.fixture(scope="session")
def broker() -> str:
    address = os.environ.get("TRUTHOUND_TEST_BROKER")
    if not address:
        pytest.fail(
            "TRUTHOUND_TEST_BROKER is not set: run the Python tests with `cargo xtask test` "
            "(or start a broker with `cargo xtask broker start` and export what it prints)",
            pytrace=False,
        )
    return address


Message = Tuple[Optional[bytes], Optional[bytes]]


@pytest.fixture
def make_topic(broker: str) -> Callable[..., str]:
    """`make_topic(partitions, messages_of)`: a new topic whose partition `p` holds the
    (key, value) pairs `messages_of(p)`, produced by librdkafka (confluent-kafka)."""
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": broker})

    def make(partitions: int, messages_of: Callable[[int], Iterable[Message]]) -> str:
        topic = f"py-{os.getpid()}-{next(_counter)}"
        admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(timeout=30)
        producer = Producer({"bootstrap.servers": broker, "linger.ms": 5})
        for p in range(partitions):
            for key, value in messages_of(p):
                producer.produce(topic, value=value, key=key, partition=p)
        assert producer.flush(30) == 0
        return topic

    return make


def user_event(p: int, i: int) -> Message:
    """The spec's message format: user id, action, timestamp."""
    action = ["login", "logout", "purchase"][i % 3]
    value = {
        "user_id": p * 1000 + i,
        "action": action,
        "timestamp": f"2024-01-01T00:00:{i % 60:02}Z",
    }
    return f"user-{i}".encode(), json.dumps(value).encode()


@pytest.fixture
def user_events(make_topic: Callable[..., str]) -> Callable[[int, int], str]:
    """`user_events(partitions, n)`: a topic of `n` user events per partition."""

    def make(partitions: int, n: int) -> str:
        return make_topic(partitions, lambda p: [user_event(p, i) for i in range(n)])

    return make


def rows(frame) -> List[tuple]:  # type: ignore[no-untyped-def]
    return [tuple(r) for r in frame.rows()]


@pytest.fixture
def registry():  # type: ignore[no-untyped-def]
    """A schema registry in the test (see `registry.py`), stopped afterwards."""
    from registry import Registry

    r = Registry()
    yield r
    r.close()
