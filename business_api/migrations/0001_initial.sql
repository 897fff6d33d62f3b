-- The reference business API's tables. Runs with search_path set to the API's schema
-- (BUSINESS_API_DB_SCHEMA), so every name below lives in that schema. Times are timestamptz (UTC).

CREATE TABLE clients (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    phone       text NOT NULL UNIQUE CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    name        text CHECK (name IS NULL OR char_length(name) BETWEEN 2 AND 80),
    email       text CHECK (email IS NULL OR char_length(email) <= 254),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE packages (
    id             text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name           text NOT NULL UNIQUE,
    sessions       integer CHECK (sessions IS NULL OR sessions > 0),  -- NULL: unlimited
    price          numeric(10, 2) NOT NULL CHECK (price >= 0),
    currency       char(3) NOT NULL,
    validity_days  integer NOT NULL CHECK (validity_days > 0),
    description    text NOT NULL DEFAULT '',
    active         boolean NOT NULL DEFAULT true,
    sort_order     integer NOT NULL DEFAULT 0
);

-- One class at one time. `booked` is the number of confirmed bookings; the CHECK makes
-- overbooking impossible whatever the code does, and booking takes a place with a conditional
-- UPDATE so that concurrent requests for the last place serialise on the row.
CREATE TABLE slots (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    starts_at         timestamptz NOT NULL,
    duration_minutes  integer NOT NULL DEFAULT 50 CHECK (duration_minutes > 0),
    class_name        text NOT NULL,
    capacity          integer NOT NULL CHECK (capacity > 0),
    booked            integer NOT NULL DEFAULT 0,
    CONSTRAINT slots_booked_within_capacity CHECK (booked >= 0 AND booked <= capacity),
    CONSTRAINT slots_one_class_per_start UNIQUE (starts_at, class_name)  -- also serves range scans by start
);

CREATE TABLE bookings (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code          text NOT NULL UNIQUE CHECK (code ~ '^BK-[0-9]{4,10}$'),
    client_id     bigint NOT NULL REFERENCES clients (id),
    slot_id       bigint NOT NULL REFERENCES slots (id),
    package_id    text REFERENCES packages (id),
    status        text NOT NULL DEFAULT 'confirmed' CHECK (status IN ('confirmed', 'cancelled')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    cancelled_at  timestamptz,
    CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL))
);
-- A client holds at most one confirmed place per slot (also catches a client racing itself).
CREATE UNIQUE INDEX bookings_one_confirmed_per_client_slot ON bookings (client_id, slot_id) WHERE status = 'confirmed';
CREATE INDEX bookings_by_client ON bookings (client_id);
CREATE INDEX bookings_by_slot ON bookings (slot_id);

CREATE TABLE purchases (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id      bigint NOT NULL REFERENCES clients (id),
    package_id     text NOT NULL REFERENCES packages (id),
    amount         numeric(10, 2) NOT NULL CHECK (amount >= 0),
    currency       char(3) NOT NULL,
    status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'paid', 'cancelled')),
    payment_token  text NOT NULL UNIQUE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    paid_at        timestamptz,
    valid_until    timestamptz,
    CHECK ((status = 'paid') = (paid_at IS NOT NULL))
);
CREATE INDEX purchases_by_client_newest ON purchases (client_id, created_at DESC, id DESC);

-- Responses of requests sent with an Idempotency-Key, written in the same transaction as
-- their effect. `scope` is the operation and the client; `fingerprint` a hash of the request.
CREATE TABLE idempotency_keys (
    scope        text NOT NULL,
    key          text NOT NULL,
    fingerprint  text NOT NULL,
    status_code  integer NOT NULL,
    body         json NOT NULL,  -- json, not jsonb: a replay answers the very same bytes
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
