-- One view per kind of event, with typed columns: analysts query these without JSON paths.
-- Every view keeps the envelope (event_id, occurred_at, conversation_id, correlation_id).

CREATE VIEW {schema}.messages_in AS
SELECT event_id, occurred_at, conversation_id, correlation_id,
       payload->>'message_sid'                       AS message_sid,
       payload->>'body'                              AS body,
       coalesce((payload->>'num_media')::integer, 0) AS num_media,
       payload->>'profile_name'                      AS profile_name,
       payload->>'button_payload'                    AS button_payload,
       jsonb_typeof(payload->'location') = 'object'  AS has_location,
       coalesce((payload->>'throttled')::boolean, false) AS throttled,
       (payload->>'received_at')::timestamptz        AS received_at
FROM {schema}.events WHERE type = 'message.received';

CREATE VIEW {schema}.intents AS
SELECT event_id, occurred_at, conversation_id, correlation_id,
       payload->>'text'                     AS text,
       payload->>'outcome'                  AS nlu_outcome,
       payload->>'intent'                   AS intent,
       (payload->>'confidence')::float8     AS confidence,
       payload->>'source'                   AS source,
       payload->>'model_version'            AS model_version,
       (payload->>'latency_ms')::float8     AS latency_ms,
       jsonb_array_length(coalesce(payload->'entities', '[]'::jsonb)) AS entities
FROM {schema}.events WHERE type = 'intent.detected';

CREATE VIEW {schema}.actions AS
SELECT event_id, occurred_at, conversation_id, correlation_id,
       payload->>'intent'                   AS intent,
       payload->>'action'                   AS action,
       payload->>'outcome'                  AS outcome,
       payload->'reply'->>'kind'            AS reply_kind,
       payload->'followup'->>'kind'         AS followup_kind,
       payload->'error'->>'kind'            AS error_kind,
       payload->'error'->>'code'            AS error_code,
       (payload->'error'->>'status')::integer AS error_status,
       (payload->>'received_at')::timestamptz AS received_at
FROM {schema}.events WHERE type = 'action.completed';

CREATE VIEW {schema}.replies AS
SELECT event_id, occurred_at, conversation_id, correlation_id,
       payload->>'message_sid'              AS message_sid,
       payload->>'template'                 AS reply_kind,
       coalesce(payload->>'generator', 'template') AS generator,
       payload->>'model'                    AS model,
       (payload->>'prompt_tokens')::integer AS prompt_tokens,
       (payload->>'completion_tokens')::integer AS completion_tokens,
       (payload->>'cost')::numeric          AS cost,
       (payload->>'llm_latency_ms')::float8 AS llm_latency_ms,
       payload->>'fallback'                 AS fallback,
       coalesce((payload->>'attempts')::integer, 1) AS attempts,
       payload->>'body'                     AS body
FROM {schema}.events WHERE type = 'reply.sent';

CREATE VIEW {schema}.reply_failures AS
SELECT event_id, occurred_at, conversation_id, correlation_id,
       payload->>'template'                 AS reply_kind,
       (payload->>'error_code')::integer    AS error_code,
       payload->>'error_message'            AS error_message,
       (payload->>'attempts')::integer      AS attempts
FROM {schema}.events WHERE type = 'reply.failed';

CREATE VIEW {schema}.reply_statuses AS
SELECT event_id, occurred_at, conversation_id, correlation_id,
       payload->>'message_sid'              AS message_sid,
       payload->>'status'                   AS status,
       (payload->>'error_code')::integer    AS error_code,
       payload->>'error_message'            AS error_message
FROM {schema}.events WHERE type = 'reply.status';

CREATE VIEW {schema}.payments AS
SELECT event_id, occurred_at, conversation_id, correlation_id,
       payload->>'purchase_id'              AS purchase_id,
       payload->>'status'                   AS status,
       payload->>'package'                  AS package,
       (payload->>'amount')::numeric        AS amount,
       payload->>'currency'                 AS currency
FROM {schema}.events WHERE type = 'payment.updated';

CREATE VIEW {schema}.handoffs AS
SELECT event_id, occurred_at, conversation_id, correlation_id,
       payload->>'reason'                   AS reason,
       (payload->>'until')::timestamptz     AS until
FROM {schema}.events WHERE type = 'conversation.handed_off';

CREATE VIEW {schema}.opt_outs AS
SELECT event_id, occurred_at, conversation_id, correlation_id,
       payload->>'source'                   AS source,
       (payload->>'error_code')::integer    AS error_code
FROM {schema}.events WHERE type = 'conversation.opted_out';
