"""The ``copyseal`` command line: parse arguments, call a use-case, render the result."""
