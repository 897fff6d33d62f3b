-- conversation_stats kept up to date instead of computed on every read: the logger folds each batch's
-- new events into conversation_days in the statement that inserts them (`adapters/postgres.py`), so
-- a redelivered or replayed event, which inserts nothing, adds nothing either. Filled here from the
-- events already logged.
CREATE TABLE IF NOT EXISTS {schema}.conversation_days (
    conversation_id     text        NOT NULL,
    day                 date        NOT NULL,
    messages_in         integer     NOT NULL DEFAULT 0,
    messages_out        integer     NOT NULL DEFAULT 0,
    first_message_at    timestamptz,
    last_message_at     timestamptz,
    intents             text[]      NOT NULL DEFAULT '{}',
    handed_off          boolean     NOT NULL DEFAULT false,
    purchased           boolean     NOT NULL DEFAULT false,
    booked              boolean     NOT NULL DEFAULT false,
    cancelled           boolean     NOT NULL DEFAULT false,
    opted_out           boolean     NOT NULL DEFAULT false,
    flow_dropped        boolean     NOT NULL DEFAULT false,
    last_action_at      timestamptz,
    last_action_outcome text,
    replies_llm         integer     NOT NULL DEFAULT 0,
    replies_template    integer     NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, day)
);
CREATE INDEX IF NOT EXISTS conversation_days_day_idx ON {schema}.conversation_days (day);

INSERT INTO {schema}.conversation_days
SELECT conversation_id, (occurred_at AT TIME ZONE 'UTC')::date,
       count(*) FILTER (WHERE type = 'message.received'),
       count(*) FILTER (WHERE type = 'reply.sent'),
       min(occurred_at) FILTER (WHERE type IN ('message.received', 'reply.sent')),
       max(occurred_at) FILTER (WHERE type IN ('message.received', 'reply.sent')),
       coalesce(array_agg(DISTINCT payload->>'intent' ORDER BY payload->>'intent')
                FILTER (WHERE type = 'intent.detected' AND payload->>'intent' IS NOT NULL), '{}'),
       bool_or(type = 'conversation.handed_off'),
       bool_or((type = 'payment.updated' AND payload->>'status' = 'paid')
               OR (type = 'action.completed' AND payload->'reply'->>'kind' = 'payment_confirmed')),
       bool_or(type = 'action.completed' AND payload->'reply'->>'kind' = 'booked'),
       bool_or(type = 'action.completed' AND payload->'reply'->>'kind' = 'cancelled'),
       bool_or(type = 'conversation.opted_out'),
       bool_or(type = 'action.completed' AND payload->'reply'->>'kind' IN ('abandoned', 'flow_expired')),
       max(occurred_at) FILTER (WHERE type = 'action.completed'),
       (array_agg(payload->>'outcome' ORDER BY occurred_at DESC) FILTER (WHERE type = 'action.completed'))[1],
       count(*) FILTER (WHERE type = 'reply.sent' AND payload->>'generator' = 'llm'),
       count(*) FILTER (WHERE type = 'reply.sent' AND coalesce(payload->>'generator', 'template') = 'template')
FROM {schema}.events
GROUP BY conversation_id, (occurred_at AT TIME ZONE 'UTC')::date
ON CONFLICT (conversation_id, day) DO NOTHING;

CREATE OR REPLACE VIEW {schema}.conversation_stats AS
SELECT conversation_id, day, messages_in::bigint AS messages_in, messages_out::bigint AS messages_out,
       first_message_at, last_message_at,
       extract(epoch FROM last_message_at - first_message_at)::float8 AS duration_s,
       intents,
       CASE
           WHEN handed_off THEN 'handed_off'
           WHEN purchased THEN 'purchased'
           WHEN booked THEN 'booked'
           WHEN cancelled THEN 'cancelled'
           WHEN opted_out THEN 'opted_out'
           WHEN flow_dropped THEN 'abandoned'
           WHEN last_action_outcome IN ('needs_input', 'needs_confirmation')
               THEN CASE WHEN last_message_at < now() - interval '30 minutes' THEN 'abandoned' ELSE 'in_progress' END
           ELSE 'answered'
       END AS outcome,
       replies_llm::bigint AS replies_llm, replies_template::bigint AS replies_template
FROM {schema}.conversation_days;
