-- "Overdue in my province": the unsettled statuses one by one, each a short
-- range of deadlines, instead of every item of the province.
CREATE INDEX items_dest_status_due ON items (dest_province, status, due_at);
