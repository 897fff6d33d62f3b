-- Packages and credits, payments that complete, and the outbox of payment notifications.
--
-- A paid purchase is an active package: `sessions_left` of `sessions_total` (both NULL for an
-- unlimited package; the totals are the package's at the time of purchase, like the amount) until
-- `valid_until`. A booking takes one session of a usable package in its own transaction, under
-- the purchase's row lock, and records the purchase in `bookings.purchase_id`; the CHECK below
-- makes a negative count impossible whatever the code does. A cancellation made early enough
-- gives the session back (`bookings.session_returned`).

-- Purchases: the session counters, the failed status, the provider's reference.
ALTER TABLE purchases
    ADD COLUMN sessions_total     integer CHECK (sessions_total IS NULL OR sessions_total > 0),
    ADD COLUMN sessions_left      integer,
    ADD COLUMN failed_at          timestamptz,
    ADD COLUMN payment_reference  text CHECK (payment_reference IS NULL OR char_length(payment_reference) <= 200);

UPDATE purchases p SET sessions_total = k.sessions, sessions_left = k.sessions FROM packages k WHERE k.id = p.package_id;

ALTER TABLE purchases
    DROP CONSTRAINT purchases_status_check,
    ADD CONSTRAINT purchases_status_check CHECK (status IN ('pending', 'paid', 'failed', 'cancelled')),
    ADD CONSTRAINT purchases_sessions_within_total CHECK (
        (sessions_total IS NULL) = (sessions_left IS NULL)
        AND (sessions_left IS NULL OR sessions_left BETWEEN 0 AND sessions_total)
    ),
    ADD CONSTRAINT purchases_paid_has_validity CHECK (status <> 'paid' OR valid_until IS NOT NULL),
    ADD CONSTRAINT purchases_failed_has_time CHECK (status <> 'failed' OR failed_at IS NOT NULL);

-- The usable packages of a client, the one expiring first first.
CREATE INDEX purchases_paid_by_client_expiry ON purchases (client_id, valid_until) WHERE status = 'paid';

-- Bookings: the purchase whose session they took, and whether cancelling gave it back.
ALTER TABLE bookings
    ADD COLUMN purchase_id       bigint REFERENCES purchases (id),
    ADD COLUMN session_returned  boolean,
    ADD CONSTRAINT bookings_returned_only_when_cancelled CHECK (session_returned IS NULL OR status = 'cancelled');
CREATE INDEX bookings_by_purchase ON bookings (purchase_id) WHERE purchase_id IS NOT NULL;

-- Existing data (a database seeded before this migration): each confirmed booking recorded with a
-- package is charged to the client's paid purchase of that package valid at the class's start,
-- the one expiring first, and the counters follow.
UPDATE bookings b
   SET purchase_id = (
       SELECT p.id
         FROM purchases p
         JOIN slots s ON s.id = b.slot_id
        WHERE p.client_id = b.client_id AND p.package_id = b.package_id AND p.status = 'paid'
          AND s.starts_at < p.valid_until
        ORDER BY p.valid_until, p.id
        LIMIT 1)
 WHERE b.package_id IS NOT NULL AND b.status = 'confirmed';

UPDATE purchases p
   SET sessions_left = GREATEST(p.sessions_total - (
       SELECT count(*) FROM bookings b WHERE b.purchase_id = p.id AND b.status = 'confirmed'), 0)
 WHERE p.sessions_total IS NOT NULL;

-- The transactional outbox of notifications to the orchestrator: a row is written in the same
-- transaction as a purchase's status change and delivered (signed, retried with backoff until a
-- 2xx) by a background task. `body` is the exact text signed and sent at every attempt.
CREATE TABLE payment_notifications (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    purchase_id      bigint NOT NULL REFERENCES purchases (id),
    status           text NOT NULL CHECK (status IN ('paid', 'failed')),
    body             text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    last_error       text
);
CREATE INDEX payment_notifications_due ON payment_notifications (next_attempt_at) WHERE delivered_at IS NULL;
CREATE INDEX payment_notifications_by_purchase ON payment_notifications (purchase_id, id) WHERE delivered_at IS NULL;
