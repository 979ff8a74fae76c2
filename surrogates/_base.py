"""The ``Surrogate`` interface and shared helpers.

A surrogate is a ``torch.nn.Module`` mapping features ``(..., d)`` to a mean score
``(...)`` in the units of the labels it was fit on. Hyperparameters are stored in
``__init__`` under their own names and nothing else happens there (scikit-learn
convention), so ``type(s)(**s.get_params())`` rebuilds an unfitted copy; ``fit(x, y,
progress=False)`` does the work and sets learned attributes whose names end in ``_``.

A fitted surrogate is saved as data, never as a pickle: :meth:`Surrogate.save_state` gives
``(meta, tensors)`` — ``meta`` JSON-able (the class as an import path, ``get_params()``, the
learned non-tensor attributes), ``tensors`` a flat ``{name: Tensor}`` dict that
``torch.load(..., weights_only=True)`` reads back — and :meth:`Surrogate.from_state` rebuilds
it without fitting. A subclass whose learned state is more than buffers, JSON-able attributes
and submodules it can rebuild from those overrides :meth:`Surrogate._rebuild` (and
:meth:`Surrogate._extra_tensors` for tensors its rebuild needs).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import warnings
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Self

import torch
from torch import Tensor, nn


class NotFittedError(RuntimeError):
    """The surrogate was used before ``fit``."""


def check_xy(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Validate training data: ``x`` ``(n, d)`` and ``y`` ``(n,)``, finite, n >= 2."""
    x = torch.as_tensor(x)
    y = torch.as_tensor(y, device=x.device)
    if x.ndim != 2:
        raise ValueError(f"x must have shape (n, d), got {tuple(x.shape)}")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(f"y must have shape ({x.shape[0]},), got {tuple(y.shape)}")
    if x.shape[0] < 2:
        raise ValueError("need at least 2 training points")
    if not bool(torch.isfinite(y).all()):
        raise ValueError(f"y has {int((~torch.isfinite(y)).sum())} NaN/inf labels; drop them first")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x has NaN/inf entries")
    return x.float(), y.float()


def spread(t: Tensor, dim: int = 0, eps: float = 1e-8) -> Tensor:
    """Standard deviation along ``dim`` with zero spreads replaced by 1 (constant features)."""
    s = t.std(dim=dim) if t.shape[dim] > 1 else torch.ones_like(t.select(dim, 0))
    return torch.where(s > eps, s, torch.ones_like(s))


@contextlib.contextmanager
def seeded(seed: int | None, device: torch.device):
    """Fork the global RNG (CPU and, where used, CUDA) and seed it inside the block."""
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        if seed is not None:
            torch.manual_seed(seed)
        yield


#: version of the ``(meta, tensors)`` layout written by :meth:`Surrogate.save_state`
STATE_FORMAT = 1


def class_path(cls: type) -> str:
    """``"package.module:QualName"`` of a class (what :func:`resolve_surrogate_class` reads)."""
    return f"{cls.__module__}:{cls.__qualname__}"


def resolve_surrogate_class(path: Any) -> type[Surrogate]:
    """The class named by ``"package.module:QualName"``; a one-line ``ValueError`` unless it
    is a subclass of :class:`Surrogate` (a saved state names its class: nothing else is
    built from it)."""
    if not isinstance(path, str) or path.count(":") != 1:
        raise ValueError(f"surrogate class must be 'package.module:Class', got {path!r}")
    module, attr = path.split(":")
    if not all(p.isidentifier() for p in [*module.split("."), *attr.split(".")]):
        raise ValueError(f"surrogate class must be 'package.module:Class', got {path!r}")
    try:
        obj: Any = importlib.import_module(module)
    except ImportError as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise ValueError(f"surrogate class {path!r}: cannot import {module!r} ({first})") from err
    for part in attr.split("."):
        obj = getattr(obj, part, None)
    if not (isinstance(obj, type) and issubclass(obj, Surrogate)):
        raise ValueError(f"{path!r} is not a surrogates.Surrogate subclass; refusing to load it")
    return obj


def _json_ok(value: Any) -> bool:
    """Whether ``value`` survives ``json.dumps``/``loads`` as itself (non-finite floats aside:
    a run folder writes them as ``null``)."""
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, list):
        return all(_json_ok(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_ok(v) for k, v in value.items())
    return False


@functools.cache
def _reserved_names() -> frozenset[str]:
    """Attribute names of ``nn.Module`` (and its instances): a hyperparameter stored under one
    of them shadows or is shadowed by the module's own (``training`` is reset by ``eval()``)."""
    return frozenset(n for n in (*dir(nn.Module), *vars(nn.Module())) if not n.startswith("__"))


class Surrogate(nn.Module, ABC):
    """Base class: ``fit(x, y, progress=False) -> self``, ``forward(x) -> mean``,
    ``predict(x) -> (mean, std)``, ``get_params()``, ``save_state()``/``from_state()``.

    Shapes: ``x`` is ``(..., d)``; ``forward`` returns ``(...)``; ``predict`` returns the
    mean and a std of the same shape, or ``None`` for models without uncertainty.

    ``__init__`` parameters must not be named like an ``nn.Module`` attribute (``training``,
    ``train``, ``type``, ...): the class is refused when it is defined.
    """

    #: whether ``predict`` returns a standard deviation.
    has_std: bool = False
    #: deprecated ``__init__`` keyword -> its new name: still accepted (the subclass maps it
    #: with :meth:`_renamed_keyword`), never stored, never in :meth:`get_params`.
    _renamed: ClassVar[dict[str, str]] = {}
    #: learned attributes that :meth:`save_state` leaves out (training-only state).
    _unsaved: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        clash = sorted((set(cls._param_names()) & _reserved_names()) - set(cls._renamed))
        if clash:
            raise TypeError(
                f"{cls.__name__}.__init__ parameter(s) {clash} collide with torch.nn.Module "
                f"attributes; rename them"
            )

    @classmethod
    def _param_names(cls) -> list[str]:
        kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        params = inspect.signature(cls.__init__).parameters.values()
        return [p.name for p in params if p.kind in kinds and p.name != "self"]

    @classmethod
    def _renamed_keyword(cls, old: str, value: Any, current: Any, default: Any) -> Any:
        """The value of the new keyword given deprecated ``old=value`` (``None``: not given),
        with a ``DeprecationWarning``; ``current`` is what the new keyword got."""
        if value is None:
            return current
        new = cls._renamed[old]
        warnings.warn(
            f"{cls.__name__}({old}=...) is deprecated; use {new}=... instead",
            DeprecationWarning,
            stacklevel=3,
        )
        if current != default:
            raise ValueError(f"{cls.__name__}: give {new}= only ({old}= is its deprecated name)")
        return value

    @abstractmethod
    def fit(self, x: Tensor, y: Tensor, progress: bool = False) -> Self:
        """Fit on features ``x`` ``(n, d)`` and labels ``y`` ``(n,)``; ``progress`` shows a bar."""

    @abstractmethod
    def forward(self, x: Tensor) -> Tensor: ...

    def predict(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        return self(x), None

    @property
    def is_fitted(self) -> bool:
        return getattr(self, "n_features_in_", None) is not None

    def _check_fitted(self, x: Tensor) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit(x, y) first")
        if x.shape[-1] != self.n_features_in_:
            raise ValueError(
                f"{type(self).__name__} was fit on {self.n_features_in_} features, got {x.shape[-1]}"
            )

    def get_params(self) -> dict[str, Any]:
        """Hyperparameters as given to ``__init__`` (deprecated keywords under their new names):
        ``type(self)(**self.get_params())`` is an unfitted copy, also after ``fit``."""
        return {n: getattr(self, n) for n in self._param_names() if n not in self._renamed}

    # --- saving as data ---------------------------------------------------------------------
    def _state_params(self) -> dict[str, Any]:
        """``get_params()`` as JSON-able values (a subclass maps objects it can name)."""
        return self.get_params()

    def _extra_tensors(self) -> dict[str, Tensor]:
        """Tensors :meth:`_rebuild` needs beyond the state dict and the learned attributes."""
        return {}

    def _rebuild(self, extra: dict[str, Tensor], state: dict[str, Tensor]) -> None:
        """Recreate the learned submodules (any values: ``state`` is loaded into them next),
        with the learned attributes already set. ``extra`` is :meth:`_extra_tensors`."""

    def save_state(self) -> tuple[dict[str, Any], dict[str, Tensor]]:
        """The fitted surrogate as data: ``(meta, tensors)``.

        ``meta`` (JSON-able): ``format``, ``class`` (import path), ``params``
        (:meth:`get_params`), ``attrs`` (learned attributes ending in ``_`` that are JSON-able;
        ``None`` for unset ones). ``tensors`` (CPU copies): ``state.<key>`` for the
        ``state_dict()``, ``attr.<name>`` for learned tensor attributes that are not buffers,
        ``extra.<name>`` for :meth:`_extra_tensors`. Raises ``TypeError`` for a learned
        attribute that is none of these (list it in ``_unsaved`` or override the hooks).
        """
        if not self.is_fitted:
            raise NotFittedError(f"{type(self).__name__} is not fitted; nothing to save")
        cls = type(self)
        path = class_path(cls)
        try:
            found = resolve_surrogate_class(path)
        except ValueError:
            found = None
        if found is not cls:
            raise ValueError(
                f"cannot save {cls.__name__}: its class is not importable as {path!r} "
                f"(define it at module level in an importable module)"
            )
        params = self._state_params()
        bad = sorted(k for k, v in params.items() if not _json_ok(v))
        if bad:
            raise TypeError(f"cannot save {cls.__name__}: parameter(s) {bad} are not JSON values")

        def cpu(t: Tensor) -> Tensor:
            return t.detach().to("cpu", copy=True)

        attrs: dict[str, Any] = {}
        tensors = {f"state.{k}": cpu(v) for k, v in self.state_dict().items()}
        for name, value in vars(self).items():
            if not name.endswith("_") or name.startswith("_") or name in self._unsaved:
                continue
            if isinstance(value, nn.Module):
                continue  # in the state dict; rebuilt by _rebuild
            if isinstance(value, Tensor):
                tensors[f"attr.{name}"] = cpu(value)
            elif _json_ok(value):
                attrs[name] = value
            else:
                raise TypeError(
                    f"cannot save {cls.__name__}.{name} ({type(value).__name__}): list it in "
                    f"_unsaved or save it through _extra_tensors/_rebuild"
                )
        tensors |= {f"extra.{k}": cpu(v) for k, v in self._extra_tensors().items()}
        meta = {"format": STATE_FORMAT, "class": path, "params": params, "attrs": attrs}
        return meta, tensors

    @classmethod
    def from_state(cls, meta: dict[str, Any], tensors: dict[str, Tensor]) -> Surrogate:
        """Rebuild a fitted surrogate from :meth:`save_state`'s output, without fitting; on the
        CPU, in eval mode. The class comes from ``meta["class"]`` and must be a subclass of
        ``cls`` (``Surrogate.from_state`` takes any surrogate); a one-line ``ValueError``
        otherwise or for a malformed state."""
        if not isinstance(meta, dict) or not {"class", "params", "attrs"} <= set(meta):
            raise ValueError("a surrogate state needs 'class', 'params' and 'attrs'")
        fmt = meta.get("format", STATE_FORMAT)
        if not isinstance(fmt, int) or fmt > STATE_FORMAT:
            raise ValueError(
                f"surrogate state format {fmt!r} is not one this code reads "
                f"(<= {STATE_FORMAT}); upgrade"
            )
        target = resolve_surrogate_class(meta["class"])
        if not issubclass(target, cls):
            raise ValueError(f"{meta['class']!r} is not a {cls.__name__}")
        if not isinstance(tensors, dict) or not all(
            isinstance(k, str) and isinstance(v, Tensor) for k, v in tensors.items()
        ):
            raise ValueError("surrogate tensors must be a dict of name -> Tensor")
        if not isinstance(meta["params"], dict) or not isinstance(meta["attrs"], dict):
            raise ValueError("a surrogate state's 'params' and 'attrs' must be mappings")
        try:
            obj = target(**meta["params"])
        except TypeError as err:
            raise ValueError(f"cannot build {meta['class']} from the saved params: {err}") from err

        def part(prefix: str) -> dict[str, Tensor]:
            return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}

        state, extra = part("state."), part("extra.")
        for name, value in [*meta["attrs"].items(), *part("attr.").items()]:
            if not name.endswith("_") or name.startswith("_") or name in _reserved_names():
                raise ValueError(f"saved attribute {name!r} is not a learned attribute's name")
            setattr(obj, name, value)
        with seeded(None, torch.device("cpu")):  # building modules must not move the global RNG
            obj._rebuild(extra, state)
        for key, value in state.items():
            if "." not in key and not hasattr(obj, key):
                obj.register_buffer(key, value)
        try:
            obj.load_state_dict(state, strict=True, assign=True)
        except RuntimeError as err:
            first = str(err).strip().splitlines()
            raise ValueError(
                f"saved tensors do not fit {target.__name__}: {' '.join(first[:3])}"
            ) from err
        return obj.eval()

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
