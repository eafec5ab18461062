"""The module-level ``cattrs`` converter with hooks for every model.

The models convert themselves (``from_dict``/``to_dict``); this converter is for code that
structures them inside its own ``cattrs`` data classes. It needs the ``cattrs`` extra.
"""

from __future__ import annotations

from typing import Any

try:
    import cattrs
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "esploro_async.models.converter needs cattrs: pip install 'esploro-async[cattrs]'"
    ) from exc

from esploro_async.models._base import Record
from esploro_async.models._codes import CodeValue
from esploro_async.models._dates import PartialDate

__all__ = ["converter", "make_converter"]


def _is_record_type(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, Record)


def _structure_record(data: Any, cls: type[Record]) -> Record:
    return cls.from_dict(data)


def _unstructure_record(record: Record) -> dict[str, Any]:
    return record.to_dict()


def _structure_code(data: Any, _cls: type[CodeValue]) -> CodeValue | None:
    return CodeValue.from_json(data)


def _unstructure_code(code: CodeValue) -> dict[str, Any]:
    return code.to_json()


def _structure_date(data: Any, _cls: type[PartialDate]) -> PartialDate | None:
    return PartialDate.parse(data)


def _unstructure_date(value: PartialDate) -> str:
    return str(value)


def make_converter() -> cattrs.Converter:
    """A new ``cattrs.Converter`` with the model hooks registered.

    Records structure with ``from_dict`` (``view`` left ``None``) and unstructure with
    ``to_dict``; :class:`CodeValue` uses ``from_json``/``to_json``; :class:`PartialDate`
    uses its compact string form.
    """
    conv = cattrs.Converter()
    conv.register_structure_hook_func(_is_record_type, _structure_record)
    conv.register_unstructure_hook_func(_is_record_type, _unstructure_record)
    conv.register_structure_hook(CodeValue, _structure_code)
    conv.register_unstructure_hook(CodeValue, _unstructure_code)
    conv.register_structure_hook(PartialDate, _structure_date)
    conv.register_unstructure_hook(PartialDate, _unstructure_date)
    return conv


converter = make_converter()
"""The shared converter: ``converter.structure(d, Researcher)``, ``converter.unstructure(r)``."""
