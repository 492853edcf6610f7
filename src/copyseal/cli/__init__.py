"""copyseal."""
