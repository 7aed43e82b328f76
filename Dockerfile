# One image: the orchestrator service (gunicorn, the default command), the generator jobs
# (`winterdays generate SOURCE`), and the base image of the KFP components on Vertex AI.
# Build and push with Cloud Build (see the README's deployment guide).

# Pinned to an exact release, the same in both stages so the venv's interpreter stays valid.
FROM python:3.11.14-slim-bookworm AS build
WORKDIR /src
# Everything installs from wheels: no compiler needed, even here.
RUN python -m venv /opt/venv
COPY pyproject.toml constraints.txt README.md ./
COPY lakehouse lakehouse
COPY generators generators
COPY orchestrator orchestrator
COPY mlops mlops
RUN /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check -c constraints.txt .

FROM python:3.11.14-slim-bookworm
# The venv keeps its pip: KFP's component launcher runs `python3 -m pip install kfp==X --no-deps`
# before each component, a no-op when the image already has that version.
COPY --from=build /opt/venv /opt/venv
COPY dataform /app/dataform
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin winterdays
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    WINTERDAYS_MODE=gcp \
    WINTERDAYS_DATAFORM_DIR=/app/dataform \
    PORT=8080
USER 10001
WORKDIR /app
EXPOSE 8080
# `winterdays serve` runs gunicorn (one gthread worker, 8 threads) on 0.0.0.0:$PORT in gcp mode and
# passes SIGTERM on: the one place that sets gunicorn's options (see orchestrator/cli/serve.py).
CMD ["winterdays", "serve"]
