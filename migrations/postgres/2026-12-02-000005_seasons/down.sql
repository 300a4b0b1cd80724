DROP TABLE season_deadlines;
DROP TABLE seasons;
