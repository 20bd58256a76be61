"""jobmatch-trial: run and evaluate a randomised trial of job recommendations.

The library is importable from a notebook; the `trial` command is a thin shell over it.
"""

__version__ = "0.1.0"
