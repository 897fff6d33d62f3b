-- Records a stage could not process, as its dead-letter topic holds them (the error in headers),
-- one row per record of those topics, and counted in error_stats.
CREATE TABLE IF NOT EXISTS {schema}.dead_letters (
    topic            text        NOT NULL,
    kafka_partition  integer     NOT NULL,
    kafka_offset     bigint      NOT NULL,
    stage            text        NOT NULL,
    reason           text        NOT NULL,
    error            text        NOT NULL,
    attempts         integer,
    source_topic     text,
    source_partition integer,
    source_offset    bigint,
    event_id         text,
    event_type       text,
    conversation_id  text,
    dead_lettered_at timestamptz NOT NULL,
    value            text,
    PRIMARY KEY (topic, kafka_partition, kafka_offset)
);
CREATE INDEX IF NOT EXISTS dead_letters_time_idx ON {schema}.dead_letters (dead_lettered_at);

CREATE OR REPLACE VIEW {schema}.error_stats AS
WITH errors AS (
    SELECT 'actions' AS stage,
           'business_api:' || coalesce(payload->'error'->>'kind', 'unknown')
               || coalesce(':' || (payload->'error'->>'code'), '') AS error_kind,
           occurred_at, conversation_id
    FROM {schema}.events
    WHERE type = 'action.completed' AND jsonb_typeof(payload->'error') = 'object'
    UNION ALL
    SELECT 'responder', 'llm:' || (payload->>'fallback'), occurred_at, conversation_id
    FROM {schema}.events
    WHERE type = 'reply.sent' AND payload->>'fallback' IS NOT NULL AND payload->>'fallback' <> 'verbatim'
    UNION ALL
    SELECT 'responder', 'twilio:' || coalesce(payload->>'error_code', 'none'), occurred_at, conversation_id
    FROM {schema}.events WHERE type = 'reply.failed'
    UNION ALL
    SELECT 'twilio', 'delivery:' || coalesce(payload->>'error_code', payload->>'status'), occurred_at, conversation_id
    FROM {schema}.events WHERE type = 'reply.status' AND payload->>'status' IN ('failed', 'undelivered')
    UNION ALL
    SELECT 'nlu', 'nlu:' || (payload->>'source'), occurred_at, conversation_id
    FROM {schema}.events WHERE type = 'intent.detected' AND payload->>'source' LIKE '%fallback%'
    UNION ALL
    SELECT stage, 'dead_letter:' || reason, dead_lettered_at, conversation_id
    FROM {schema}.dead_letters
)
SELECT stage, error_kind, date_trunc('hour', occurred_at) AS hour, count(*) AS errors,
       count(DISTINCT conversation_id) AS conversations
FROM errors
GROUP BY stage, error_kind, date_trunc('hour', occurred_at);
