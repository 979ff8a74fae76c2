"""Study-spec flags derived from :class:`~mbo.study.StudySpec`, and the one function that
turns parsed flags into a spec.

Every dataclass field becomes a flag: ``--`` + the field name with dashes (or the field's
``metadata["flag"]``), its type from the annotation (``int``, ``float``, ``str``, a mapping
given as YAML, ``| None`` accepting ``none``), its choices and metavar from the metadata, its
help from the class docstring's ``Attributes`` section and its default from the field. A
parsed flag always lands in the spec, in this order (later wins):

1. ``--config FILE`` (a spec file, YAML or TOML);
2. the field flags (``--domain-options '{dim: 8}'`` merges into the file's mapping);
3. ``-D`` / ``-S`` / ``-O KEY=VALUE``: one key of ``domain_options`` / ``surrogate_options``
   / ``optimizer_options``;
4. the shortcuts in :data:`SHORTCUTS`: ``--objective`` (the domain's objective), and for
   gradient ascent ``--steps``, ``--lr``, ``--adam``.

This module imports nothing heavy at import time; building the flags imports the spec.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import types
import typing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..study import StudySpec

__all__ = [
    "SHORTCUTS",
    "SpecFlag",
    "add_spec_arguments",
    "check_runnable",
    "spec_flags",
    "spec_from_args",
]

_MISSING = object()


@dataclass(frozen=True)
class SpecFlag:
    """The flag of one :class:`StudySpec` field."""

    field: str  # the spec field (and the argparse dest)
    flag: str  # "--domain-options"
    convert: Any  # text -> value
    kwargs: dict[str, Any]  # the rest of add_argument's keywords


@dataclass(frozen=True)
class Shortcut:
    """A flag that sets one key of an option mapping: ``--steps 50`` is
    ``optimizer_options["steps"] = 50``; ``only`` names the one ``field_value`` it applies to
    (``("optimizer", "gradient_ascent")``), ``const`` makes it a switch."""

    flag: str
    mapping: str
    key: str
    help: str
    type: str = "str"  # int, float or str
    metavar: str | None = None
    only: tuple[str, str] | None = None
    const: Any = _MISSING

    @property
    def dest(self) -> str:
        return "shortcut_" + self.flag.lstrip("-").replace("-", "_")


_GA = ("optimizer", "gradient_ascent")
#: the convenience flags; each sets one key of an option mapping
SHORTCUTS = (
    Shortcut(
        "--objective",
        "domain_options",
        "objective",
        "the domain's objective, e.g. qed or logp for molecules (= -D objective=...)",
        metavar="NAME",
    ),
    Shortcut(
        "--steps", "optimizer_options", "steps", "ascent steps (= -O steps=N)", "int", "N", _GA
    ),
    Shortcut("--lr", "optimizer_options", "lr", "ascent step size (= -O lr=X)", "float", "X", _GA),
    Shortcut(
        "--adam",
        "optimizer_options",
        "method",
        "Adam instead of plain gradient steps (= -O method=adam)",
        const="adam",
        only=_GA,
    ),
)
#: ``-D``/``-S``/``-O`` -> the option mapping they set a key of
PAIR_FLAGS = {"D": "domain_options", "S": "surrogate_options", "O": "optimizer_options"}


# --- converters: text -> value, argparse.ArgumentTypeError naming what was expected ---------


_EXPONENT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def _numbers(value: Any) -> Any:
    """YAML 1.1 reads ``1e-3`` as a string; make such strings the numbers they look like."""
    if isinstance(value, str) and _EXPONENT.fullmatch(value.strip()):
        return float(value)
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


def _yaml(text: str) -> Any:
    import yaml

    try:
        return _numbers(yaml.safe_load(text))
    except yaml.YAMLError as err:
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise argparse.ArgumentTypeError(f"not valid YAML: {text!r} ({problem})") from None


def _mapping(text: str) -> dict[str, Any]:
    value = _yaml(text)
    value = {} if value is None else value
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a YAML mapping like '{{dim: 8}}', got {text!r}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _optional(convert: Any) -> Any:
    def parse(text: str) -> Any:
        return None if text.strip().lower() in ("none", "null", "~") else convert(text)

    return parse


def pair(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` -> ``(key, YAML value)`` (``dim=8`` -> ``("dim", 8)``)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), _yaml(value)


_CONVERTERS = {int: (_int, "N"), float: (_float, "X"), str: (str, "TEXT"), dict: (_mapping, "YAML")}


# --- the flags --------------------------------------------------------------------------------


def spec_flags() -> list[SpecFlag]:
    """One :class:`SpecFlag` per :class:`StudySpec` field, in field order."""
    from ..study.spec import StudySpec

    hints = typing.get_type_hints(StudySpec)
    docs = StudySpec.field_help()
    flags = []
    for f in dataclasses.fields(StudySpec):
        hint = hints[f.name]
        args = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        optional = type(None) in args
        (base,) = [typing.get_origin(a) or a for a in args if a is not type(None)]
        if base is bool:
            kwargs: dict[str, Any] = {"action": argparse.BooleanOptionalAction}
            convert = None
        else:
            convert, metavar = _CONVERTERS.get(base, (_yaml, "YAML"))
            if optional:
                convert = _optional(convert)
            kwargs = {"type": convert, "metavar": f.metadata.get("metavar", metavar)}
            if "choices" in f.metadata:
                kwargs |= {"choices": tuple(f.metadata["choices"]), "metavar": None}
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        shown = "none" if default is None else default
        help_ = docs.get(f.name) or f.name.replace("_", " ")
        if "shortcut" in f.metadata:
            help_ += f" Merged with {f.metadata['shortcut']} KEY=VALUE."
        kwargs["help"] = f"{help_} (default: {shown})".replace("%", "%%")
        flag = f.metadata.get("flag", "--" + f.name.replace("_", "-"))
        flags.append(SpecFlag(f.name, flag, convert, kwargs))
    return flags


def add_spec_arguments(parser: argparse.ArgumentParser, exclude: tuple[str, ...] = ()) -> None:
    """Add ``--config``, every spec field's flag but ``exclude``, ``-D/-S/-O`` and the
    shortcuts to ``parser`` (flags absent from the command line stay absent from the
    namespace, so only what the user gave overrides the config file)."""
    group = parser.add_argument_group(
        "study spec", "one flag per StudySpec field; flags override --config"
    )
    group.add_argument(
        "--config", metavar="FILE", help="spec file (YAML or TOML), e.g. a run's spec.yaml"
    )
    for sf in spec_flags():
        if sf.field not in exclude:
            group.add_argument(sf.flag, dest=sf.field, default=argparse.SUPPRESS, **sf.kwargs)
    short = parser.add_argument_group("shortcuts", "each sets one key of an option mapping")
    for letter, mapping in PAIR_FLAGS.items():
        short.add_argument(
            f"-{letter}",
            dest=letter,
            action="append",
            type=pair,
            default=[],
            metavar="KEY=VALUE",
            help=f"one key of {mapping}, value as YAML (repeatable), e.g. "
            + {"D": "-D dim=8", "S": "-S width=512", "O": "-O checkpoint_every=5"}[letter],
        )
    for s in SHORTCUTS:
        if s.const is not _MISSING:
            short.add_argument(
                s.flag, dest=s.dest, action="store_const", const=s.const, help=s.help
            )
        else:
            convert = {"int": _int, "float": _float, "str": str}[s.type]
            short.add_argument(s.flag, dest=s.dest, type=convert, metavar=s.metavar, help=s.help)


def spec_from_args(args: argparse.Namespace, **fixed: Any) -> StudySpec:
    """The spec the parsed flags describe (see the module docstring for the order); ``fixed``
    fields are set last (``mbo compare`` sets the surrogate from ``--surrogates``).

    Raises ``ValueError`` for a bad spec and for a shortcut that contradicts a ``KEY=VALUE``
    flag or does not apply to the spec's optimizer."""
    from ..study.spec import StudySpec

    config = getattr(args, "config", None)
    data: dict[str, Any] = StudySpec.read_file(config) if config else {}
    for f in dataclasses.fields(StudySpec):
        value = getattr(args, f.name, _MISSING)
        if value is _MISSING:
            continue
        if isinstance(value, dict) and isinstance(data.get(f.name), dict):
            value = {**data[f.name], **value}
        data[f.name] = value
    given: dict[tuple[str, str], Any] = {}  # (mapping, key) -> value, from -D/-S/-O
    for letter, mapping in PAIR_FLAGS.items():
        pairs = getattr(args, letter, None) or []
        if pairs:
            data[mapping] = {**_as_dict(data.get(mapping), mapping), **dict(pairs)}
            given |= {(mapping, k): v for k, v in pairs}
    data |= fixed
    misplaced: dict[tuple[str, str], list[str]] = {}  # (field, wanted value) -> flags
    for s in SHORTCUTS:
        value = getattr(args, s.dest, None)
        if value is None:
            continue
        if s.only is not None:
            field_name, wanted = s.only
            actual = data.get(field_name, _default(StudySpec, field_name))
            if actual != wanted:
                misplaced.setdefault(s.only, []).append(s.flag)
                continue
        if (s.mapping, s.key) in given and given[s.mapping, s.key] != value:
            letter = next(k for k, v in PAIR_FLAGS.items() if v == s.mapping)
            raise ValueError(
                f"{s.flag} {value} contradicts -{letter} {s.key}={given[s.mapping, s.key]}"
            )
        data[s.mapping] = {**_as_dict(data.get(s.mapping), s.mapping), s.key: value}
    for (field_name, wanted), flags in misplaced.items():
        raise ValueError(
            f"{', '.join(flags)}: options of {field_name} {wanted!r}, but the {field_name} is "
            f"{data.get(field_name)!r}; give its options with -O KEY=VALUE (see `mbo list`)"
        )
    return StudySpec.from_dict(data)


def _as_dict(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be a mapping, got {value!r}")
    return value


def _default(cls: type, name: str) -> Any:
    f = {f.name: f for f in dataclasses.fields(cls)}[name]
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


# --- checks before a study runs -------------------------------------------------------------


def check_runnable(spec: StudySpec) -> None:
    """Checks that need the device or the factories, done before a command prints or runs
    anything: the device resolves, ``tf32`` only on CUDA, every option of the domain,
    surrogate and optimizer is accepted and of the type its factory declares, and the
    objective suits the surrogate (``min``/``lcb`` need an ensemble). Builds the surrogate
    (cheap, not fitted) but not the domain (which may generate data)."""
    from ..evaluation import check_objective
    from ..registry import DOMAINS, OPTIMIZERS, SURROGATES
    from ..study import make_surrogate, resolve_device

    device = resolve_device(spec.device)
    if spec.precision == "tf32" and device.type != "cuda":
        raise ValueError(
            f"precision tf32 needs a CUDA device (TF32 is an NVIDIA GPU arithmetic), got "
            f"device {spec.device!r}; use fp32 or bf16 on {device.type}"
        )
    check_options(DOMAINS, spec.domain, spec.domain_options)
    check_options(SURROGATES, spec.surrogate, spec.surrogate_options)
    check_options(OPTIMIZERS, spec.optimizer, spec.optimizer_options)
    check_objective(make_surrogate(spec), spec.objective)


def check_options(registry: Any, name: str, options: dict[str, Any]) -> None:
    """``ValueError`` naming the option when one of ``options`` is unknown to ``name``'s
    factory or does not match the type the factory declares (``-D dim=abc`` for an
    ``int``). Options of types this check does not know are left to the factory."""
    factory, _ = registry.resolve(name)
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return
    params = sig.parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        accepted = sorted(k for k, p in params.items() if p.kind in kinds and k != "self")
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise ValueError(
                f"unknown {registry.kind} option(s) {unknown} for {name!r}; it accepts {accepted}"
            )
    try:
        init = factory.__init__ if inspect.isclass(factory) else factory
        hints = typing.get_type_hints(init)
    except Exception:  # noqa: BLE001 - unresolvable annotations: no type check
        hints = {}
    for key, value in options.items():
        if key in hints and not _fits(value, hints[key]):
            raise ValueError(
                f"{registry.kind} option {key}={value!r}: {registry.kind} {name!r} takes "
                f"{_describe(hints[key])} for {key!r}, got {type(value).__name__}"
            )


_SIMPLE = {int: "an integer", float: "a number", bool: "true/false", str: "a string"}


def _parts(hint: Any) -> tuple[Any, ...]:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return typing.get_args(hint)
    return (hint,)


def _fits(value: Any, hint: Any) -> bool:
    for t in _parts(hint):
        base = typing.get_origin(t) or t
        if t is type(None):
            if value is None:
                return True
        elif base is bool:
            if isinstance(value, bool):
                return True
        elif base is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return True
        elif base is float:
            if isinstance(value, int | float) and not isinstance(value, bool):
                return True
        elif base in (str, dict, list, tuple):
            if isinstance(value, base) or (base is tuple and isinstance(value, list)):
                return True
        else:
            return True  # Any, a class, a callable...: not judged here
    return False


def _describe(hint: Any) -> str:
    names = []
    for t in _parts(hint):
        base = typing.get_origin(t) or t
        names.append(
            "none" if t is type(None) else _SIMPLE.get(base, getattr(base, "__name__", str(t)))
        )
    return " or ".join(names)
