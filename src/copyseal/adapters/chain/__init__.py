"""The chain adapter: compiles copyseal's Vyper contracts and talks to an EVM node.

Everything that meets web3.py, JSON-RPC or the Vyper compiler lives here, and their
exceptions are translated into :mod:`copyseal.errors` before they leave this package.
"""
