-- "Overdue in my province" reads the items reaching the province or leaving
-- it: one bitmap over two (province, status, deadline) ranges for a page,
-- one range per branch for an export (store::items::export_visible).
CREATE INDEX items_origin_status_due ON items (origin_province, status, due_at);
