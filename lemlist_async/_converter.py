"""The one cattrs converter that turns lemlist's JSON into models and back.

Configured once, at import:

- wire names come from each attrs field's ``WIRE_NAME`` metadata, applied by a
  hook factory, so a model declares a rename where the field is and nowhere else;
- a model's ``extra`` field collects the payload's unknown members, so new fields
  from lemlist survive a round trip;
- strings, integers and booleans are strict: ``5`` or ``None`` never silently
  become ``"5"`` or ``"None"``, nor ``"yes"`` ``True``;
- timestamps become aware datetimes (ISO 8601; one without an offset is UTC);
- every ``OpenStrEnum`` takes values it does not list;
- detailed validation is on, so a payload that does not fit reports the path of
  every bad field (see ``validation_errors``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, get_args, get_origin

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.v import format_exception

from ._fastpath import compiled, list_structurer
from ._models import EXTRA as _EXTRA
from ._models import WIRE_NAME, OpenStrEnum

__all__ = ["converter", "make_converter", "structure", "validation_errors"]


def _strict_str(value: object, _: type[str]) -> str:
    # cattrs' default for str is str(value), which would turn 5 into "5".
    if type(value) is not str:
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _overrides(cls: Any) -> dict[str, Any]:
    # Wire names from field metadata; the ``extra`` field is filled separately.
    overrides: dict[str, Any] = {
        f.name: override(rename=f.metadata[WIRE_NAME])
        for f in attrs.fields(cls)
        if WIRE_NAME in f.metadata
    }
    if any(f.name == _EXTRA for f in attrs.fields(cls)):
        overrides[_EXTRA] = override(omit=True)
    return overrides


def _structure_factory(cls: Any, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    fields = attrs.fields(cls)
    has_extra = any(f.name == _EXTRA for f in fields)
    base = make_dict_structure_fn(cls, conv, **_overrides(cls))
    known = frozenset(f.metadata.get(WIRE_NAME, f.name) for f in fields if f.name != _EXTRA)
    n_known = len(known)
    # When every known field is required, a payload that structured has them all,
    # so it has extra members exactly when it is longer: no set operation needed.
    all_required = all(f.default is attrs.NOTHING for f in fields if f.name != _EXTRA)

    def structure(data: Any, target: Any) -> Any:
        if type(data) is not dict:
            raise TypeError(f"expected a JSON object, got {type(data).__name__}")
        obj = base(data, target)
        if not has_extra or (all_required and len(data) == n_known):
            return obj
        if len(data) > n_known or not known.issuperset(data):
            extra = {k: v for k, v in data.items() if k not in known}
            if extra:
                # Rare (lemlist's lead payload has three members today), so the
                # second construction stays off the common path.
                obj = attrs.evolve(obj, **{_EXTRA: extra})
        return obj

    return structure


def _unstructure_factory(cls: Any, conv: cattrs.Converter) -> Callable[[Any], dict[str, Any]]:
    # Absent members stay absent: a None default is not sent back as null.
    base = make_dict_unstructure_fn(cls, conv, _cattrs_omit_if_default=True, **_overrides(cls))
    if not any(f.name == _EXTRA for f in attrs.fields(cls)):
        return base

    def unstructure(obj: Any) -> dict[str, Any]:
        extra: Mapping[str, Any] = getattr(obj, _EXTRA)
        return {**extra, **base(obj)}

    return unstructure


def _strict_int(value: object, _: type[int]) -> int:
    # cattrs' default is int(value): "12" would pass, and so would 1.9, as 1.
    if type(value) is not int:
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value


def _strict_bool(value: object, _: type[bool]) -> bool:
    # cattrs' default is bool(value): "no" would be True.
    if type(value) is not bool:
        raise TypeError(f"expected a boolean, got {type(value).__name__}")
    return value


def _structure_datetime(value: object, _: type[dt.datetime]) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if type(value) is not str:
        raise TypeError(f"expected an ISO 8601 string, got {type(value).__name__}")
    when = dt.datetime.fromisoformat(value)
    # lemlist's timestamps are UTC; one without an offset is read as such.
    return when if when.utcoffset() is not None else when.replace(tzinfo=dt.UTC)


def _unstructure_datetime(value: dt.datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _structure_open_enum(value: object, cls: type[OpenStrEnum]) -> OpenStrEnum:
    # Registered for the base class, which singledispatch prefers to ``str`` for
    # every subclass: the str hook would otherwise hand back plain strings.
    if isinstance(value, cls):
        return value
    if type(value) is not str:
        raise TypeError(f"expected a string, got {type(value).__name__}")
    # A dict lookup first: calling an Enum class is several times slower.
    member = cls._value2member_map_.get(value)
    return member if isinstance(member, cls) else cls(value)


def make_converter(*, detailed: bool) -> cattrs.Converter:
    """A converter with the rules above; ``detailed`` turns on cattrs' detailed validation."""
    conv = cattrs.Converter(detailed_validation=detailed)
    conv.register_structure_hook(str, _strict_str)
    conv.register_structure_hook(int, _strict_int)
    conv.register_structure_hook(bool, _strict_bool)
    conv.register_structure_hook(dt.datetime, _structure_datetime)
    conv.register_unstructure_hook(dt.datetime, _unstructure_datetime)
    conv.register_structure_hook(OpenStrEnum, _structure_open_enum)
    # Plain strings on the way out, as on the wire.
    conv.register_unstructure_hook(OpenStrEnum, lambda value: str(value.value))
    conv.register_structure_hook_factory(attrs.has, _structure_factory)
    conv.register_unstructure_hook_factory(attrs.has, _unstructure_factory)
    return conv


#: The SDK's converter. Public through ``lemlist_async.converter`` for callers
#: who store models and load them back.
converter: cattrs.Converter = make_converter(detailed=True)

# The same rules without detailed validation, several times faster. Payloads go
# through it first; only one that fails is run again through ``converter`` to
# report the path of every bad field.
_fast_converter = make_converter(detailed=False)


def structure(data: Any, into: Any) -> Any:
    """Structure a payload fast, with ``converter``'s detailed errors on failure.

    A model, or a list of models, goes through its compiled structurer from
    ``_fastpath``; a payload it does not take goes through cattrs without
    detailed validation; a payload that fails there is run again with it, for
    the paths of its bad fields.

    Raises:
        cattrs.BaseValidationError: The payload does not fit ``into``;
            ``validation_errors`` lists the bad paths.
    """
    fast = _compiled_for(into)
    if fast is not None:
        try:
            return fast(data)
        except Exception:  # noqa: BLE001, S110 - not the common case: the converter decides
            pass
    try:
        return _fast_converter.structure(data, into)
    except Exception:  # noqa: BLE001 - any failure is re-run below for its detailed report
        return converter.structure(data, into)


def _compiled_for(into: Any) -> Callable[[Any], Any] | None:
    if get_origin(into) is list:
        return list_structurer(get_args(into)[0])
    if isinstance(into, type) and attrs.has(into):
        return compiled(into)
    return None


def validation_errors(exc: Exception) -> list[str]:
    """List the bad fields of a failed structuring, each with its path in the payload.

    Like ``cattrs.transform_error``, but the path uses wire names (``_id``), not
    attribute names (``id``), since it points into what the server sent.

    Args:
        exc: What ``converter.structure`` raised.

    Returns:
        Lines such as ``invalid value for type, expected str @ $[3]._id``.
    """
    return _transform(exc, "$")


def _transform(exc: BaseException, path: str) -> list[str]:
    if isinstance(exc, cattrs.IterableValidationError):
        with_notes, without = exc.group_exceptions()
        children = [(e, f"{path}[{note.index!r}]", note.type) for e, note in with_notes]
    elif isinstance(exc, cattrs.ClassValidationError):
        with_notes_attr, without = exc.group_exceptions()
        wire = {f.name: f.metadata.get(WIRE_NAME, f.name) for f in attrs.fields(exc.cl)}
        children = [
            (e, f"{path}.{wire.get(note.name, note.name)}", note.type)
            for e, note in with_notes_attr
        ]
    else:
        return [f"{format_exception(exc, None)} @ {path}"]
    errors: list[str] = []
    for child, child_path, child_type in children:
        if isinstance(child, cattrs.BaseValidationError):
            errors.extend(_transform(child, child_path))
        else:
            errors.append(f"{format_exception(child, child_type)} @ {child_path}")
    errors.extend(f"{format_exception(e, None)} @ {path}" for e in without)
    return errors
