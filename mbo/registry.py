"""One registry pattern for domains, surrogates and optimizers, with plug-ins.

A name resolves, in this order, to:

1. a **registered** entry: the built-ins below, or one added with :meth:`Registry.register`
   (visible in this process only);
2. a package **entry point** in the registry's group (``mbo.domains``, ``mbo.surrogates``,
   ``mbo.optimizers``), declared in a plug-in package's ``pyproject.toml``::

       [project.entry-points."mbo.domains"]
       my-task = "my_pkg.tasks:MyDomain"

3. an **import path** ``"package.module:Attribute"`` (``--domain my_pkg.tasks:MyDomain``).

Entry points and import paths resolve in any process (sweep workers, ``mbo report`` later),
so a plug-in named either way works in ``run``, ``compare``, ``sweep``, ``report`` and
``leaderboard``. An entry's target is a ``"module:attribute"`` string (imported on first
use, so ``mbo list`` loads no torch) or a callable; its preset options are passed before
the user's. This module imports nothing heavy.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DOMAINS", "OPTIMIZERS", "SURROGATES", "Entry", "Registry", "is_import_path"]


@dataclass(frozen=True)
class Entry:
    """A registered name: a ``target`` factory (``"module:attr"`` or a callable), the preset
    options it is called with before the user's, and a one-line description."""

    target: str | Callable[..., Any]
    preset: dict[str, Any] = field(default_factory=dict)
    description: str = ""


def is_import_path(name: str) -> bool:
    """Whether ``name`` looks like ``"package.module:Attribute"``."""
    module, sep, attr = name.partition(":")
    return bool(sep and module and attr) and all(p.isidentifier() for p in module.split("."))


def _load(target: str | Callable[..., Any], what: str) -> Callable[..., Any]:
    if callable(target):
        return target
    module, _, attr = target.partition(":")
    try:
        obj = pkgutil.resolve_name(target)
    except ImportError as err:
        raise ValueError(f"{what}: cannot import module {module!r} ({err})") from err
    except (AttributeError, ValueError) as err:
        raise ValueError(f"{what}: module {module!r} has no attribute {attr!r}") from err
    if not callable(obj):
        raise ValueError(f"{what}: {target!r} is not a class or function")
    return obj


class Registry:
    """Names -> factories of one kind of object (see the module docstring).

    Args:
        kind: what it holds, for messages (``"domain"``).
        group: the entry-point group read for plug-ins (``"mbo.domains"``).
        builtins: the built-in entries.
    """

    def __init__(self, kind: str, group: str, builtins: dict[str, Entry]) -> None:
        self.kind, self.group = kind, group
        self._entries: dict[str, Entry] = {k.lower(): v for k, v in builtins.items()}

    def register(
        self,
        name: str,
        target: str | Callable[..., Any],
        description: str = "",
        /,
        **preset: Any,
    ) -> None:
        """Add (or replace) ``name`` in this process. Use an entry point or an import path
        for a plug-in that must also work in other processes (sweep workers). ``preset``
        options may be named anything (``name=``, ``target=`` too): the first three
        arguments are positional-only."""
        self._entries[name.lower()] = Entry(target, dict(preset), description)

    def unregister(self, name: str) -> None:
        """Remove a name added with :meth:`register` (no error if absent)."""
        self._entries.pop(name.lower(), None)

    def _entry_points(self) -> dict[str, Entry]:
        eps = importlib.metadata.entry_points(group=self.group)
        return {ep.name.lower(): Entry(ep.value, {}, f"plug-in {ep.value}") for ep in eps}

    def names(self) -> dict[str, str]:
        """Every name a user can give (built-ins, registered, entry points) -> description."""
        entries = {**self._entry_points(), **self._entries}
        return {name: e.description for name, e in sorted(entries.items())}

    def entry(self, name: str) -> Entry:
        """The entry ``name`` resolves to; ``ValueError`` naming the choices if none."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"{self.kind} must be a non-empty name, got {name!r}")
        key = name.lower()
        if key in self._entries:
            return self._entries[key]
        eps = self._entry_points()
        if key in eps:
            return eps[key]
        if is_import_path(name):
            return Entry(name, {}, f"import path {name}")
        raise ValueError(
            f"unknown {self.kind} {name!r}; choose from {sorted(self.names())} "
            f"or give an import path 'package.module:Name'"
        )

    def resolve(self, name: str) -> tuple[Callable[..., Any], dict[str, Any]]:
        """``(factory, preset)`` for ``name`` (imports the target)."""
        entry = self.entry(name)
        return _load(entry.target, f"{self.kind} {name!r}"), dict(entry.preset)

    def check(self, name: str) -> None:
        """Raise ``ValueError`` unless ``name`` resolves (imports plug-ins, not built-ins)."""
        entry = self.entry(name)
        if not isinstance(entry.target, str) or name.lower() not in self._entries:
            _load(entry.target, f"{self.kind} {name!r}")

    def options(self, name: str, /, **options: Any) -> dict[str, Any]:
        """The preset of ``name`` overridden by ``options``."""
        return {**self.entry(name).preset, **options}

    def defaults(self, name: str, /) -> dict[str, Any]:
        """What ``name`` is built with when given no options: the factory's keyword defaults
        overridden by the entry's preset (imports the target)."""
        factory, preset = self.resolve(name)
        try:
            params = inspect.signature(factory).parameters.values()
        except (TypeError, ValueError):
            params = []
        found = {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}
        return {**found, **preset}

    def canonical(self, name: str, options: dict[str, Any], /) -> dict[str, Any]:
        """``options`` without those equal to what ``name`` uses anyway (its defaults and
        preset), so two spellings of one configuration compare equal."""
        defaults = self.defaults(name)
        return {k: v for k, v in options.items() if k not in defaults or defaults[k] != v}

    def make(self, name: str, /, **options: Any) -> Any:
        """Build ``name`` with its preset and ``options`` (which may include one called
        ``name``: ``name`` is positional-only). Unknown options give a ``ValueError`` naming
        them and the accepted ones."""
        factory, preset = self.resolve(name)
        kwargs = {**preset, **options}
        accepted = _accepted(factory)
        if accepted is not None:
            unknown = sorted(set(kwargs) - accepted)
            if unknown:
                takes = f"it accepts {sorted(accepted)}" if accepted else "it takes none"
                raise ValueError(f"unknown option(s) {unknown} for {self.kind} {name!r}; {takes}")
        return factory(**kwargs)


def _accepted(factory: Callable[..., Any]) -> set[str] | None:
    """Keyword names ``factory`` accepts, or ``None`` if it takes ``**kwargs``."""
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return None
    params = sig.parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {p.name for p in params if p.kind in kinds and p.name != "self"}


#: the analytic test functions: name -> (default dimension, description); the dimension is
#: stated in the preset so that a spec spelling it out is the same study
_ANALYTIC = {
    "branin": (2, "Branin 2-D (negated, maximize); drawable whole"),
    "hartmann": (6, "Hartmann 3/4/6-D (negated), dim=6 default"),
    "ackley": (10, "Ackley n-D (negated), dim=10 default"),
    "rosenbrock": (4, "Rosenbrock n-D (negated), dim=4 default"),
    "levy": (4, "Levy n-D (negated), dim=4 default"),
    "styblinski_tang": (4, "Styblinski-Tang n-D (negated), dim=4 default"),
    "rastrigin": (4, "Rastrigin n-D (negated), dim=4 default"),
}

DOMAINS = Registry(
    "domain",
    "mbo.domains",
    {
        **{
            name: Entry("domains.analytic:AnalyticDomain", {"function": name, "dim": dim}, desc)
            for name, (dim, desc) in _ANALYTIC.items()
        },
        "botorch": Entry(
            "domains.analytic:BoTorchDomain",
            {},
            "any BoTorch SyntheticTestFunction by import path "
            "(-D function=botorch.test_functions.synthetic:Michalewicz -D dim=5)",
        ),
        "function": Entry(
            "domains.analytic:FunctionDomain",
            {},
            "your own Python function over a box "
            "(-D function=my_pkg.f:score -D lower=[0,0] -D upper=[1,1])",
        ),
        "molecules": Entry(
            "domains.molecules:MoleculeTaskDomain",
            {},
            "the molecule task: QED over neutral C/N/O SELFIES, a 50-step Adam horizon "
            "(the control's space and ascent; only the property differs)",
        ),
        "molecules-any": Entry(
            "domains.molecules:MoleculeDomain",
            {},
            "SELFIES token sequences (categorical), RDKit oracles "
            "(objective=qed, logp, sa, plogp, mpo...), organic vocabulary C N O S P F Cl Br I",
        ),
        "molecules-control": Entry(
            "domains.molecules:MoleculeControlDomain",
            {},
            "the molecule control: Crippen logP over neutral C/N/O SELFIES, a 50-step "
            "Adam horizon; ascent truly improves the median",
        ),
        "ehrlich": Entry(
            "domains.ehrlich:EhrlichDomain",
            {},
            "Ehrlich functions (Stanton et al. 2024): 32 states, L=32, 4 spaced motifs of 4, "
            "DMP feasibility (banned transitions are invalid), plain ascent steps (lr 200); "
            "-D preset=ehrlich-128/-256",
        ),
        "ehrlich-control": Entry(
            "domains.ehrlich:EhrlichDomain",
            {
                "v": 20,
                "length": 8,
                "c": 2,
                "k": 2,
                "q": 2,
                "n_reference": 4000,
                "offline_fraction": 0.95,
            },
            "Ehrlich, 20 states, L=8, 2 motifs of 2, dense data (bottom 95 % visible): "
            "the same ascent doubles D(best)",
        ),
        "car": Entry(
            "domains.car:CarDomain",
            {},
            "toy car blueprint (19-D box), MuJoCo oracle: distance on a seeded rough track; "
            "bottom 80 % visible",
        ),
        "car-control": Entry(
            "domains.car:CarControlDomain",
            {},
            "the car with a 20-step ascent horizon: the median design truly drives further "
            "than its start and D(best)",
        ),
    },
)

_MLP = "surrogates.mlp:MLPSurrogate"
_GP = "surrogates.gp:GPSurrogate"

SURROGATES = Registry(
    "surrogate",
    "mbo.surrogates",
    {
        "mlp": Entry(_MLP, {}, "MLP 2x256 ReLU, Adam on MSE (standardized x and y)"),
        "mlp-2048": Entry(_MLP, {"width": 2048, "depth": 2}, "Design-Bench-like MLP 2x2048 ReLU"),
        "linear": Entry(_MLP, {"depth": 0}, "linear regression (an MLP with no hidden layer)"),
        "ensemble": Entry(_MLP, {"n_members": 5}, "deep ensemble of 5 MLPs, one stacked model"),
        "ensemble-nll": Entry(
            _MLP,
            {"n_members": 5, "nll": True},
            "deep ensemble of 5 MLPs with Gaussian NLL heads (Lakshminarayanan et al.)",
        ),
        "fgsm": Entry(_MLP, {"loss": "fgsm"}, "MLP, FGSM adversarial training (eps 5% of range)"),
        "pgd": Entry(
            _MLP, {"loss": "pgd"}, "MLP, PGD adversarial training (5 steps, random start)"
        ),
        "mbo-adv": Entry(
            _MLP,
            {"loss": "mbo_adv"},
            "MLP trained toward the clean label where its prediction rises",
        ),
        "vat": Entry(_MLP, {"loss": "vat"}, "MLP, virtual adversarial training"),
        "grad-penalty": Entry(_MLP, {"loss": "grad_penalty"}, "MLP, input-gradient-norm penalty"),
        "sn-mlp": Entry(
            _MLP,
            {"spectral_norm": True, "lipschitz": 4.0},
            "spectrally normalized MLP, 4-Lipschitz in standardized units",
        ),
        "rbf": Entry(
            _MLP,
            {"depth": 0, "head": "rbf", "n_centers": 128, "lr": 1e-2},
            "RBF network: 128 Gaussian units on the standardized input",
        ),
        "rbf-mlp": Entry(
            _MLP, {"head": "rbf"}, "MLP feature extractor with an RBF head (64 units)"
        ),
        "gp": Entry(
            _GP,
            {},
            "Gaussian process (BoTorch SingleTaskGP, Matern-5/2 ARD): exact up to 2000 points, "
            "else exact on a subsample keeping the top 10%",
        ),
        "gp-sparse": Entry(
            _GP,
            {"approximation": "inducing"},
            "sparse variational GP, 256 k-means inducing points, Adam on the ELBO",
        ),
        "coms": Entry(
            _MLP,
            {"loss": "coms", "lr": 3e-4, "batch_size": 128, "epochs": 50},
            "conservative objective model (design-baselines coms_cleaned as run: alpha 0.1, "
            "tau 0.5, 50 inner steps of 0.05 sqrt(d), batch 128)",
        ),
    },
)

OPTIMIZERS = Registry(
    "optimizer",
    "mbo.optimizers",
    {
        "gradient_ascent": Entry(
            "mbo.optimizers.gradient_ascent:GradientAscent",
            {},
            "batched gradient ascent on the design tensor (method=gd|adam, steps, lr, "
            "checkpoint_every)",
        ),
        "cma_es": Entry(
            "mbo.optimizers.cma_es:CMAES",
            {},
            "one CMA-ES run per start design, batched (generations, popsize, sigma0, diagonal, "
            "checkpoint_every)",
        ),
        "random_search": Entry(
            "mbo.optimizers.random_search:RandomSearch",
            {},
            "top-K of uniform samples of the space (n_samples, batch_size, checkpoint_every)",
        ),
        "bo_qei": Entry(
            "mbo.optimizers.bo_qei:BOqEI",
            {},
            "BoTorch GP + qLogEI on the surrogate objective (iterations, q, num_restarts, "
            "raw_samples, n_init, max_train, maxiter, checkpoint_every)",
        ),
        "dbest": Entry(
            "mbo.optimizers.dbest:DBest", {}, "the top-K offline designs themselves, unchanged"
        ),
    },
)
