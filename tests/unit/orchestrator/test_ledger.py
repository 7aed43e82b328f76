"""The ledger and the lease, on the real Firestore emulator."""

import datetime as dt
import json
import threading
import time

import pytest

from orchestrator import engine
from orchestrator.lease import LeaseLost
from orchestrator.ledger import Contended, now, public
from orchestrator.records import RunState
from orchestrator.resources import Resources
from orchestrator.steps import RunOptions

pytestmark = pytest.mark.firestore


@pytest.fixture
def resources(settings, firestore):
    return Resources.from_settings(settings.with_overrides(service={"lease_ttl_s": 1.0}))


def take(resources, key="2026-03-01", run_id="20260301-aaaaaaaa"):
    def body(transaction):
        live, expired = resources.leases.read(transaction, key)
        if live:
            return None, live
        return resources.leases.take(transaction, key, run_id, key), expired

    return resources.leases.transact(body)


def test_a_live_lease_blocks_others_and_an_expired_one_is_taken_over(resources):
    first, previous = take(resources, run_id="20260301-aaaaaaaa")
    assert first is not None and previous is None
    blocked, holder = take(resources, run_id="20260301-bbbbbbbb")
    assert blocked is None and holder["run_id"] == "20260301-aaaaaaaa"

    time.sleep(1.2)  # the holder stopped renewing: its lease expires
    second, expired = take(resources, run_id="20260301-bbbbbbbb")
    assert second is not None and expired["run_id"] == "20260301-aaaaaaaa"

    # the first holder is fenced out: it can neither renew nor write through its lease
    with pytest.raises(LeaseLost):
        first.renew(write=lambda transaction: pytest.fail("a fenced write ran"))
    assert first.lost.is_set()
    successors = resources.leases.ref("2026-03-01").get().get("expires_at")
    with pytest.raises(LeaseLost):
        first.extend()  # the heartbeat's lock-free extension is fenced too
    assert resources.leases.ref("2026-03-01").get().get("expires_at") == successors
    first.release()  # releasing a lease one no longer holds leaves the new holder's alone
    assert resources.leases.ref("2026-03-01").get().get("run_id") == "20260301-bbbbbbbb"


def test_the_heartbeat_keeps_a_lease_alive_past_its_ttl(resources):
    lease, _ = take(resources)
    with lease.heartbeat():
        time.sleep(2.5)  # 2.5 TTLs
        blocked, holder = take(resources, run_id="20260301-cccccccc")
        assert blocked is None and holder["token"] == lease.token
    lease.release()
    assert not resources.leases.ref("2026-03-01").get().exists


def test_an_extension_raced_by_another_write_reads_again_and_extends(resources, monkeypatch):
    """The conditional write fails when the lease changed since its read; the holder's own change is no loss."""
    lease, _ = take(resources)
    ref, real_update, conditional = resources.leases.ref("2026-03-01"), type(resources.leases.ref("x")).update, []

    def update(self, fields, option=None, **kwargs):
        if option is not None:
            conditional.append(option)
            if len(conditional) == 1:  # the holder's fenced ledger write lands between read and write
                lease.renew()
        return real_update(self, fields, option=option, **kwargs)

    monkeypatch.setattr(type(ref), "update", update)
    before = ref.get().get("expires_at")
    lease.extend()
    assert len(conditional) == 2 and not lease.lost.is_set()  # the first write was refused, the second made
    assert ref.get().get("expires_at") > before and ref.get().get("token") == lease.token


def test_a_fenced_write_commits_with_the_renewal(resources):
    lease, _ = take(resources)
    run = {"run_id": "20260301-aaaaaaaa", "logical_date": "2026-03-01", "state": "RUNNING", "created_at": now()}
    before = resources.leases.ref("2026-03-01").get().get("expires_at")
    lease.renew(write=lambda transaction: resources.ledger.save(run, transaction))
    assert resources.ledger.get(run["run_id"])["state"] == "RUNNING"
    assert resources.leases.ref("2026-03-01").get().get("expires_at") > before


def test_recent_filters_by_date_and_state_newest_first(resources):
    base = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    for i, (day, state) in enumerate([("2026-03-01", "FAILED"), ("2026-03-01", "SUCCEEDED"),
                                      ("2026-03-02", "SUCCEEDED")]):
        resources.ledger.save({"run_id": f"2026030{i}-0000000{i}", "logical_date": day, "state": state,
                               "created_at": base + dt.timedelta(hours=i), "steps": {}})
    assert [r["run_id"] for r in resources.ledger.recent()] == ["20260302-00000002", "20260301-00000001",
                                                                "20260300-00000000"]
    assert [r["state"] for r in resources.ledger.recent(logical_date="2026-03-01")] == ["SUCCEEDED", "FAILED"]
    assert [r["logical_date"] for r in resources.ledger.recent(state="SUCCEEDED", limit=1)] == ["2026-03-02"]
    assert public({"at": base, "nested": [{"d": base.date()}]}) == {"at": "2026-03-01T00:00:00+00:00",
                                                                    "nested": [{"d": "2026-03-01"}]}


def test_states_are_stored_as_their_plain_strings_so_ledgers_written_before_the_enum_read_the_same(resources):
    run = engine.new_run(RunOptions(dt.date(2026, 3, 1), steps=("export", "compile")), "test")
    resources.ledger.save(run)
    document = resources.firestore().collection(resources.ledger.collection).document(run["run_id"])
    stored = document.get().to_dict()
    assert (stored["state"], stored["steps"]["export"]["state"]) == ("PENDING", "PENDING")
    assert json.loads(json.dumps(public(run)))["state"] == "PENDING"

    # a run as an earlier version wrote it: plain strings
    stored.update(state="FAILED", failed_step="compile")
    stored["steps"] = {"export": {"state": "SUCCEEDED", "outputs": {}}, "compile": {"state": "FAILED"}}
    document.set(stored)
    read = resources.ledger.get(run["run_id"])
    assert read["state"] == RunState.FAILED and read["steps"]["export"]["state"] == RunState.SUCCEEDED
    assert engine.resume_point(read) == 1


def test_concurrent_takers_in_separate_transactions_elect_one_holder(settings, firestore):
    """No process-level lock here: the Firestore transaction alone decides (a TTL that outlives the test).

    Under contention Firestore may abort a transaction on every attempt: that taker gets Contended
    (the API answers 503, retry), never the lease. What must never happen is a second holder.
    """
    resources = Resources.from_settings(settings)
    outcomes = []

    def contend(i):
        try:
            lease, other = take(resources, run_id=f"20260301-{i:08x}")
        except Contended:
            outcomes.append(("contended", None))
            return
        outcomes.append(("won", lease.run_id) if lease else ("held", other["run_id"]))

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    winners = [run_id for outcome, run_id in outcomes if outcome == "won"]
    assert len(outcomes) == 6 and len(winners) == 1, outcomes
    assert all(run_id == winners[0] for outcome, run_id in outcomes if outcome == "held")
    assert resources.leases.ref("2026-03-01").get().get("run_id") == winners[0]
