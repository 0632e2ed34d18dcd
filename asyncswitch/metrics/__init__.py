"""Metrics and artifacts: the HDR collector, the metrics.jsonl writer, manifest and summary."""

from .artifacts import new_run_id, write_manifest, write_summary
from .histograms import HdrCollector, new_histogram, percentiles
from .jsonl import JsonlWriter, last_record_time, read_records, repair_jsonl

__all__ = ["HdrCollector", "JsonlWriter", "last_record_time", "new_histogram", "new_run_id", "percentiles",
           "read_records", "repair_jsonl", "write_manifest", "write_summary"]
