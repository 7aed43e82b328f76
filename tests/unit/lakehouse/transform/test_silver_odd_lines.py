"""Odd bytes in bronze JSONL (files no generator of ours writes, but feeds do): the silver SQL,
compiled by the Dataform CLI and run on DuckDB, keeps or rejects every line and never fails
the whole read because of one of them."""

from __future__ import annotations

import json

import pytest
from tiny_lake import clickstream_event

from lakehouse.transform.actions import Selection
from lakehouse.transform.local import LocalTransformRunner
from lakehouse.warehouse import connect

pytestmark = pytest.mark.dataform
DAY = "2026-03-01"


def event(event_id: str, **changes) -> dict:
    return clickstream_event(event_id, DAY, **changes)


def line(record: dict) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode()


@pytest.fixture(scope="module")
def silver(tmp_path_factory, dataform_dir):
    home = tmp_path_factory.mktemp("odd")
    part = home / "bronze" / "clickstream" / f"dt={DAY}"
    part.mkdir(parents=True)
    # One file with a BOM, CRLF and LF endings mixed, blank and whitespace-only lines, a stray
    # unit separator (the external table's delimiter), an oversized URL and non-ASCII text.
    (part / "part-00000-of-00001.jsonl").write_bytes(b"".join([
        b"\xef\xbb\xbf" + line(event("e1")) + b"\r\n",
        line(event("e2", page_url="/caf\u00e9/\u65e5\u672c")) + b"\n",
        b"\r\n", b"   \n", b"\n",
        b'{"event_id": "e3", "page_url": "/a\x1fb"}\n',
        line(event("e4", page_url="/p?x=" + "A" * 1100)) + b"\r\n",
        line(event("e5", page_url="/" + "\u00e9" * 1000)) + b"\n",  # 1001 characters, 2001 bytes
        line(event("e7", page_url="/" + "B" * 3_000_000)) + b"\n",  # past DuckDB's 2 MB line, under BigQuery's 100 MB
        line(event("e8", page_url=2.50, referrer_domain=1e300)) + b"\n",  # numbers where the contract says text
        line(event("e9")).replace(b'"is_bounce": false', b'"is_bounce": false, "score": NaN') + b"\n",
        line(event("e10"))[:-1] + b', }\n',  # a trailing comma
        line(event("e6")),  # no final newline
    ]))
    runner = LocalTransformRunner(dataform_dir, f"duckdb:///{home / 'warehouse.duckdb'}", home / "dataform",
                                  pii_key="test-key")
    compiled = runner.compile({"bronze_uri": str(home / "bronze"), "pii_key": "test-key", "run_date": DAY})
    selection = Selection(targets=("stg_click", "stg_click_rejects"), include_dependencies=True)
    runner.wait(runner.invoke(compiled, selection)).raise_for_state()
    warehouse = connect(runner.warehouse_uri)
    try:
        yield {"kept": warehouse.query("SELECT event_id, page_url, referrer_domain FROM winter_days_staging.stg_click"),
               "rejected": warehouse.query("SELECT reject_reason, raw FROM winter_days_staging.stg_click_rejects")}
    finally:
        warehouse.close()


def test_good_lines_are_kept_whatever_their_line_ending(silver):
    kept = {row["event_id"]: row["page_url"] for row in silver["kept"]}
    assert sorted(kept) == ["e1", "e2", "e5", "e6", "e8"]
    assert kept["e2"] == "/caf\u00e9/\u65e5\u672c" and len(kept["e5"]) == 1001  # characters, not bytes


def test_a_number_in_a_text_field_is_read_as_bigquery_writes_it_not_a_failed_run(silver):
    """JSON_VALUE of the parsed line's number: the text GoogleSQL's reference implementation gives."""
    kept = {row["event_id"]: row for row in silver["kept"]}
    assert (kept["e8"]["page_url"], kept["e8"]["referrer_domain"]) == ("2.5", "1e+300")


def test_bad_lines_are_rejected_with_their_reason_and_blank_lines_are_no_records(silver):
    assert sorted(row["reject_reason"] for row in silver["rejected"]) == [
        "invalid_json", "invalid_json", "invalid_json", "oversized_string", "oversized_string"]
    invalid = {row["raw"][:19] for row in silver["rejected"] if row["reject_reason"] == "invalid_json"}
    # e3 is cut at the stray separator; e9 holds NaN and e10 a trailing comma, JSON to DuckDB only
    assert invalid == {'{"event_id": "e3", ', '{"event_id": "e9", ', '{"event_id": "e10",'}
    assert '{"event_id": "e3", "page_url": "/a' in {row["raw"] for row in silver["rejected"]}
    oversized = {row["raw"] for row in silver["rejected"] if row["reject_reason"] == "oversized_string"}
    assert oversized == {line(event(e, page_url=url)).decode()
                         for e, url in (("e4", "/p?x=" + "A" * 1100), ("e7", "/" + "B" * 3_000_000))}


def test_a_byte_that_is_not_utf8_stops_the_local_read_naming_the_file_and_leaves_it_in_bronze(tmp_path, dataform_dir):
    """The one documented difference of reading bronze (docs/data.md): BigQuery's CSV reader decodes a
    byte that is not UTF-8 as U+FFFD; DuckDB's refuses the file. Locally the run stops with the file's
    path and line, and the file stays as it was, for a re-run once it is fixed."""
    part = tmp_path / "bronze" / "clickstream" / f"dt={DAY}"
    part.mkdir(parents=True)
    latin = line(event("e1", page_url="/latin")).replace(b"/latin", b"/caf\xe9") + b"\n"
    path = part / "part-00000-of-00001.jsonl"
    path.write_bytes(line(event("e0")) + b"\n" + latin)
    runner = LocalTransformRunner(dataform_dir, f"duckdb:///{tmp_path / 'warehouse.duckdb'}", tmp_path / "dataform",
                                  pii_key="test-key")
    compiled = runner.compile({"bronze_uri": str(tmp_path / "bronze"), "pii_key": "test-key", "run_date": DAY})
    result = runner.wait(runner.invoke(compiled, Selection(targets=("stg_click",), include_dependencies=True)))
    error = next(a["error"] for a in result.actions if a["target"].endswith(".stg_click"))
    assert result.state == "FAILED"
    assert "Line: 2" in error and "not utf-8 encoded" in error and str(path) in error, error
    assert path.read_bytes() == line(event("e0")) + b"\n" + latin
