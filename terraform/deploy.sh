#!/usr/bin/env bash
# make deploy: from this repository to a running platform in one project.
# Needs: gcloud (logged in, with rights to create the resources), terraform >= 1.11, and
# `make setup` (for the winterdays CLI). Every step is idempotent: re-run it after a failure.
#   PROJECT=my-project [REGION=europe-west1] [ENVIRONMENT=dev] [TAG=<git commit>] make deploy
set -euo pipefail
cd "$(dirname "$0")/.."

: "${PROJECT:?set PROJECT to the Google Cloud project id}"
REGION=${REGION:-europe-west1}
ENVIRONMENT=${ENVIRONMENT:-dev}
if [[ -z "${TAG:-}" ]]; then
  # Tags are immutable in the registry: a tag must name one exact build of one commit.
  git diff --quiet HEAD || { echo "deploy: uncommitted changes; commit them or set TAG" >&2; exit 1; }
  TAG=$(git rev-parse --short=12 HEAD)
fi
TF=(terraform -chdir=terraform)
VARS=(-var "project_id=$PROJECT" -var "region=$REGION" -var "environment=$ENVIRONMENT" -var "image_tag=$TAG")

echo "== 1/6 Terraform state bucket gs://$PROJECT-tfstate"
if ! gcloud storage buckets describe "gs://$PROJECT-tfstate" --project "$PROJECT" >/dev/null 2>&1; then
  gcloud storage buckets create "gs://$PROJECT-tfstate" --project "$PROJECT" --location "$REGION" \
    --uniform-bucket-level-access --public-access-prevention
  gcloud storage buckets update "gs://$PROJECT-tfstate" --versioning
fi
"${TF[@]}" init -input=false -reconfigure \
  -backend-config="bucket=$PROJECT-tfstate" -backend-config="prefix=$ENVIRONMENT"

echo "== 2/6 APIs, the image repository and the build's identity (the image must exist before Cloud Run runs it)"
"${TF[@]}" apply -input=false -auto-approve "${VARS[@]}" \
  -target=google_project_service.enabled -target=google_artifact_registry_repository.images \
  -target=google_artifact_registry_repository_iam_member.grants -target=google_storage_bucket_iam_member.grants
IMAGE="$("${TF[@]}" output -raw image_repository)/winter-days:$TAG"
BUILD_ACCOUNT="$("${TF[@]}" output -json service_accounts | python3 -c 'import json, sys; print(json.load(sys.stdin)["build"])')"
BUILD_BUCKET="$("${TF[@]}" output -raw build_bucket)"

echo "== 3/6 Build and push $IMAGE with Cloud Build"
if gcloud artifacts docker images describe "$IMAGE" --project "$PROJECT" >/dev/null 2>&1; then
  echo "already built"
else
  # As our build account: new projects no longer let Cloud Build use the Compute Engine default
  # account. A user-specified account logs to a bucket of ours (or Cloud Logging), not the default.
  gcloud builds submit --project "$PROJECT" --region "$REGION" --tag "$IMAGE" \
    --service-account "projects/$PROJECT/serviceAccounts/$BUILD_ACCOUNT" \
    --gcs-source-staging-dir "gs://$BUILD_BUCKET/source" --gcs-log-dir "gs://$BUILD_BUCKET/logs" .
fi

echo "== 4/6 Everything else"
"${TF[@]}" apply -input=false -auto-approve "${VARS[@]}"

# The operator's CLI talks to the same resources as the service.
eval "$("${TF[@]}" output -json cli_environment | python3 -c \
  'import json, shlex, sys; print("\n".join(f"export {k}={shlex.quote(v)}" for k, v in json.load(sys.stdin).items()))')"

echo "== 5/6 Push the Dataform project into the repository's workspace"
.venv/bin/winterdays dataform push

echo "== 6/6 Compile the churn pipeline for $IMAGE and upload its spec"
.venv/bin/winterdays mlops compile

echo
echo "Deployed. The orchestrator: $("${TF[@]}" output -raw service_url)"
echo "Backfill a day of each source, for example:"
for job in $("${TF[@]}" output -json generator_jobs | python3 -c 'import json, sys; print(" ".join(json.load(sys.stdin).values()))'); do
  echo "  gcloud run jobs execute $job --project $PROJECT --region $REGION --args=generate,${job##*-generate-},--date=2026-01-31 --wait"
done
