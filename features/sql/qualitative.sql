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
-- Observations are read through the point-in-time layer (yocho/warehouse/pit.py): as of T each
-- record (institution, observation_id) is its latest version received by T, whatever business,
-- code or date it names. The layer reads back as far as the longest cut-off (six half-lives,
-- rounded up, and a month more for the months' unequal lengths); each code keeps its own below.
weighted AS (
    SELECT o.business_key, o.as_of, s.indicator_id, o.institution_id, o.observation_id, o.observed_on,
           o.received_on, o.code, o.note,
           pow(0.5, greatest(date_diff('day', o.observed_on, o.as_of), 0) / 30.4375 / s.half_life) AS weight
    FROM pit_observations((SELECT ceil(6 * max(half_life)) + 1 FROM spec)) o
    JOIN spec s USING (code)
    WHERE date_diff('day', o.observed_on, o.as_of) / 30.4375 <= 6 * s.half_life
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
    -- the institutions with an observation (about any business, not only this shard's) in force at T
    SELECT a.as_of, o.institution_id
    FROM as_of_dates a, LATERAL (
        SELECT DISTINCT institution_id FROM pit_observations_at(a.as_of, 1200)  -- ALL_HISTORY_MONTHS
    ) o
),
covered AS (
    SELECT DISTINCT kb.business_key, a.as_of
    FROM known_by kb
    JOIN as_of_dates a ON kb.first_received <= a.as_of
    JOIN observers o ON o.institution_id = kb.institution_id AND o.as_of = a.as_of
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
