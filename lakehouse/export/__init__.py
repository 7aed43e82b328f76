"""The export (step 1): Firestore sales -> Parquet partitions in bronze, streamed in bounded memory.

  sales.py      contract checks, rows by change date, the quarantine of what breaks them
  files.py      Parquet partitions staged under _staging/ and published whole
  watermark.py  the window of changes one export reads (incremental from the last watermark)
"""
