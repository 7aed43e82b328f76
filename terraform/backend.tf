# State lives in a GCS bucket made once by hand (see the README's deployment guide):
#   terraform init -backend-config="bucket=PROJECT-tfstate" -backend-config="prefix=ENVIRONMENT"
# Kept in its own file: the offline configuration check loads everything but this, because a
# backend needs `terraform init`, and init needs the network.
terraform {
  backend "gcs" {}
}
