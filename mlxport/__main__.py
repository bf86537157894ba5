"""``python -m mlxport`` is the ``mlxport`` command."""

from .cli import entry

entry()
