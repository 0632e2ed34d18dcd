"""The public surface: what users import exists, and every public module says what it exports."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import asyncswitch

PACKAGES = ["asyncswitch", "asyncswitch.kube", "asyncswitch.sim", "asyncswitch.sim.acm", "asyncswitch.switchover"]


def _public_modules() -> list[str]:
    return [info.name for info in pkgutil.walk_packages(asyncswitch.__path__, "asyncswitch.")
            if not any(part.startswith("_") for part in info.name.split("."))]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_name_in_a_package_all_is_importable(package: str) -> None:
    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []


@pytest.mark.parametrize("module_name", _public_modules())
def test_every_public_module_declares_all(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert isinstance(getattr(module, "__all__", None), list), f"{module_name} has no __all__"


def test_the_top_level_package_exports_the_error_tree() -> None:
    assert issubclass(asyncswitch.ConfigError, asyncswitch.AsyncswitchError)
