"""Compiled structuring of lists of flat models: the hot path of every page of leads.

cattrs builds a correct ``list[Lead]`` at about 560 ns a lead, twice what
``json.loads`` spends on it, mostly in the frozen class's ``__init__`` and one hook
call per field. A page of 500 leads is the SDK's common payload, so for models
whose fields are all strings or string enums this module generates one loop
that checks each value's type inline and fills the slots directly.

It only ever answers for the common, well-formed case. Anything else — a
missing or extra member, a value of another type, a non-object item — raises
``NotFast``, and the caller falls back to the cattrs converter, which stays the
single source of the rules and reports every bad path. The tests check that
both give equal results.
"""

from __future__ import annotations

import enum
import types
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ._models import EXTRA as _EXTRA
from ._models import WIRE_NAME

__all__ = ["NotFast", "list_structurer"]


class NotFast(Exception):  # noqa: N818 - a signal, not an error
    """The payload is not the common case: use the converter."""


_compiled: dict[type, Callable[[Any], list[Any]] | None] = {}


def list_structurer(cls: type) -> Callable[[Any], list[Any]] | None:
    """The compiled ``list[cls]`` structurer, or None if ``cls`` is not flat.

    Flat: a slotted attrs class whose fields, apart from ``extra``, are ``str`` or a
    ``str`` enum, with no validator, converter or default.
    """
    if cls not in _compiled:
        _compiled[cls] = _compile(cls)
    return _compiled[cls]


def _compile(cls: type) -> Callable[[Any], list[Any]] | None:
    if not attrs.has(cls):
        return None
    attrs.resolve_types(cls)
    fields = attrs.fields(cls)
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls, "_NotFast": NotFast}
    body = [
        "def structure_list(data):",
        "    out = []",
        "    append = out.append",
        "    for o in data:",
        f"        if type(o) is not dict or len(o) != {len(fields) - _has_extra(cls)}:",
        "            raise _NotFast",
        "        obj = _new(_cls)",
    ]
    for i, field in enumerate(fields):
        slot = cls.__dict__.get(field.name)
        if not isinstance(slot, types.MemberDescriptorType):
            return None
        namespace[f"_set{i}"] = slot.__set__
        if field.name == _EXTRA:
            # Its converter never runs here: the default is already converted.
            if not isinstance(field.default, Mapping):  # No default, or a factory.
                return None
            namespace[f"_default{i}"] = field.default
            body.append(f"        _set{i}(obj, _default{i})")
            continue
        if field.validator is not None or field.converter is not None:
            return None
        if field.default is not attrs.NOTHING:
            return None
        wire = field.metadata.get(WIRE_NAME, field.name)
        body += [
            f"        v = o.get({wire!r})",
            "        if type(v) is not str:",
            "            raise _NotFast",
        ]
        if field.type is str:
            body.append(f"        _set{i}(obj, v)")
        elif isinstance(field.type, type) and issubclass(field.type, enum.StrEnum):
            # The members' own lookup table, then the class for a value not seen yet.
            namespace[f"_members{i}"] = field.type._value2member_map_
            namespace[f"_enum{i}"] = field.type
            body.append(f"        _set{i}(obj, _members{i}.get(v) or _enum{i}(v))")
        else:
            return None
    body += ["        append(obj)", "    return out"]
    exec(compile("\n".join(body), f"<lemlist_async list[{cls.__name__}]>", "exec"), namespace)  # noqa: S102 - code built above from field metadata only
    structure_list: Callable[[Any], list[Any]] = namespace["structure_list"]
    return structure_list


def _has_extra(cls: type) -> int:
    return int(any(f.name == _EXTRA for f in attrs.fields(cls)))
