"""Avito `params` in the shapes pages send them, odd ones included: every item is applied in page order."""

from autolist_assets.sources import avito


def _applied(params) -> dict:
    row: dict = {}
    avito._apply_params(row, params)
    return row


def test_items_without_some_keys_or_with_numbers_for_text_are_read_like_the_others():
    row = _applied({
        "primary": [{"key": "mileage_exact", "label": "Kilométrage", "value": "120000"},  # no fullValue
                    {"key": "regdate", "label": "Année-Modèle", "value": "2019", "fullValue": "2019", "extra": 1}],
        "extra": [{"key": "car_abs", "label": "ABS", "value": 1, "fullValue": "Oui"},  # 1 reads as "1": on
                  {"key": "car_esp", "label": "ESP", "value": True},  # True reads as "True": not "1", so off
                  {"key": "car_gps", "label": "GPS", "value": "1", "fullValue": "Oui"}],
    })
    assert list(row.items()) == [
        ("mileage_text", "120000"), ("mileage_km", 120000), ("year", 2019), ("equipment", ["ABS", "GPS"]),
        ("attributes", {"Kilométrage": "120000", "Année-Modèle": "2019", "ABS": "Oui", "ESP": "True", "GPS": "Oui"}),
    ]


def test_objects_where_text_belongs_non_items_and_later_items_keep_page_order():
    row = _applied({
        "primary": [{"key": "brand", "label": "Marque", "value": ["x"], "fullValue": "X"}, "not an item", None],
        "secondary": "not a group",
        "more": [{"key": "7", "label": "Secteur", "value": "Maarif", "fullValue": "Maârif"},
                 {"label": "Marque", "value": "Dacia"}],  # no key: an attribute only, and the later label wins
    })
    assert row == {"brand": "['x']", "sector": "Maarif", "attributes": {"Marque": "Dacia", "Secteur": "Maârif"}}
    assert list(row["attributes"]) == ["Marque", "Secteur"]


def test_a_flat_list_of_items_and_params_that_are_no_container():
    assert _applied([{"key": "fuel", "label": "Carburant", "value": "Diesel", "fullValue": "Diesel"},
                     {"key": "doors", "value": 5.0, "label": None}]) == \
        {"fuel": "Diesel", "doors": 5, "attributes": {"Carburant": "Diesel"}}
    assert _applied("nothing") == {} and _applied(None) == {}
