-- risk_scores without its primary-key index. DuckDB keeps an ART index in memory, and at a
-- national portfolio (about 2M businesses x every scored month-end) the index alone costs
-- gigabytes, while each night's delete-and-insert of a month-end maintains it row by row.
-- One row per business and date is kept by the only writer, models/score.py: it replaces a
-- date's rows whole, in one transaction, from a panel with one row per business and date
-- (tests/models/test_score.py: scored once per date, scoring a date again replaces its rows).
CREATE TABLE risk_scores_v2 (
    business_key VARCHAR NOT NULL,   -- as in indicator_values
    as_of DATE NOT NULL,
    probability DOUBLE NOT NULL,     -- calibrated probability of a deterioration event within 12 months
    band VARCHAR NOT NULL,           -- risk band by probability (settings: models.bands)
    portfolio_rank INTEGER NOT NULL, -- 1 = highest probability among the businesses scored that date
    portfolio_share DOUBLE NOT NULL, -- portfolio_rank / businesses scored: 0.03 = within the top 3%
    signs_fired INTEGER NOT NULL,
    in_event BOOLEAN NOT NULL,       -- a deterioration event already occurred and was reported by as_of:
                                     -- past early warning; the score then says little the event does not
    model_version VARCHAR NOT NULL,
    top_factors VARCHAR NOT NULL,    -- JSON list: indicator, names, value, fired, contribution
    scored_at TIMESTAMP NOT NULL
);
INSERT INTO risk_scores_v2 SELECT * FROM risk_scores ORDER BY as_of, business_key;
DROP TABLE risk_scores;
ALTER TABLE risk_scores_v2 RENAME TO risk_scores;
