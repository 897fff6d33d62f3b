-- The analysis views the design names (conversation_stats, error_stats, intent_stats) and the
-- business figures (messages per user). Documented column by column in docs/analytics.md.

-- Per conversation and per day (UTC).
CREATE VIEW {schema}.conversation_stats AS
WITH day_events AS (
    SELECT conversation_id, (occurred_at AT TIME ZONE 'UTC')::date AS day, type, occurred_at, payload
    FROM {schema}.events
), days AS (
    SELECT conversation_id, day,
           count(*) FILTER (WHERE type = 'message.received') AS messages_in,
           count(*) FILTER (WHERE type = 'reply.sent') AS messages_out,
           min(occurred_at) FILTER (WHERE type IN ('message.received', 'reply.sent')) AS first_message_at,
           max(occurred_at) FILTER (WHERE type IN ('message.received', 'reply.sent')) AS last_message_at,
           coalesce(array_agg(DISTINCT payload->>'intent' ORDER BY payload->>'intent')
                    FILTER (WHERE type = 'intent.detected' AND payload->>'intent' IS NOT NULL), '{}') AS intents,
           bool_or(type = 'conversation.handed_off') AS handed_off,
           bool_or((type = 'payment.updated' AND payload->>'status' = 'paid')
                   OR (type = 'action.completed' AND payload->'reply'->>'kind' = 'payment_confirmed')) AS purchased,
           bool_or(type = 'action.completed' AND payload->'reply'->>'kind' = 'booked') AS booked,
           bool_or(type = 'action.completed' AND payload->'reply'->>'kind' = 'cancelled') AS cancelled,
           bool_or(type = 'conversation.opted_out') AS opted_out,
           (array_agg(payload->>'outcome' ORDER BY occurred_at DESC)
                FILTER (WHERE type = 'action.completed'))[1] AS last_action_outcome,
           bool_or(type = 'action.completed' AND payload->'reply'->>'kind' IN ('abandoned', 'flow_expired'))
               AS flow_dropped,
           count(*) FILTER (WHERE type = 'reply.sent' AND payload->>'generator' = 'llm') AS replies_llm,
           count(*) FILTER (WHERE type = 'reply.sent' AND coalesce(payload->>'generator', 'template') = 'template')
               AS replies_template
    FROM day_events
    GROUP BY conversation_id, day
)
SELECT conversation_id, day, messages_in, messages_out, first_message_at, last_message_at,
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
       replies_llm, replies_template
FROM days;

-- Per stage, error kind and hour.
CREATE VIEW {schema}.error_stats AS
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
)
SELECT stage, error_kind, date_trunc('hour', occurred_at) AS hour, count(*) AS errors,
       count(DISTINCT conversation_id) AS conversations
FROM errors
GROUP BY stage, error_kind, date_trunc('hour', occurred_at);

-- Per intent (the NLU's reading for volume and confidence; actions' intent for what became of it).
CREATE VIEW {schema}.intent_stats AS
WITH detected AS (
    SELECT payload->>'intent' AS intent, count(*) AS volume, count(DISTINCT conversation_id) AS conversations,
           avg((payload->>'confidence')::float8) AS mean_confidence
    FROM {schema}.events WHERE type = 'intent.detected' AND payload->>'intent' IS NOT NULL
    GROUP BY 1
), acted AS (
    SELECT payload->>'intent' AS intent, count(*) AS actions,
           count(*) FILTER (WHERE payload->>'outcome' = 'clarification') AS clarifications,
           count(*) FILTER (WHERE payload->>'outcome' = 'succeeded') AS succeeded,
           count(*) FILTER (WHERE payload->>'outcome' = 'failed') AS failed
    FROM {schema}.events WHERE type = 'action.completed' AND payload->>'intent' IS NOT NULL
    GROUP BY 1
), first_use AS (
    SELECT conversation_id, payload->>'intent' AS intent, min(occurred_at) AS first_at
    FROM {schema}.events WHERE type = 'intent.detected' AND payload->>'intent' IS NOT NULL
    GROUP BY 1, 2
), conversions AS (
    SELECT f.intent, count(DISTINCT f.conversation_id) AS converted
    FROM first_use f
    JOIN {schema}.events c ON c.conversation_id = f.conversation_id AND c.occurred_at >= f.first_at
        AND ((c.type = 'action.completed' AND c.payload->'reply'->>'kind' IN ('booked', 'payment_confirmed'))
             OR (c.type = 'payment.updated' AND c.payload->>'status' = 'paid'))
    GROUP BY f.intent
), completions AS (
    SELECT f.intent, extract(epoch FROM min(a.occurred_at) - f.first_at)::float8 AS seconds
    FROM first_use f
    JOIN {schema}.events a ON a.conversation_id = f.conversation_id AND a.type = 'action.completed'
        AND a.payload->>'intent' = f.intent AND a.payload->>'outcome' = 'succeeded' AND a.occurred_at >= f.first_at
    GROUP BY f.intent, f.conversation_id, f.first_at
), completion AS (
    SELECT intent, percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS median_completion_s
    FROM completions GROUP BY intent
)
SELECT d.intent, d.volume, d.conversations, d.mean_confidence,
       coalesce(a.actions, 0) AS actions,
       coalesce(a.clarifications, 0)::float8 / nullif(a.actions, 0) AS clarification_rate,
       coalesce(a.succeeded, 0)::float8 / nullif(a.succeeded + a.failed, 0) AS success_rate,
       coalesce(c.converted, 0) AS conversions,
       coalesce(c.converted, 0)::float8 / d.conversations AS conversion_rate,
       m.median_completion_s
FROM detected d
LEFT JOIN acted a USING (intent)
LEFT JOIN conversions c USING (intent)
LEFT JOIN completion m USING (intent);

-- How many messages each customer sent (a distribution: no phone number in it).
CREATE VIEW {schema}.messages_per_user AS
SELECT messages, count(*) AS customers
FROM (SELECT conversation_id, count(*) AS messages FROM {schema}.events WHERE type = 'message.received'
      GROUP BY conversation_id) per_user
GROUP BY messages;
