-- The admin list of gateway events about orders a store does not have
-- (GET /v1/admin/gateway-events/unmatched). They are few among all events, so
-- the index is partial: the events that are applied, nearly all of them, cost
-- it nothing. Queries must spell the condition as written here to use it.
CREATE INDEX gateway_events_unmatched ON gateway_events (store_id, received_at) WHERE outcome = 'unknown_order';
