"""The read cache the sessions and the kinds' proxies share: each list loaded once, dropped by a write -- only
the list written to, unless everything is dropped -- and a load a write overtook never kept."""

from __future__ import annotations

import threading

from presence_sync.clients._cache import ReadCache


def test_a_list_is_loaded_once_until_it_is_forgotten() -> None:
    cache, loads = ReadCache(), list[str]()

    def load(value: str) -> list[str]:
        loads.append(value)
        return [value]

    assert cache.get("teams", lambda: load("Chat")) == ["Chat"]
    assert cache.get("teams", lambda: load("Voice")) == ["Chat"]
    cache.forget("teams")
    assert cache.get("teams", lambda: load("Voice")) == ["Voice"]
    assert loads == ["Chat", "Voice"]


def test_forgetting_one_list_keeps_the_others_and_forgetting_all_drops_them() -> None:
    cache = ReadCache()
    cache.get("rules", lambda: ["r"])
    cache.get("agents", lambda: ["a"])
    cache.forget("rules")
    assert cache.get("agents", lambda: ["reloaded"]) == ["a"]
    cache.forget()
    assert cache.get("agents", lambda: ["reloaded"]) == ["reloaded"]


def test_a_load_overtaken_by_a_write_to_its_list_is_not_kept_but_one_overtaken_by_another_list_is() -> None:
    cache = ReadCache()

    def load_while(forget: str) -> list[str]:
        cache.forget(forget)  # a write lands while the list is being read
        return ["while"]

    assert cache.get("rules", lambda: load_while("rules")) == ["while"]
    assert cache.get("rules", lambda: ["after"]) == ["after"]  # the overtaken load was not kept
    assert cache.get("agents", lambda: load_while("rules")) == ["while"]
    assert cache.get("agents", lambda: ["after"]) == ["while"]  # another list's write does not make it stale


def test_concurrent_readers_of_one_list_make_one_load() -> None:
    cache, loads, started = ReadCache(), list[int](), threading.Event()
    release = threading.Event()

    def slow() -> list[str]:
        loads.append(1)
        started.set()
        release.wait(timeout=30)
        return ["x"]

    results: list[list[str]] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("k", slow))) for _ in range(4)]
    for thread in threads:
        thread.start()
    assert started.wait(timeout=30)
    release.set()
    for thread in threads:
        thread.join(timeout=30)
    assert results == [["x"]] * 4 and loads == [1]
