"""The ``clawsched`` command line: domain verbs, tables for people, ``--json`` for programs."""
