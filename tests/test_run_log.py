import logging
import subprocess
import sys

from orchestrator.run_log import detail_to

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
    assert out.splitlines() == ["  export ...", "  export done in 5.3 s", "  churn FAILED", "after"]
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
