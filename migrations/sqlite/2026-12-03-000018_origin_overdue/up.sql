-- "Overdue in my province" reads the items reaching the province and the
-- items leaving it as two queries (store::items::list_visible); the second
-- needs the same (province, status, deadline) ranges as the first.
CREATE INDEX items_origin_status_due ON items (origin_province, status, due_at);
