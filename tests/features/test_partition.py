"""The scan split by shard of businesses gives exactly the single-machine result."""
from __future__ import annotations

import shutil
from datetime import date

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features.partition import compute_shard, merge_shards
from features.pit import build_business_keys, shard_predicate
from features.scan import scan
from yocho.settings import ScaleOutSettings, Settings
from yocho.warehouse.db import warehouse

AS_OF = [date(2025, 3, 31), date(2026, 6, 30), date(2026, 9, 30), date(2026, 10, 31)]


def _copy(generated, tmp_path, name: str) -> Settings:
    settings = generated.settings.model_copy(update={"data_dir": tmp_path / name, "duckdb_memory_limit": "1GB"})
    settings.data_dir.mkdir(parents=True)
    shutil.copy(generated.settings.warehouse_path, settings.warehouse_path)
    return settings


def _stored(settings: Settings) -> tuple[pl.DataFrame, pl.DataFrame]:
    with warehouse(settings, read_only=True) as con:
        values = con.execute("SELECT * EXCLUDE (computed_at) FROM indicator_values").pl()
        panel = con.execute("SELECT * FROM feature_panel").pl()
    return (values.sort("business_key", "as_of", "indicator_id"), panel.sort("business_key", "as_of"))


def _assert_same(expected: Settings, got: Settings) -> None:
    (values_a, panel_a), (values_b, panel_b) = _stored(expected), _stored(got)
    assert values_a.height > 0 and panel_a.height > 0
    assert_frame_equal(values_a, values_b)
    assert_frame_equal(panel_a, panel_b)


@pytest.fixture(scope="module")
def single_machine(generated, tmp_path_factory) -> Settings:
    settings = _copy(generated, tmp_path_factory.mktemp("single"), "data")
    with warehouse(settings) as con:
        scan(con, AS_OF, settings.features)
    return settings


@pytest.mark.parametrize("shards", [1, 3, 7])
def test_shards_partition_the_businesses_exactly(generated, shards):
    con = duckdb.connect(str(generated.settings.warehouse_path), read_only=True)
    try:
        build_business_keys(con)
        everyone = {k for (k,) in con.execute("SELECT DISTINCT business_key FROM business_keys").fetchall()}
        parts = [
            {k for (k,) in con.execute(
                f"SELECT DISTINCT business_key FROM business_keys WHERE {shard_predicate('business_key', (i, shards))}"
            ).fetchall()}
            for i in range(shards)
        ]
    finally:
        con.close()
    assert set().union(*parts) == everyone
    assert sum(len(p) for p in parts) == len(everyone)  # pairwise disjoint
    if shards > 1:
        assert all(parts), "every shard has businesses at this size"


def test_shard_predicate_refuses_a_shard_outside_the_count():
    with pytest.raises(ValueError):
        shard_predicate("business_key", (3, 3))


def test_scale_out_settings_default_to_one_machine():
    assert ScaleOutSettings().shards == 1 and ScaleOutSettings().dask_address is None
    assert Settings.model_fields["scale_out"].get_default(call_default_factory=True) == ScaleOutSettings()


def test_shards_computed_one_by_one_then_merged_equal_the_single_machine_scan(generated, single_machine, tmp_path):
    settings = _copy(generated, tmp_path, "data")
    out_dir = tmp_path / "shards"
    for shard in range(3):
        path = compute_shard(settings.warehouse_path, AS_OF, None, shard, 3, out_dir, memory_limit="1GB")
        assert path.parent.name == f"shard={shard}" and path.exists()
    with warehouse(settings) as con:
        written = merge_shards(con, out_dir, shards=3)
    with warehouse(single_machine, read_only=True) as con:
        # the dates scanned here: the shared portfolio may hold other dates other modules stored
        assert written == con.execute("SELECT count(*) FROM indicator_values WHERE as_of IN ?", [list(AS_OF)]).fetchone()[0]
    _assert_same(single_machine, settings)


@pytest.mark.slow  # a Dask LocalCluster and a Prefect harness: the sharded result itself is checked by the tests above
def test_scan_flow_on_a_dask_local_cluster_equals_the_single_machine_scan(generated, single_machine, tmp_path):
    from prefect.testing.utilities import prefect_test_harness

    from flows.scan import scan_flow

    settings = _copy(generated, tmp_path, "data").model_copy(update={
        "duckdb_memory_limit": "512MB", "duckdb_threads": 1,
        "scale_out": ScaleOutSettings(shards=3, local_workers=2, local_worker_memory="1536MB"),
    })
    with prefect_test_harness(server_startup_timeout=120):
        summary = scan_flow(AS_OF, settings)
    assert summary["as_of"] == [d.isoformat() for d in AS_OF]
    with warehouse(single_machine, read_only=True) as con:
        assert summary["businesses"] == con.execute(
            "SELECT count(DISTINCT business_key) FROM indicator_values WHERE as_of = ?", [AS_OF[-1]]
        ).fetchone()[0]
    _assert_same(single_machine, settings)
    assert not list((settings.data_dir / "scan-shards").glob("*/shard=*")), "shard files are cleaned up"


def test_a_record_corrected_to_another_business_in_another_shard_is_superseded_in_both():
    from features.catalog import Family
    from features.compute import compute, results
    from tests.features.test_qualitative import CN, OTHER_CN, _master, _obs
    from tests.features.tiny import Tiny

    # O1 first sent about B1, then corrected (same record number) to name B2.
    tiny = Tiny().add("observations", "bank_0116",
                      _obs("O1", "refuses_financials", date(2025, 4, 1), date(2025, 4, 8)),
                      _obs("O1", "refuses_financials", date(2025, 4, 1), date(2025, 7, 5), local_id="B2", cn=OTHER_CN))
    tiny.add("business", "bank_0116", _master("B1", CN, date(2025, 1, 5)), _master("B2", OTHER_CN, date(2025, 1, 5)))
    dates = [date(2025, 6, 30), date(2025, 7, 31)]
    shards = next(n for n in range(2, 50) if len({
        tiny.con.execute(f"SELECT hash(?) % {n}", [k]).fetchone()[0] for k in (CN, OTHER_CN)}) == 2)

    def frame(shard=None) -> pl.DataFrame:
        compute(tiny.con, dates, None, [Family.QUALITATIVE], shard=shard)
        return results(tiny.con)

    whole = frame()
    parts = pl.concat([frame((i, shards)) for i in range(shards)]).sort("business_key", "as_of", "indicator_id")
    assert_frame_equal(whole, parts)
    fired = {(r["business_key"], r["as_of"]) for r in whole.filter(pl.col("fired") & (pl.col("indicator_id") == "obs_refuses_financials")).iter_rows(named=True)}
    assert fired == {(CN, dates[0]), (OTHER_CN, dates[1])}


def test_a_pass_split_by_size_restricts_the_whole_pass_and_puts_it_back():
    """compute() above business_dates_per_pass prepares the pass once and restricts it shard by
    shard (features.pit.select_shard): a record corrected to another business in another shard
    is superseded in both, as in the whole computation, and afterwards the universe is the
    whole pass's again (what the peers and the scan's count read)."""
    from features.catalog import Family
    from features.compute import compute, results
    from tests.features.test_qualitative import CN, OTHER_CN, _master, _obs
    from tests.features.tiny import Tiny

    tiny = Tiny().add("observations", "bank_0116",
                      _obs("O1", "refuses_financials", date(2025, 4, 1), date(2025, 4, 8)),
                      _obs("O1", "refuses_financials", date(2025, 4, 1), date(2025, 7, 5), local_id="B2", cn=OTHER_CN))
    tiny.add("business", "bank_0116", _master("B1", CN, date(2025, 1, 5)), _master("B2", OTHER_CN, date(2025, 1, 5)))
    dates = [date(2025, 3, 31), date(2025, 4, 30), date(2025, 5, 31), date(2025, 6, 30), date(2025, 7, 31)]

    compute(tiny.con, dates, None, [Family.QUALITATIVE], dates_per_pass=len(dates))
    whole = results(tiny.con)
    universe = tiny.con.execute("SELECT * FROM universe ORDER BY ALL").fetchall()
    assert len(universe) == 10  # so one business-date a shard makes 10 shards
    assert len({tiny.con.execute("SELECT hash(?) % 10", [k]).fetchone()[0] for k in (CN, OTHER_CN)}) == 2
    compute(tiny.con, dates, None, [Family.QUALITATIVE], dates_per_pass=len(dates), business_dates_per_pass=1)
    assert_frame_equal(results(tiny.con), whole)
    assert tiny.con.execute("SELECT * FROM universe ORDER BY ALL").fetchall() == universe
    fired = set(whole.filter(pl.col("fired") & (pl.col("indicator_id") == "obs_refuses_financials"))
                .select("business_key", "as_of").iter_rows())
    assert fired == {(CN, date(2025, 4, 30)), (CN, date(2025, 5, 31)), (CN, date(2025, 6, 30)), (OTHER_CN, date(2025, 7, 31))}
    assert not tiny.con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary AND "
                                "(table_name LIKE '%_whole' OR table_name = 'shared_records')").fetchall()
