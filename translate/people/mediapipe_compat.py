"""Import MediaPipe 0.10.14 next to a modern protobuf.

MediaPipe 0.10.14 (the last release whose wheel carries its models) was built
against protobuf 4 and calls ``GetPrototype``, which protobuf 5 removed; ONNX and
TensorBoard need protobuf >= 6.31. protobuf 6 still has everything else MediaPipe
uses (protobuf 7 does not), so we add the one missing method back as an alias of
its replacement, ``message_factory.GetMessageClass``, before MediaPipe is imported.
"""
from __future__ import annotations

import os
from types import ModuleType

from translate.errors import TranslateError


class PeopleBackendMissing(TranslateError, ImportError):
    """MediaPipe is not installed: the face and pose tools need the ``people`` extra."""


def _patch_protobuf() -> None:
    from google.protobuf import message_factory, symbol_database

    def get_prototype(self, descriptor):
        return message_factory.GetMessageClass(descriptor)

    # protobuf 6 removed GetPrototype, which MediaPipe 0.10.14 still calls: add it back where gone.
    for cls in (symbol_database.SymbolDatabase, message_factory.MessageFactory):
        if "GetPrototype" not in dir(cls):
            cls.GetPrototype = get_prototype


def import_mediapipe() -> ModuleType:
    os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ logging is noisy on stderr
    _patch_protobuf()
    try:
        import mediapipe
    except ImportError as exc:
        raise PeopleBackendMissing(
            f"face and pose tools need MediaPipe 0.10.14 ({exc}); install them with: pip install -e '.[people]'"
        ) from None
    return mediapipe
