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
"""
from __future__ import annotations

from translate.errors import TranslateError
import difflib
import inspect
from typing import Any, Callable, Dict, Iterator, List, Tuple


class UnknownNameError(TranslateError, KeyError):
    """Raised for a name that is not registered; the message suggests close names."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class Registry:
    """Maps names to builder callables (functions or classes)."""

    def __init__(self, kind: str):
        self.kind = kind
        self._builders: Dict[str, Callable[..., Any]] = {}

    def register(self, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorator(builder: Callable[..., Any]) -> Callable[..., Any]:
            if name in self._builders:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._builders[name] = builder
            return builder

        return decorator

    def get(self, name: str) -> Callable[..., Any]:
        try:
            return self._builders[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._builders, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise UnknownNameError(
                f"unknown {self.kind} {name!r}{hint} (known: {', '.join(sorted(self._builders))})"
            ) from None

    def build(self, name: str, **kwargs: Any) -> Any:
        return self.get(name)(**kwargs)

    def names(self) -> List[str]:
        return sorted(self._builders)

    def summaries(self) -> List[Tuple[str, str]]:
        """(name, first docstring line) for every member, sorted by name."""
        out = []
        for name in self.names():
            doc = inspect.getdoc(self._builders[name]) or ""
            out.append((name, doc.strip().splitlines()[0] if doc.strip() else ""))
        return out

    def __contains__(self, name: str) -> bool:
        return name in self._builders

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._builders)


GENERATORS = Registry("generator")
DISCRIMINATORS = Registry("discriminator")
LOSSES = Registry("loss")
TRANSLATORS = Registry("translator")
