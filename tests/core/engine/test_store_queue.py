"""The store queue: results stored by a few drains, several at a time, each awaiter told its own outcome."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tutopanda.core.engine.store_queue import StoreQueue

DEADLINE = 60.0  # generous: the machine may be loaded


class _Store:
    """A ``store_many`` that records its calls; the first call may wait until released."""

    def __init__(self, *, hold_first: bool = False) -> None:
        self.calls: list[list[int]] = []
        self.stored: list[int] = []
        self.lock = threading.Lock()
        self.first_started = threading.Event()
        self.release = threading.Event()
        self.hold_first = hold_first
        self.in_flight = 0
        self.most_in_flight = 0

    def __call__(self, items: list[int]) -> list[str | BaseException]:
        with self.lock:
            first = not self.calls
            self.calls.append(list(items))
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if first and self.hold_first:
                self.first_started.set()
                assert self.release.wait(DEADLINE)
            outcomes: list[str | BaseException] = []
            for item in items:
                if item < 0:
                    outcomes.append(OSError(28, f"No space left on device for {item}"))
                    continue
                with self.lock:
                    self.stored.append(item)
                outcomes.append(f"stored {item}")
            return outcomes
        finally:
            with self.lock:
                self.in_flight -= 1


def test_results_queued_behind_a_busy_drain_are_stored_together() -> None:
    store = _Store(hold_first=True)

    async def main() -> list[str]:
        with ThreadPoolExecutor(4) as pool:
            queue: StoreQueue[int, str] = StoreQueue(store, pool, drains=1)
            first = asyncio.ensure_future(queue.store(0))
            await asyncio.to_thread(store.first_started.wait, DEADLINE)
            rest = [asyncio.ensure_future(queue.store(item)) for item in range(1, 6)]
            await asyncio.sleep(0)  # all five queued while the only drain is busy
            store.release.set()
            return list(await asyncio.wait_for(asyncio.gather(first, *rest), DEADLINE))

    assert asyncio.run(main()) == [f"stored {item}" for item in range(6)]
    assert store.calls == [[0], [1, 2, 3, 4, 5]]


def test_each_awaiter_gets_its_own_outcome_and_a_failure_fails_only_its_own() -> None:
    store = _Store()

    async def main() -> list[str | BaseException]:
        with ThreadPoolExecutor(4) as pool:
            queue: StoreQueue[int, str] = StoreQueue(store, pool, drains=2)
            jobs = [queue.store(item) for item in (1, -2, 3, 4)]
            return list(await asyncio.wait_for(asyncio.gather(*jobs, return_exceptions=True), DEADLINE))

    outcomes = asyncio.run(main())
    assert outcomes[0] == "stored 1" and outcomes[2:] == ["stored 3", "stored 4"]
    assert isinstance(outcomes[1], OSError) and "for -2" in str(outcomes[1])


class _Abort(BaseException):
    """Not an Exception: a drain that let it through would stop, stranding the queue."""


@pytest.mark.parametrize("error", [KeyError, _Abort])
def test_a_bug_in_the_store_fails_its_batch_and_the_drain_goes_on(error: type[BaseException]) -> None:
    def store_many(items: list[int]) -> list[str | BaseException]:
        if 13 in items:
            raise error("a bug")
        return [f"stored {item}" for item in items]

    async def main() -> tuple[list[str | BaseException], str]:
        with ThreadPoolExecutor(2) as pool:
            queue: StoreQueue[int, str] = StoreQueue(store_many, pool, drains=1, batch=1)
            unlucky = list(
                await asyncio.wait_for(asyncio.gather(queue.store(13), return_exceptions=True), DEADLINE)
            )
            return unlucky, await asyncio.wait_for(queue.store(14), DEADLINE)

    unlucky, later = asyncio.run(main())
    assert isinstance(unlucky[0], error)
    assert later == "stored 14"


def test_a_result_whose_awaiter_was_cancelled_is_stored_all_the_same() -> None:
    """Ctrl-C cancels the jobs: what they were paid for and handed over is still recorded."""
    store = _Store(hold_first=True)

    async def main() -> None:
        with ThreadPoolExecutor(2) as pool:
            queue: StoreQueue[int, str] = StoreQueue(store, pool, drains=1)
            first = asyncio.ensure_future(queue.store(1))
            await asyncio.to_thread(store.first_started.wait, DEADLINE)
            second = asyncio.ensure_future(queue.store(2))
            await asyncio.sleep(0)
            first.cancel()
            second.cancel()  # still queued: no drain has taken it yet
            store.release.set()
            with pytest.raises(asyncio.CancelledError):
                await first
        # leaving the pool's block waited for the drain

    asyncio.run(main())
    assert sorted(store.stored) == [1, 2]


@pytest.mark.parametrize("drains", [1, 3])
def test_many_results_all_stored_once_by_at_most_the_given_drains(drains: int) -> None:
    store = _Store()

    async def main() -> list[str]:
        with ThreadPoolExecutor(8) as pool:
            queue: StoreQueue[int, str] = StoreQueue(store, pool, drains=drains, batch=4)

            async def one(item: int) -> str:
                await asyncio.sleep(0)
                return await queue.store(item)

            return list(await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(300))), DEADLINE))

    assert asyncio.run(main()) == [f"stored {item}" for item in range(300)]
    assert sorted(store.stored) == list(range(300))
    assert store.most_in_flight <= drains
    assert all(len(call) <= 4 for call in store.calls)


def test_a_shut_down_executor_refuses_and_leaves_nothing_queued() -> None:
    pool = ThreadPoolExecutor(1)
    pool.shutdown()
    store = _Store()
    queue: StoreQueue[int, str] = StoreQueue(store, pool, drains=1)

    async def main() -> None:
        with pytest.raises(RuntimeError):
            await queue.store(1)

    asyncio.run(main())
    assert queue._waiting == [] and queue._draining == 0


def test_the_most_urgent_results_are_taken_first_then_the_first_queued() -> None:
    """The runner's priority is how many jobs wait behind a job: its store unblocks them sooner."""
    store = _Store(hold_first=True)

    async def main() -> None:
        with ThreadPoolExecutor(2) as pool:
            queue: StoreQueue[int, str] = StoreQueue(store, pool, drains=1, batch=2)
            first = asyncio.ensure_future(queue.store(0))
            await asyncio.to_thread(store.first_started.wait, DEADLINE)
            waiting = [
                asyncio.ensure_future(queue.store(item, priority=priority))
                for item, priority in ((1, 0), (2, 5), (3, 1), (4, 5), (5, 0))
            ]
            await asyncio.sleep(0)
            store.release.set()
            await asyncio.wait_for(asyncio.gather(first, *waiting), DEADLINE)

    asyncio.run(main())
    assert store.calls == [[0], [2, 4], [3, 1], [5]]


def test_a_store_that_miscounts_its_outcomes_fails_its_batch_instead_of_leaving_it_waiting() -> None:
    def store_many(items: list[int]) -> list[str | BaseException]:
        return []  # no outcome at all

    async def main() -> list[str | BaseException]:
        with ThreadPoolExecutor(2) as pool:
            queue: StoreQueue[int, str] = StoreQueue(store_many, pool, drains=1, batch=2)
            waiting = [queue.store(1), queue.store(2)]
            return list(await asyncio.wait_for(asyncio.gather(*waiting, return_exceptions=True), DEADLINE))

    outcomes = asyncio.run(main())
    assert len(outcomes) == 2
    assert all(isinstance(outcome, RuntimeError) for outcome in outcomes)
