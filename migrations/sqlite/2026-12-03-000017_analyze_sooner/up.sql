-- PostgreSQL's migration of this name makes autovacuum analyze the bulk
-- tables sooner. SQLite has no autovacuum statistics: the service refreshes
-- them itself (`db::refresh_statistics`, at start and after each sweep).
SELECT 1;
