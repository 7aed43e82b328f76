"""The cloud twin's stand-ins: local servers speaking the protocol of each Google service the gcp
mode calls that has no emulator here (DESIGN.md), so the gcp adapters run unchanged.

  bigquery.py   the BigQuery REST API (the calls google-cloud-bigquery makes for our adapter),
                executing the SQL on DuckDB through lakehouse.warehouse's dialect bridge
  dataform.py   the Dataform API's compile and invoke (over tests/support/dataform_fake.py's gRPC fake):
                compiles the pushed workspace with the pinned CLI, runs the actions in BigQuery
Firestore and Cloud Storage have real emulators (the Firestore emulator, fake-gcs-server).
"""
