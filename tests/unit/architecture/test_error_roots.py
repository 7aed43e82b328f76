"""Every error a package defines derives from the package's root, and keeps the builtin base its callers catch."""

import importlib
import inspect
import pkgutil

import pytest

from generators.errors import GeneratorError
from lakehouse.errors import LakehouseError
from mlops.errors import MlopsError
from orchestrator.errors import OrchestratorError

ROOTS = {"lakehouse": LakehouseError, "orchestrator": OrchestratorError, "generators": GeneratorError,
         "mlops": MlopsError}


def errors_defined_in(package: str) -> list[type[BaseException]]:
    found = []
    for info in pkgutil.walk_packages(importlib.import_module(package).__path__, f"{package}."):
        if info.name.endswith(".__main__"):  # runs the CLI when imported
            continue
        module = importlib.import_module(info.name)
        found += [obj for obj in vars(module).values()
                  if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == module.__name__]
    return found


@pytest.mark.parametrize("package", ROOTS)
def test_every_error_of_a_package_derives_from_its_root(package):
    errors = errors_defined_in(package)
    assert len(errors) >= 2, errors  # the root and at least one error of its own
    strays = [f"{e.__module__}.{e.__qualname__}" for e in errors if not issubclass(e, ROOTS[package])]
    assert not strays, f"errors of {package} outside {ROOTS[package].__name__}: {strays}"


@pytest.mark.parametrize("error, builtin", [
    ("lakehouse.settings.SettingsError", ValueError),
    ("lakehouse.timestamps.BadTimestamp", ValueError),
    ("lakehouse.export.sales.Rejected", ValueError),
    ("lakehouse.warehouse.UnsupportedSQL", ValueError),
    ("lakehouse.transform.actions.ProjectError", ValueError),
    ("lakehouse.warehouse.WarehouseBusy", RuntimeError),
    ("lakehouse.transform.TransformFailed", RuntimeError),
    ("orchestrator.api_input.BadRequest", ValueError),
    ("orchestrator.engine.RunNotFound", LookupError),
    ("orchestrator.ledger.Contended", RuntimeError),
    ("generators.errors.GeneratorInputError", ValueError),
    ("mlops.registry.RegistryError", RuntimeError),
])
def test_errors_keep_the_builtin_base_their_callers_catch(error, builtin):
    module, name = error.rsplit(".", 1)
    assert issubclass(getattr(importlib.import_module(module), name), builtin)
