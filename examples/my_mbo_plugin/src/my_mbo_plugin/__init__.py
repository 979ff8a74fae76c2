"""An example plug-in for the MBO sandbox (see docs/plugins.md).

* ``my_mbo_plugin.tasks:Bowl`` — a domain: a rippled 3-D bowl over a box, known bound.
* ``my_mbo_plugin.tasks:ripple`` — a plain function for the built-in ``function`` domain
  (no known optimum: bound-based metrics read n/a).
* ``my_mbo_plugin.models:Ridge`` — a surrogate: kernel ridge regression (RBF kernel).
* ``my_mbo_plugin.opt:SignAscent`` — an optimizer: sign-gradient ascent.

Modules import nothing at package import, so naming one entry loads only its module.
"""
