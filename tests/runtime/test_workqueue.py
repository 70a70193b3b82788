"""The keyed work queue: one worker per key at a time, adds collapse, an add while processing is never lost."""

from __future__ import annotations

import threading

from runtime.workqueue import KeyedWorkQueue

from .fakes import Clock


def test_adds_of_a_queued_key_collapse_into_one_run() -> None:
    queue: KeyedWorkQueue[int] = KeyedWorkQueue(Clock())
    for _ in range(5):
        queue.add(7)
    queue.add(8)
    assert [queue.get(block=False), queue.get(block=False), queue.get(block=False)] == [7, 8, None]


def test_a_key_added_while_it_is_processed_runs_once_more_after_done() -> None:
    queue: KeyedWorkQueue[int] = KeyedWorkQueue(Clock())
    queue.add(7)
    assert queue.get(block=False) == 7
    queue.add(7)
    queue.add(7)
    assert queue.get(block=False) is None  # not handed to a second worker meanwhile
    queue.done(7)
    assert queue.get(block=False) == 7
    queue.done(7)
    assert queue.get(block=False) is None and queue.idle()


def test_a_delayed_key_is_due_when_the_clock_reaches_its_time() -> None:
    clock = Clock()
    queue: KeyedWorkQueue[str] = KeyedWorkQueue(clock)
    queue.add_at("later", clock() + 2.0)
    queue.add_at("sooner", clock() + 1.0)
    assert queue.get(block=False) is None and queue.next_delayed_at() == clock() + 1.0
    clock.advance(1.0)
    assert queue.get(block=False) == "sooner"
    clock.advance(1.0)
    assert queue.get(block=False) == "later"


def test_shutting_down_wakes_a_blocked_worker_with_none() -> None:
    queue: KeyedWorkQueue[int] = KeyedWorkQueue()
    got: list[int | None] = []
    worker = threading.Thread(target=lambda: got.append(queue.get()))
    worker.start()
    queue.shut_down()
    worker.join()
    assert got == [None]


def test_a_blocked_worker_wakes_for_an_add() -> None:
    queue: KeyedWorkQueue[int] = KeyedWorkQueue()
    got: list[int | None] = []
    worker = threading.Thread(target=lambda: got.append(queue.get()))
    worker.start()
    queue.add(3)
    worker.join()
    assert got == [3]
