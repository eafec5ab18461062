"""Where a harvest stopped, in a form that survives the process."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from esploro_async.errors import ConfigurationError

__all__ = ["Checkpoint", "canonical_params", "page_size_for"]

_VERSION = 1


def canonical_params(params: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The query of a harvest, without paging, as sorted string pairs."""
    return tuple(
        sorted(
            (str(k), str(v))
            for k, v in params.items()
            if v is not None and k not in ("limit", "offset")
        )
    )


def _whole(name: str, value: object, low: int) -> bool:
    """Refuse a position no harvest can have (a file edited by hand, or damaged)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigurationError(f"{name} must be a whole number >= {low}, got {value!r}")
    return True


@attrs.frozen
class Checkpoint:
    """The position after the last contiguous record handed to the caller, and the query.

    Save it (``to_json()``) after you have stored the records you were given; start a stream
    from it (``resume_from=checkpoint``) to continue with the next record, after a crash,
    Ctrl-C, or the daily quota.

    Attributes:
        path: the API path harvested.
        params: the query (filters), without ``limit``/``offset``.
        list_key: the envelope key of the records.
        page_size: records per request.
        offset: the source position of the next record to fetch.
        last_id: the id of the record just before ``offset``, to detect drift on resume.
        delivered: records handed to the caller so far, across resumptions.
        total: the total the API reported last.
        ahead: offsets of pages already handed out beyond ``offset`` (pages handed out as
            they completed, ``ordered=False``); a resumed harvest skips them.
    """

    path: str
    params: tuple[tuple[str, str], ...]
    list_key: str
    page_size: int = attrs.field(validator=lambda i, a, v: _whole(a.name, v, 1))
    offset: int = attrs.field(default=0, validator=lambda i, a, v: _whole(a.name, v, 0))
    last_id: str | None = None
    delivered: int = attrs.field(default=0, validator=lambda i, a, v: _whole(a.name, v, 0))
    total: int | None = attrs.field(
        default=None, validator=lambda i, a, v: v is None or _whole(a.name, v, 0)
    )
    ahead: tuple[int, ...] = attrs.field(default=())

    @ahead.validator
    def _check_ahead(self, _attribute: attrs.Attribute[tuple[int, ...]], value: object) -> None:
        for offset in value:  # type: ignore[attr-defined]
            _whole("ahead", offset, 0)

    def matches(self, path: str, params: Mapping[str, Any]) -> bool:
        """Whether this checkpoint belongs to a harvest of ``path`` with ``params``."""
        return self.path == path and self.params == canonical_params(params)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = attrs.asdict(self)
        data["params"] = [list(pair) for pair in self.params]
        data["ahead"] = list(self.ahead)
        data["version"] = _VERSION
        return data

    def to_json(self) -> str:
        """Serialise for a file."""
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Checkpoint:
        """Read what `to_dict` wrote; `ValueError` on anything else."""
        if data.get("version") != _VERSION:
            raise ValueError(f"unsupported checkpoint version {data.get('version')!r}")
        try:
            return cls(
                path=str(data["path"]),
                params=tuple((str(k), str(v)) for k, v in data["params"]),
                list_key=str(data["list_key"]),
                page_size=int(data["page_size"]),
                offset=int(data["offset"]),
                last_id=None if data.get("last_id") is None else str(data["last_id"]),
                delivered=int(data.get("delivered", 0)),
                total=None if data.get("total") is None else int(data["total"]),
                ahead=tuple(int(offset) for offset in data.get("ahead", ())),
            )
        except ConfigurationError as exc:
            raise ConfigurationError(f"impossible checkpoint: {exc}") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a checkpoint: {exc}") from None

    @classmethod
    def from_json(cls, text: str) -> Checkpoint:
        """Read what `to_json` wrote."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"not a checkpoint: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError("not a checkpoint: expected a JSON object")
        return cls.from_dict(data)


def page_size_for(page_size: int | None, max_page_size: int, resume_from: Checkpoint | None) -> int:
    """The page size asked for, checked; a resumed harvest keeps its checkpoint's."""
    size = max_page_size if page_size is None else page_size
    if not 1 <= size <= max_page_size:
        raise ConfigurationError(f"page_size must be between 1 and {max_page_size}, got {size}")
    if resume_from is None:
        return size
    if page_size is not None and resume_from.page_size != page_size:
        raise ConfigurationError("resume with the page size of the checkpoint")
    return resume_from.page_size
