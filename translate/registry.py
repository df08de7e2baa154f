"""A tiny name -> builder registry shared by networks, losses and translators.

Every zoo in the toolkit (generators, discriminators, losses, translators) is one
``Registry``. Builders register themselves with a decorator, so adding a model is
one function plus one decorator line, and ``translate models`` can list the zoo
without knowing its members::

    @GENERATORS.register("resnet_9blocks")
    def resnet_9blocks(in_channels=3, out_channels=3, **kw):
        '''ResNet generator with 9 residual blocks (CycleGAN default).'''
        ...

    net = GENERATORS.build("resnet_9blocks", in_channels=1)

A registry fills itself: it is told which package holds its members and imports
that package's modules on the first lookup, so ``TRANSLATORS.names()`` is complete
without any side-effect import, and a new member is one file plus its decorator.
A lookup by name first tries the module of that name (``translators/pix2pix.py``
for ``"pix2pix"``), so training pix2pix does not import the pose code.

A registry may hold its members to a contract: names their classes must declare. ``GENERATORS``
refuses, at registration, a builder whose return annotation is not a class declaring
``GENERATOR_CONTRACT`` (translate.nets.contract.Generator declares them with their defaults), and
``build`` refuses an object that is not of that class: what a generator can do is declared once
on its class, never probed by its callers.

A registry may also declare its members' names up front (``declared``): the CLI checks a
name and lists the choices from them without importing a member, so ``translate train
cyclegn`` fails before torch loads. tests/test_cli_startup.py keeps the declared names
equal to the registered ones.
"""
from __future__ import annotations

import difflib
import importlib
import inspect
import pkgutil
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple

from translate.errors import TranslateError


class ContractError(TranslateError, TypeError):
    """A member registered without declaring what its registry's contract asks for."""


class UnknownNameError(TranslateError, KeyError):
    """Raised for a name that is not registered; the message suggests close names."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class Registry:
    """Maps names to builder callables (functions or classes)."""

    def __init__(self, kind: str, discover: Optional[str] = None, declared: Tuple[str, ...] = (),
                 contract: Tuple[str, ...] = ()):
        """``discover``: the package (or module) whose modules register this registry's members;
        ``declared``: their names, known without importing them (empty: not declared);
        ``contract``: names a member's class must declare (empty: no contract)."""
        self.kind = kind
        self.discover = discover
        self.declared = tuple(sorted(declared))
        self.contract = contract
        self._builders: Dict[str, Callable[..., Any]] = {}
        self._classes: Dict[str, type] = {}  # with a contract: the class each builder declares it returns
        self._discovered = discover is None

    def _discover_all(self) -> None:
        if not self._discovered:
            self._discovered = True  # first, so a member module that looks itself up does not recurse
            import_submodules(self.discover)

    def _discover(self, name: str) -> None:
        if name in self._builders or self._discovered:
            return
        if name.isidentifier():
            try:  # the member's own module, when it is named after it
                importlib.import_module(f"{self.discover}.{name}")
            except ImportError as exc:
                if exc.name != f"{self.discover}.{name}":  # the module exists but failed: a real error
                    raise
        if name not in self._builders:
            self._discover_all()

    def register(self, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorator(builder: Callable[..., Any]) -> Callable[..., Any]:
            if name in self._builders:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            if self.contract:
                self._classes[name] = self._check_contract(name, builder)
            self._builders[name] = builder
            return builder

        return decorator

    def _check_contract(self, name: str, builder: Callable[..., Any]) -> type:
        """The class ``builder`` declares it builds, refused unless it declares every contract name."""
        cls = builder if inspect.isclass(builder) else self._returned_class(name, builder)
        missing = [n for n in self.contract if not any(n in vars(k) for k in cls.__mro__)]
        if missing:
            raise ContractError(f"{self.kind} {name!r}: {cls.__name__} does not declare {', '.join(missing)} on its "
                                f"class (subclass the {self.kind} base class, which declares them with defaults)")
        return cls

    def _returned_class(self, name: str, builder: Callable[..., Any]) -> type:
        try:
            returned = inspect.get_annotations(builder, eval_str=True).get("return")
        except NameError:
            returned = None
        if not inspect.isclass(returned):
            raise ContractError(f"{self.kind} {name!r}: its builder must annotate the class it returns "
                                f"(-> SomeGenerator), so the registry can check what that class declares")
        return returned

    def get(self, name: str) -> Callable[..., Any]:
        self._discover(name)
        try:
            return self._builders[name]
        except KeyError:
            raise self._unknown(name, self._builders) from None

    def _unknown(self, name: str, known: Iterable[str]) -> UnknownNameError:
        known = sorted(known)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        return UnknownNameError(f"unknown {self.kind} {name!r}{hint} (known: {', '.join(known)})")

    def name_of(self, builder: Callable[..., Any]) -> str:
        """The name ``builder`` is registered under: a member says its name once, in its decorator."""
        for name, registered in self._builders.items():
            if registered is builder:
                return name
        raise ValueError(f"{builder!r} is not a registered {self.kind}")

    def check_declared(self, name: str) -> None:
        """Raise the lookup's own ``UnknownNameError`` for a name not declared; imports nothing."""
        if not self.declared:
            raise ValueError(f"the {self.kind} registry declares no names")
        if name not in self.declared:
            raise self._unknown(name, self.declared)

    def build(self, name: str, **kwargs: Any) -> Any:
        built = self.get(name)(**kwargs)
        expected = self._classes.get(name)
        if expected is not None and not isinstance(built, expected):
            raise ContractError(f"{self.kind} {name!r} built a {type(built).__name__}, not the "
                                f"{expected.__name__} its builder declares")
        return built

    def names(self) -> List[str]:
        self._discover_all()
        return sorted(self._builders)

    def summaries(self) -> List[Tuple[str, str]]:
        """(name, first docstring line) for every member, sorted by name."""
        out = []
        for name in self.names():
            doc = inspect.getdoc(self._builders[name]) or ""
            out.append((name, doc.strip().splitlines()[0] if doc.strip() else ""))
        return out

    def __contains__(self, name: str) -> bool:
        self._discover(name)
        return name in self._builders

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self._discover_all()
        return len(self._builders)


def import_submodules(package_name: str) -> List[str]:
    """Import a module, and every public module of it when it is a package; returns their names."""
    package = importlib.import_module(package_name)
    names = []
    for info in sorted(pkgutil.iter_modules(getattr(package, "__path__", [])), key=lambda i: i.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package_name}.{info.name}")
            names.append(info.name)
    return names


# What every generator declares on its class (translate.nets.contract.Generator gives the defaults).
GENERATOR_CONTRACT = ("size_multiple", "supports_gradient_checkpointing", "feature_layers", "encode",
                      "forward_with_features", "residual_output", "export_unsupported", "supports_sampling")
GENERATORS = Registry("generator", discover="translate.nets", contract=GENERATOR_CONTRACT)
DISCRIMINATORS = Registry("discriminator", discover="translate.nets")
LOSSES = Registry("loss", discover="translate.losses")
# A new translator is one file plus its name here (the CLI reads these names without importing it).
TRANSLATORS = Registry("translator", discover="translate.translators",
                       declared=("cogan", "cut", "cyclegan", "discogan", "faceswap", "pix2pix", "pix2pixhd", "pose2frame"))

# The zoo as `translate models` lists it, by title; listing imports only these registries' members.
ZOO: Dict[str, Registry] = {"translators": TRANSLATORS, "generators": GENERATORS, "discriminators": DISCRIMINATORS,
                            "losses": LOSSES}
