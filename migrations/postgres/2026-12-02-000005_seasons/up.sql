-- The season as data: its calendar, and per item kind the default deadline
-- an item takes when its sender gives none.
CREATE TABLE seasons (
    code        TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    -- Comma-joined days (db::TextList<NaiveDate>).
    exam_days   TEXT NOT NULL,
    result_day  DATE,
    -- The last day the season is open: its items can be looked up by the public until then.
    closes_on   DATE NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

CREATE TABLE season_deadlines (
    season_code TEXT NOT NULL REFERENCES seasons (code),
    kind        TEXT NOT NULL,
    deadline    TIMESTAMP NOT NULL,
    PRIMARY KEY (season_code, kind)
);
