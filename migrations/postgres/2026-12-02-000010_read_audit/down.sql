DROP TABLE read_audit;
