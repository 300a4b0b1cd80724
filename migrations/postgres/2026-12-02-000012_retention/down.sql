DROP TABLE season_purges;
