-- Training labels for every (business, as-of date) in feature_panel.
-- Labels look forward, features never do: the label is whether a deterioration event
-- (条件変更, 延滞90日以上, 代位弁済, 破綻・法的整理, 要管理先以下への格下げ) occurred within the
-- $horizon_months months after the as-of date, whenever it was reported.
WITH events AS (
    -- each event as last reported by the end of the observed history (`yocho train --until`),
    -- through the point-in-time layer (yocho/warehouse/pit.py), keyed by its business_identity
    SELECT business_key, occurred_on, event_type, event_id
    FROM pit_events_at($observed_until::DATE, 1200)  -- yocho.warehouse.pit.ALL_HISTORY_MONTHS
),
panel AS (
    SELECT business_key, as_of FROM feature_panel
),
before AS (
    -- already in (or past) an event at the as-of date: not a case to predict
    SELECT p.business_key, p.as_of, min(e.occurred_on) AS earliest_on
    FROM panel p JOIN events e ON e.business_key = p.business_key AND e.occurred_on <= p.as_of
    GROUP BY ALL
),
ahead AS (
    SELECT p.business_key, p.as_of,
           min(e.occurred_on) AS event_on,
           arg_min(e.event_type, (e.occurred_on, e.event_id)) AS event_type
    FROM panel p JOIN events e
      ON e.business_key = p.business_key
     AND e.occurred_on > p.as_of
     AND e.occurred_on <= p.as_of + to_months($horizon_months::INTEGER)
    GROUP BY ALL
)
SELECT p.business_key, p.as_of,
       a.event_on IS NOT NULL AS label,
       a.event_on AS event_on,
       a.event_type AS event_type,
       b.earliest_on IS NOT NULL AS already_in_event,
       -- the whole horizon must lie within what has been observed, or a quiet year may
       -- just be one whose events have not been reported yet
       (p.as_of + to_months($horizon_months::INTEGER))::DATE <= $observed_until::DATE AS complete
FROM panel p
LEFT JOIN before b USING (business_key, as_of)
LEFT JOIN ahead a USING (business_key, as_of)
