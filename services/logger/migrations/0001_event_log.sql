-- The event log: one row per event, keyed by its id (a redelivery or a replay inserts nothing).
CREATE TABLE IF NOT EXISTS {schema}.events (
    event_id        uuid PRIMARY KEY,
    type            text        NOT NULL,
    schema_version  integer     NOT NULL,
    occurred_at     timestamptz NOT NULL,
    conversation_id text        NOT NULL,
    correlation_id  text        NOT NULL,
    causation_id    text,
    payload         jsonb       NOT NULL,
    topic           text        NOT NULL,
    kafka_partition integer,
    kafka_offset    bigint,
    logged_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS events_conversation_idx ON {schema}.events (conversation_id, occurred_at);
CREATE INDEX IF NOT EXISTS events_correlation_idx ON {schema}.events (correlation_id);
CREATE INDEX IF NOT EXISTS events_type_time_idx ON {schema}.events (type, occurred_at);
CREATE OR REPLACE VIEW {schema}.intents_per_day AS
    SELECT date_trunc('day', occurred_at) AS day, payload->>'intent' AS intent, count(*) AS messages,
           avg((payload->>'confidence')::float) AS avg_confidence
    FROM {schema}.events WHERE type = 'intent.detected' GROUP BY 1, 2;
CREATE OR REPLACE VIEW {schema}.outcomes_per_intent AS
    SELECT payload->>'intent' AS intent, payload->>'outcome' AS outcome, count(*) AS actions
    FROM {schema}.events WHERE type = 'action.completed' GROUP BY 1, 2;
