"""Import every module of a package so their registration decorators run.

Zoo packages (nets, translators, commands) call ``import_submodules(__name__)``
in their ``__init__``: a new network, translator or command is then a new file
and nothing else, with no shared import list to edit.
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import List


def import_submodules(package_name: str) -> List[str]:
    package = importlib.import_module(package_name)
    names = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        importlib.import_module(f"{package_name}.{info.name}")
        names.append(info.name)
    return names
