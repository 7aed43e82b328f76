"""The root of every error the ML pipeline raises on purpose."""


class MlopsError(Exception):
    """A failure mlops names: the model registry, a pipeline run."""
