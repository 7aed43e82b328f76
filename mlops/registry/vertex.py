"""The gcp model registry: Vertex AI Model Registry, with the files under a gs:// prefix.

One Vertex model (MODEL_ID) holds every version; each Vertex version carries our version
(the model's hash) as the label `model_version`, and its artifact_uri is that version's
folder (model.pkl, metrics.json, version.json; see mlops/registry/). The alias
`champion` marks the champion: Vertex moves an alias when it is given to another version.
"""

from __future__ import annotations

import json

from mlops.registry import CHAMPION, RegistryError
from mlops.registry.folder import FolderRegistry

# Vertex needs a serving image to register a model; this prebuilt one loads model.pkl.
# Scoring itself runs in the pipeline (batch), so nothing is deployed from it.
SERVING_IMAGE = "europe-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-5:latest"


class VertexRegistry:
    def __init__(self, project: str, region: str, model_id: str, artifacts_uri: str, credentials=None):
        self.project, self.region, self.model_id = project, region, model_id
        self.model_name = f"projects/{project}/locations/{region}/models/{model_id}"
        self.files = FolderRegistry(artifacts_uri)
        self.credentials = credentials  # None: the environment's (on Vertex, the pipeline's service account)

    def champion(self) -> dict | None:
        from google.api_core.exceptions import NotFound
        from google.cloud import aiplatform

        try:
            model = aiplatform.Model(self.model_name, version=CHAMPION, **self._where())
        except NotFound:
            return None
        version = model.labels.get("model_version", "")
        if not version:
            raise RegistryError(f"{model.versioned_resource_name} has the champion alias but no model_version label")
        metrics = json.loads(self.files.store.read_bytes(f"{version}/metrics.json"))
        return {"version": version, "metrics": metrics, "resource": model.versioned_resource_name,
                "snapshot_date": self.files.snapshot_date(version)}

    def promote(self, version: str, blob: bytes, metrics: dict, info: dict) -> dict:
        from google.api_core.exceptions import NotFound
        from google.cloud import aiplatform

        self.files.save_version(version, blob, metrics, info)
        registry = aiplatform.models.ModelRegistry(self.model_name, **self._where())
        try:
            existing = registry.list_versions(filter=f'labels.model_version="{version}"')
            model_exists = True
        except NotFound:
            existing, model_exists = [], False
        if existing:  # a re-run: the version is registered already; only the alias may move
            registry.add_version_aliases([CHAMPION], existing[0].version_id)
            return {"version": version, "metrics": metrics, "resource": f"{self.model_name}@{existing[0].version_id}"}
        model = aiplatform.Model.upload(
            display_name=self.model_id,
            model_id=None if model_exists else self.model_id,
            parent_model=self.model_name if model_exists else None,
            artifact_uri=self.files.store.uri(version),
            serving_container_image_uri=SERVING_IMAGE,
            version_aliases=[CHAMPION],
            is_default_version=True,
            version_description=f"churn model {version}",
            labels={"model_version": version, **_labels(info)},
            **self._where(),
        )
        return {"version": version, "metrics": metrics, "resource": model.versioned_resource_name}

    def load(self, version: str) -> bytes:
        return self.files.load(version)

    def _where(self) -> dict:
        if self.credentials is None:
            import google.auth

            self.credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
            # Model.upload builds its result without our credentials, from the SDK's defaults; set them,
            # or the SDK resolves its own and looks the project number up in Resource Manager.
            from google.cloud import aiplatform

            aiplatform.init(project=self.project, location=self.region, credentials=self.credentials)
        return {"project": self.project, "location": self.region, "credentials": self.credentials}


def _labels(info: dict) -> dict[str, str]:
    """Vertex label values: lowercase letters, digits, '-' and '_', at most 63 characters."""
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789-_")
    clean = {k: "".join(c if c in allowed else "-" for c in str(v).lower())[:63] for k, v in info.items()}
    return {k: v for k, v in clean.items() if v}
