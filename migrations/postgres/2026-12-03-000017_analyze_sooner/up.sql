-- Fresh planner statistics for the tables that grow in bulk. By default
-- autovacuum analyzes a table once a tenth of it changed: at a million
-- items, a new season of fourteen thousand items never triggers it, the
-- planner believes the season holds one item, and a department's list walks
-- the whole season and sorts it (measured: 60 ms instead of 0.2 ms, 160 ms
-- at p50 under load). Half a percent plus two thousand rows analyzes within
-- autovacuum's next round (a minute) after such a load; ANALYZE samples a
-- fixed number of rows, so it costs the same at any size.
ALTER TABLE items SET (autovacuum_analyze_scale_factor = 0.005, autovacuum_analyze_threshold = 2000);
ALTER TABLE events SET (autovacuum_analyze_scale_factor = 0.005, autovacuum_analyze_threshold = 2000);
ALTER TABLE cases SET (autovacuum_analyze_scale_factor = 0.005, autovacuum_analyze_threshold = 2000);
