ALTER TABLE cases RESET (autovacuum_analyze_scale_factor, autovacuum_analyze_threshold);
ALTER TABLE events RESET (autovacuum_analyze_scale_factor, autovacuum_analyze_threshold);
ALTER TABLE items RESET (autovacuum_analyze_scale_factor, autovacuum_analyze_threshold);
