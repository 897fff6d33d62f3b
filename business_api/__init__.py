"""Reference implementation of a business's internal API (bookings, packages, purchases, profiles).

The orchestrator's actions service calls an API shaped like this one; the demo and the tests run
this implementation against PostgreSQL. Layout:

- ``settings``: the frozen settings (env prefix ``BUSINESS_API_``).
- ``database``: the asyncpg pool, the start-up reachability check and the migration runner.
- ``clients``, ``catalog``, ``bookings``, ``purchases``, ``idempotency``: the SQL, one module
  per table family, each a set of functions taking a connection.
- ``seed``: the demo studio's data, topped up at every start.
- ``app``: the FastAPI application (routes, auth, error bodies), built by ``create_app``.
"""
