"""Examples § "Working with Compute Sessions": paginated listing, create and destroy."""

from __future__ import annotations

import functools
import uuid

import pytest

from release import decimal

from ai.backend.client.exceptions import BackendAPIError
from ai.backend.client.session import Session

IMAGE = "python:3.9-ubuntu20.04"
# Keys of GET /session/{name} as the 23.09.10 manager answers them.
INFO_KEYS = {
    "domainName", "groupId", "userId", "lang", "image", "architecture", "registry", "tag",
    "containerId", "occupiedSlots", "occupyingSlots", "requestedSlots", "occupiedShares",
    "environ", "resourceOpts", "status", "statusInfo", "statusData", "age", "creationTime",
    "terminationTime", "numQueriesExecuted", "lastStat", "idleChecks",
}
ITEM_KEYS = {"id", "image", "type", "status", "status_info", "status_changed", "result",
             "abusing_reports"}


def list_all(api_session, status: str, page_size: int) -> tuple[list[dict], list[int]]:
    """The example's paging loop; returns the items and the total_count of each page."""
    fetch_func = functools.partial(
        api_session.ComputeSession.paginated_list,
        status=status,
    )
    current_offset = 0
    items: list[dict] = []
    totals: list[int] = []
    for _ in range(100):
        result = fetch_func(page_offset=current_offset, page_size=page_size)
        totals.append(result.total_count)
        if result.total_count == 0:
            # no items found
            break
        assert 0 < len(result.items) <= page_size, (current_offset, result.items)
        current_offset += len(result.items)
        items.extend(result.items)
        if current_offset >= result.total_count:
            # end of list
            break
    else:
        pytest.fail("paging never reached total_count")
    return items, totals


def test_paginated_list_by_status(server, unique):
    with Session() as api_session:
        before, _ = list_all(api_session, "RUNNING", page_size=20)
        created = []
        try:
            for i in range(3):
                sess = api_session.ComputeSession.get_or_create(
                    IMAGE, name=unique(f"list{i}"), resources={"cpu": 1, "mem": "1g"}
                )
                assert sess.status == "RUNNING"
                created.append(sess)
            mine = {str(s.id) for s in created}

            items, totals = list_all(api_session, "RUNNING", page_size=2)
            ids = [item["id"] for item in items]
            # Paging visits each session exactly once and total_count is the real count.
            assert len(ids) == len(set(ids)), f"a session was listed twice: {ids}"
            assert set(totals) == {len(ids)}, (totals, ids)
            assert mine <= set(ids)
            assert len(ids) == len(before) + 3
            assert len(totals) >= 2, "page_size=2 with >= 3 sessions must take several pages"
            for item in items:
                assert ITEM_KEYS <= item.keys(), item
                assert item["status"] == "RUNNING"
                uuid.UUID(item["id"])
            for item in items:
                if item["id"] in mine:
                    assert item["type"] == "INTERACTIVE"
                    assert item["image"].endswith(IMAGE), item["image"]
                    assert item["result"] == "UNDEFINED"

            # A status the new sessions are not in does not list them.
            other, _ = list_all(api_session, "PENDING", page_size=20)
            assert not mine & {item["id"] for item in other}

            # A page beyond the end is empty but keeps the total.
            page = api_session.ComputeSession.paginated_list(
                status="RUNNING", page_offset=len(ids), page_size=5
            )
            assert page.items == [] and page.total_count == len(ids)
        finally:
            for sess in created:
                sess.destroy()
        after, _ = list_all(api_session, "RUNNING", page_size=20)
        assert not mine & {item["id"] for item in after}


def test_create_and_destroy(server, unique):
    name = unique("create")
    with Session() as api_session:
        my_session = api_session.ComputeSession.get_or_create(
            IMAGE,
            name=name,
            resources={"cpu": 2, "mem": "1g"},
        )
        try:
            assert isinstance(my_session.id, uuid.UUID)
            assert my_session.created is True
            assert my_session.status == "RUNNING"

            info = my_session.get_info()
            assert set(info) == INFO_KEYS
            assert info["status"] == "RUNNING"
            assert info["image"].endswith(IMAGE), info["image"]
            assert info["domainName"] == "default"
            # Python str() renderings, as the real manager sends them: cpu 2, mem 1 GiB.
            assert f"'cpu': {decimal('2')}" in info["requestedSlots"], info["requestedSlots"]
            assert f"'mem': {decimal('1073741824')}" in info["requestedSlots"]
            assert isinstance(info["age"], int)

            # Same name and image again: the running session is reused.
            again = api_session.ComputeSession.get_or_create(IMAGE, name=name)
            assert again.id == my_session.id
            assert again.created is False
        finally:
            stats = my_session.destroy()
        assert isinstance(stats, dict) and set(stats) == {"stats"}, stats

        # Gone: info and a second destroy are 404.
        with pytest.raises(BackendAPIError) as excinfo:
            my_session.get_info()
        assert excinfo.value.status == 404
        assert excinfo.value.data["type"] == "https://api.backend.ai/probs/object-not-found"
        with pytest.raises(BackendAPIError) as excinfo:
            my_session.destroy()
        assert excinfo.value.status == 404


def test_create_without_reuse_conflicts(server, unique):
    name = unique("noreuse")
    with Session() as api_session:
        first = api_session.ComputeSession.get_or_create(IMAGE, name=name)
        try:
            with pytest.raises(BackendAPIError) as excinfo:
                api_session.ComputeSession.get_or_create(IMAGE, name=name, no_reuse=True)
            assert excinfo.value.status == 400
            assert excinfo.value.data["type"] == (
                "https://api.backend.ai/probs/session-already-exists"
            )
        finally:
            first.destroy()


def test_unknown_image_is_404(server, unique):
    with Session() as api_session:
        with pytest.raises(BackendAPIError) as excinfo:
            api_session.ComputeSession.get_or_create(
                "no-such-image:0.0-nowhere", name=unique("noimg")
            )
    assert excinfo.value.status == 404
    assert excinfo.value.data["type"] == "https://api.backend.ai/probs/object-not-found"
