-- The daily figures of the dashboards read orders, ratings and rectifications by day.
CREATE INDEX work_orders_received ON work_orders (received_at);
CREATE INDEX work_orders_replied ON work_orders (replied_at);
CREATE INDEX ratings_rated ON ratings (rated_at);
CREATE INDEX rectifications_created ON rectifications (created_at, department_code, status, on_time);
