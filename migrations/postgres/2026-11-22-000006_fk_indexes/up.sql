-- The reference from cases to the event that opened them gets an index:
-- without one, removing an event scans every case (found when the benchmark
-- removed its floor rows: minutes for 80,000 events once cases existed).
CREATE INDEX cases_trigger_event ON cases (trigger_event_id);
