"""Smart-contract sources (Vyper) and their committed build artifacts.

Each ``NAME.vy`` has a ``NAME.json`` beside it, written by
``python -m copyseal.adapters.chain.compile`` and checked against a fresh compile by the
tests, so a deployed bytecode can always be traced to its source. This package holds data
only; the code that compiles and deploys lives in :mod:`copyseal.adapters.chain`.
"""
