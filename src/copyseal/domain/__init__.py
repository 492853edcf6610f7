"""Pure rules and records of copyseal, and the ports (Protocols) that adapters implement.

Nothing here performs I/O.
"""
