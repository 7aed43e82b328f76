from lakehouse import bronze
from lakehouse.storage import ObjectStore


def test_replace_partition_leaves_exactly_the_new_files(tmp_path):
    store = ObjectStore(str(tmp_path))
    store.replace_partition("sales/dt=2026-03-01", {"a.parquet": b"1", "b.parquet": b"2"})
    store.replace_partition("sales/dt=2026-03-01", {"a.parquet": b"3"})
    assert store.list("sales") == ["sales/dt=2026-03-01/a.parquet"]
    assert store.read_bytes("sales/dt=2026-03-01/a.parquet") == b"3"


def test_write_leaves_no_temporary_file(tmp_path):
    store = ObjectStore(str(tmp_path))
    store.write_bytes("x/y.jsonl", b"{}\n")
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["y.jsonl"]


def test_listing_a_missing_prefix_is_empty(tmp_path):
    assert ObjectStore(str(tmp_path)).list("nothing/here") == []


def test_bronze_layout_names():
    import datetime as dt

    day = dt.date(2026, 3, 1)
    assert bronze.partition("clickstream", day) == "clickstream/dt=2026-03-01"
    assert bronze.shard_file("clickstream", 2, 4) == "part-00002-of-00004.jsonl"
    assert bronze.is_stale_shard("part-00000-of-00001.jsonl", 4)
    assert not bronze.is_stale_shard("part-00003-of-00004.jsonl", 4)
    assert bronze.partition_date("startups/dt=2026-03-01/part.jsonl") == day


def test_staging_leaves_no_folder_behind(tmp_path):
    store = ObjectStore(str(tmp_path))
    store.write_bytes("x/y.jsonl", b"{}\n")
    for day in ("2026-03-01", "2026-03-02"):
        with store.open_staged(f"export-1/dt={day}/part-0.parquet") as handle:
            handle.write(b"data")
        store.publish(f"export-1/dt={day}/part-0.parquet", f"sales/dt={day}/part-0.parquet")
    with store.open_staged("export-2/dt=2026-03-03/part-0.parquet") as handle:
        handle.write(b"a crashed writer's")
    store.clear_staging("export-2")
    assert not (tmp_path / "_staging").exists()
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) == [
        "sales/dt=2026-03-01/part-0.parquet", "sales/dt=2026-03-02/part-0.parquet", "x/y.jsonl"]
