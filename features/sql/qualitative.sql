-- Qualitative observations (定性情報), decayed by age. See features/qualitative.py.
-- One spec row per indicator: the observation code it counts and its thresholds.
WITH spec(indicator_id, code, half_life, min_weight) AS (
    VALUES
    ('obs_management_unreachable', 'management_unreachable',
        $obs_management_unreachable__half_life_months, $obs_management_unreachable__min_weight),
    ('obs_key_customer_lost', 'key_customer_lost',
        $obs_key_customer_lost__half_life_months, $obs_key_customer_lost__min_weight),
    ('obs_successor_absent', 'successor_absent',
        $obs_successor_absent__half_life_months, $obs_successor_absent__min_weight),
    ('obs_owner_illness', 'owner_illness',
        $obs_owner_illness__half_life_months, $obs_owner_illness__min_weight),
    ('obs_staff_leaving', 'staff_leaving',
        $obs_staff_leaving__half_life_months, $obs_staff_leaving__min_weight),
    ('obs_refuses_financials', 'refuses_financials',
        $obs_refuses_financials__half_life_months, $obs_refuses_financials__min_weight),
    ('obs_tax_arrears_found', 'tax_arrears_found',
        $obs_tax_arrears_found__half_life_months, $obs_tax_arrears_found__min_weight),
    ('obs_litigation', 'litigation',
        $obs_litigation__half_life_months, $obs_litigation__min_weight),
    ('obs_disaster', 'disaster',
        $obs_disaster__half_life_months, $obs_disaster__min_weight)
),
-- Each version of a record is in force from its received_on until the next version of the
-- same record (institution, observation_id) is received: as of T the latest version received
-- by T wins, whatever business, code or date it names.
versions AS (
    SELECT k.business_key, o.institution_id, o.observation_id, o.observed_on, o.code, o.note, o.received_on,
           lead(o.received_on) OVER (
               PARTITION BY o.institution_id, o.observation_id
               ORDER BY o.received_on, o.source_sha256, o.source_row) AS superseded_on
    FROM raw_observations o
    JOIN business_keys k USING (institution_id, local_id)
),
weighted AS (
    SELECT v.business_key, a.as_of, s.indicator_id, v.institution_id, v.observation_id, v.observed_on, v.received_on, v.code, v.note,
           pow(0.5, greatest(date_diff('day', v.observed_on, a.as_of), 0) / 30.4375 / s.half_life) AS weight
    FROM versions v
    JOIN spec s USING (code)
    JOIN as_of_dates a
      ON v.received_on <= a.as_of
     AND (v.superseded_on IS NULL OR v.superseded_on > a.as_of)
     AND date_diff('day', v.observed_on, a.as_of) / 30.4375 <= 6 * s.half_life
),
sums AS (
    -- summed in a fixed order: a float sum depends on the order rows arrive in, and a
    -- value as of T must not change because unrelated later rows exist
    SELECT business_key, as_of, indicator_id,
           sum(weight ORDER BY observed_on, institution_id, observation_id) AS value,
           list(struct_pack(observed_on := observed_on, received_on := received_on, code := code,
                            institution := institution_id, note := note, weight := round(weight, 3))
                ORDER BY observed_on DESC, institution_id, observation_id) AS observations
    FROM weighted
    GROUP BY ALL
),
-- Coverage: an institution that knows the business (any feed but the outcome labels) and
-- that records observations at all, both by T.
known_by AS (
    SELECT business_key, institution_id, first_received FROM known_by  -- features/pit.py
),
observers AS (
    SELECT institution_id, min(received_on) AS first_observation FROM raw_observations GROUP BY ALL
),
covered AS (
    SELECT DISTINCT kb.business_key, a.as_of
    FROM known_by kb
    JOIN observers o USING (institution_id)
    JOIN as_of_dates a ON greatest(kb.first_received, o.first_observation) <= a.as_of
),
base AS (
    SELECT u.business_key, u.as_of, s.indicator_id, s.half_life, s.min_weight,
           c.business_key IS NOT NULL AS available,
           coalesce(m.value, 0) AS value, m.observations
    FROM universe u
    CROSS JOIN spec s
    LEFT JOIN covered c ON c.business_key = u.business_key AND c.as_of = u.as_of
    LEFT JOIN sums m ON m.business_key = u.business_key AND m.as_of = u.as_of AND m.indicator_id = s.indicator_id
)
SELECT business_key, as_of, indicator_id,
       CASE WHEN available THEN value END::DOUBLE AS value,
       available,
       CASE WHEN available THEN value >= min_weight END AS fired,
       CASE WHEN available AND value >= min_weight THEN
           json_object('weight', round(value, 3), 'half_life_months', half_life,
                       'observations', observations)::VARCHAR END AS evidence
FROM base
