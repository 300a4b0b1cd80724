DROP INDEX items_dest_status_due;
