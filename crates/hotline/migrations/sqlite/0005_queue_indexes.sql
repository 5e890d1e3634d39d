-- The dispatch and publish queues walk their own orders in their page order, as the
-- department and supervision queues do: without these, a page of either read the whole
-- table at a million orders (0.9 s for the publish queue on PostgreSQL).
CREATE INDEX work_orders_dispatch_queue ON work_orders (received_at, id) WHERE status IN ('received', 'returned');
CREATE INDEX work_orders_publish_queue ON work_orders (replied_at, id) WHERE public AND published_at IS NULL AND status IN ('replied', 'closed');
