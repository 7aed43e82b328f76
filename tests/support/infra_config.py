"""terraform/ as python-hcl2 reads it (nothing evaluated): the blocks of every *.tf file, by kind.

Shared by the policies of infra_policy.py and infra_first_deploy.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import hcl2
from hcl2.utils import SerializationOptions

PARSE = SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True,
                             preserve_heredocs=False)

@dataclass
class Config:
    """The blocks of every *.tf file in a directory, with the file each came from."""

    blocks: dict[str, list[tuple[str, dict]]] = field(default_factory=dict)

    def labelled(self, kind: str) -> dict[tuple[str, str], tuple[str, dict]]:
        """resource/data/ephemeral blocks by (type, name)."""
        return {(type_, name): (file, body)
                for file, block in self.blocks.get(kind, [])
                for type_, named in block.items() for name, body in named.items()}

    def named(self, kind: str) -> dict[str, tuple[str, object]]:
        """variable/output/module blocks by name; locals by local name."""
        return {name: (file, body) for file, block in self.blocks.get(kind, []) for name, body in block.items()}


def load(config_dir: Path) -> Config:
    config = Config()
    for path in sorted(Path(config_dir).glob("*.tf")):
        with path.open() as handle:
            parsed = hcl2.load(handle, serialization_options=PARSE)
        for kind, blocks in parsed.items():
            for block in blocks:
                config.blocks.setdefault(kind, []).append((path.name, block))
    return config


def nested_blocks(value) -> list[dict]:
    """A nested block parses as a list of dicts (or one dict); normalise to a list."""
    if isinstance(value, dict):
        return [value]
    return [v for v in value or [] if isinstance(v, dict)]


def iam_matrix(config: Config) -> dict[str, set[tuple[str, str]]]:
    _, matrix = config.named("locals").get("iam_matrix", ("", {}))
    return {account: {(place, role) for place, roles in places.items() for role in roles}
            for account, places in matrix.items()}
