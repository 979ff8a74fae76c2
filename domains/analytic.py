"""Box domains over analytic functions: any BoTorch synthetic test function, or your own.

* :class:`BoxFunctionDomain` holds what they share: a vectorized function over a box,
  maximized, with an optional known maximum (the exact bound).
* :class:`BoTorchDomain` wraps any BoTorch ``SyntheticTestFunction`` given by import path
  (``"botorch.test_functions.synthetic:Michalewicz"``) or class, negated where BoTorch defines
  it as a minimization problem; its bound is BoTorch's optimal value (negated likewise) where
  BoTorch knows one, else unknown.
* :class:`AnalyticDomain` is a :class:`BoTorchDomain` picked by short name from
  :data:`FUNCTIONS` (``branin``, ``hartmann``, ...).
* :class:`FunctionDomain` wraps your own Python function ``f(x) -> scores`` over a box; its
  optimum is unknown unless you give ``bound``.

Designs are points ``(n, d)`` (float64 arrays) in the box; the design tensor is the point
itself (float32). The oracle refuses a batch of the wrong shape (one unbatched design ``(d,)``,
rows of the wrong width) with a ``ValueError``. It scores ``nan`` (invalid, counted by the
metrics' invalid rate) every design with a non-finite coordinate or one outside the box by more
than :data:`domains._space.BOX_RTOL` of the box's width (plus float32 rounding of the bound),
without calling the function on it; designs within that slack are clamped onto the bound. It
rounds the integer-valued dimensions of mixed BoTorch problems, casts to float64 and calls the
function; ``nan`` (or any non-finite score) marks an invalid design (e.g. infeasible for a
constrained BoTorch problem). Reference data is uniform in the box from a seeded generator.
The oracle's evaluators hold only plain data (an import path or importable class, options)
and build the function on first use in each process, so they pickle to oracle workers
(``workers > 0``) and to sweep workers.
"""

from __future__ import annotations

import functools
import inspect
import math
import pkgutil
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from botorch.test_functions import synthetic as _syn
from torch import Tensor

from . import _options as opt
from ._base import CheckedOracle, Domain, ReferenceData
from ._oracle import Oracle
from ._space import BoxSpace, check_box_designs, in_box

# name -> (BoTorch class, allowed dims or None for any, default dim)
FUNCTIONS: dict[str, tuple[type, tuple[int, ...] | None, int]] = {
    "branin": (_syn.Branin, (2,), 2),
    "hartmann": (_syn.Hartmann, (3, 4, 6), 6),
    "ackley": (_syn.Ackley, None, 10),
    "rosenbrock": (_syn.Rosenbrock, None, 4),
    "levy": (_syn.Levy, None, 4),
    "styblinski_tang": (_syn.StyblinskiTang, None, 4),
    "rastrigin": (_syn.Rastrigin, None, 4),
}

#: BoTorch constructor options a BoTorchDomain sets itself (it maximizes the noise-free
#: function in float64).
_FIXED_OPTIONS = ("negate", "noise_std", "constraint_noise_std", "dtype")


def _make_function(name: str, dim: int) -> Any:
    """The BoTorch test function ``FUNCTIONS[name]`` in ``dim`` dimensions."""
    cls, dims, _ = FUNCTIONS[name]
    return _build_botorch(cls, None if dims == (2,) else dim, {})


def _resolve(target: str | Any, what: str) -> Any:
    """``target`` itself, or the object an import path ``"package.module:Attr"`` names.

    ``ValueError`` naming the module or attribute that cannot be found."""
    if not isinstance(target, str):
        return target
    module, sep, attr = target.partition(":")
    if not (sep and module and attr):
        raise ValueError(f"{what} must be an import path 'package.module:Name', got {target!r}")
    try:
        return pkgutil.resolve_name(target)
    except ImportError as err:
        raise ValueError(f"{what}: cannot import module {module!r} ({err})") from err
    except (AttributeError, ValueError) as err:
        raise ValueError(f"{what}: module {module!r} has no attribute {attr!r}") from err


def _label(target: str | Any) -> str:
    """An import path for ``target`` (a path already, or a class/function)."""
    if isinstance(target, str):
        return target
    return f"{getattr(target, '__module__', '?')}:{getattr(target, '__qualname__', target)}"


def _build_botorch(cls: type, dim: int | None, options: dict[str, Any]) -> Any:
    """``cls(dim=dim, **options)`` under a fixed seed: a constructor that draws random numbers
    (e.g. ``AckleyMixed(randomize_optimum=True)``) builds the same function in every process."""
    kwargs = dict(options) if dim is None else {**options, "dim": int(dim)}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return cls(**kwargs)


def _scores(y: Any, n: int, what: str) -> np.ndarray:
    """A function's output as float64 ``(n,)``: numpy arrays, lists and torch tensors."""
    if isinstance(y, Tensor):
        y = y.detach().to("cpu", torch.float64).numpy()
    y = np.asarray(y, dtype=np.float64)
    if y.size != n or y.ndim > 2 or (y.ndim == 2 and y.shape[1] != 1):
        raise ValueError(f"{what} returned shape {y.shape} for {n} designs; expected ({n},)")
    return y.reshape(n)


class _BoxEvaluate:
    """Picklable batch evaluation ``(n, d) -> (n,)``: ``nan`` for rows with a non-finite
    coordinate or outside the box (beyond :func:`~domains._space.in_box`'s slack); the other
    rows are clamped onto the box (within the slack), their integer dimensions rounded, and
    passed to the function (built by :meth:`_build` on first use in each process); scores are
    multiplied by ``sign`` (-1 maximizes a minimization problem), non-finite ones read ``nan``.
    ``ValueError`` for designs that are not ``(n, d)``."""

    def __init__(
        self,
        lower: Sequence[float],
        upper: Sequence[float],
        sign: float = 1.0,
        integer_dims: Sequence[int] = (),
    ) -> None:
        self.lower = np.asarray(lower, dtype=np.float64)
        self.upper = np.asarray(upper, dtype=np.float64)
        self.sign = float(sign)
        self.integer_dims = [int(i) for i in integer_dims]
        self._f: Any = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_f"] = None  # rebuilt from plain data in the worker
        return state

    def _build(self) -> Any:
        raise NotImplementedError

    def _call(self, f: Any, x: np.ndarray) -> Any:
        return f(x)

    def __call__(self, designs: Any) -> np.ndarray:
        check_box_designs(designs, self.lower.size)
        x = np.array(designs, dtype=np.float64).reshape(-1, self.lower.size)  # a fresh copy
        out = np.full(len(x), np.nan)
        valid = in_box(x, self.lower, self.upper)
        if not valid.any():
            return out
        x = np.clip(x[valid], self.lower, self.upper)
        if self.integer_dims:
            x[:, self.integer_dims] = np.round(x[:, self.integer_dims])
        if self._f is None:
            self._f = self._build()
        y = self.sign * _scores(self._call(self._f, x), len(x), "the function")
        out[valid] = np.where(np.isfinite(y), y, np.nan)
        return out


class _BoTorchEvaluate(_BoxEvaluate):
    """A BoTorch test function's noise-free value; ``nan`` where a constrained problem's
    constraints are violated."""

    def __init__(
        self, function: str | type, dim: int | None, options: dict[str, Any], **box: Any
    ) -> None:
        super().__init__(**box)
        self.function, self.dim, self.options = function, dim, dict(options)

    def _build(self) -> Any:
        return _build_botorch(_resolve(self.function, "function"), self.dim, self.options)

    def _call(self, f: Any, x: np.ndarray) -> Tensor:
        t = torch.as_tensor(x)
        with torch.no_grad():
            y = f.evaluate_true(t)
            if isinstance(f, _syn.ConstrainedSyntheticTestFunction):
                feasible = (f.evaluate_slack_true(t) >= 0).all(dim=-1)
                y = torch.where(feasible, y, torch.full_like(y, math.nan))
        return y


class _FunctionEvaluate(_BoxEvaluate):
    """A user's function of a float64 array ``(n, d)``."""

    def __init__(self, function: str | Callable[..., Any], **box: Any) -> None:
        super().__init__(**box)
        self.function = function

    def _build(self) -> Any:
        return _check_callable(_resolve(self.function, "function"), self.function)

    def _call(self, f: Any, x: np.ndarray) -> Any:
        with torch.no_grad():
            return f(x)


def _check_callable(f: Any, target: Any) -> Callable[..., Any]:
    if not callable(f) or isinstance(f, type):
        raise ValueError(f"function {_label(target)!r} is not a function of designs (n, d)")
    return f


def _row_key(design: np.ndarray) -> bytes:
    return np.asarray(design, dtype=np.float64).tobytes()


class BoxFunctionDomain(Domain):
    """A vectorized function over a box, maximized: what the domains below share.

    Args:
        evaluate: picklable ``designs (n, d) float64 -> raw scores (n,)`` (larger is better,
            ``nan`` for an invalid design, including any design outside the box).
        lower, upper: the box ``(d,)``.
        bound: the known maximum of the score (an exact upper bound on every design's score),
            or ``None`` where none is known: the bound-based metrics (impossible-prediction
            rate) are then ``nan``, shown as n/a.
        name: the domain's name in reports.
        n_reference: size of the reference set sampled uniformly in the box.
        seed: seed of the reference sample.
        offline_fraction: share of the reference data visible offline (lowest scores).
        workers: oracle worker processes for cache misses (0 evaluates in this process).
        function: what the domain evaluates, for reports (default: ``name``).
    """

    def __init__(
        self,
        evaluate: Callable[[np.ndarray], np.ndarray],
        lower: Any,
        upper: Any,
        bound: float | None = None,
        name: str = "box",
        n_reference: int = 2000,
        seed: int = 0,
        offline_fraction: float = 0.5,
        workers: int = 0,
        function: str | None = None,
    ) -> None:
        super().__init__()
        self.name = opt.string("name", name)
        self.n_reference = opt.integer("n_reference", n_reference, minimum=10)
        self.seed = opt.integer("seed", seed, minimum=0)
        self.default_offline_fraction = opt.fraction("offline_fraction", offline_fraction)
        self.workers = opt.integer("workers", workers, minimum=0)
        #: the known maximum of the score (an exact bound on any design), or ``None``.
        self.optimal_value = opt.number("bound", bound, none=True)
        lo, hi = opt.bounds(lower, upper)
        self.space = BoxSpace(torch.as_tensor(lo), torch.as_tensor(hi))
        self._bounds = torch.stack([self.space.lower, self.space.upper])
        self.dim = self.space.dim
        self._evaluate = evaluate
        #: what the domain evaluates, for reports (an import path for plug-in functions).
        self.function = function or name

    def encode(self, designs: Any) -> Tensor:
        arr = np.asarray(designs, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != self.dim:
            raise ValueError(
                f"{self.name}: expected designs of shape (n, {self.dim}), got {arr.shape}"
            )
        return torch.as_tensor(arr, dtype=torch.float32)

    def decode(self, x: Tensor) -> np.ndarray:
        self.space.check(x)
        x = self.space.project(x.detach().to("cpu", torch.float32))
        return x.numpy().astype(np.float64)

    def upper_bound(self, designs: Any) -> np.ndarray | None:
        if self.optimal_value is None:
            return None
        return np.full(len(designs), self.optimal_value)

    def design_columns(self, designs: Any) -> dict[str, Any]:
        arr = np.asarray(designs)
        return {f"x{i}": arr[:, i] for i in range(min(self.dim, 16))}

    def _make_oracle(self) -> Oracle:
        check = functools.partial(check_box_designs, dim=self.dim, name=self.name)
        return CheckedOracle(self._evaluate, key=_row_key, check=check, workers=self.workers)

    def _make_reference(self) -> ReferenceData:
        g = torch.Generator().manual_seed(self.seed)
        x = self.space.sample(self.n_reference, generator=g)
        designs = x.numpy().astype(np.float64)
        return ReferenceData(designs, x, self.oracle(designs))

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "function": self.function,
            "optimal_value": self.optimal_value,
            "n_reference": self.n_reference,
            "offline_fraction": self.default_offline_fraction,
        }


class BoTorchDomain(BoxFunctionDomain):
    """Any BoTorch ``SyntheticTestFunction`` as a domain, maximized.

    BoTorch's minimization problems (most of them) are negated; maximization problems
    (``Cosine8``, ``Labs``) are kept. The bound is BoTorch's optimal value, negated likewise,
    where BoTorch knows it (``Michalewicz`` knows it for ``dim`` 2, 5 and 10 only; elsewhere the
    bound-based metrics read n/a). Constrained problems score ``nan`` (invalid) where a
    constraint is violated; mixed problems' integer dimensions are rounded by the oracle.

    Args:
        function: import path ``"module:Class"`` of the test function, or the class.
        dim: input dimension, for functions that take one (``None``: BoTorch's default).
        function_options: further keyword options of the function's constructor (e.g.
            ``{"bounds": [[0, 1], [0, 1]]}``, ``{"m": 7}`` for Shekel); ``negate``, ``noise_std``
            and ``dtype`` are set by the domain.
        n_reference, seed, offline_fraction, workers: see :class:`BoxFunctionDomain`.
        name: the domain's name (default: the class name, lowercase, with the dimension).
    """

    def __init__(
        self,
        function: str | type = "botorch.test_functions.synthetic:Michalewicz",
        dim: int | None = None,
        function_options: dict[str, Any] | None = None,
        n_reference: int = 2000,
        seed: int = 0,
        offline_fraction: float = 0.5,
        workers: int = 0,
        name: str | None = None,
    ) -> None:
        if not isinstance(function, str | type):
            raise ValueError(
                "function must be an import path 'module:Class' or a BoTorch "
                f"SyntheticTestFunction class, got {opt.show(function)}"
            )
        dim = opt.integer("dim", dim, minimum=1, none=True)
        if function_options is not None and not isinstance(function_options, dict):
            raise ValueError(
                f"function_options must be a mapping of option -> value or None, got "
                f"{opt.show(function_options)}"
            )
        opt.string("name", name, none=True)
        cls = _resolve(function, "function")
        if not (isinstance(cls, type) and issubclass(cls, _syn.SyntheticTestFunction)):
            raise ValueError(
                f"function {_label(function)!r} is not a BoTorch SyntheticTestFunction class "
                "(e.g. botorch.test_functions.synthetic:Michalewicz)"
            )
        options = dict(function_options or {})
        params = inspect.signature(cls).parameters
        fixed = sorted(set(options) & {*_FIXED_OPTIONS, "dim"})
        if fixed:
            raise ValueError(
                f"function_options {fixed} are set by the domain (it maximizes the noise-free "
                "function in float64); give the dimension as dim="
            )
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            accepted = sorted(set(params) - {*_FIXED_OPTIONS, "dim", "self"})
            unknown = sorted(set(options) - set(accepted))
            if unknown:
                raise ValueError(
                    f"unknown function_options {unknown} for {cls.__name__}; "
                    f"it accepts {accepted or 'none'}"
                )
        takes_dim = "dim" in params
        if dim is not None and not takes_dim:
            if dim != getattr(cls, "dim", dim):
                raise ValueError(f"{cls.__name__} is {cls.dim}-D only, got dim={dim}")
            dim = None
        try:
            f = _build_botorch(cls, dim, options)
        except (TypeError, ValueError, RuntimeError) as err:
            raise ValueError(f"{cls.__name__}: {err}") from err
        sign = -1.0 if getattr(f, "_is_minimization_by_default", True) else 1.0
        optimum = getattr(f, "_optimal_value", None)
        bounds = f.bounds.to(torch.float64)
        self.function_options = options
        super().__init__(
            _BoTorchEvaluate(
                function,
                None if dim is None else int(dim),
                options,
                lower=bounds[0].tolist(),
                upper=bounds[1].tolist(),
                sign=sign,
                integer_dims=sorted([*f.discrete_inds, *f.categorical_inds]),
            ),
            bounds[0],
            bounds[1],
            bound=None if optimum is None else sign * float(optimum) + 0.0,  # no -0.0
            name=name or cls.__name__.lower() + (str(f.dim) if takes_dim else ""),
            n_reference=n_reference,
            seed=seed,
            offline_fraction=offline_fraction,
            workers=workers,
            function=_label(function),
        )


class AnalyticDomain(BoTorchDomain):
    """A BoTorch test function picked by short name (maximize the negated function).

    Args:
        function: one of ``FUNCTIONS`` (branin, hartmann, ackley, rosenbrock, ...).
        dim: input dimension (fixed for Branin; 3, 4 or 6 for Hartmann; any >= 2 otherwise).
        n_reference: size of the reference set sampled uniformly in the box.
        seed: seed of the reference sample.
        offline_fraction: share of the reference data visible offline (lowest scores).
    """

    def __init__(
        self,
        function: str = "branin",
        dim: int | None = None,
        n_reference: int = 2000,
        seed: int = 0,
        offline_fraction: float = 0.5,
    ) -> None:
        function = opt.choice("function", function, FUNCTIONS)
        cls, dims, default_dim = FUNCTIONS[function]
        dim = opt.integer("dim", dim, minimum=1, none=True)
        dim = default_dim if dim is None else dim
        if dims is not None and dim not in dims:
            raise ValueError(f"{function} is defined for dim in {dims}, got dim={dim}")
        if dim < 2:
            raise ValueError(f"{function} needs dim >= 2, got dim={dim}")
        super().__init__(
            cls,
            None if dims == (2,) else dim,
            n_reference=n_reference,
            seed=seed,
            offline_fraction=offline_fraction,
            name=function if dims == (2,) or dim == default_dim else f"{function}{dim}",
        )
        self.function = function


class FunctionDomain(BoxFunctionDomain):
    """Your own Python function over a box as a domain.

    The function receives a float64 numpy array ``(n, d)`` of points inside the box (a fresh
    copy; designs outside the box or not finite score ``nan`` without reaching it) and
    returns ``n`` scores: a numpy array, a list or a torch tensor
    (``(n,)`` or ``(n, 1)``); ``nan`` marks an invalid design. It runs in oracle and sweep
    worker processes, so give it as an import path ``"my_pkg.mod:score"`` (or a module-level
    function that pickles by reference). Its optimum is unknown unless you give ``bound``:
    the bound-based metrics (impossible-prediction rate) then read n/a.

    Args:
        function: import path ``"package.module:function"``, or the function.
        lower, upper: the box, one number per dimension.
        maximize: ``False`` to minimize the function (the domain maximizes its negative).
        bound: the function's known optimum over the box (its maximum, or its minimum when
            ``maximize=False``), if any.
        n_reference, seed, offline_fraction, workers: see :class:`BoxFunctionDomain`.
        name: the domain's name (default: the function's name).
    """

    def __init__(
        self,
        function: str | Callable[..., Any] = "",
        lower: Sequence[float] | None = None,
        upper: Sequence[float] | None = None,
        maximize: bool = True,
        bound: float | None = None,
        n_reference: int = 2000,
        seed: int = 0,
        offline_fraction: float = 0.5,
        workers: int = 0,
        name: str | None = None,
    ) -> None:
        if not function or lower is None or upper is None:
            raise ValueError(
                "the function domain needs function='package.module:name', lower=[...] and "
                "upper=[...] (e.g. -D function=my_pkg.f:score -D lower=[0,0] -D upper=[1,1])"
            )
        if not (isinstance(function, str) or callable(function)):
            raise ValueError(
                "function must be an import path 'package.module:name' or a function, got "
                f"{opt.show(function)}"
            )
        _check_callable(_resolve(function, "function"), function)  # fail here, not in a worker
        lo, hi = opt.bounds(lower, upper)
        self.maximize = opt.boolean("maximize", maximize)
        bound = opt.number("bound", bound, none=True)
        opt.string("name", name, none=True)
        sign = 1.0 if self.maximize else -1.0
        label = _label(function)
        super().__init__(
            _FunctionEvaluate(function, lower=lo, upper=hi, sign=sign),
            lo,
            hi,
            bound=None if bound is None else sign * bound + 0.0,  # no -0.0
            name=name or label.rpartition(":")[2].rpartition(".")[2],
            n_reference=n_reference,
            seed=seed,
            offline_fraction=offline_fraction,
            workers=workers,
            function=label,
        )
