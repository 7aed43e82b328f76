# One image: the orchestrator service (gunicorn), the generator jobs (winterdays generate ...),
# and the base image of the KFP components on Vertex AI.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY lakehouse lakehouse
COPY generators generators
COPY orchestrator orchestrator
COPY mlops mlops
RUN pip wheel --no-cache-dir --wheel-dir /wheels -c constraints.txt .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 winterdays
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels winter-days && rm -rf /wheels
COPY dataform /app/dataform
ENV WINTERDAYS_MODE=gcp \
    WINTERDAYS_DATAFORM_DIR=/app/dataform \
    PYTHONUNBUFFERED=1
USER winterdays
WORKDIR /app
EXPOSE 8080
CMD ["sh", "-c", "exec gunicorn --bind 0.0.0.0:${PORT:-8080} --workers 1 --threads 4 --timeout 0 'orchestrator.app:create_app()'"]
