"""Loaded by every Python process of the cloud twin (PYTHONPATH): when the twin's Model Registry file
is set, the KFP components' subprocesses talk to it instead of Vertex AI (tests/support/cloud_twin/vertex.py)."""

import os

if os.environ.get("WINTERDAYS_TWIN_VERTEX_MODELS"):
    from cloud_twin.vertex import install_model_service

    install_model_service()
