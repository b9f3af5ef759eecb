"""Start-up handshake of the isolated child processes of :mod:`devicelab.spice.runner`.

A ``spawn`` child first re-imports the parent's main script and unpickles its arguments; only then does its
target run. :func:`run_started` tells the parent that this phase is over, so a child that cannot start (a main
script that fails or hangs when re-imported) is told apart from a slow simulation within seconds. Standard
library only, so the child starts as fast as before.
"""


def run_started(started, target, args: tuple, kwargs: dict) -> None:
    """Send ``True`` through the pipe end ``started`` (the child is running), close it, then call ``target``."""
    started.send(True)
    started.close()
    target(*args, **kwargs)
