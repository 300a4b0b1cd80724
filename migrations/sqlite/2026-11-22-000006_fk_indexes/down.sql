DROP INDEX cases_trigger_event;
