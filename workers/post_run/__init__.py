"""After a run ends: one outcome, consumed by a pipeline of steps (retries, chains, delivery, clean-up).

``pipeline`` runs them; ``steps`` lists them, in order, in one place; each step is its own module.
"""
