"""``python -m clawsched.cli``: the same as the ``clawsched`` console script."""

from clawsched.cli.main import main

main()
