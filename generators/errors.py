"""The root of every error the generators raise on purpose."""


class GeneratorError(Exception):
    """A failure the generators name."""


class GeneratorInputError(GeneratorError, ValueError):
    """Volumes, dates, shards or sources the generators cannot honour."""
