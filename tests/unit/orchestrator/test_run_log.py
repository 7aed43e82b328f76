import io
import logging
import subprocess
import sys

from lakehouse.progress import Progress, Ticker
from orchestrator.run_log import StepEcho, detail_to

log = logging.getLogger("orchestrator.engine")


def test_the_detail_goes_to_the_file_and_the_steps_to_the_terminal(tmp_path, capfd, caplog):
    caplog.set_level(logging.INFO)
    path = tmp_path / "logs" / "demo.log"
    with detail_to(path):
        print("executor input of a component")
        subprocess.run([sys.executable, "-c", "import sys; print('child out'); print('child err', file=sys.stderr)"],
                       check=True)
        log.info("step started", extra={"event": "step_started", "step": "export"})
        log.info("row group written", extra={"event": "row_group_written", "rows": 50_000})
        log.info("step succeeded", extra={"event": "step_succeeded", "step": "export", "duration_s": 5.31})
        log.error("run failed", extra={"event": "run_failed", "step": "churn", "error": "the gate"})
    print("after")
    out, err = capfd.readouterr()
    assert out.splitlines() == ["export ... done in 5.3 s", "churn FAILED", "after"]
    assert err == ""
    text = path.read_text()
    for line in ("executor input of a component", "child out", "child err"):
        assert line in text


def test_the_terminal_is_restored_when_the_block_raises(tmp_path, capfd):
    try:
        with detail_to(tmp_path / "run.log"):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    print("still here")
    sys.stderr.write("and here\n")
    out, err = capfd.readouterr()
    assert (out, err) == ("still here\n", "and here\n")


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_draws_a_live_line_on_the_terminal_it_is_given(caplog):
    caplog.set_level(logging.INFO)
    terminal = Terminal()
    progress = Progress(2, "generate", terminal)
    progress("sales", "2026-03-01", 120)
    progress("sales", "2026-03-02", 80)
    text = terminal.getvalue()
    assert "\rgenerate [###############---------------] 1/2 sales 2026-03-01 120 rows" in text
    assert "2/2 sales 2026-03-02 200 rows" in text and text.endswith("\n")
    assert not [r for r in caplog.records if r.getMessage() == "progress"]  # drawn, not logged


def test_progress_off_a_terminal_is_logged(caplog):
    caplog.set_level(logging.INFO)
    Progress(1, "generate", io.StringIO())("startups", "2026-03-01", 7)
    [record] = [r for r in caplog.records if r.getMessage() == "progress"]
    assert (record.what, record.rows, record.done, record.total) == ("startups", 7, 1, 1)


def echoed(terminal, *records):
    echo = StepEcho(terminal)
    for message, extra in records:
        echo.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, message, (), None, extra=extra))
    return terminal.getvalue()


PROGRESS = [("step started", {"event": "step_started", "step": "export"}),
            ("step progress", {"event": "step_progress", "step": "export", "done": 250_000, "unit": "documents",
                               "elapsed_s": 3.2}),
            ("step progress", {"event": "step_progress", "step": "export", "done": 500_000, "unit": "documents",
                               "elapsed_s": 6.4}),
            ("step succeeded", {"event": "step_succeeded", "step": "export", "duration_s": 7.0})]


def test_a_long_step_redraws_its_progress_on_its_own_line_on_a_terminal():
    text = echoed(Terminal(), *PROGRESS)
    assert text == ("export ...\r\033[Kexport ... 250,000 documents (3 s)\r\033[Kexport ... 500,000 documents (6 s)"
                    " done in 7.0 s\n")


def test_progress_is_left_out_where_a_line_cannot_be_redrawn():
    assert echoed(io.StringIO(), *PROGRESS) == "export ... done in 7.0 s\n"


def test_the_ticker_logs_at_most_once_a_period(monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    clock = iter([100.0, 100.4, 101.1, 101.5, 102.2])  # started, then four items
    monkeypatch.setattr("lakehouse.progress.time.monotonic", lambda: next(clock))
    tick = Ticker("export", "documents", every_s=1.0)
    for done in range(1, 5):
        tick(done)
    ticks = [(r.done, r.elapsed_s) for r in caplog.records if getattr(r, "event", None) == "step_progress"]
    assert ticks == [(2, 1.1), (4, 2.2)]
