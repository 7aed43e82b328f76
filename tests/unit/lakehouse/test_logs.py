"""Cloud Logging's trace fields from X-Cloud-Trace-Context."""

from lakehouse.logs import cloud_trace

TRACE = "105445aa7843bc8bf206b12000100000"


def test_the_span_id_is_sixteen_hex_digits_as_the_log_entry_wants():
    # The header's span id is a decimal uint64; LogEntry.spanId is its 16-character hex form.
    fields = cloud_trace(f"{TRACE}/2;o=1", "p")
    assert fields == {"logging.googleapis.com/trace": f"projects/p/traces/{TRACE}",
                      "logging.googleapis.com/spanId": "0000000000000002",
                      "logging.googleapis.com/trace_sampled": True}
    assert cloud_trace(f"{TRACE}/18446744073709551615", "p")["logging.googleapis.com/spanId"] == "ffffffffffffffff"


def test_a_span_id_outside_uint64_is_left_out_and_the_trace_kept():
    for span in ("0", "18446744073709551616"):
        assert cloud_trace(f"{TRACE}/{span}", "p") == {"logging.googleapis.com/trace": f"projects/p/traces/{TRACE}"}
