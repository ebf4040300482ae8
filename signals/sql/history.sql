-- The flag policy over the scanned history up to $as_of (docs/signals.md, "Flag policy").
-- Stateless: the flag as of T is recomputed from risk_scores and indicator_values of the
-- scanned month-ends <= T only, so a later month never changes it.
--
--   enter(m)  a critical sign fired at m, or the band at m is flag_band or higher
--   calm(m)   no critical sign at m and the band at m is below release_band
--             (a month with indicators but no score is not calm: nothing says the risk fell)
--   flagged   some month <= T entered, and since the last such month there has been no run of
--             $release_months consecutive calm months
--
-- Inputs: sig_bands(band, rank) from settings.models.bands (rank 0 = lowest),
--         sig_critical(indicator_id, pos) from settings.signals.critical_signs.
-- Output: one row per flagged business that has a score as of T.
WITH months AS (
    -- every scanned month-end <= T at which the business has a score or indicators
    SELECT business_key, as_of FROM risk_scores WHERE as_of <= $as_of
    UNION
    SELECT DISTINCT business_key, as_of FROM indicator_values WHERE as_of <= $as_of
),
signs AS (
    SELECT v.business_key, v.as_of,
           list(v.indicator_id ORDER BY c.pos) FILTER (WHERE c.indicator_id IS NOT NULL) AS critical,
           bool_or(v.severity IN ('high', 'critical')) AS strong
    FROM indicator_values v
    LEFT JOIN sig_critical c ON c.indicator_id = v.indicator_id
    WHERE v.as_of <= $as_of AND v.fired
    GROUP BY ALL
),
state AS (
    SELECT m.business_key, m.as_of, b.rank AS band_rank,
           coalesce(len(s.critical), 0) > 0 AS crit,
           coalesce(s.strong, false) AS strong,
           coalesce(s.critical, []::VARCHAR[]) AS critical
    FROM months m
    LEFT JOIN risk_scores r ON r.business_key = m.business_key AND r.as_of = m.as_of
    LEFT JOIN sig_bands b ON b.band = r.band
    LEFT JOIN signs s ON s.business_key = m.business_key AND s.as_of = m.as_of
),
marked AS (
    SELECT *,
           coalesce(band_rank >= $flag_rank, false) AS band_enter,
           crit OR coalesce(band_rank >= $flag_rank, false) AS enter,
           NOT crit AND coalesce(band_rank < $release_rank, false) AS calm,
           -- a month showing trouble, for first_sign_on: a high or critical sign, a critical
           -- sign of any severity, or a band at release_band (watch) or higher
           strong OR crit OR coalesce(band_rank >= $release_rank, false) AS troubled,
           row_number() OVER (PARTITION BY business_key ORDER BY as_of) AS seq
    FROM state
),
last_entry AS (
    SELECT business_key, as_of AS entered_on, crit AS entered_on_critical, band_enter AS entered_on_band
    FROM marked
    WHERE enter
    QUALIFY row_number() OVER (PARTITION BY business_key ORDER BY as_of DESC) = 1
),
calm_runs AS (
    -- runs of consecutive calm months after the last entry (gaps and islands)
    SELECT business_key, count(*) AS months
    FROM (
        SELECT m.business_key, m.seq - row_number() OVER (PARTITION BY m.business_key ORDER BY m.as_of) AS island
        FROM marked m JOIN last_entry e ON e.business_key = m.business_key AND m.as_of > e.entered_on
        WHERE m.calm
    )
    GROUP BY business_key, island
),
still_flagged AS (
    SELECT e.*
    FROM last_entry e
    LEFT JOIN (SELECT business_key, max(months) AS longest FROM calm_runs GROUP BY ALL) c USING (business_key)
    WHERE coalesce(c.longest, 0) < $release_months
),
troubled_runs AS (
    SELECT business_key, min(as_of) AS run_start, max(as_of) AS run_end
    FROM (
        SELECT business_key, as_of,
               seq - row_number() OVER (PARTITION BY business_key ORDER BY as_of) AS island
        FROM marked WHERE troubled
    )
    GROUP BY business_key, island
),
first_sign AS (
    -- the first month of the latest run of troubled months (the one running at T, or the
    -- last one before T for a business held through a dip)
    SELECT business_key, arg_max(run_start, run_end) AS first_sign_on
    FROM troubled_runs GROUP BY ALL
)
SELECT f.business_key, r.as_of,
       CASE WHEN f.entered_on_critical AND f.entered_on_band THEN 'both'
            WHEN f.entered_on_critical THEN 'critical_sign'
            ELSE 'score' END AS trigger,
       now.critical AS critical_signs,
       r.probability, r.band, r.portfolio_share, r.in_event, r.model_version,
       f.entered_on, fs.first_sign_on
FROM still_flagged f
JOIN risk_scores r ON r.business_key = f.business_key AND r.as_of = $as_of
JOIN marked now ON now.business_key = f.business_key AND now.as_of = $as_of
LEFT JOIN first_sign fs ON fs.business_key = f.business_key
ORDER BY f.business_key
