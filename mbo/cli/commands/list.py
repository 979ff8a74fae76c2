"""``mbo list``: the registered domains, surrogates and optimizers (no torch loaded)."""

from __future__ import annotations

import argparse

HELP = "list domains, surrogates and optimizers"
DESCRIPTION = (
    "List every name `mbo run` accepts for --domain, --surrogate and --optimizer: built-ins, "
    "plug-ins (entry points) and names registered in this process."
)
THREADS = False
PLOTS = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    from ...registry import DOMAINS, OPTIMIZERS, SURROGATES

    for title, items in (
        ("domains", DOMAINS.names()),
        ("surrogates", SURROGATES.names()),
        ("optimizers", OPTIMIZERS.names()),
    ):
        print(f"{title}:")
        for name, desc in items.items():
            print(f"  {name:18s} {desc}")
    return 0
