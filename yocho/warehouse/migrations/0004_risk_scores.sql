-- Deterioration-risk scores as of each scored date, one row per business and date,
-- from the champion model at scoring time (see docs/models.md). Rows for a date are
-- replaced whole when that date is scored again.
CREATE TABLE risk_scores (
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
    scored_at TIMESTAMP NOT NULL,
    PRIMARY KEY (business_key, as_of)
);
