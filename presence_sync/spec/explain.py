"""pydantic's validation errors, explained for a person editing YAML: the key's path, one line saying what is
wrong, and a hint (a close key or value, the field's description, how to quote). Also which keys look like
credentials: the spec's own keys are known from the models, so ``requireSecretForRefreshTokenFlow`` is not one."""

from __future__ import annotations

import difflib
import functools
import re
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from .models import PresenceSpec
from .text import one_line, shown

PathT = tuple[str | int, ...]

SECRET_WORDS = re.compile(r"secret|passw(or)?d|passphrase|token|apikey|privatekey|credential|accesskey|pwd$")


def looks_like_secret(key: str) -> bool:
    """A key someone would put a credential under: *Secret, password, token, apiKey, accessKeyId, ...
    (case, '_' and '-' ignored). Keys the spec defines (requireSecretForRefreshTokenFlow) are not."""
    if key in _all_keys():
        return False
    return bool(SECRET_WORDS.search(re.sub(r"[^a-z0-9]", "", key.casefold())))


def secret_problem(path: PathT) -> tuple[PathT, str, str | None]:
    key = str(path[-1])
    return (
        path,
        f"key {shown(key)} looks like a credential; credentials never go in a spec (its value is not shown)",
        "remove it (and rotate it if it was ever committed); give it to `pulumi up` through the environment "
        "(e.g. CXONE_ACCESS_KEY_SECRET, see README 'Environment variables') or as a stack secret with "
        "`pulumi config set --secret <name>`",
    )


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The model inside `annotation` (X, X | None, tuple[X, ...], Annotated[X, ...]), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation) if get_origin(annotation) is not None else ():
        if arg is not Ellipsis and (model := _model_of(arg)) is not None:
            return model
    return None


def _fields_at(path: PathT) -> dict[str, str]:
    """YAML key -> description for the model at `path` (list indices ignored); empty when not a model."""
    model: type[BaseModel] | None = PresenceSpec
    for part in path:
        if isinstance(part, int) or model is None:
            continue
        field = next((f for name, f in model.model_fields.items() if (f.alias or name) == part), None)
        model = _model_of(field.annotation) if field is not None else None
    if model is None:
        return {}
    return {(f.alias or name): f.description or "" for name, f in model.model_fields.items()}


@functools.cache
def _all_keys() -> frozenset[str]:
    """Every YAML key of every model of the spec."""
    keys: set[str] = set()
    todo: list[type[BaseModel]] = [PresenceSpec]
    seen: set[type[BaseModel]] = set()
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            keys.add(info.alias or name)
            if (inner := _model_of(info.annotation)) is not None:
                todo.append(inner)
    return frozenset(keys)


def _yaml_kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    for kind, name in (
        (bool, "true/false"),
        (int, "a number"),
        (float, "a number"),
        (str, "text"),
        (list, "a list"),
        (dict, "a mapping"),
    ):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def describe(error: Any) -> tuple[PathT, str, str | None]:
    loc: PathT = tuple(error["loc"])
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    got = _yaml_kind(value)
    if kind == "missing":
        key = str(loc[-1])
        description = _fields_at(loc[:-1]).get(key)
        return loc[:-1], f"missing required key {key!r}", description or None
    if kind == "extra_forbidden":
        key = str(loc[-1])
        if looks_like_secret(key):
            return secret_problem(loc)
        allowed = list(_fields_at(loc[:-1]))
        folded = {a.replace("_", "").casefold(): a for a in allowed}
        guess = folded.get(key.replace("_", "").casefold()) or next(
            iter(difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)), None
        )
        hint = f"did you mean {guess!r}?" if guess else f"allowed keys here: {', '.join(allowed)}"
        return loc, f"unknown key {shown(key)}", hint
    if kind == "literal_error":
        return _describe_literal(loc, value, str(ctx.get("expected", "")))
    if kind == "string_type":
        return loc, f"must be text, not {got}", ("quote it" if isinstance(value, (bool, int, float)) else None)
    if kind == "int_type":
        return loc, f"must be a whole number, not {got}", None
    if kind == "bool_type":
        return loc, f"must be true or false, not {got}", None
    if kind in ("tuple_type", "list_type"):
        hint = (
            f"write [{value}]"
            if isinstance(value, str) and len(value) <= 60
            else "e.g. [a, b], or one '- item' per line"
        )
        return loc, f"must be a list, not {got}", hint
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return loc, f"must be a mapping of keys to values, not {got}", None
    if kind == "greater_than_equal":
        return loc, f"must be at least {ctx.get('ge')}, not {shown(value)}", None
    if kind == "less_than_equal":
        return loc, f"must be at most {ctx.get('le')}, not {shown(value)}", None
    return loc, one_line(str(error["msg"])), None


def _describe_literal(loc: PathT, value: Any, expected: str) -> tuple[PathT, str, str | None]:
    """A value that is not one of the allowed ones (the spec version is the common case: said plainly)."""
    if loc == ("version",):
        if isinstance(value, str) and value.strip() == "1":
            return loc, f"version must be the number 1, not the text {value!r}", "write version: 1 without quotes"
        return (
            loc,
            f"unsupported spec version {shown(value)}; this presence-sync reads version 1",
            "write version: 1" if isinstance(value, str) else None,
        )
    options = [o.strip().strip("'") for o in expected.replace(" or ", ", ").split(",")]
    guess = None
    if isinstance(value, str) and len(value) <= 100:
        guess = next(iter(difflib.get_close_matches(value, options, n=1, cutoff=0.5)), None)
    return loc, f"{shown(value)} is not one of {expected}", (f"did you mean {guess!r}?" if guess else None)
