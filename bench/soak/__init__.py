"""A soak test of ``copyseal serve``: registration load while processes are killed."""
