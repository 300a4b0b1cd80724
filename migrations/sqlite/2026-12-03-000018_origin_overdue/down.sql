DROP INDEX items_origin_status_due;
