"""Opening the local warehouse: DuckDB allows one writer process, and readers must not take its place."""

import subprocess
import sys

import pytest

from lakehouse.warehouse import WarehouseBusy, WarehouseMissing, connect

HOLD = "import sys, duckdb; con = duckdb.connect(sys.argv[1]); print('open', flush=True); sys.stdin.read()"


def test_a_reader_reads_what_a_closed_writer_wrote(tmp_path):
    uri = f"duckdb:///{tmp_path / 'w.duckdb'}"
    writer = connect(uri)
    writer.execute("CREATE TABLE t AS SELECT 1 AS a")
    writer.close()
    reader = connect(uri, read_only=True)
    try:
        assert reader.query("SELECT a FROM t") == [{"a": 1}]
        with pytest.raises(WarehouseBusy, match="A run of this process is using it"):
            connect(uri)  # a writer of this process waits for the reader to close
    finally:
        reader.close()


def test_a_reader_never_creates_the_warehouse(tmp_path):
    with pytest.raises(WarehouseMissing, match="a run creates it"):
        connect(f"duckdb:///{tmp_path / 'none.duckdb'}", read_only=True)
    assert not (tmp_path / "none.duckdb").exists()


def test_a_reader_is_refused_while_another_process_writes(tmp_path):
    path = tmp_path / "w.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(WarehouseBusy, match="Another process"):
            connect(f"duckdb:///{path}", read_only=True)
    finally:
        holder.communicate("", timeout=30)
    reader = connect(f"duckdb:///{path}", read_only=True)  # the writer has gone: readable again
    reader.close()
