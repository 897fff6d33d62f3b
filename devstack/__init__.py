"""Local development stack: the broker, databases and processes that `make demo` and the tests start."""
