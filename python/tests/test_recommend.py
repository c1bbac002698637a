"""lithe.recommend.TwoTower: training, batch recommendation with new users, model file
and pickle round trips, item addition and bad input."""

import pickle

import numpy as np
import pandas as pd
import pytest

from lithe.recommend import TwoTower

SMALL = dict(trials=0, epochs=3, dim=8, batch=32, negatives=15, seed=7)


def interactions(users=40, items=20):
    """Two tastes: even users pick from the low half of the items, odd ones the high."""
    rows = []
    for u in range(users):
        for b in range(6):
            rows.append((f"u{u}", f"i{(u % 2) * items // 2 + (u + b * 3) % (items // 2)}"))
    return pd.DataFrame(rows, columns=["user_id", "item_id"])


def item_features(items=20):
    return pd.DataFrame({"item_id": [f"i{i}" for i in range(items)],
                         "half": ["low" if i < items // 2 else "high" for i in range(items)]})


@pytest.fixture(scope="module")
def model():
    return TwoTower(n_jobs=1, **SMALL).fit(interactions())


def test_recommendations_layout_order_and_unknown_users(model):
    recs = model.recommend(["u3", "nobody", "u0"], k=4)
    assert list(recs.columns) == ["user_id", "rank", "item_id", "score"]
    assert recs["user_id"].tolist() == ["u3"] * 4 + ["nobody"] * 4 + ["u0"] * 4
    assert recs["rank"].tolist() == [1, 2, 3, 4] * 3
    assert model.popular_users_ == 1
    seen = set(interactions().query("user_id == 'u0'")["item_id"])
    assert not seen & set(recs[recs.user_id == "u0"]["item_id"])
    scores = recs[recs.user_id == "u3"]["score"].to_numpy()
    assert (np.diff(scores) <= 0).all()
    with_seen = model.recommend(["u0"], k=20, exclude_seen=False)
    assert seen <= set(with_seen["item_id"])


def test_the_same_seed_gives_the_same_model_and_round_trips_keep_it(model, tmp_path):
    again = TwoTower(n_jobs=1, **SMALL).fit(interactions())
    users = [f"u{u}" for u in range(10)]
    want = model.recommend(users, k=5)
    pd.testing.assert_frame_equal(again.recommend(users, k=5), want)
    path = tmp_path / "m.lithe"
    model.save_model(path)
    pd.testing.assert_frame_equal(TwoTower.load_model(path).recommend(users, k=5), want)
    pd.testing.assert_frame_equal(pickle.loads(pickle.dumps(model)).recommend(users, k=5), want)


def test_evaluate_and_frames_in(model):
    pl = pytest.importorskip("polars")
    test = pd.DataFrame({"user_id": ["u0", "u1"], "item_id": ["i1", "i15"]})
    r = model.evaluate(test, k=10)
    assert set(r) >= {"recall", "ndcg", "coverage", "users"} and r["users"] == 2
    out = model.recommend(pl.DataFrame({"user_id": ["u1", "u2"]}), k=3)
    assert isinstance(out, pl.DataFrame) and out["user_id"].to_list() == ["u1"] * 3 + ["u2"] * 3


def test_new_items_join_the_index():
    m = TwoTower(n_jobs=1, **SMALL).fit(interactions(), item_features=item_features())
    assert m.n_items_ == 20
    added = m.add_items(pd.DataFrame({"item_id": ["fresh"], "half": ["low"]}))
    assert added == 1 and m.n_items_ == 21
    recs = m.recommend(["u0"], k=21, exact=True, exclude_seen=False)
    assert "fresh" in set(recs["item_id"])
    with pytest.raises(ValueError, match="already in the model"):
        m.add_items(pd.DataFrame({"item_id": ["fresh"], "half": ["low"]}))


def test_bad_input():
    with pytest.raises(TypeError, match="unexpected argument 'depth'"):
        TwoTower(depth=3)
    with pytest.raises(ValueError, match="dim must be between 1 and 4096"):
        TwoTower(dim=0).fit(interactions())
    with pytest.raises(ValueError, match="no column 'item_id'"):
        TwoTower().fit(interactions().rename(columns={"item_id": "item"}))
    with pytest.raises(ValueError, match="not fitted"):
        TwoTower().recommend(["u1"])
    with pytest.raises(ValueError, match="k must be a positive integer"):
        TwoTower(n_jobs=1, **SMALL).fit(interactions()).recommend(["u1"], k=0)
    with pytest.raises(ValueError, match="trained without item features"):
        TwoTower(n_jobs=1, **SMALL).fit(interactions()).add_items(item_features().head(1))


def test_defaults_come_from_the_rust_spec():
    from lithe._lithe import param_spec

    spec = {p["python_name"]: p["default"] for p in param_spec("two_tower")}
    assert TwoTower().params == spec
    assert spec["trials"] == 3 and spec["dim"] is None
